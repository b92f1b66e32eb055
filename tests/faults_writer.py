"""A separate process for the fault tests of `test_reliability_faults.py`.

    python faults_writer.py write     STORE START COUNT
    python faults_writer.py hold      LOCK_FILE SECONDS
    python faults_writer.py intervals STORE LOG READY_DIR START_FILE WORKER COUNT locked|unlocked

`write` makes COUNT changes through the service layer, numbered from START (see
`change_kind`): it prints "ready" once the store is open, then "ack N" after
change N is saved and logged, flushing each line, so a test that kills it knows
which changes were acknowledged.
`hold` takes LOCK_FILE with filelock, prints "locked" and sleeps SECONDS.
`intervals` adds COUNT courses, each in its own `store.update()`, and appends
"WORKER ENTER EXIT" (monotonic nanoseconds) to LOG for each time it held the
store's lock: ENTER right after the lock is taken, EXIT right before it is
released, so the interval covers the whole read-modify-write, the save and the
audit append. `unlocked` takes no lock, to show that the test sees overlaps (it
carries on past the errors that racing writers cause).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ADMIN = "root"
START_WAIT_SECONDS = 60.0
INSIDE_SECONDS = 0.002  # time spent inside the lock on top of the real work, to widen any overlap


def change_kind(number: int) -> tuple[str, str]:
    """Change `number` of the writer: every third adds a user, the others a course."""
    return ("user", f"u{number}") if number % 3 == 0 else ("course", f"c{number}")


def title_of(number: int) -> str:
    return f"Killed-writer change {number}"


def warm_up(store: Any) -> None:
    """Import what the first change would import and read the store once, so that a
    kill timed from "ready" lands among the changes rather than in start-up work."""
    import json  # noqa: F401
    import tempfile  # noqa: F401
    import tomllib  # noqa: F401

    import filelock  # noqa: F401
    import tomli_w  # noqa: F401

    import certcli.audit  # noqa: F401

    store.read()


def write(store_path: Path, start: int, count: int) -> None:
    from certcli import usecases
    from certcli.store import open_store

    store = open_store(store_path, lock_timeout=60.0)
    warm_up(store)
    print("ready", flush=True)
    for number in range(start, start + count):
        ctx = usecases.Context(store=store, actor_id=ADMIN, now=datetime.now(UTC))
        kind, item = change_kind(number)
        if kind == "user":
            usecases.add_user(ctx, item, title_of(number), "learner", None, None)
        else:
            usecases.add_course(ctx, item, title_of(number), number)
        print(f"ack {number}", flush=True)


def hold(lock_file: Path, seconds: float) -> None:
    from filelock import FileLock

    with FileLock(str(lock_file)):
        print("locked", flush=True)
        time.sleep(seconds)


def intervals(
    store_path: Path, log: Path, ready_dir: Path, start_file: Path, worker: str, count: int, locked: bool
) -> None:
    from certcli.errors import CertcliError
    from certcli.model import Course
    from certcli.store import open_store
    from certcli.store.files import FileStore

    real_locked = FileStore._locked

    @contextlib.contextmanager
    def recorded(self: FileStore) -> Iterator[None]:
        with real_locked(self) if locked else contextlib.nullcontext():
            enter = time.monotonic_ns()
            try:
                yield
            finally:
                time.sleep(INSIDE_SECONDS)
                line = f"{worker} {enter} {time.monotonic_ns()}\n".encode()
                fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)

    FileStore._locked = recorded  # type: ignore[method-assign]
    store = open_store(store_path, lock_timeout=120.0)
    (ready_dir / worker).touch()
    deadline = time.monotonic() + START_WAIT_SECONDS
    while not start_file.exists():
        if time.monotonic() > deadline:
            sys.exit(f"worker {worker}: no start signal")
        time.sleep(0.001)
    for number in range(count):
        try:
            with store.update() as doc:
                new_id = f"w{worker}-{number}"
                doc.courses[new_id] = Course(new_id, f"Course {number} of worker {worker}")
        except CertcliError:
            if locked:
                raise
            # Without the lock, writers undo each other's changes and the audit check refuses
            # what follows; the control run only needs its intervals, so it carries on.


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "write":
        write(Path(argv[1]), int(argv[2]), int(argv[3]))
    elif mode == "hold":
        hold(Path(argv[1]), float(argv[2]))
    elif mode == "intervals":
        store, log, ready, start, worker, count, how = argv[1:8]
        intervals(Path(store), Path(log), Path(ready), Path(start), worker, int(count), how == "locked")
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
