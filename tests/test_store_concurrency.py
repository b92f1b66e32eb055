"""Concurrent writers: the store's lock makes every read-modify-write count.

Eight processes each add fifty courses at the same moment. Through `store.update()`
all 400 survive; the same work done without the lock loses some, which shows the
test is able to see a lost update at all.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from certcli.model import Course, Document, User
from certcli.store import open_store

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
