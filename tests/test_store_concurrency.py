"""Concurrent writers: the store's lock makes every read-modify-write count.

Eight processes each add fifty courses at the same moment. Through `store.update()`
all 400 survive; the same work done without the lock loses some, which shows the
test is able to see a lost update at all.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from backends import postgres_schema, postgres_url

from certcli import usecases
from certcli.errors import StoreBusy
from certcli.model import Course, Document, User
from certcli.store import Need, open_store

WORKER_SCRIPT = Path(__file__).with_name("store_worker.py")
WORKERS = 8
UPDATES_PER_WORKER = 50
EXPECTED_COURSES = {f"w{worker}-{number}" for worker in range(WORKERS) for number in range(UPDATES_PER_WORKER)}
CONTROL_ATTEMPTS = 3
RUN_TIMEOUT_SECONDS = 120.0


def seed_store(path: Path | str) -> None:
    open_store(path).create(
        Document(
            org_name="Race Inc",
            users={"root": User("root", "Root", "admin")},
            courses={"seed": Course("seed", "Seed course")},
        )
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def run_workers(mode: str, store_path: Path | str, run_dir: Path) -> None:
    """Start all workers, release them together, and wait for each to succeed."""
    ready_dir = run_dir / "ready"
    ready_dir.mkdir(parents=True)
    start_file = run_dir / "start"
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER_SCRIPT),
                mode,
                str(store_path),
                str(ready_dir),
                str(start_file),
                str(worker),
                str(UPDATES_PER_WORKER),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WORKERS)
    ]
    try:
        wait_until(lambda: len(list(ready_dir.iterdir())) == WORKERS, RUN_TIMEOUT_SECONDS, "workers to be ready")
        start_file.touch()
        for process in processes:
            _, stderr = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
            assert process.returncode == 0, f"{mode} worker failed:\n{stderr}"
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def surviving_worker_courses(store_path: Path | str) -> set[str]:
    courses = open_store(store_path).read().courses
    assert "seed" in courses
    return set(courses) - {"seed"}


def test_locked_updates_from_many_processes_all_survive(new_store: str, tmp_path: Path) -> None:
    """On every backend: the file lock, SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock."""
    store_path = new_store
    seed_store(store_path)

    run_workers("locked", store_path, tmp_path / "run")

    assert surviving_worker_courses(store_path) == EXPECTED_COURSES


def test_without_the_lock_updates_are_lost(tmp_path: Path) -> None:
    """The control: the same read-modify-write without the lock must lose updates."""
    survivors: list[int] = []
    for attempt in range(CONTROL_ATTEMPTS):
        store_path = tmp_path / f"race-{attempt}.json"
        seed_store(store_path)
        run_workers("unlocked", store_path, tmp_path / f"run-{attempt}")
        surviving = surviving_worker_courses(store_path)
        assert surviving <= EXPECTED_COURSES
        survivors.append(len(surviving))
        if len(surviving) < len(EXPECTED_COURSES):
            return
    raise AssertionError(f"no update was lost in {CONTROL_ATTEMPTS} unlocked runs (survivors: {survivors})")


# ---------------------------------------------------------------- PostgreSQL: writers side by side


def _cli_ok(location: str, *args: str) -> None:
    from typer.testing import CliRunner

    from certcli.cli import app

    result = CliRunner().invoke(app, ["--store", location, "--as", "root", "--now", "2026-11-28", *args])
    assert result.exit_code == 0, result.stderr


def _with_two_courses_to_do(location: str) -> None:
    """The admin root, learners ana and ben, both enrolled in a certification of two courses."""
    usecases.init_store(open_store(location), "root", "Root", "Race Inc", datetime(2026, 11, 28, tzinfo=UTC))
    for learner in ("ana", "ben"):
        _cli_ok(location, "user", "add", learner, "--name", learner.title())
    for course in ("c1", "c2"):
        _cli_ok(location, "course", "add", course, "--title", course)
    _cli_ok(location, "define", "pack", "--title", "Pack", "--kind", "internal", "--course", "c1", "--course", "c2")
    _cli_ok(location, "assign", "pack", "ana", "ben")


NOON = datetime(2026, 11, 28, 12, tzinfo=UTC)


def held_open(url: str, inside: threading.Event, release: threading.Event) -> Any:
    """A PostgreSQL store whose change waits, its rows loaded and changed but not yet written, until released."""
    from certcli.store.postgres import PostgresStore

    class HeldOpen(PostgresStore):
        @contextlib.contextmanager
        def update(self, need: Need | None = None) -> Iterator[Any]:
            with super().update(need) as doc:
                yield doc
                inside.set()
                assert release.wait(60)

    return HeldOpen(url, 60.0)


@pytest.fixture
def race() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A PostgreSQL store where ana and ben have two courses to do, and the events a change held
    open by `held_open` sets once inside and waits for."""
    if postgres_url() is None:
        pytest.skip("CERTCLI_TEST_POSTGRES_URL is not set")
    with postgres_schema() as url:
        _with_two_courses_to_do(url)
        yield url, threading.Event(), threading.Event()


