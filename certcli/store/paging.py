"""A store read and written a page at a time (`Store.snapshot`, `Store.loading`,
`Store.update_in_parts`): what every backend shares, and those of file stores, which hold their
document whole in memory anyway."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from certcli.audit import canonical
from certcli.errors import DataError
from certcli.model import AuditEntry, Document
from certcli.store import PAGE_ROWS, Need, Store

# The order of a snapshot's pages: what a row names comes before it.
TABLE_ORDER = ("courses", "certifications", "users", "groups", "enrollments")


class Page(Document):
    """Rows of one table as a document, with the plain data they were read from (`data[table]`, in
    order) and, from a database, what it stores beside them (`stored`), for a database to copy as is."""

    __slots__ = ("data", "stored")

    def __init__(self, doc: Document, data: dict[str, list[dict[str, Any]]], stored: Any = None) -> None:
        super().__init__(doc.org_name, doc.users, doc.courses, doc.certifications, doc.enrollments, groups=doc.groups)
        self.data, self.stored = data, stored


class Fingerprint:
    """SHA-256 of rows fed in order as plain data: equal for two stores holding the same rows."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.rows = 0

    def add_page(self, page: Page) -> None:
        for table, rows in page.data.items():
            for row in rows:
                self.add(table, row)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self._hash.update(canonical([table, row]) + b"\n")
        self.rows += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def header_of(doc: Document) -> Document:
    """The schema, the organisation and the audit head of `doc`, without its rows."""
    return Document(
        org_name=doc.org_name, schema=doc.schema, audit_head=doc.audit_head, org_url=doc.org_url,
        reminders=doc.reminders, org_key=doc.org_key, org_retired_keys=list(doc.org_retired_keys),
    )  # fmt: skip


def rows_of(doc: Document, table: str) -> Sequence[Any]:
    """The rows of one table of `doc`, in order."""
    return doc.enrollments if table == "enrollments" else list(getattr(doc, table).values())


def page_of(table: str, rows: Sequence[Any]) -> Page:
    """A page holding `rows` of `table` and nothing else."""
    from certcli.store.document import document_to_data

    doc = Document()
    if table == "enrollments":
        doc.enrollments = list(rows)
    else:
        setattr(doc, table, {row.id: row for row in rows})
    return Page(doc, {table: document_to_data(doc).get(table, [])})


def pages_of(doc: Document) -> Iterator[Page]:
    """The rows of `doc` in pages, table by table in `TABLE_ORDER`."""
    for table in TABLE_ORDER:
        rows = rows_of(doc, table)
        for start in range(0, len(rows), PAGE_ROWS):
            yield page_of(table, rows[start : start + PAGE_ROWS])


def broken_trail(location: str, problem: str) -> DataError:
    return DataError(
        f"the audit trail of {location} is broken: {problem}",
        hint="run `certcli audit verify`; restore the store from a backup before copying it",
    )


class WholeSnapshot:
    """The `Snapshot` of a document held whole, with its audit events."""

    def __init__(
        self,
        location: str,
        doc: Document,
        events: list[dict[str, Any]],
        problem: str | None,
        content_hash: str | None,
        proof_content: Callable[[str], bytes | None],
    ) -> None:
        self.location, self.header, self.content_hash = location, header_of(doc), content_hash
        self.proof_content = proof_content
        self._doc, self._events, self._problem = doc, events, problem

    def counts(self) -> dict[str, int]:
        return {**{table: len(rows_of(self._doc, table)) for table in TABLE_ORDER}, "audit_events": len(self._events)}

    def pages(self) -> Iterator[Page]:
        return pages_of(self._doc)

    def fingerprint(self) -> str:
        fingerprint = Fingerprint()
        for page in self.pages():
            fingerprint.add_page(page)
        return fingerprint.hexdigest()

    def events(self) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(self._events), PAGE_ROWS):
            yield self._events[start : start + PAGE_ROWS]
        if self._problem is not None:
            raise broken_trail(self.location, self._problem)


class WholeLoading:
    """The `Loading` of a store written whole: the pages are gathered into one document, which
    `finish` has the store create with its history and proofs."""

    def __init__(self, store: Store, header: Document) -> None:
        self._store, self._doc = store, header_of(header)
        self._doc.audit_head = None
        self._events: list[dict[str, Any]] = []
        self._proofs: dict[str, bytes] = {}

    def add_page(self, page: Document) -> None:
        for table in ("users", "courses", "certifications", "groups"):
            getattr(self._doc, table).update(getattr(page, table))
        self._doc.enrollments += page.enrollments

    def add_events(self, events: list[dict[str, Any]]) -> None:
        self._events += events

    def add_proof(self, sha256: str, content: bytes) -> None:
        self._proofs[sha256] = content

    def finish(self, entry: AuditEntry) -> None:
        self._doc.pending_audit = entry
        self._store.restore(self._doc, self._events, self._proofs)


class WholeParts:
    """The `Parts` of a store written whole: each part is the one document the change loaded."""

    def __init__(self, doc: Document) -> None:
        self._doc = doc

    @contextlib.contextmanager
    def part(self, need: Need) -> Iterator[Document]:
        yield self._doc
