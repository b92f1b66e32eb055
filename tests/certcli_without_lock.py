"""`certcli` with the store lock switched off: the control run of the concurrency test.

    python tests/certcli_without_lock.py [certcli arguments...]

Replaces `FileStore._locked` (the exclusive lock held across every
read-modify-write) with a context manager that does nothing, then runs the
real command line. Everything else (validation, atomic writes, the audit
chain) stays as it is, so any update that goes missing was lost for want of the lock.
Never use it on a store you care about.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from certcli.store.files import FileStore


@contextlib.contextmanager
def _no_lock(self: FileStore) -> Iterator[None]:
    yield


FileStore._locked = _no_lock  # type: ignore[method-assign]

if __name__ == "__main__":
    from certcli.cli import main

    main()
