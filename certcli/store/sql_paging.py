"""A database store read and written a page at a time: `migrate` copies a million enrollments
in the memory of a few thousand. The snapshot is one read transaction (PostgreSQL: repeatable
read), its rows streamed by the driver; the loading is one write transaction, which PostgreSQL
fills with COPY."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from certcli.model import SCHEMA_VERSION, AuditEntry, AuditHead, Certification, Document
from certcli.store import PAGE_ROWS
from certcli.store.paging import TABLE_ORDER, broken_trail

if TYPE_CHECKING:
    from certcli.store.sql import SqlStore


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

    def counts(self) -> dict[str, int]:
        tables = (*TABLE_ORDER, "audit_events")
        return {table: self.store._rows(self._conn, f"SELECT COUNT(*) FROM {table}")[0][0] for table in tables}

    def pages(self) -> Iterator[Document]:
        from certcli.store.sql import _KEYS

        for table in TABLE_ORDER:
            columns = "user_id, certification_id, facts" if table == "enrollments" else "id, data"
            order = f"position, {_KEYS.get(table, 'id')}"
            for rows in self._stream(f"SELECT {columns} FROM {table} ORDER BY {order}"):
                if table == "enrollments":
                    data = [self.store._enrollment_data(row) for row in rows]
                else:
                    data = [self.store._row_data(table, key, text) for key, text in rows]
                yield self.store._document({table: data}, whole=False)

    def events(self) -> Iterator[list[dict[str, Any]]]:
        from certcli.store.sql import _event

        count = 0
        for rows in self._stream("SELECT seq, event FROM audit_events ORDER BY seq"):
            page = []
            for seq, text in rows:
                try:
                    page.append(_event(text))
                except ValueError as exc:
                    problem = f"audit_events row {seq!r} (after event {count}): {exc}; the table was edited"
                    raise broken_trail(self.location, problem) from None
                count += 1
            yield page

    def proof_content(self, sha256: str) -> bytes | None:
        return self.store.proof_content(sha256)  # named by its content: any transaction finds the same bytes

    def _stream(self, text: str) -> Iterator[list[Any]]:
        return self._conn.stream(self.store._sql(text), [], PAGE_ROWS)


class SqlLoading:
    """The `Loading` of a new database store, in the write transaction `conn` holds."""

    def __init__(self, store: SqlStore, conn: Any, header: Document) -> None:
        from certcli import audit

        self.store, self._conn, self._header = store, conn, header
        self._change = audit.ChangeHash()
        self._certifications: dict[str, Certification] = {}
        self._head: AuditHead | None = None

    def add_page(self, page: Document) -> None:
        from certcli.store.sql import _TABLES, _rows_of

        self._certifications.update(page.certifications)
        rows = _rows_of(page)
        named = Document(enrollments=page.enrollments, certifications=self._certifications)
        for table in _TABLES:
            if rows[table]:
                self.store._write(self._conn, named, table, rows[table], {})
                for data in rows[table].values():
                    self._change.add(table, "written", data)

    def add_events(self, events: list[dict[str, Any]]) -> None:
        from certcli.store.sql import _dumps

        if events:
            self.store._insert(self._conn, "audit_events", ("seq", "event"), [[e["seq"], _dumps(e)] for e in events])
            self._head = AuditHead(events[-1])

    def add_proof(self, sha256: str, content: bytes) -> None:
        self.store._put_proof(self._conn, sha256, content)

    def finish(self, entry: AuditEntry) -> None:
        from certcli.store.sql import _dumps, _org_data

        org = _org_data(self._header)
        self.store._set_meta(self._conn, "org", _dumps(org))
        self._change.add("org", "written", org)
        self.store._append_event(self._conn, entry, self._head, self._change.hexdigest())
