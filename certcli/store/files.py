"""The JSON and TOML file backend: validated loads, atomic writes under a lock file."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certcli.atomic import fsync_folder, sweep_temp_files, write_atomically
from certcli.errors import DataError, StateError, StoreBusy
from certcli.formats.documents import FileFormat
from certcli.model import AuditEntry, AuditHead, Document
from certcli.store import FILE_STORE_ADVISED_ENROLLMENTS, Loading, Need, Parts, Snapshot, pending_entry, tally
from certcli.store.document import (
    changed_rows,
    document_from_data,
    document_to_data,
    refuse_unreadable,
    refuse_unreadable_document,
)
from certcli.store.turns import queue_path, take_in_turn

if TYPE_CHECKING:
    from collections import Counter

    from certcli.rules import Standing
    from certcli.store.health import Finding

SNAPSHOT_ATTEMPTS = 20  # writers of one store take turns; each retry follows a write that completed
NEW_STORE_MODE = 0o600  # a store holds personal data: owner-only unless the admin widens it


def parse_document(raw: bytes, fmt: FileFormat, source: str, cache_for: Path | None = None) -> Document:
    """Bytes of a store file into a validated `Document`, or `DataError`.

    With `cache_for` (the store's path), a TOML store's parsed data may come from the parse cache.
    """
    try:
        if cache_for is not None and fmt.name == "TOML":
            from certcli.store.parse_cache import parse_cached

            data = parse_cached(raw, cache_for, lambda content: fmt.parse(content.decode("utf-8")))
        else:
            data = fmt.parse(raw.decode("utf-8"))
        return document_from_data(data, source)
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8") from None
    except RecursionError:
        raise DataError(f"{source}: nested too deeply to be a store", hint="restore the file from a backup") from None
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        raise DataError(
            f"{source}: malformed {fmt.name}: {exc}",
            hint=f"correct the {fmt.name} syntax at that place, or restore the file from a backup",
        ) from None


def serialize_document(doc: Document, fmt: FileFormat) -> bytes:
    return fmt.dump(document_to_data(doc)).encode("utf-8")


class FileStore:
    """One JSON or TOML file; a sibling `<name>.lock` serialises writers."""

    def __init__(self, path: Path, fmt: FileFormat, lock_timeout: float, location: str | None = None) -> None:
        self.path = path  # symbolic links resolved: the log, lock and proofs live beside the real file
        self.fmt = fmt
        self.lock_timeout = lock_timeout
        self.location = location or str(path)
        self.proofs_dir = path.with_name(path.stem + ".proofs")
        self.audit_path = Path(f"{path}.audit.jsonl")
        self._notices: list[str] = []
        self._advised = False
        self.partial_reads = False  # a file is read whole whatever the command needs

    def exists(self) -> bool:
        return self.path.exists()

    def _missing(self) -> DataError:
        return DataError(
            f"store {self.location} does not exist",
            hint="create one with `certcli init --admin ID`, or point --store / CERTCLI_STORE at an existing one",
        )

    def _read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise self._missing() from None
        except OSError as exc:
            raise DataError(f"cannot read store {self.location}: {exc.strerror}") from None

    def read(self, need: Need | None = None) -> Document:
        return self._advise(parse_document(self._read_bytes(), self.fmt, self.location, cache_for=self.path))

    def _advise(self, doc: Document) -> Document:
        if len(doc.enrollments) > FILE_STORE_ADVISED_ENROLLMENTS and not self._advised:
            self._advised = True
            self._notices.append(
                f"{self.location} holds {len(doc.enrollments):,} enrollments; a file store reads all of them "
                f"for every command. Move to SQLite for speed: certcli migrate --to {self.path.with_suffix('.db')}"
            )
        return doc

    def take_notices(self) -> list[str]:
        notices, self._notices = self._notices, []
        return notices

    def check_health(self, doc: Document) -> list[Finding]:
        from certcli.store.health import file_store_findings

        return file_store_findings(doc, self.path, self.audit_path, self.proofs_dir)

    def rebuild_derived(self, entry: AuditEntry) -> int:
        return 0  # a file keeps nothing worked out from the facts

    def content_hash(self, doc: Document) -> str | None:
        from certcli import audit

        return audit.document_hash(document_to_data(doc))

    def standings(
        self,
        doc: Document,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        active_only: bool = True,
    ) -> Iterator[tuple[str, str, Standing]]:
        from certcli import rules

        for enrollment in doc.enrollments:
            if certification is not None and enrollment.certification != certification:
                continue
            if users is not None and enrollment.user not in users:
                continue
            if active_only and not doc.users[enrollment.user].active:
                continue
            view = rules.evaluate(enrollment, doc.certifications[enrollment.certification], now)
            if view is not None:
                yield enrollment.user, enrollment.certification, rules.standing(view)

    def standing_counts(
        self,
        doc: Document,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        expiring_until: date,
        active_only: bool = True,
    ) -> Counter[tuple[str, str, bool, bool]]:
        standings = self.standings(doc, now, certification, users, active_only)
        return tally(standings, now.date(), expiring_until)

    def put_proof(self, sha256: str, content: bytes) -> None:
        from certcli.proofs import keep_in_folder

        keep_in_folder(self.proofs_dir, sha256, content)

    def proof_content(self, sha256: str) -> bytes | None:
        try:
            return (self.proofs_dir / sha256).read_bytes()
        except OSError:
            return None

    def _sweep(self) -> None:
        """Remove what killed writers left: temp files of the store and of proof uploads (lock held)."""
        from certcli.proofs import sweep_temp_files as sweep_proof_temp_files

        sweep_temp_files(self.path)
        sweep_proof_temp_files(self.proofs_dir)

    @property
    def lock_path(self) -> Path:
        return Path(f"{self.path}.lock")

    def own_files(self) -> list[Path]:
        return [self.path, self.audit_path, self.lock_path, queue_path(self.path), self.proofs_dir]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.lock_path))

        def take(seconds: float) -> None:
            try:
                lock.acquire(timeout=seconds)
            except Timeout:
                raise self._busy() from None

        try:
            take_in_turn(self.path, self.location, self.lock_timeout, take, self._busy)
        except OSError as exc:
            raise DataError(f"cannot lock store {self.location}: {exc.strerror}") from None
        try:
            yield
        finally:
            lock.release()

    def _busy(self) -> StoreBusy:
        return StoreBusy(
            f"store {self.location} is locked by another process (waited {self.lock_timeout:g} s)",
            hint=f"another certcli holds the lock file {self.lock_path}; retry in a moment, "
            "or wait longer with CERTCLI_LOCK_TIMEOUT=SECONDS",
        )

    def _identity(self) -> tuple[int, int, int] | None:
        """What changes whenever a writer replaces the store (it renames a new file into place)."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def read_with_audit(self, need: Need | None = None) -> tuple[Document, list[dict[str, Any]], str | None]:
        """Without the lock, like every reading command: the log is read after the store, and the
        store read again when a writer replaced it meanwhile (its log may then hold a later event)."""
        for _ in range(SNAPSHOT_ATTEMPTS):
            before = self._identity()
            doc = self.read(need)
            events, problem = self.read_audit()
            if self._identity() == before:
                break
        return doc, events, problem

    def _save(self, data: dict[str, Any], mode: int) -> None:
        try:
            write_atomically(self.path, self.fmt.dump(data).encode("utf-8"), mode)
        except OSError as exc:
            raise DataError(
                f"cannot write store {self.location}: {exc.strerror}",
                hint="check free space and permissions; the store was left as it was",
            ) from None

    def create(self, doc: Document) -> None:
        refuse_unreadable_document(doc)
        self.restore(doc, [], {})

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        from certcli.store.paging import WholeSnapshot

        doc, events, problem = self.read_with_audit()
        yield WholeSnapshot(self.location, doc, events, problem, self.content_hash(doc), self.proof_content)

    @contextlib.contextmanager
    def loading(self, header: Document) -> Iterator[Loading]:
        """The pages gathered in memory: a file is written whole, when `finish` runs."""
        from certcli.store.paging import WholeLoading

        if self.path.exists():
            raise self._already_exists()
        yield WholeLoading(self, header)

    def _already_exists(self) -> StateError:
        return StateError(
            f"store {self.location} already exists", hint="use it as it is, or choose another path with --store"
        )

    def restore(self, doc: Document, events: list[dict[str, Any]], proofs: dict[str, bytes]) -> None:
        from certcli import audit

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self.path.exists():
                raise self._already_exists()
            self._sweep()
            history = b"".join(audit.encode_event(past) for past in events)
            if self._holds_other_log(history):
                raise StateError(
                    f"{self.audit_path} holds the audit log of an earlier store",
                    hint="move it away first, or choose another path with --store",
                )
            for sha256, content in proofs.items():
                self.put_proof(sha256, content)
            head = AuditHead(events[-1]) if events else None
            data = document_to_data(doc)
            event = audit.make_event(pending_entry(doc), head, audit.document_hash(data), datetime.now(UTC))
            try:
                if events:  # the history first: a store without its log would not verify
                    self._write_log(history)
                self._save_event(doc, data, event, NEW_STORE_MODE)
            except BaseException:
                if events and not self.path.exists():
                    self.audit_path.unlink(missing_ok=True)
                raise

    def _holds_other_log(self, history: bytes) -> bool:
        """Whether a log is already there that does not begin `history`: one left by a creation of this
        very store cut short after writing its log (a `migrate` killed, then run again, perhaps after the
        source changed: its chain goes on from there) is taken over."""
        try:
            existing = self.audit_path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise DataError(f"cannot read audit log {self.audit_path}: {exc.strerror}") from None
        return not history.startswith(existing)

    def _write_log(self, content: bytes) -> None:
        try:
            write_atomically(self.audit_path, content, NEW_STORE_MODE)
        except OSError as exc:
            raise DataError(f"cannot write audit log {self.audit_path}: {exc.strerror}") from None

    @contextlib.contextmanager
    def update(self, need: Need | None = None) -> Iterator[Document]:
        if not self.exists():
            raise self._missing()
        with self._locked():
            self._sweep()
            doc = self._advise(parse_document(self._read_bytes(), self.fmt, self.location))  # never from the cache
            head, before = doc.audit_head, document_to_data(doc)
            yield doc
            after = document_to_data(doc)
            if after != before or doc.record_anyway:
                refuse_unreadable(changed_rows(before, after), after["org"] if after["org"] != before["org"] else None)
                self._save_with_event(doc, head, before, after, stat.S_IMODE(os.stat(self.path).st_mode))

    @contextlib.contextmanager
    def update_in_parts(self, dry_run: bool = False) -> Iterator[Parts]:
        """A file is parsed and written whole: every part is the whole document."""
        from certcli.store.paging import WholeParts

        if dry_run:
            yield WholeParts(self.read())
            return
        with self.update() as doc:
            yield WholeParts(doc)

    # ------------------------------------------------------------ the audit log

    def read_audit(self) -> tuple[list[dict[str, Any]], str | None]:
        from certcli import audit

        try:
            raw = self.audit_path.read_bytes()
        except FileNotFoundError:
            return [], None
        except OSError as exc:
            raise DataError(f"cannot read audit log {self.audit_path}: {exc.strerror}") from None
        return audit.decode_log(raw)

    def _chain_event(
        self, doc: Document, head: AuditHead | None, before: dict[str, Any], after: dict[str, Any]
    ) -> dict[str, Any]:
        """The change's audit event, chained after the log as it stands.

        `head` and `before` are the store as it was: the log must match them, so
        tampering is never buried under new events; a log that lacks only the
        store's latest event (a change cut short between saving the store and
        appending) is completed. `after` is the document the change leaves.
        """
        from certcli import audit

        events, problem = self.read_audit()
        if problem is None and head is not None and audit.restorable(events, head):
            self._append_event(audit.encode_event(head.event))
            events = [*events, head.event]
        problem = problem or audit.verify(events, head, audit.document_hash(before))
        if problem is not None:
            raise DataError(
                f"audit log {self.audit_path} does not match the store: {problem}",
                hint="run `certcli audit verify`; restore the store and its log from a backup",
            )
        return audit.make_event(pending_entry(doc), head, audit.document_hash(after), datetime.now(UTC))

    def _save_with_event(
        self, doc: Document, head: AuditHead | None, before: dict[str, Any], after: dict[str, Any], mode: int
    ) -> None:
        """Save the store with its new audit event, then append the event to the log.
        The store holds the event too, so an append cut short is completed by the next change."""
        self._save_event(doc, after, self._chain_event(doc, head, before, after), mode)

    def _save_event(self, doc: Document, after: dict[str, Any], event: dict[str, Any], mode: int) -> None:
        from certcli import audit

        doc.audit_head = AuditHead(event)
        self._save({**after, "audit": event}, mode)
        with contextlib.suppress(DataError):
            self._append_event(audit.encode_event(event))

    def _append_event(self, line: bytes) -> None:
        created = not self.audit_path.exists()
        try:
            fd = os.open(self.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, NEW_STORE_MODE)
            try:
                size = os.fstat(fd).st_size  # writers hold the store lock: nobody else appends meanwhile
                try:
                    rest = memoryview(line)
                    while rest:  # a full disk writes part of a line and returns the count: write the rest
                        rest = rest[os.write(fd, rest) :]
                    os.fsync(fd)
                except OSError:
                    with contextlib.suppress(OSError):  # never leave a torn line behind
                        os.ftruncate(fd, size)
                    raise
            finally:
                os.close(fd)
            if created:
                fsync_folder(self.path.parent)
        except OSError as exc:
            raise DataError(
                f"cannot write audit log {self.audit_path}: {exc.strerror}",
                hint="check free space and permissions; the store was left as it was",
            ) from None
