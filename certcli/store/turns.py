"""Writers of a file or SQLite store take its write lock in turn.

Waiting for either lock is polling (filelock tries every 50 ms, SQLite's busy handler sleeps up to 100 ms
between tries), so a writer that takes the lock again the moment it let go of it, as `remind` does once
per message, would win nearly every time and keep the others waiting out their lock timeout. So a writer
that finds the lock taken waits in line: it holds the lock file `<store>.queue.lock` while it waits for
the write lock. A writer coming for the lock takes its place in that line whenever the file is there,
and so lets the one waiting have the lock first; only when the file is not there (nobody has had to wait
yet) and the lock is free does it take the lock at once, which leaves nothing beside the store. (PostgreSQL
queues the waiters of a lock itself.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from time import monotonic

from certcli.errors import DataError, StoreBusy


def queue_path(store_path: Path) -> Path:
    return Path(f"{store_path}.queue.lock")


def take_in_turn(
    store_path: Path, location: str, timeout: float, take: Callable[[float], None], busy: Callable[[], StoreBusy]
) -> None:
    """Take the write lock of the store at `store_path` within `timeout` seconds, in turn with the other
    writers: `take(seconds)` takes it waiting at most that long, or raises `busy()`."""
    from filelock import FileLock, Timeout

    queue = queue_path(store_path)
    if not queue.exists():
        try:
            take(0)
            return
        except StoreBusy:
            pass
    started = monotonic()
    place = FileLock(str(queue))
    try:
        place.acquire(timeout=timeout)
    except Timeout:
        raise busy() from None
    except OSError as exc:
        raise DataError(f"cannot lock store {location}: {exc.strerror}") from None
    try:
        take(max(0.0, timeout - (monotonic() - started)))
    finally:
        place.release()
