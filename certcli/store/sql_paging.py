"""A database store read and written a page at a time: `migrate` copies a million enrollments
in the memory of a few thousand. The snapshot is one read transaction (PostgreSQL: repeatable
read), its rows streamed by the driver; the loading is one write transaction, which PostgreSQL
fills with COPY. `PagedSqlStore` is the `SqlStore` that creates, restores and copies this way:
the dialects build on it, and this module builds on `certcli.store.sql`, never the other way."""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from typing import Any

from certcli import rules
from certcli.errors import StateError
from certcli.model import SCHEMA_VERSION, AuditEntry, AuditHead, Certification, Document
from certcli.store import PAGE_ROWS, Need, pending_entry
from certcli.store.document import refuse_unreadable_document
from certcli.store.paging import TABLE_ORDER, Fingerprint, Page, broken_trail, pages_of
from certcli.store.sql import (
    NOTHING,
    ORG_ROW,
    STANDING_COLUMNS,
    STORE,
    TABLES,
    SqlStore,
    dumps,
    event_of,
    flag,
    list_digests,
    org_data,
    row_key,
    rows_of,
)

_ENROLLMENT_COLUMNS = "user_id, certification_id, facts, last_fact_at, awaiting_review"
_ENROLLMENT_ORDER = "position, user_id, certification_id"
# Each enrollment's standings rows, in the enrollments' order.
_STANDINGS_IN_ORDER = (
    "SELECT s.user_id, s.certification_id, s.last_fact_at, s.first_day, s.until_day,"
    " s.status, s.overdue, s.due, s.completed_on, s.valid_until, s.renewal_open, s.cycle"
    " FROM standings s JOIN enrollments e ON e.user_id = s.user_id AND e.certification_id = s.certification_id"
    " ORDER BY e.position, e.user_id, e.certification_id, s.first_day"
)


def _grouped(pages: Iterator[list[Any]]) -> Iterator[tuple[tuple[str, str], list[Any]]]:
    """Rows of consecutive pages grouped by their first two columns."""
    key: tuple[str, str] | None = None
    group: list[Any] = []
    for rows in pages:
        for row in rows:
            if (row[0], row[1]) != key:
                if key is not None:
                    yield key, group
                key, group = (row[0], row[1]), []
            group.append(list(row))
    if key is not None:
        yield key, group


