"""Where documents live. Every backend implements `Store`; `open_store` picks one by the location.

The use cases in `certcli.usecases` see only this interface. A JSON or TOML file
holds one document read whole; SQLite and PostgreSQL hold it in indexed tables
and load only the part a command names in its `Need`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from certcli.errors import UsageError
from certcli.model import AuditEntry, Document, Record

if TYPE_CHECKING:
    from collections import Counter

    from certcli.rules import Standing
    from certcli.store.health import Finding
    from certcli.store.paging import Page

DEFAULT_LOCK_TIMEOUT = 10.0
FILE_STORE_ADVISED_ENROLLMENTS = 20_000


class Need(Record):
    """The part of a store a command reads or changes.

    A database loads these rows, plus the user and certification of every
    enrollment it loads and the courses of every certification; a file store
    loads everything anyway. `None` in place of a `Need` asks for everything.
    """

    __slots__ = (
        "users", "certifications", "courses", "enrollments_of_users", "enrollments_of_certifications",
        "reports_of", "awaiting_review_as_of", "all_users", "all_certifications", "groups", "all_groups",
        "all_courses",
    )  # fmt: skip

    def __init__(
        self,
        users: Collection[str] = (),
        certifications: Collection[str] = (),
        courses: Collection[str] = (),
        enrollments_of_users: Collection[str] = (),
        enrollments_of_certifications: Collection[str] = (),
        reports_of: str | None = None,  # a manager: their direct reports and their enrollments
        awaiting_review_as_of: datetime | None = None,  # enrollments that may hold a proof waiting for review
        all_users: bool = False,
        all_certifications: bool = False,
        groups: Collection[str] = (),
        all_groups: bool = False,
        all_courses: bool = False,
    ) -> None:
        self.users, self.certifications, self.courses = users, certifications, courses
        self.enrollments_of_users = enrollments_of_users
        self.enrollments_of_certifications = enrollments_of_certifications
        self.reports_of, self.awaiting_review_as_of = reports_of, awaiting_review_as_of
        self.all_users, self.all_certifications, self.all_courses = all_users, all_certifications, all_courses
        self.groups, self.all_groups = groups, all_groups


PAGE_ROWS = 5_000  # rows a page of a snapshot or a loading holds: what bounds the memory of a copy


class Snapshot(Protocol):
    """A store's content as it stood at one moment, read a page at a time: a database is never
    loaded whole (a file store is, being parsed whole anyway)."""

    location: str
    header: Document  # the schema, the organisation and the audit head; no rows
    content_hash: str | None  # what the latest audit event must carry, as `Store.content_hash` tells

    def counts(self) -> dict[str, int]:
        """How many rows each table holds, and how many audit events ("audit_events")."""

    def pages(self) -> Iterator[Page]:
        """The rows, validated, in the document's order, table by table (courses, certifications,
        users, groups, enrollments): each page a `Document` holding at most `PAGE_ROWS` of one table."""

    def fingerprint(self) -> str:
        """The `Fingerprint` of the rows `pages` yields, worked out without validating them again."""

    def events(self) -> Iterator[list[dict[str, Any]]]:
        """The audit events in order, a page at a time; `DataError` at a row that does not hold one."""

    def proof_content(self, sha256: str) -> bytes | None:
        """A kept proof file's content, or None when it is missing."""


class Loading(Protocol):
    """A new store filled a page at a time; it exists once `finish` ran and the block ended without
    an exception (a database's in one transaction), and is not there at all otherwise."""

    def add_page(self, page: Page) -> None:
        """Add the rows of `page` (certifications before the enrollments that name them)."""

    def add_events(self, events: list[dict[str, Any]]) -> None:
        """Add the next audit events of the history."""

    def add_proof(self, sha256: str, content: bytes) -> None:
        """Keep a proof file's content."""

    def finish(self, entry: AuditEntry) -> None:
        """Record `entry` as the event after the last one added."""


class Parts(Protocol):
    """A change made a part at a time under one write lock (a database's in one transaction): it is
    saved whole when the block of `Store.update_in_parts` ends without an exception, with the audit
    event the last part put in `pending_audit`, and nothing of it is saved otherwise."""

    def part(self, need: Need) -> AbstractContextManager[Document]:
        """The rows `need` names (a file store: the whole document, the same one each time); what
        the block changes in them is kept for the change when it ends without an exception."""


