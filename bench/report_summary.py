"""Benchmark: `report --summary` over a store of 10,000 enrollments (2,000 learners × 5 certifications).

Builds a JSON store in a temporary folder with a mix of every status, written as facts, then times
(median of --runs) loading the store, the summary in process, and, when the installed console script
has the `report` command, `certcli report --summary` as a whole process.

    python bench/report_summary.py [--learners N] [--runs N]

Exit status: 0 with figures, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tabulate import tabulate

from certcli import rules
from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    COURSE_STARTED,
    CYCLE_OPENED,
    PROOF_REVIEWED,
    PROOF_SUBMITTED,
    REVOKED,
    Certification,
    Course,
    CourseRef,
    Document,
    Enrollment,
    Fact,
    Proof,
    User,
)
from certcli.store import open_store
from certcli.store.document import document_to_data
from certcli.usecases import Context, compliance

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ADMIN = "root"
MANAGERS = 20
DEFAULT_LEARNERS = 2000
DEFAULT_RUNS = 5
SCENARIOS = 6  # enrolled, started, completed lately, completed long ago, proof or partial, revoked or rejected


class BenchError(Exception):
    """The benchmark cannot produce figures."""


# ---------------------------------------------------------------- the store


def certifications() -> dict[str, Certification]:
    def refs(*ids: str, optional: tuple[str, ...] = ()) -> tuple[CourseRef, ...]:
        return tuple(CourseRef(cid, cid not in optional) for cid in ids)

    published = date(2024, 1, 1)
    certs = [
        Certification(
            "sec",
            "Security Awareness",
            "internal",
            published=published,
            validity_months=12,
            renewal_window_days=30,
            deadline_days=30,
            courses=refs("c1", "c2", "c3"),
        ),
        Certification(
            "safety", "Workplace Safety", "internal", published=published, courses=refs("c4", "c5", optional=("c5",))
        ),
        Certification(
            "privacy",
            "Data Privacy",
            "internal",
            published=published,
            validity_months=24,
            deadline_days=60,
            courses=refs("c6"),
        ),
        Certification("aws", "AWS Practitioner", "external", published=published),
        Certification("firstaid", "First Aid", "external", published=published, validity_months=36, courses=refs("c1")),
    ]
    return {cert.id: cert for cert in certs}


def enrollment(learner: str, cert: Certification, scenario: int, assigned: datetime) -> Enrollment:
    """One enrollment whose facts lead, as of NOW, to the status `scenario` stands for."""
    requirements = rules.effective_requirements(cert)
    facts = [
        Fact(ASSIGNED, assigned, by=ADMIN),
        Fact(
            CYCLE_OPENED, assigned, cycle=1, requirements=requirements, due=rules.first_due(cert, assigned.date(), None)
        ),
    ]
    mandatory = requirements.mandatory_ids
    day = assigned + timedelta(days=3)
    if scenario == 1 and mandatory:
        facts.append(Fact(COURSE_STARTED, day, course=mandatory[0]))
    elif scenario == 4 and cert.kind == "internal" and len(mandatory) > 1:
        facts.append(Fact(COURSE_COMPLETED, day, course=mandatory[0]))
    elif scenario in (2, 3, 4, 5):
        facts += [Fact(COURSE_COMPLETED, day + timedelta(days=n), course=cid) for n, cid in enumerate(mandatory)]
        day += timedelta(days=len(mandatory) + 1)
        if cert.kind == "external":
            facts.append(Fact(PROOF_SUBMITTED, day, proof=Proof("0" * 64, 2048, f"{learner}.pdf")))
            decision = {2: "approved", 3: "approved", 5: "rejected"}.get(scenario)
            if decision is not None:
                facts.append(
                    Fact(
                        PROOF_REVIEWED,
                        day + timedelta(days=2),
                        by=ADMIN,
                        decision=decision,
                        reason="unreadable" if decision == "rejected" else None,
                    )
                )
        elif scenario == 5:
            facts.append(Fact(REVOKED, day + timedelta(days=10), by=ADMIN, reason="audit finding", cycle=1))
    return Enrollment(learner, cert.id, facts)


def build_document(learners: int) -> Document:
    users = {ADMIN: User(ADMIN, "Root", "admin")}
    for m in range(MANAGERS):
        users[f"m{m:02d}"] = User(f"m{m:02d}", f"Manager {m}", "manager")
    courses = {f"c{n}": Course(f"c{n}", f"Course {n}", 30) for n in range(1, 7)}
    certs = certifications()
    enrollments = []
    for i in range(learners):
        learner = f"l{i:05d}"
        users[learner] = User(learner, f"Learner {i}", "learner", manager=f"m{i % MANAGERS:02d}")
        for j, cert in enumerate(certs.values()):
            scenario = (i + j) % SCENARIOS
            # Long-ago completions date from 2024, so 12- and 24-month certifications have expired by NOW.
            days_back = 700 if scenario == 3 else 20 + (i * 7 + j * 13) % 300
            enrollments.append(enrollment(learner, cert, scenario, NOW - timedelta(days=days_back)))
    return Document("Bench Corp", users, courses, certs, enrollments)


def write_store(folder: Path, learners: int) -> Path:
    path = folder / "bench.json"
    path.write_text(json.dumps(document_to_data(build_document(learners)), indent=2) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- timing


def median_ms(action: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, min(samples) * 1000, max(samples) * 1000


def certcli_report_argv(store: Path) -> list[str] | None:
    """`certcli … report --summary` when the installed console script has `report`, else None."""
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        return None
    env = quiet_environment()
    shown = subprocess.run([str(exe), "report", "--help"], capture_output=True, text=True, env=env, check=False)
    if shown.returncode != 0:
        return None
    argv = [str(exe), "--store", str(store), "--as", ADMIN, "--now", NOW.date().isoformat(), "report", "--summary"]
    return [*argv, "--format", "json"] if "--format" in shown.stdout else argv


def quiet_environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CERTCLI_")}
    env["NO_COLOR"] = "1"
    return env


def run_process(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=quiet_environment(), check=False)
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(argv)}` exited {done.returncode}:\n{done.stderr.strip()}")
    return done.stdout


def check_summary(summary: list[dict[str, Any]], expected: int) -> Counter[str]:
    learners = sum(item["learners"] for item in summary)
    if learners != expected:
        raise BenchError(f"the summary counts {learners} enrollments, the store holds {expected}")
    return Counter({status: sum(item["by_status"][status] for item in summary) for status in rules.STATUSES})


def measure(store_path: Path, enrollments: int, runs: int) -> tuple[list[list[str]], Counter[str]]:
    store = open_store(store_path)
    ctx = Context(store, ADMIN, NOW)
    mix = check_summary(compliance.report_summary(ctx).data, enrollments)  # also the warm-up
    timings = [
        ("load the store (parse + validate)", median_ms(store.read, runs)),
        ("report --summary in process (load included)", median_ms(lambda: compliance.report_summary(ctx), runs)),
    ]
    argv = certcli_report_argv(store_path)
    if argv is not None:
        output = run_process(argv)  # warm-up, and a check of what the command prints
        if "--format" in argv:
            check_summary(json.loads(output), enrollments)
        timings.append(("certcli report --summary (whole process)", median_ms(lambda: run_process(argv), runs)))
    rows = [[what, f"{mid:.1f}", f"{low:.1f}", f"{high:.1f}"] for what, (mid, low, high) in timings]
    return rows, mix


def size_arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    """--learners and --runs, as the report benchmarks take them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--learners", type=int, default=DEFAULT_LEARNERS, help="learners, 5 enrollments each")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"timed runs (default {DEFAULT_RUNS})")
    args = parser.parse_args(argv)
    if args.learners < 1 or args.runs < 1:
        parser.error("--learners and --runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = size_arguments(__doc__.splitlines()[0], argv)
    enrollments = args.learners * len(certifications())
    with tempfile.TemporaryDirectory(prefix="certcli-bench-") as folder:
        store_path = write_store(Path(folder), args.learners)
        size_mb = store_path.stat().st_size / 1e6
        try:
            rows, mix = measure(store_path, enrollments, args.runs)
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(
        f"report --summary: {enrollments} enrollments ({args.learners} learners × 5 certifications), "
        f"JSON store {size_mb:.1f} MB, as of {NOW.date()}; median of {args.runs} runs, Python "
        f"{platform.python_version()}"
    )
    print("status mix: " + ", ".join(f"{status} {mix[status]}" for status in rules.STATUSES))
    print()
    print(
        tabulate(
            rows,
            headers=["what", "median ms", "min ms", "max ms"],
            disable_numparse=True,
            colalign=("left", "right", "right", "right"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
