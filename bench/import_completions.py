"""Import benchmark: 100,000 completion rows from CSV into a JSON, SQLite or PostgreSQL store.

Builds, in a temporary folder, a store with one admin, 1,000 learners and five
certifications of 20 courses each (one recurring, one external, every fourth
course optional), half the learners already assigned to every certification,
and a CSV with one completion row per learner, certification and course, in a
shuffled order, dated over the two years before the evaluation time. Then it
times `certcli import completions` as a whole process (the console script next
to this interpreter), and a second import of the same file, which must change
nothing.

    python bench/import_completions.py [--learners N] [--certifications N] [--courses N] [--json]
                                       [--backend json|sqlite|postgresql]

Prints rows, rows imported and unchanged, seconds, rows per second, the peak
resident memory of the import process (`resource.getrusage(RUSAGE_CHILDREN)`
in a fresh measuring process, as bench/migrate.py does) and a file store's
size before and after. PostgreSQL: the store goes to a schema of its own in
CERTCLI_BENCH_POSTGRES_URL or CERTCLI_TEST_POSTGRES_URL, dropped afterwards.
Exit status: 0 when both imports succeed, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tabulate import tabulate

from certcli import rules
from certcli.model import (
    ASSIGNED,
    CYCLE_OPENED,
    AuditEntry,
    Certification,
    Course,
    CourseRef,
    Document,
    Enrollment,
    Fact,
    User,
)
from certcli.store import open_store

ADMIN = "root"
NOW = "2026-06-01"
SEED = 20260601


class BenchError(Exception):
    """The benchmark cannot produce figures."""


def build_store(path: str, learners: int, certifications: int, courses: int) -> Document:
    """A store with an admin, `learners` learners, and `certifications` certifications of `courses` courses."""
    opened = datetime(2024, 1, 2, tzinfo=UTC)
    doc = Document(org_name="Bench Corp", users={ADMIN: User(ADMIN, "Root", "admin")})
    for number in range(learners):
        user_id = f"learner{number:05d}"
        doc.users[user_id] = User(user_id, f"Learner {number}", "learner", f"{user_id}@bench.test")
    for cert_number in range(certifications):
        cert_id = f"cert{cert_number}"
        refs = []
        for course_number in range(courses):
            course_id = f"{cert_id}-course{course_number:02d}"
            doc.courses[course_id] = Course(course_id, f"Course {course_number} of {cert_id}", 30)
            refs.append(CourseRef(course_id, course_number % 4 != 3))  # every fourth course optional
        doc.certifications[cert_id] = Certification(
            id=cert_id,
            title=f"Certification {cert_number}",
            kind="external" if cert_number == certifications - 1 and certifications > 1 else "internal",
            published=date(2024, 1, 1),
            validity_months=12 if cert_number == 0 else None,
            courses=tuple(refs),
        )
    for user_id in list(doc.users)[1 : learners // 2 + 1]:
        for cert in doc.certifications.values():
            facts = [
                Fact(ASSIGNED, opened, by=ADMIN),
                Fact(CYCLE_OPENED, opened, cycle=1, requirements=rules.effective_requirements(cert)),
            ]
            doc.enrollments.append(Enrollment(user_id, cert.id, facts))
    doc.pending_audit = AuditEntry(opened, ADMIN, "init", {"user": ADMIN}, {})
    open_store(path).create(doc)
    return doc


def write_completions(path: Path, doc: Document) -> int:
    """One row per learner, certification and course, in a shuffled order; returns the number of rows."""
    randomness = random.Random(SEED)
    first = date(2024, 6, 1).toordinal()
    last = date.fromisoformat(NOW).toordinal()
    rows = [
        (cert.id, user.id, ref.id, date.fromordinal(randomness.randint(first, last)).isoformat())
        for user in doc.users.values()
        if user.role == "learner"
        for cert in doc.certifications.values()
        for ref in cert.courses
    ]
    randomness.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("certification", "user", "course", "completed_on"))
        writer.writerows(rows)
    return len(rows)


def certcli_exe() -> Path:
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install certcli with `python -m pip install -e .`")
    return exe


def run_cli(store: str, csv_path: Path) -> tuple[float, dict[str, Any]]:
    """Seconds the `certcli import` process took, and the result it printed (with its peak memory)."""
    from migrate import BenchError as MeasureError
    from migrate import measured

    argv = [str(certcli_exe()), "--store", store, "--as", ADMIN, "--now", NOW, "import", "completions"]
    try:
        result = measured([*argv, str(csv_path), "--json"])
    except MeasureError as exc:
        raise BenchError(str(exc)) from None
    return result["seconds"], {**json.loads(result["stdout"]), "peak_mb": round(result["peak_mb"])}


@contextlib.contextmanager
def store_location(backend: str, folder: Path) -> Iterator[str]:
    if backend != "postgresql":
        yield str(folder / f"bench.{'db' if backend == 'sqlite' else 'json'}")
        return
    from migrate import POSTGRES_VARIABLES, drop_schema, in_schema

    url = next((os.environ[v] for v in POSTGRES_VARIABLES if os.environ.get(v)), None)
    if url is None:
        raise BenchError(f"set {POSTGRES_VARIABLES[0]} to a PostgreSQL URL")
    schema = f"certcli_bench_{uuid.uuid4().hex[:12]}"
    try:
        yield in_schema(url, schema)
    finally:
        drop_schema(url, schema)


def file_size(location: str) -> int | None:
    return Path(location).stat().st_size if "://" not in location else None


def bench(learners: int, certifications: int, courses: int, backend: str = "json") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="certcli-bench-") as folder, store_location(backend, Path(folder)) as store:
        csv_path = Path(folder) / "completions.csv"
        doc = build_store(store, learners, certifications, courses)
        rows = write_completions(csv_path, doc)
        results = []
        for label in ("first import", "same file again"):
            size_before = file_size(store)
            seconds, data = run_cli(store, csv_path)
            results.append(
                {
                    "run": label,
                    "rows": rows,
                    "imported": data["imported"],
                    "unchanged": data["unchanged"],
                    "seconds": round(seconds, 3),
                    "rows_per_second": round(rows / seconds),
                    "peak_mb": data.get("peak_mb"),
                    "store_bytes_before": size_before,
                    "store_bytes_after": file_size(store),
                }
            )
        timed = "certcli import completions (subprocess)"
        return {"timed": timed, "backend": backend, "csv_bytes": csv_path.stat().st_size, "results": results}


def megabytes(size: int | None) -> str:
    return "—" if size is None else f"{size / 1_000_000:.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description="Time importing completion rows from CSV.")
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--certifications", type=int, default=5)
    parser.add_argument("--courses", type=int, default=20, help="courses per certification")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--backend", choices=("json", "sqlite", "postgresql"), default="json")
    args = parser.parse_args()
    if min(args.learners, args.certifications, args.courses) < 1:
        parser.error("--learners, --certifications and --courses must be at least 1")
    try:
        report = bench(args.learners, args.certifications, args.courses, args.backend)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"timed: {report['timed']} into {args.backend}; CSV {megabytes(report['csv_bytes'])}")
    headers = ["RUN", "ROWS", "IMPORTED", "UNCHANGED", "SECONDS", "ROWS/S", "PEAK MB", "STORE SIZE"]
    table = [
        [r["run"], r["rows"], r["imported"], r["unchanged"], r["seconds"], r["rows_per_second"], r["peak_mb"]]
        + [f"{megabytes(r['store_bytes_before'])} → {megabytes(r['store_bytes_after'])}"]
        for r in report["results"]
    ]
    print(tabulate(table, headers=headers, floatfmt=".2f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