class Store(Protocol):
    """A place that holds one `Document`."""

    location: str
    partial_reads: bool  # whether `read` loads only what a `Need` names (else: the whole document)

    def take_notices(self) -> list[str]:
        """Warnings for the person at the terminal gathered so far (a file store grown too large,
        standings worked out again), each given once."""

    def exists(self) -> bool:
        """Whether the store has been created."""

    def read(self, need: Need | None = None) -> Document:
        """A consistent snapshot for commands that change nothing."""

    def create(self, doc: Document) -> None:
        """Create the store holding `doc`; `StateError` when it already exists."""

    def restore(self, doc: Document, events: list[dict[str, Any]], proofs: dict[str, bytes]) -> None:
        """Create the store holding `doc`, the audit `events` that led to it and the proof
        files by SHA-256, then record `doc.pending_audit`; `StateError` when it exists."""

    def snapshot(self) -> AbstractContextManager[Snapshot]:
        """The whole store as it stands now, to read a page at a time while the block runs."""

    def loading(self, header: Document) -> AbstractContextManager[Loading]:
        """Create the store with the schema and organisation of `header`, filled a page at a time;
        `StateError` when it exists."""

    def read_audit(self) -> tuple[list[dict[str, Any]], str | None]:
        """The audit log's events, and a problem with its first line that is not an event."""

    def read_with_audit(self, need: Need | None = None) -> tuple[Document, list[dict[str, Any]], str | None]:
        """`read(need)` and `read_audit()` as they stood at one moment: a change made meanwhile is
        seen whole or not at all, so the trail can be checked against the document without false alarms."""

    def check_health(self, doc: Document) -> list[Finding]:
        """What `doctor` finds of this backend beyond loading `doc`: its files on disk (modes, the
        lock, leftovers), the proofs it keeps. Reported, never raised; nothing is changed."""

    def own_files(self) -> list[Path]:
        """The files and folders on this machine that make up the store (none for a database on a
        server): an output file is never written to one of them, nor inside one of the folders."""

    def update(self, need: Need | None = None) -> AbstractContextManager[Document]:
        """Hold the write lock across read-modify-write: the document yielded is
        saved when the block ends without an exception, and left untouched otherwise.
        A change is saved with the audit event the block put in `pending_audit`."""

    def update_in_parts(self, dry_run: bool = False) -> AbstractContextManager[Parts]:
        """Hold the write lock across a change too large to load at once (a bulk import), made a
        part at a time; memory holds a part, not the store. With `dry_run` the parts are read from
        one snapshot, without the write lock, and nothing is saved: a database's part then does not
        see what earlier parts changed."""

    def put_proof(self, sha256: str, content: bytes) -> None:
        """Keep a proof file's content; inside `update`, it is kept with the change."""

    def proof_content(self, sha256: str) -> bytes | None:
        """A kept proof file's content, or None when it is missing."""

    def rebuild_derived(self, entry: AuditEntry) -> int:
        """Work out again what the backend keeps derived from the facts (a database's standings) when it
        differs, recording `entry` as the audit event; how many enrollments' rows differed (0: nothing written)."""

    def content_hash(self, doc: Document) -> str | None:
        """The SHA-256 the latest audit event must carry for `doc`, or None where the
        backend records a hash of each change instead of the whole document."""

    def standings(
        self,
        doc: Document,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        active_only: bool = True,
    ) -> Iterator[tuple[str, str, Standing]]:
        """(user, certification, standing as of `now`) of every enrollment, or of those of
        one certification and some users, for reports over the whole organisation; with
        `active_only`, deactivated users' enrollments are left out."""

    def standing_counts(
        self,
        doc: Document,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        expiring_until: date,
        active_only: bool = True,
    ) -> Counter[tuple[str, str, bool, bool]]:
        """How many of those enrollments stand each way: counts by (certification, status,
        overdue, completed with a validity ending from today to `expiring_until`)."""


