"""SQLite stores: one database file, WAL so readers go on while a change is written, built whole
beside its path and linked into place when created."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certcli.errors import DataError, StateError
from certcli.model import Document
from certcli.store.sql import NOTHING, STORE, Connection, listed
from certcli.store.sql_paging import PagedSqlStore, SqlLoading
from certcli.store.turns import queue_path, take_in_turn

if TYPE_CHECKING:
    from certcli.store.health import Finding

CREATING_SUFFIX = ".creating"  # a new store's file while it is built: `.NAME.RANDOM.creating` beside it
JOURNAL_SUFFIXES = ("-wal", "-shm", "-journal")


def _journals(path: Path) -> list[Path]:
    """The files SQLite keeps beside a database while it is in use."""
    return [Path(f"{path}{suffix}") for suffix in JOURNAL_SUFFIXES]


def _remove_with_journals(path: Path) -> None:
    for leftover in [*_journals(path), path]:  # the database last: a sweep finds what a crash here leaves
        with contextlib.suppress(OSError):
            leftover.unlink()


def _creation_prefix(path: Path) -> str:
    return f".{path.name}."


def _new_building_file(path: Path) -> tuple[int, Path]:
    """A new empty file beside `path` to build a store in, and a descriptor holding an exclusive
    lock on it, which tells a sweep that a live process is building it. mkstemp makes it
    owner-only, as a store holding personal data must be."""
    import fcntl
    import tempfile

    while True:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=_creation_prefix(path), suffix=CREATING_SUFFIX)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            return fd, Path(name)
        os.close(fd)  # a sweep took it for a leftover between its creation and the lock: make another


def sweep_creations(path: Path) -> list[Path]:
    """Remove the files that creations of `path` killed midway left, with their journals; a file
    a live process is building is locked and left alone. Returns what was removed."""
    return _abandoned_creations(path, remove=True)


def _abandoned_creations(path: Path, remove: bool = False) -> list[Path]:
    """The files creations of `path` killed midway left (no live process holds their lock)."""
    import fcntl

    prefix, found = _creation_prefix(path), []
    for entry in path.parent.iterdir():
        if not (entry.name.startswith(prefix) and entry.name.endswith(CREATING_SUFFIX)):
            continue
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if remove:
                _remove_with_journals(entry)
            found.append(entry)
        except OSError:  # locked: its builder is alive
            continue
        finally:
            os.close(fd)
    return found


def _on_read_only_file_system(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


class SqliteStore(PagedSqlStore):
    """One SQLite database file; WAL lets readers go on while a change is written."""

    blob = "BLOB"
    elsewhere_hint = "point --store at a certcli store, or name a new file to create one"

    def __init__(self, path: Path, lock_timeout: float, location: str | None = None) -> None:
        super().__init__()
        self.path = path  # symbolic links resolved: the journal files live beside the real database
        self.location = location or str(path)
        self.lock_timeout = lock_timeout
        self._building: Path | None = None  # the file a new store is being built in, until it is linked in place

    def own_files(self) -> list[Path]:
        return [self.path, *_journals(self.path), queue_path(self.path)]

    def check_health(self, doc: Document) -> list[Finding]:
        from certcli.store.health import Finding

        findings = super().check_health(doc)
        with contextlib.suppress(OSError):
            findings += [
                Finding("temp_files", False, f"{entry} was left by a creation of this store cut short; remove it")
                for entry in _abandoned_creations(self.path)
            ]
        return findings

    def _connect(self, write: bool) -> Connection:
        import sqlite3
        from urllib.parse import quote

        path = self._building or self.path
        if not path.exists():
            raise self._missing()
        read_only = _on_read_only_file_system(path)
        if read_only and write:
            raise DataError(
                f"cannot change store {self.location}: it is on a read-only file system",
                hint="remount the file system read-write, or copy the store to one that is",
            )
        mode = self._read_only_mode(path) if read_only else "rw"  # never "rwc": stores are made by linking
        try:
            raw = sqlite3.connect(
                f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=self.lock_timeout, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise DataError(
                f"cannot open store {self.location}: {exc}", hint="check the file and the permissions of its folder"
            ) from None
        conn = SqliteConnection(raw, self)
        try:
            if self._building is not None:  # readers go on while a change is written; set once, kept in the file
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _read_only_mode(self, path: Path) -> str:
        """How to open a database on a read-only file system, where WAL cannot make its shared-memory
        file: as immutable (nothing can change it there), unless its WAL file holds changes not yet in
        it, which only a read-only open with the shared-memory file already there can see."""
        wal, shm = _journals(path)[:2]
        if not wal.exists() or wal.stat().st_size == 0:
            return "ro&immutable=1"
        if shm.exists():
            return "ro"
        raise DataError(
            f"cannot read store {self.location} on a read-only file system: {wal.name} holds changes not yet in it",
            hint="remount the file system read-write once, or copy the store with its -wal file to one that is",
        )

    def exists(self) -> bool:
        return self.path.exists() and super().exists()

    def _contents(self, conn: Any) -> str:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        if "certcli_meta" in tables:
            return STORE
        if self._building is not None:
            return NOTHING
        return f"tables ({listed(tables)}) but no certcli_meta" if tables else "no tables (an empty database)"

    @contextlib.contextmanager
    def loading(self, header: Document) -> Iterator[SqlLoading]:
        with contextlib.suppress(OSError):  # the folder may not be there yet, or be read-only
            sweep_creations(self.path)
        self._refuse_existing()
        with self._building_file() as building:
            self._building = building
            try:
                with super().loading(header) as load:
                    yield load
            finally:
                self._building = None
            self._publish(building)

    def _refuse_existing(self) -> None:
        """Say what is at the path already, if anything: a store or something else (exit 5), or a file
        SQLite cannot read (exit 6)."""
        if not os.path.lexists(self.path):
            return
        with self._transaction(write=False) as conn:
            contents = self._contents(conn)
        raise self._already_exists() if contents == STORE else self._not_a_store(contents, StateError)

    @contextlib.contextmanager
    def _building_file(self) -> Iterator[Path]:
        """A file of its own to build the new store in, locked while it is built and removed afterwards
        (when it was linked in place, that removes only its temporary name)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, building = _new_building_file(self.path)
        except OSError as exc:
            raise DataError(
                f"cannot create store {self.location}: {exc.strerror}",
                hint="check the permissions of its folder and the free space",
            ) from None
        try:
            yield building
        finally:
            _remove_with_journals(building)
            os.close(fd)  # the lock last: no sweep may take the file while it is removed

    def _publish(self, building: Path) -> None:
        """Put the finished store at its path in one step; whatever appeared there meanwhile is left alone."""
        from certcli.atomic import fsync_folder

        left = [journal.name for journal in _journals(building) if journal.exists()]
        if left:  # closing the last connection checkpoints WAL into the database and removes these
            raise DataError(f"cannot create store {self.location}: {left[0]} stayed open", hint="try again")
        try:
            os.link(building, self.path)
        except FileExistsError:
            self._refuse_existing()
            raise self._already_exists() from None
        except OSError as exc:
            raise DataError(
                f"cannot create store {self.location}: {exc.strerror}",
                hint="create it on a file system that has hard links",
            ) from None
        with contextlib.suppress(OSError):
            fsync_folder(self.path.parent)

    def _begin(self, conn: Any, write: bool) -> None:
        if not write:
            conn.execute("BEGIN")
            return

        def take(seconds: float) -> None:
            conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
            conn.execute("BEGIN IMMEDIATE")

        take_in_turn(self.path, self.location, self.lock_timeout, take, lambda: conn._busy("another process"))
        conn.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")


class SqliteConnection(Connection):
    problems = (
        (("SQLITE_CORRUPT", "SQLITE_NOTADB"), "is not a readable SQLite store", "restore it from a backup"),
        (("SQLITE_READONLY",), "cannot be changed", "check the permissions of the file and its folder"),
        (("SQLITE_FULL",), "cannot be written", "free some space; the store was left as it was"),
        (
            ("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"),
            "cannot be read or written",
            "check the file, the permissions of its folder and the disk",
        ),
    )

    @contextlib.contextmanager
    def _errors(self, statement: str) -> Iterator[None]:
        import sqlite3

        try:
            yield
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorname", None) or ""
            if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise self._busy("another process") from None
            raise self._converted(code, str(exc), statement) from None
        except UnicodeDecodeError as exc:  # SQLite's own message quotes a damaged schema's bytes
            raise self._converted("SQLITE_CORRUPT", f"text that is not UTF-8 ({exc.reason})", statement) from None

    def commit(self) -> None:
        with self._errors("COMMIT"):
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