def test_postgresql_changes_to_other_learners_do_not_wait_and_none_is_lost(race: Any) -> None:
    """While a change to ana's enrollment holds its transaction open, a change to ben's commits; a
    second change to ana's waits for the first and applies on top; the chain verifies."""
    url, inside, release = race
    now = NOON
    outcomes: dict[str, Any] = {}

    def change(name: str, store: Any, course: str, learner: str) -> None:
        outcomes[name] = usecases.complete(usecases.Context(store, "root", now), "pack", course, learner)

    held = held_open(url, inside, release)
    first_to_ana = threading.Thread(target=change, args=("ana c1", held, "c1", "ana"))
    first_to_ana.start()
    assert inside.wait(60)
    change("ben c1", open_store(url, lock_timeout=5.0), "c1", "ben")  # commits while ana's is open
    waiting = open_store(url, lock_timeout=60.0)
    second_to_ana = threading.Thread(target=change, args=("ana c2", waiting, "c2", "ana"))
    second_to_ana.start()
    time.sleep(1.0)
    assert second_to_ana.is_alive(), "the second change to ana's enrollment should wait for the first"
    assert "ana c2" not in outcomes
    release.set()
    first_to_ana.join(60)
    second_to_ana.join(60)
    assert set(outcomes) == {"ana c1", "ben c1", "ana c2"}

    ctx = usecases.Context(open_store(url), "root", now)
    assert usecases.show(ctx, "pack", "ana").data["status"] == "completed"  # c1 and c2: nothing lost
    assert usecases.show(ctx, "pack", "ben").data["courses_done"] == 1
    events, problem = open_store(url).read_audit()
    completions = [(e["subject"]["user"], e["details"]["course"]) for e in events if e["action"] == "complete"]
    assert (problem, completions) == (None, [("ben", "c1"), ("ana", "c1"), ("ana", "c2")])
    assert usecases.audit_verify(ctx).data["ok"] is True


def test_postgresql_two_first_assignments_of_one_learner_end_with_one_and_a_retry(race: Any) -> None:
    """Neither change sees the other's new enrollment: the second to write finds it there, gets exit 7
    (busy: retry) and writes nothing; retried, it finds the learner assigned."""
    url, inside, release = race
    now = NOON
    _cli_ok(url, "user", "add", "cy", "--name", "Cy")
    failures: list[BaseException] = []

    def assign_cy() -> None:
        try:
            usecases.assign(usecases.Context(held_open(url, inside, release), "root", now), "pack", ["cy"], None)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            failures.append(exc)

    first = threading.Thread(target=assign_cy)
    first.start()
    assert inside.wait(60)
    ctx = usecases.Context(open_store(url, lock_timeout=5.0), "root", now)
    assert usecases.assign(ctx, "pack", ["cy"], None).data["assigned"] == ["cy"]
    events_before = open_store(url).read_audit()[0]
    release.set()
    first.join(60)

    assert len(failures) == 1 and isinstance(failures[0], StoreBusy), failures
    assert failures[0].exit_code == 7
    assert "another change was changing the same rows at the same moment" in failures[0].message
    assert open_store(url).read_audit()[0] == events_before  # the second wrote nothing
    retried = usecases.assign(ctx, "pack", ["cy"], None)
    assert (retried.data["assigned"], retried.data["unchanged"]) == ([], ["cy"])
    assert usecases.audit_verify(ctx).data["ok"] is True