def tally(
    standings: Iterable[tuple[str, str, Standing]], today: date, expiring_until: date
) -> Counter[tuple[str, str, bool, bool]]:
    """`Store.standing_counts` worked out from standings one by one."""
    from collections import Counter

    from certcli.rules import COMPLETED

    counts: Counter[tuple[str, str, bool, bool]] = Counter()
    for _, cert, standing in standings:
        until = standing.valid_until
        expiring = standing.status == COMPLETED and until is not None and today <= until <= expiring_until
        counts[cert, standing.status, standing.overdue, expiring] += 1
    return counts


def pending_entry(doc: Document) -> AuditEntry:
    """The change `doc` is saved with: the one the command named, else a bare update."""
    return doc.pending_audit or AuditEntry(datetime.now(UTC), "", "update", {}, {})


SECRET_PARAMETERS = ("password", "sslpassword")  # the libpq connection parameters that hold secrets


def _split_secrets(location: str) -> tuple[str, list[str]]:
    """`location` with its secrets as `***`, and the secrets as written. A URL's password sits
    between the first ':' of its user part and the last '@' before the query (it may hold '/' or
    '@'); `password` and `sslpassword` may also come as query parameters, as libpq accepts."""
    from urllib.parse import unquote

    scheme, separator, rest = location.partition("://")
    if not separator:
        return location, []
    authority_and_path, question, query = rest.partition("?")
    found: list[str] = []
    at = authority_and_path.rfind("@")
    if at != -1:
        user, colon, password = authority_and_path[:at].partition(":")
        if colon:
            found.append(password)
            authority_and_path = f"{user}:***{authority_and_path[at:]}"
    parameters = []
    for parameter in query.split("&") if question else []:
        key, equals, value = parameter.partition("=")
        if equals and unquote(key).strip().lower() in SECRET_PARAMETERS:
            found.append(value)
            parameter = f"{key}=***"
        parameters.append(parameter)
    found += [unquote(secret) for secret in found]
    return f"{scheme}://{authority_and_path}{question}{'&'.join(parameters)}", [s for s in found if s]


def redact(location: str) -> str:
    """A store location fit to show or record: every password in it hidden."""
    return _split_secrets(location)[0]


def scrub(text: str, location: str) -> str:
    """`text` (a driver's message, say) with every secret of `location` hidden, wherever it appears."""
    from certcli import scrubbing

    shown, secrets = _split_secrets(location)
    scrubbing.hide(*secrets)
    return scrubbing.scrub(text.replace(location, shown))


def open_store(location: str | Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Store:
    """The backend for `location`: a .json or .toml file, a .db or .sqlite file or
    sqlite:///PATH URL, or a postgresql:// URL."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from certcli import scrubbing
        from certcli.store.postgres import PostgresStore

        scrubbing.hide(*_split_secrets(text)[1])
        return PostgresStore(text, lock_timeout)
    if text.startswith("sqlite:///"):
        from certcli.store.sqlite import SqliteStore

        return SqliteStore(_real(Path(text.removeprefix("sqlite:///"))), lock_timeout, text)
    if "://" in text:
        raise UsageError(
            f"unsupported store URL {redact(text)!r}",
            hint="use sqlite:///PATH or postgresql://[USER@]HOST[:PORT]/DATABASE",
        )
    path = Path(location)
    suffix = path.suffix.lower()
    if suffix in (".db", ".sqlite"):
        from certcli.store.sqlite import SqliteStore

        return SqliteStore(_real(path), lock_timeout, text)
    from certcli.formats.documents import FORMATS
    from certcli.store.files import FileStore

    if suffix not in FORMATS:
        raise UsageError(
            f"unsupported store {text!r}: the name must end in .json, .toml, .db or .sqlite, or be a URL",
            hint="pass --store PATH.toml, PATH.json, PATH.db, sqlite:///PATH or postgresql://HOST/DATABASE",
        )
    return FileStore(_real(path), FORMATS[suffix], lock_timeout, text)


def _real(path: Path) -> Path:
    """`path` with every symbolic link resolved, once: a store reached through a link keeps its
    lock, log, proofs and journal beside the real file, and is replaced there, not the link."""
    import os

    return Path(os.path.realpath(path))
