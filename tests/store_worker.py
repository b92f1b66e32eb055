"""A separate process that works on a store, for the lock and concurrency tests.

    python store_worker.py locked   STORE READY_DIR START_FILE WORKER COUNT
    python store_worker.py unlocked STORE READY_DIR START_FILE WORKER COUNT
    python store_worker.py hold     STORE

`locked` adds COUNT courses, one per `store.update()` (the locked read-modify-write).
`unlocked` does the same read-modify-write by hand with no lock, to show that updates
get lost without it. Both announce themselves by creating READY_DIR/WORKER, then wait
for START_FILE to appear so that all workers begin together.
`hold` takes the store's lock, prints "locked", and keeps it until stdin closes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from certcli.atomic import write_atomically
from certcli.formats.documents import FORMATS
from certcli.model import Course
from certcli.store import open_store
from certcli.store.files import parse_document, serialize_document

START_WAIT_SECONDS = 60.0
LOCK_TIMEOUT_SECONDS = 120.0


def course_id(worker: str, number: int) -> str:
    return f"w{worker}-{number}"


def wait_for_start(ready_dir: Path, start_file: Path, worker: str) -> None:
    (ready_dir / worker).touch()
    deadline = time.monotonic() + START_WAIT_SECONDS
    while not start_file.exists():
        if time.monotonic() > deadline:
            sys.exit(f"worker {worker}: no start signal")
        time.sleep(0.001)


def add_courses_locked(store_path: str, worker: str, count: int) -> None:
    store = open_store(store_path, lock_timeout=LOCK_TIMEOUT_SECONDS)
    for number in range(count):
        with store.update() as doc:
            new_id = course_id(worker, number)
            doc.courses[new_id] = Course(new_id, f"Course {number} of worker {worker}")


def add_courses_unlocked(store_path: Path, worker: str, count: int) -> None:
    fmt = FORMATS[store_path.suffix]
    for number in range(count):
        doc = parse_document(store_path.read_bytes(), fmt, str(store_path))
        new_id = course_id(worker, number)
        doc.courses[new_id] = Course(new_id, f"Course {number} of worker {worker}")
        write_atomically(store_path, serialize_document(doc, fmt), 0o600)


def hold_lock(store_path: Path) -> None:
    from filelock import FileLock

    with FileLock(f"{store_path}.lock"):
        print("locked", flush=True)
        sys.stdin.read()


def main(argv: list[str]) -> None:
    mode, store_path = argv[0], argv[1]
    if mode == "hold":
        hold_lock(Path(store_path))
        return
    ready_dir, start_file, worker, count = Path(argv[2]), Path(argv[3]), argv[4], int(argv[5])
    wait_for_start(ready_dir, start_file, worker)
    if mode == "locked":
        add_courses_locked(store_path, worker, count)
    else:
        add_courses_unlocked(Path(store_path), worker, count)


if __name__ == "__main__":
    main(sys.argv[1:])
