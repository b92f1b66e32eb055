"""Concurrent writers through the real command line: every acknowledged change is recorded.

Several workers start at the same moment; each runs its own list of mutations
one after another, one `certcli` process per mutation, all for its own
learner: course completions (`complete`), proof uploads (`upload-proof`, each
a distinct small PDF or PNG) and approvals (`approve` by the learner's
manager). No mutation depends on another process's, so each one
leaves one countable fact in the store: a `course_completed`, a
`proof_submitted` with the file's SHA-256, a `proof_reviewed` approval.
Afterwards every mutation must be in the store and in the audit log (init-phase
events + one per mutation), `certcli audit verify` must pass and every proof
file must be on disk.

The control run does the same work through `certcli_without_lock.py`, which
turns the store lock into a no-op: there updates get lost, which shows this
test is able to see a lost update at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from backends import postgres_schema, postgres_url

from certcli import usecases
from certcli.model import COURSE_COMPLETED, PROOF_REVIEWED, PROOF_SUBMITTED
from certcli.store import open_store

UNLOCKED_CLI = Path(__file__).with_name("certcli_without_lock.py")

# One round of five mutations per learner: three completions, one upload, its approval.
ROUND = ("complete", "complete", "complete", "upload-proof", "approve")
SETUP_AT = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
WORK_STARTS = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
COMMAND_TIMEOUT_SECONDS = 120.0
CONTROL_ATTEMPTS = 3


# ---------------------------------------------------------------- small valid proof files


def pdf_bytes(label: str) -> bytes:
    """A minimal well-formed one-page PDF (with a correct xref table) that mentions `label`."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
    ]
    text = f"BT /F1 12 Tf 10 50 Td ({label}) Tj ET".encode("ascii")
    objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bytes(label: str) -> bytes:
    """A valid 1×1 grey PNG whose tEXt chunk holds `label` (so every file has its own SHA-256)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + label.encode("ascii"))
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- the workload


@dataclass(frozen=True)
class Workload:
    processes: int
    mutations: int  # per process; a multiple of len(ROUND)

    @property
    def rounds(self) -> int:
        return self.mutations // len(ROUND)

    @property
    def total(self) -> int:
        return self.processes * self.mutations

    @property
    def courses(self) -> list[str]:
        return [f"k{n}" for n in range(self.rounds * ROUND.count("complete"))]

    @property
    def externals(self) -> list[str]:
        return [f"ext-{n}" for n in range(self.rounds)]


def learner(process: int) -> str:
    return f"l{process}"


# A mutation's key names the one fact it must leave: ("complete", learner, course),
# ("upload-proof", learner, certification, sha256) or ("approve", learner, certification).
Key = tuple[str, ...]


class Mutation(NamedTuple):
    key: Key
    arguments: list[str]  # certcli arguments after --store


def build_store(folder: Path, work: Workload, suffix: str) -> tuple[Path, int]:
    """The shared starting store, built once through the service layer; returns it and its event count."""
    store_path = folder / f"race{suffix}"
    return store_path, build_at(store_path, work)


def build_at(store_path: Path | str, work: Workload) -> int:
    """The starting store built at `store_path`; returns its event count."""
    store = open_store(store_path)
    usecases.init_store(store, "root", "Root", "Race Inc", SETUP_AT)
    ctx = usecases.Context(store, "root", SETUP_AT)
    usecases.add_user(ctx, "mia", "Mia Manager", "manager", None, None)
    for process in range(work.processes):
        usecases.add_user(ctx, learner(process), f"Learner {process}", "learner", None, "mia")
    for course in work.courses:
        usecases.add_course(ctx, course, f"Course {course}", 10)
    learners = [learner(process) for process in range(work.processes)]
    usecases.define(ctx, usecases.Definition("pack", "Course pack", "internal", courses=work.courses), replace=False)
    usecases.assign(ctx, "pack", learners, None)
    for cert in work.externals:
        usecases.define(ctx, usecases.Definition(cert, f"External {cert}", "external"), replace=False)
        usecases.assign(ctx, cert, learners, None)
    events, problem = store.read_audit()
    assert problem is None
    return len(events)


def copy_store(source: Path, target_dir: Path) -> Path:
    target_dir.mkdir()
    target = target_dir / source.name
    shutil.copy2(source, target)
    shutil.copy2(f"{source}.audit.jsonl", f"{target}.audit.jsonl")
    return target


def plan(work: Workload, process: int, uploads_dir: Path) -> list[Mutation]:
    """One process's mutations, in order, each stamped a minute after the one before."""
    who, courses, mutations = learner(process), iter(work.courses), []
    for number in range(work.mutations):
        when = WORK_STARTS + timedelta(minutes=number, seconds=process)
        stamp = ["--now", when.strftime("%Y-%m-%dT%H:%M:%S")]
        kind, cert = ROUND[number % len(ROUND)], work.externals[number // len(ROUND)]
        if kind == "complete":
            course = next(courses)
            mutations.append(Mutation((kind, who, course), ["--as", who, *stamp, "complete", "pack", course]))
        elif kind == "upload-proof":
            label = f"proof of {cert} by {who}"
            is_pdf = (number // len(ROUND)) % 2 == 0
            content = pdf_bytes(label) if is_pdf else png_bytes(label)
            proof = uploads_dir / f"{cert}-{who}.{'pdf' if is_pdf else 'png'}"
            proof.write_bytes(content)
            key = (kind, who, cert, hashlib.sha256(content).hexdigest())
            mutations.append(Mutation(key, ["--as", who, *stamp, "upload-proof", cert, str(proof)]))
        else:
            mutations.append(Mutation((kind, who, cert), ["--as", "mia", *stamp, "approve", cert, who]))
    return mutations


def workload_plans(tmp_path: Path, work: Workload) -> list[list[Mutation]]:
    uploads_dir = tmp_path / "uploads"
    uploads_dir.mkdir()
    plans = [plan(work, process, uploads_dir) for process in range(work.processes)]
    keys = [mutation.key for mutations in plans for mutation in mutations]
    assert len(set(keys)) == work.total, "every mutation must leave its own fact"
    return plans


class RunResult(NamedTuple):
    acknowledged: set[Key]  # the mutations whose command exited 0
    failures: list[str]  # "exit N: arguments: stderr" of the others
    seconds: float


def run_concurrently(program: list[str], store_path: Path | str, plans: list[list[Mutation]]) -> RunResult:
    """One thread per process, released together; each runs its commands one after another."""
    env = {**os.environ, "CERTCLI_LOCK_TIMEOUT": "60", "CERTCLI_CACHE_DIR": ""}
    start = threading.Barrier(len(plans))
    lock, acknowledged, failures = threading.Lock(), set(), []

    def worker(mutations: list[Mutation]) -> None:
        start.wait()
        for mutation in mutations:
            try:
                done = subprocess.run(
                    [*program, "--store", str(store_path), *mutation.arguments],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT_SECONDS,
                )
                code, stderr = done.returncode, done.stderr.strip()
            except subprocess.TimeoutExpired:
                code, stderr = -1, f"still running after {COMMAND_TIMEOUT_SECONDS:g} s"
            with lock:
                if code == 0:
                    acknowledged.add(mutation.key)
                else:
                    failures.append(f"exit {code}: {' '.join(mutation.arguments)}: {stderr}")

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(mutations,)) for mutations in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return RunResult(acknowledged, failures, time.monotonic() - began)


def recorded_facts(store_path: Path | str) -> Counter[Key]:
    """How often the store records each countable fact (loading it also validates it)."""
    doc = open_store(store_path).read()
    tally: Counter[Key] = Counter()
    for enrollment in doc.enrollments:
        who, cert = enrollment.user, enrollment.certification
        for fact in enrollment.facts:
            if fact.type == COURSE_COMPLETED and fact.course is not None:
                tally[("complete", who, fact.course)] += 1
            elif fact.type == PROOF_SUBMITTED and fact.proof is not None:
                tally[("upload-proof", who, cert, fact.proof.sha256)] += 1
            elif fact.type == PROOF_REVIEWED and fact.decision == "approved":
                tally[("approve", who, cert)] += 1
    return tally


def exit_codes(failures: list[str]) -> str:
    counts = Counter(failure.split(":", 1)[0] for failure in failures)
    return ", ".join(f"{code} x{count}" for code, count in sorted(counts.items())) or "none"


def fresh_run(tmp_path: Path, work: Workload, suffix: str) -> tuple[Path, int, list[list[Mutation]]]:
    """The starting store (built once) and every process's mutations."""
    template_dir = tmp_path / "template"
    template_dir.mkdir()
    template, init_events = build_store(template_dir, work, suffix)
    return template, init_events, workload_plans(tmp_path, work)


# ---------------------------------------------------------------- the runs


def check_locked_run(
    tmp_path: Path, certcli_exe: str, work: Workload, suffix: str, database: str | None = None
) -> None:
    """The run on a copy of a new `suffix` file store, or on the new `database` store."""
    store_path: Path | str
    if database is None:
        template, init_events, plans = fresh_run(tmp_path, work, suffix)
        store_path = copy_store(template, tmp_path / "locked")
    else:
        store_path, init_events, plans = database, build_at(database, work), workload_plans(tmp_path, work)
    expected = {mutation.key for mutations in plans for mutation in mutations}
    kinds = Counter(key[0] for key in expected)

    result = run_concurrently([certcli_exe], store_path, plans)
    tally = recorded_facts(store_path)
    recorded = expected & set(tally)
    events, problem = open_store(store_path).read_audit()
    logged = Counter(event["action"] for event in events[init_events:])
    print(
        f"\nconcurrency (lock on, {suffix} store): {work.processes} processes x {work.mutations} mutations "
        f"= {work.total} "
        f"({kinds['complete']} complete, {kinds['upload-proof']} upload-proof, {kinds['approve']} approve); "
        f"acknowledged {len(result.acknowledged)}, recorded {len(recorded)}, lost {work.total - len(recorded)}, "
        f"recorded twice {sum(count - 1 for count in tally.values())}; "
        f"audit events {init_events} (init phase) + {len(events) - init_events}; {result.seconds:.1f} s"
    )
    assert result.failures == [], "\n".join(result.failures[:5])
    assert result.acknowledged == expected
    assert set(tally) == expected, (
        f"lost: {sorted(expected - set(tally))[:5]}, stray: {sorted(set(tally) - expected)[:5]}"
    )
    assert all(count == 1 for count in tally.values()), "a mutation was recorded twice"
    assert problem is None
    assert len(events) == init_events + work.total
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert logged == kinds

    kept = open_store(store_path)
    for key in expected:
        if key[0] == "upload-proof":
            sha = key[3]
            assert hashlib.sha256(kept.proof_content(sha) or b"").hexdigest() == sha

    verify = subprocess.run(
        [certcli_exe, "--store", str(store_path), "--as", "root", "audit", "verify", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "CERTCLI_CACHE_DIR": ""},
    )
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["events"] == init_events + work.total

    # What people see afterwards: every learner has done the whole pack and holds every external certification.
    ctx = usecases.Context(open_store(store_path), "root", WORK_STARTS + timedelta(days=1))
    for process in range(work.processes):
        page = usecases.show(ctx, "pack", learner(process)).data
        assert (page["status"], page["courses_done"]) == ("completed", len(work.courses))
        for cert in work.externals:
            assert usecases.show(ctx, cert, learner(process)).data["status"] == "completed"


SMALL = Workload(processes=4, mutations=10)
FULL = Workload(processes=8, mutations=50)


def test_concurrent_cli_mutations_are_all_recorded(tmp_path: Path, certcli_exe: str) -> None:
    """4 x 10 on a TOML store, the default format (the slow 8 x 50 run below uses JSON)."""
    check_locked_run(tmp_path, certcli_exe, SMALL, ".toml")


def test_concurrent_cli_mutations_on_postgresql_are_all_recorded(tmp_path: Path, certcli_exe: str) -> None:
    """PostgreSQL locks rows, not the store: the same run, with changes going on side by side."""
    if postgres_url() is None:
        pytest.skip("CERTCLI_TEST_POSTGRES_URL is not set")
    with postgres_schema() as url:
        check_locked_run(tmp_path, certcli_exe, SMALL, "postgresql", url)


@pytest.mark.slow
def test_eight_processes_times_fifty_cli_mutations_on_postgresql_are_all_recorded(
    tmp_path: Path, certcli_exe: str
) -> None:
    if postgres_url() is None:
        pytest.skip("CERTCLI_TEST_POSTGRES_URL is not set")
    with postgres_schema() as url:
        check_locked_run(tmp_path, certcli_exe, FULL, "postgresql", url)


@pytest.mark.slow
def test_eight_processes_times_fifty_cli_mutations_are_all_recorded(tmp_path: Path, certcli_exe: str) -> None:
    check_locked_run(tmp_path, certcli_exe, FULL, ".json")


@pytest.mark.slow
def test_control_run_without_the_lock_loses_mutations(tmp_path: Path) -> None:
    """The same 8 x 50 workload with the lock turned off: some mutations must go missing."""
    work = FULL
    template, _, plans = fresh_run(tmp_path, work, ".json")
    expected = {mutation.key for mutations in plans for mutation in mutations}
    lost_per_attempt = []
    for attempt in range(1, CONTROL_ATTEMPTS + 1):
        store_path = copy_store(template, tmp_path / f"unlocked-{attempt}")
        result = run_concurrently([sys.executable, str(UNLOCKED_CLI)], store_path, plans)
        recorded = expected & set(recorded_facts(store_path))  # the store still loads: writes stay atomic
        lost = work.total - len(recorded)
        lost_per_attempt.append(lost)
        print(
            f"\nconcurrency control (lock off), attempt {attempt}: {work.total} mutations; "
            f"acknowledged {len(result.acknowledged)}, recorded {len(recorded)}, lost {lost} "
            f"(acknowledged yet missing {len(result.acknowledged - recorded)}, refused {len(result.failures)}: "
            f"{exit_codes(result.failures)}); "
            f"{result.seconds:.1f} s"
        )
        if result.failures:
            print(f"first refusal: {result.failures[0][:300]}")
        if lost > 0:
            break
    assert lost_per_attempt[-1] > 0, f"nothing lost in {len(lost_per_attempt)} runs without the lock: cannot see loss"
