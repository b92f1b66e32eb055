"""Where documents live. Every backend implements `Store`; `open_store` picks one by the location.

The use cases in `certcli.service` see only this interface, so a database
backend can be added without touching them or the rules.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from certcli.errors import UsageError
from certcli.model import Document

DEFAULT_LOCK_TIMEOUT = 10.0


class Store(Protocol):
    """A place that holds one `Document`."""

    location: str
    proofs_dir: Path

    def exists(self) -> bool:
        """Whether the store has been created."""

    def read(self) -> Document:
        """A consistent snapshot for commands that change nothing."""

    def create(self, doc: Document) -> None:
        """Create the store holding `doc`; `StateError` when it already exists."""

    def read_audit(self) -> tuple[list[dict[str, Any]], str | None]:
        """The audit log's events, and a problem with its first line that is not an event."""

    def update(self) -> AbstractContextManager[Document]:
        """Hold the write lock across read-modify-write: the document yielded is
        saved when the block ends without an exception, and left untouched otherwise.
        A change is saved with the audit event the block put in `pending_audit`."""


def open_store(location: str | Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Store:
    """The backend for `location`, chosen by its extension."""
    from certcli.store.files import FORMATS, FileStore

    path = Path(location)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"unsupported store {str(location)!r}: the name must end in .json or .toml",
            hint="pass --store PATH.toml or --store PATH.json",
        )
    return FileStore(path, FORMATS[suffix], lock_timeout)