class SqlSnapshot:
    """The `Snapshot` of a database store, read in the transaction `conn` holds."""

    def __init__(self, store: SqlStore, conn: Any, meta: dict[str, Any]) -> None:
        self.store, self._conn = store, conn
        self.location = store.location
        self.content_hash: str | None = None
        data: dict[str, Any] = {"schema": meta.get("schema", SCHEMA_VERSION), "org": meta.get("org", {})}
        if "head" in meta:
            data["audit"] = meta["head"]
        self.header = store._document(data, whole=False)
        self._refuse_edited("org", {ORG_ROW: data["org"]})

    def _refuse_edited(self, table: str, rows: dict[str, Any]) -> None:
        """A copy carries no row edited behind the trail's back into a store whose first event would bless it."""
        from certcli import audit

        digests = {key: audit.row_digest(row) for key, row in rows.items()}
        self.store.refuse_edited(self._conn, table, list(rows), digests)

    def counts(self) -> dict[str, int]:
        tables = (*TABLE_ORDER, "audit_events")
        return {table: self.store._rows(self._conn, f"SELECT COUNT(*) FROM {table}")[0][0] for table in tables}

    def pages(self) -> Iterator[Page]:
        for table in TABLE_ORDER:
            if table == "enrollments":
                yield from self._enrollment_pages()
                continue
            with contextlib.closing(self._stream(f"SELECT id, data FROM {table} ORDER BY position, id")) as streamed:
                for rows in streamed:  # closed here even when a page is refused: its cursor needs the connection
                    data = [self.store._row_data(table, key, text) for key, text in rows]
                    self._refuse_edited(table, {row["id"]: row for row in data})
                    yield Page(self.store._document({table: data}, whole=False), {table: data})

    def _enrollment_pages(self) -> Iterator[Page]:
        """Enrollments with what a database keeps beside their facts (last_fact_at, awaiting_review,
        their standings rows), so that another database copies those as they are."""
        query = f"SELECT {_ENROLLMENT_COLUMNS} FROM enrollments ORDER BY {_ENROLLMENT_ORDER}"
        with contextlib.closing(self._stream(_STANDINGS_IN_ORDER)) as streamed, contextlib.closing(
            self._stream(query)
        ) as enrollments:
            standings = _grouped(streamed)
            waiting = next(standings, None)
            for rows in enrollments:
                data = [self.store._enrollment_data(row[:3]) for row in rows]
                self._refuse_edited("enrollments", {row_key((row["user"], row["certification"])): row for row in data})
                stored = []
                for user, cert, facts, last_fact_at, awaiting in rows:
                    pieces: list[Any] = []
                    while waiting is not None and waiting[0] == (user, cert):
                        pieces, waiting = waiting[1], next(standings, None)
                    for piece in pieces:
                        self.store._standing([user, cert, *piece[5:]])
                    stored.append((facts, last_fact_at, self.flag(awaiting, user, cert), pieces))
                yield Page(self.store._document({"enrollments": data}, whole=False), {"enrollments": data}, stored)

    def flag(self, value: Any, user: str, cert: str) -> int:
        try:
            return int(flag(value, "awaiting_review"))
        except ValueError as exc:
            raise self.store._damaged(f"enrollments row ({user!r}, {cert!r})", f"holds {exc}") from None

    def fingerprint(self) -> str:
        fingerprint = Fingerprint()
        for table in TABLE_ORDER:
            if table == "enrollments":
                query = f"SELECT user_id, certification_id, facts FROM enrollments ORDER BY {_ENROLLMENT_ORDER}"
                for rows in self._stream(query):
                    for row in rows:
                        fingerprint.add(table, self.store._enrollment_data(row))
                continue
            for rows in self._stream(f"SELECT id, data FROM {table} ORDER BY position, id"):
                for key, text in rows:
                    fingerprint.add(table, self.store._row_data(table, key, text))
        return fingerprint.hexdigest()

    def events(self) -> Iterator[list[dict[str, Any]]]:
        count = 0
        for rows in self._stream("SELECT seq, event FROM audit_events ORDER BY seq"):
            page = []
            for seq, text in rows:
                try:
                    page.append(event_of(text))
                except ValueError as exc:
                    problem = f"audit_events row {seq!r} (after event {count}): {exc}; the table was edited"
                    raise broken_trail(self.location, problem) from None
                count += 1
            yield page

    def proof_content(self, sha256: str) -> bytes | None:
        return self.store._proof_content(self._conn, sha256)

    def _stream(self, text: str) -> Generator[list[Any], None, None]:
        return self._conn.stream(self.store._sql(text), [], PAGE_ROWS)


