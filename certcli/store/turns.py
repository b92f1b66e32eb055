"""Writers of a file or SQLite store take its write lock in turn.

Waiting for either lock is polling (filelock tries every 50 ms, SQLite's busy handler sleeps up to 100 ms
between tries), so a writer that takes the lock again the moment it let go of it, as `remind` does once
per message, would win nearly every time and keep the others waiting out their lock timeout. Each writer
therefore first takes its place in line, the lock file `<store>.queue.lock`, and holds it only while it
waits for the write lock: a writer back for its next change finds the place of the one waiting taken, and
waits for that one to have the write lock first. (PostgreSQL queues the waiters of a lock itself.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from time import monotonic

from certcli.errors import DataError, StoreBusy


def queue_path(store_path: Path) -> Path:
    return Path(f"{store_path}.queue.lock")


@contextlib.contextmanager
def in_line(store_path: Path, location: str, timeout: float, busy: Callable[[], StoreBusy]) -> Iterator[float]:
    """Hold this writer's place in line for the write lock while the block takes it; yields the seconds
    of `timeout` left for that. `busy()` is raised when the place is not had within `timeout`."""
    from filelock import FileLock, Timeout

    started = monotonic()
    place = FileLock(str(queue_path(store_path)), timeout=timeout)
    try:
        place.acquire()
    except Timeout:
        raise busy() from None
    except OSError as exc:
        raise DataError(f"cannot lock store {location}: {exc.strerror}") from None
    try:
        yield max(0.0, timeout - (monotonic() - started))
    finally:
        place.release()