class SqlLoading:
    """The `Loading` of a new database store, in the write transaction `conn` holds."""

    def __init__(self, store: SqlStore, conn: Any, header: Document) -> None:
        from certcli import audit

        self.store, self._conn, self._header = store, conn, header
        self._change = audit.ChangeHash()
        self._certifications: dict[str, Certification] = {}
        self._head: AuditHead | None = None
        # The copy's event lists every row (a table past LISTED_ROWS_LIMIT as unlisted, so memory stays bounded).
        self._digests: dict[str, dict[str, str | None]] = {audit.WHOLE_STORE: {}}

    def add_page(self, page: Page) -> None:
        self._certifications.update(page.certifications)
        for table, plain in page.data.items():
            for data in plain:
                self._change.add(table, "written", data)
        self._list_rows(page)
        if page.stored is not None:
            self._copy_enrollments(page)
            return
        rows = rows_of(page)
        named = Document(enrollments=page.enrollments, certifications=self._certifications)
        for table in TABLES:
            if rows[table]:
                self.store._write(self._conn, named, table, rows[table], {})

    def _list_rows(self, page: Page) -> None:
        """Each row's digest for the copy's event, until a table has more than the event lists."""
        from certcli import audit

        for table, rows in rows_of(page).items():
            if audit.UNLISTED not in self._digests.get(table, {}):  # past the limit, digests are not worked out
                digests = {row_key(key): audit.row_digest(data) for key, data in rows.items()}
                list_digests(self._digests, table, digests)

    def _copy_enrollments(self, page: Page) -> None:
        """Enrollments read from a database, their columns and standings written as they were read
        (by the same rules: a store's standings are worked out again when the rules change)."""
        position = self.store._last_position(self._conn, "enrollments")
        rows, pieces = [], []
        for number, (enrollment, (facts, last_fact_at, awaiting, standings)) in enumerate(
            zip(page.enrollments, page.stored, strict=True), position + 1
        ):
            rows.append([enrollment.user, enrollment.certification, number, facts, last_fact_at, awaiting])
            pieces += standings
        columns = ("user_id", "certification_id", "position", "facts", "last_fact_at", "awaiting_review")
        self.store._insert(self._conn, "enrollments", columns, rows)
        if pieces:
            keys = ("user_id", "certification_id", "last_fact_at", "first_day", "until_day")
            self.store._insert(self._conn, "standings", (*keys, *STANDING_COLUMNS.split(", ")), pieces)

    def add_events(self, events: list[dict[str, Any]]) -> None:
        if events:
            self.store._insert(self._conn, "audit_events", ("seq", "event"), [[e["seq"], dumps(e)] for e in events])
            self.store._keep_digests(self._conn, events)
            self._head = AuditHead(events[-1])

    def add_proof(self, sha256: str, content: bytes) -> None:
        self.store._put_proof(self._conn, sha256, content)

    def finish(self, entry: AuditEntry) -> None:
        from certcli import audit

        org = org_data(self._header)
        self.store._set_meta(self._conn, "org", dumps(org))
        self._change.add("org", "written", org)
        self._digests["org"] = {ORG_ROW: audit.row_digest(org)}
        self.store._append_event(self._conn, entry, self._head, self._change.hexdigest(), self._digests)


class PagedSqlStore(SqlStore):
    """A `SqlStore` created, restored and copied a page at a time (what SQLite and PostgreSQL are)."""

    def create(self, doc: Document) -> None:
        refuse_unreadable_document(doc)
        self.restore(doc, [], {})

    def restore(self, doc: Document, events: list[dict[str, Any]], proofs: dict[str, bytes]) -> None:
        with self.loading(doc) as load:
            load.add_events(events)
            for sha256, content in proofs.items():
                load.add_proof(sha256, content)
            for page in pages_of(doc):
                load.add_page(page)
            load.finish(pending_entry(doc))

    @contextlib.contextmanager
    def loading(self, header: Document) -> Iterator[SqlLoading]:
        with self._transaction(write=True) as conn:
            self._lock_creation(conn)
            contents = self._contents(conn)
            if contents == STORE:
                raise self._already_exists()
            if contents != NOTHING:
                raise self._not_a_store(contents, StateError)
            self._prepare_new(conn)
            self._create_layout(conn, 0)
            self._set_meta(conn, "schema", str(header.schema))
            self._set_meta(conn, "rules", str(rules.RULES_VERSION))
            yield SqlLoading(self, conn, header)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[SqlSnapshot]:
        self.read(Need())  # brings an older layout forward first
        with self._transaction(write=False) as conn:
            yield SqlSnapshot(self, conn, self._checked_meta(conn, write=False))
