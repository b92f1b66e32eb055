"""The SQLite and PostgreSQL backends: the document in indexed tables.

Each user, course, certification and enrollment is one row holding its part of
the document (the JSON a file store holds), so every backend validates the same
way; a command loads only the rows its `Need` names. Beside its facts, an
enrollment row keeps columns for the queries: when its last fact happened,
whether a proof waits for review, and its standing timeline (`rules.standing_timeline`),
so a report over a million enrollments reads a column instead of replaying facts.

A change is one transaction that holds the write lock from the first read to the
commit (SQLite `BEGIN IMMEDIATE`; PostgreSQL a row lock on the audit head, which
every change moves), writes only the rows that changed, and appends its audit
event. Proof files are kept in the database: a shared store has no shared folder.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certcli import rules
from certcli.dates import format_date, format_time
from certcli.errors import DataError, StateError, StoreBusy
from certcli.model import SCHEMA_VERSION, AuditHead, Certification, Document, Enrollment
from certcli.store import Need, pending_entry, redact, tally
from certcli.store.document import (
    certification_data,
    course_data,
    document_from_data,
    enrollment_data,
    user_data,
)

if TYPE_CHECKING:
    from certcli.rules import Standing

# The tables, as a list of forward migrations: a database at layout N runs steps N+1 onwards.
# `{blob}` is the binary column type of the dialect.
LAYOUT_STEPS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE certcli_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE users (id TEXT PRIMARY KEY, position BIGINT NOT NULL, manager TEXT, data TEXT NOT NULL)",
        "CREATE INDEX users_by_manager ON users (manager)",
        "CREATE TABLE courses (id TEXT PRIMARY KEY, position BIGINT NOT NULL, data TEXT NOT NULL)",
        "CREATE TABLE certifications (id TEXT PRIMARY KEY, position BIGINT NOT NULL, data TEXT NOT NULL)",
        "CREATE TABLE enrollments ("
        " user_id TEXT NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,"
        " certification_id TEXT NOT NULL REFERENCES certifications (id) DEFERRABLE INITIALLY DEFERRED,"
        " position BIGINT NOT NULL, facts TEXT NOT NULL, last_fact_at TEXT NOT NULL,"
        " awaiting_review INTEGER NOT NULL,"
        " PRIMARY KEY (user_id, certification_id))",
        "CREATE INDEX enrollments_by_certification ON enrollments (certification_id)",
        # Rows keep the document's order; a new one goes after the last.
        "CREATE INDEX users_by_position ON users (position)",
        "CREATE INDEX enrollments_by_position ON enrollments (position)",
        # How each enrollment stands from its last fact on: one row per stretch of days
        # [first_day, until_day) with the same standing (`rules.standing_timeline`).
        "CREATE TABLE standings ("
        " user_id TEXT NOT NULL, certification_id TEXT NOT NULL, last_fact_at TEXT NOT NULL,"
        " first_day TEXT NOT NULL, until_day TEXT, status TEXT NOT NULL, overdue INTEGER NOT NULL,"
        " due TEXT, completed_on TEXT, valid_until TEXT, renewal_open INTEGER NOT NULL, cycle INTEGER NOT NULL,"
        " PRIMARY KEY (user_id, certification_id, first_day),"
        " FOREIGN KEY (user_id, certification_id) REFERENCES enrollments (user_id, certification_id)"
        " DEFERRABLE INITIALLY DEFERRED)",
        # Covering the report's grouped count, so it reads the index alone.
        "CREATE INDEX standings_by_certification ON standings"
        " (certification_id, status, overdue, valid_until, first_day, until_day, last_fact_at)",
        "CREATE TABLE audit_events (seq BIGINT PRIMARY KEY, event TEXT NOT NULL)",
        "CREATE TABLE proofs (sha256 TEXT PRIMARY KEY, content {blob} NOT NULL)",
    ),
    (  # layout 2: the review queue and a --now before some enrollments' last fact
        "CREATE INDEX enrollments_awaiting_review ON enrollments (awaiting_review) WHERE awaiting_review = 1",
        "CREATE INDEX enrollments_by_last_fact ON enrollments (last_fact_at)",
    ),
)
LAYOUT = len(LAYOUT_STEPS)

_TABLES = ("users", "courses", "certifications", "enrollments")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _rows_of(doc: Document) -> dict[str, dict[Any, dict[str, Any]]]:
    """The document's rows by table and key, as plain data to compare before and after a change."""
    return {
        "users": {u.id: user_data(u) for u in doc.users.values()},
        "courses": {c.id: course_data(c) for c in doc.courses.values()},
        "certifications": {c.id: certification_data(c) for c in doc.certifications.values()},
        "enrollments": {(e.user, e.certification): enrollment_data(e) for e in doc.enrollments},
    }


def _org_data(doc: Document) -> dict[str, str]:
    return {key: value for key, value in (("name", doc.org_name), ("url", doc.org_url)) if value}


# ---------------------------------------------------------------- standings

STANDING_COLUMNS = "status, overdue, due, completed_on, valid_until, renewal_open, cycle"


def _derived(enrollment: Enrollment, cert: Certification) -> tuple[list[Any], list[list[Any]]]:
    """The columns an enrollment row keeps beside its facts (last_fact_at, awaiting_review),
    and its rows of the standings table."""
    last = max(fact.at for fact in enrollment.facts)
    view = rules.evaluate(enrollment, cert, last, explain=False)
    awaiting = view is not None and view.proof is not None and view.proof.review == rules.PENDING
    last_text = format_time(last)
    timeline = rules.standing_timeline(enrollment, cert, last, view)
    ends = [format_date(day) for day, _ in timeline[1:]] + [None]
    pieces = [
        [enrollment.user, enrollment.certification, last_text, format_date(day), end, s.status, int(s.overdue),
         format_date(s.due), format_date(s.completed_on), format_date(s.valid_until), int(s.renewal_open), s.cycle]
        for (day, s), end in zip(timeline, ends, strict=True)
    ]  # fmt: skip
    return [last_text, int(awaiting)], pieces


def _optional_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _standing_of(row: Any) -> Standing:
    status, overdue, due, completed_on, valid_until, renewal_open, cycle = row
    return rules.Standing(
        status, bool(overdue), _optional_date(due), _optional_date(completed_on), _optional_date(valid_until),
        bool(renewal_open), cycle,
    )  # fmt: skip


# ---------------------------------------------------------------- the store


class SqlStore:
    """What SQLite and PostgreSQL share; the subclasses connect, lock and spell parameters."""

    location: str
    lock_timeout: float
    blob = ""

    def __init__(self) -> None:
        self.notices: list[str] = []
        self.partial_reads = True
        self._conn: Any = None  # the connection of the change in progress, for put_proof

    # ------------------------------------------------------------ dialect hooks

    def _connect(self) -> Any:
        raise NotImplementedError

    def _begin(self, conn: Any, write: bool) -> None:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        """`text` with `?` placeholders in the dialect's spelling."""
        return text

    def _in(self, column: str, values: Collection[str]) -> tuple[str, list[Any]]:
        """A condition `column` is one of `values`, and its parameters."""
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def _has_tables(self, conn: Any) -> bool:
        raise NotImplementedError

    def _prepare_new(self, conn: Any) -> None:
        """Ready an empty database for the tables."""

    # ------------------------------------------------------------ plumbing

    def _missing(self) -> DataError:
        return DataError(
            f"store {self.location} does not exist",
            hint="create one with `certcli init --admin ID`, or copy one there with `certcli migrate --to`",
        )

    def _run(self, conn: Any, text: str, params: Iterable[Any] = ()) -> Any:
        return conn.execute(self._sql(text), list(params))

    def _rows(self, conn: Any, text: str, params: Iterable[Any] = ()) -> list[Any]:
        return self._run(conn, text, params).fetchall()

    @contextlib.contextmanager
    def _transaction(self, write: bool) -> Iterator[Any]:
        conn = self._connect()
        try:
            self._begin(conn, write)
            yield conn
            conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        finally:
            conn.close()

    def _meta(self, conn: Any) -> dict[str, str]:
        return dict(self._rows(conn, "SELECT key, value FROM certcli_meta"))

    def _checked_meta(self, conn: Any, write: bool) -> dict[str, str]:
        """The meta table, after bringing an older layout forward (in a change only)."""
        if not self._has_tables(conn):
            raise self._missing()
        meta = self._meta(conn)
        layout = int(meta.get("layout", "0"))
        if layout > LAYOUT:
            raise DataError(
                f"store {self.location} has table layout {layout}; this certcli knows up to {LAYOUT}",
                hint="upgrade certcli",
            )
        if layout < LAYOUT and write:
            self._create_layout(conn, layout)
        elif layout < LAYOUT:
            raise _Outdated()
        return meta

    def _create_layout(self, conn: Any, start: int) -> None:
        for step in LAYOUT_STEPS[start:]:
            for statement in step:
                self._run(conn, statement.format(blob=self.blob))
        self._set_meta(conn, "layout", str(LAYOUT))

    def _set_meta(self, conn: Any, key: str, value: str) -> None:
        self._run(
            conn,
            "INSERT INTO certcli_meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------ reading

    def exists(self) -> bool:
        with self._transaction(write=False) as conn:
            return self._has_tables(conn)

    def read(self, need: Need | None = None) -> Document:
        try:
            with self._transaction(write=False) as conn:
                return self._load(conn, self._checked_meta(conn, write=False), need)
        except _Outdated:
            with self.update(need) as doc:  # brings the layout forward under the write lock
                return doc

    def _load(self, conn: Any, meta: dict[str, str], need: Need | None) -> Document:
        if need is None:
            tables = {table: self._select(conn, table, "1 = 1", []) for table in _TABLES}
        else:
            tables = self._load_needed(conn, need)
        data = {
            "schema": int(meta.get("schema", SCHEMA_VERSION)),
            "org": json.loads(meta.get("org", "{}")),
            **{table: [self._row_data(table, row) for row in rows] for table, rows in tables.items()},
        }
        if meta.get("head"):
            data["audit"] = json.loads(meta["head"])
        return document_from_data(data, self.location, whole=need is None)

    @staticmethod
    def _row_data(table: str, row: Any) -> dict[str, Any]:
        if table == "enrollments":
            user, cert, facts = row
            return {"user": user, "certification": cert, "facts": json.loads(facts)}
        return json.loads(row)

    def _select(self, conn: Any, table: str, where: str, params: list[Any]) -> list[Any]:
        """In the document's order: (user, certification, facts) of enrollments, the data of other rows."""
        columns = "user_id, certification_id, facts" if table == "enrollments" else "data"
        rows = self._rows(conn, f"SELECT {columns} FROM {table} WHERE {where} ORDER BY position", params)
        return rows if table == "enrollments" else [data for (data,) in rows]

    def _load_needed(self, conn: Any, need: Need) -> dict[str, list[Any]]:
        enrollments = self._needed_enrollments(conn, need)
        user_ids = {*need.users, *(user for user, _, _ in enrollments)}
        cert_ids = {*need.certifications, *(cert for _, cert, _ in enrollments)}
        if need.reports_of is not None:
            reports = self._rows(conn, "SELECT id FROM users WHERE manager = ?", [need.reports_of])
            user_ids.update(row[0] for row in reports)
        users = self._by_ids(conn, "users", None if need.all_users else user_ids)
        certs = self._by_ids(conn, "certifications", None if need.all_certifications else cert_ids)
        course_ids = set(need.courses)
        for text in certs:
            course_ids.update(ref["id"] for ref in json.loads(text).get("courses", []))
        courses = self._by_ids(conn, "courses", course_ids)
        return {"users": users, "courses": courses, "certifications": certs, "enrollments": enrollments}

    def _by_ids(self, conn: Any, table: str, ids: Collection[str] | None) -> list[Any]:
        if ids is None:
            return self._select(conn, table, "1 = 1", [])
        if not ids:
            return []
        condition, params = self._in("id", ids)
        return self._select(conn, table, condition, params)

    def _needed_enrollments(self, conn: Any, need: Need) -> list[Any]:
        conditions: list[tuple[str, list[Any]]] = []
        if need.enrollments_of_users:
            conditions.append(self._in("user_id", need.enrollments_of_users))
        if need.enrollments_of_certifications:
            conditions.append(self._in("certification_id", need.enrollments_of_certifications))
        if need.reports_of is not None:
            conditions.append(("user_id IN (SELECT id FROM users WHERE manager = ?)", [need.reports_of]))
        if need.awaiting_review_as_of is not None:
            # A row's flag tells whether a proof waits as of its last fact; a --now before
            # that last fact may find one waiting that a later review answered.
            as_of = format_time(need.awaiting_review_as_of)
            conditions.append(("(awaiting_review = 1 OR last_fact_at > ?)", [as_of]))
        if not conditions:
            return []
        where = " OR ".join(condition for condition, _ in conditions)
        return self._select(conn, "enrollments", where, [param for _, params in conditions for param in params])

    def read_audit(self) -> tuple[list[dict[str, Any]], str | None]:
        with self._transaction(write=False) as conn:
            if not self._has_tables(conn):
                raise self._missing()
            rows = self._rows(conn, "SELECT event FROM audit_events ORDER BY seq")
        return [json.loads(text) for (text,) in rows], None

    def proof_content(self, sha256: str) -> bytes | None:
        with self._transaction(write=False) as conn:
            rows = self._rows(conn, "SELECT content FROM proofs WHERE sha256 = ?", [sha256])
        return bytes(rows[0][0]) if rows else None

    def content_hash(self, doc: Document) -> str | None:
        return None  # each event carries the SHA-256 of its change: hashing a million rows per change is not an option

    def _scope(self, certification: str | None, users: Collection[str] | None) -> tuple[str, list[Any]]:
        conditions, params = [], []
        if certification is not None:
            conditions.append("certification_id = ?")
            params.append(certification)
        if users is not None:
            condition, values = self._in("user_id", users) if users else ("1 = 0", [])
            conditions.append(condition)
            params += values
        return "".join(f" AND {condition}" for condition in conditions), params

    def _current_and_later(
        self,
        columns: str,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        column_params: Iterable[Any] = (),
        group: str = "",
    ) -> tuple[list[Any], list[Any]]:
        """Rows of the standings table in force on `now`'s day, and the enrollments
        with facts after `now`, which only a replay of their facts can tell about."""
        scope, params = self._scope(certification, users)
        as_of, today = format_time(now), format_date(now.date())
        current = (
            f"SELECT {columns} FROM standings WHERE last_fact_at <= ? AND first_day <= ?"
            f" AND (until_day IS NULL OR until_day > ?){scope}{group}"
        )
        later = f"SELECT user_id, certification_id, facts FROM enrollments WHERE last_fact_at > ?{scope}"
        with self._transaction(write=False) as conn:
            found = self._rows(conn, current, [*column_params, as_of, today, today, *params])
            return found, self._rows(conn, later, [as_of, *params])

    def standings(
        self, doc: Document, now: datetime, certification: str | None, users: Collection[str] | None
    ) -> Iterator[tuple[str, str, Standing]]:
        current, later = self._current_and_later(
            f"user_id, certification_id, {STANDING_COLUMNS}", now, certification, users
        )
        for row in current:
            yield row[0], row[1], _standing_of(row[2:])
        yield from self._replayed(doc, later, now)

    def standing_counts(
        self,
        doc: Document,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        expiring_until: date,
    ) -> Counter[tuple[str, str, bool, bool]]:
        expiring = "CASE WHEN status = 'completed' AND valid_until >= ? AND valid_until <= ? THEN 1 ELSE 0 END"
        columns = f"certification_id, status, overdue, {expiring} AS expiring, COUNT(*)"
        limits = [format_date(now.date()), format_date(expiring_until)]
        group = " GROUP BY certification_id, status, overdue, expiring"
        current, later = self._current_and_later(columns, now, certification, users, limits, group)
        counts = tally(self._replayed(doc, later, now), now.date(), expiring_until)
        for cert, status, overdue, is_expiring, count in current:
            counts[cert, status, bool(overdue), bool(is_expiring)] += count
        return counts

    def _enrollments(self, rows: list[Any]) -> list[Enrollment]:
        """Enrollments from (user, certification, facts) rows, validated like any other."""
        data = {"enrollments": [self._row_data("enrollments", row) for row in rows]}
        return document_from_data(data, self.location, whole=False).enrollments

    def _replayed(self, doc: Document, rows: list[Any], now: datetime) -> Iterator[tuple[str, str, Standing]]:
        for enrollment in self._enrollments(rows):
            view = rules.evaluate(enrollment, doc.certifications[enrollment.certification], now)
            if view is not None:
                yield enrollment.user, enrollment.certification, rules.standing(view)

    # ------------------------------------------------------------ changing

    def create(self, doc: Document) -> None:
        self.restore(doc, [], {})

    def restore(self, doc: Document, events: list[dict[str, Any]], proofs: dict[str, bytes]) -> None:
        with self._transaction(write=True) as conn:
            if self._has_tables(conn):
                raise StateError(
                    f"store {self.location} already exists", hint="use it as it is, or choose another --store"
                )
            self._prepare_new(conn)
            self._create_layout(conn, 0)
            self._set_meta(conn, "schema", str(doc.schema))
            empty = {table: {} for table in _TABLES}
            for event in events:
                self._run(conn, "INSERT INTO audit_events (seq, event) VALUES (?, ?)", (event["seq"], _dumps(event)))
            for sha256, content in proofs.items():
                self._put_proof(conn, sha256, content)
            head = AuditHead(events[-1]) if events else None
            self._save(conn, doc, head, empty, _rows_of(doc), None)

    @contextlib.contextmanager
    def update(self, need: Need | None = None) -> Iterator[Document]:
        with self._transaction(write=True) as conn:
            meta = self._checked_meta(conn, write=True)
            doc = self._load(conn, meta, need)
            before, org_before = _rows_of(doc), _org_data(doc)
            self._conn = conn
            try:
                yield doc
            finally:
                self._conn = None
            after = _rows_of(doc)
            if after != before or _org_data(doc) != org_before:
                self._save(conn, doc, doc.audit_head, before, after, org_before)

    def put_proof(self, sha256: str, content: bytes) -> None:
        if self._conn is not None:
            self._put_proof(self._conn, sha256, content)
            return
        with self._transaction(write=True) as conn:
            self._put_proof(conn, sha256, content)

    def _put_proof(self, conn: Any, sha256: str, content: bytes) -> None:
        self._run(
            conn,
            "INSERT INTO proofs (sha256, content) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING",
            (sha256, content),
        )

    def _save(
        self,
        conn: Any,
        doc: Document,
        head: AuditHead | None,
        before: dict[str, dict[Any, dict[str, Any]]],
        after: dict[str, dict[Any, dict[str, Any]]],
        org_before: dict[str, str] | None,
    ) -> None:
        """Write the rows that changed between `before` and `after`, then the audit event,
        which carries the SHA-256 of the rows written and removed."""
        from certcli import audit

        change = audit.ChangeHash()
        if _org_data(doc) != org_before:
            self._set_meta(conn, "org", _dumps(_org_data(doc)))
            change.add("org", "written", _org_data(doc))
        for table in _TABLES:
            old, new = before[table], after[table]
            removed = [key for key in old if key not in new]
            written = {key: data for key, data in new.items() if old.get(key) != data}
            for key in removed:
                self._delete(conn, table, key)
                change.add(table, "removed", _plain(key))
            self._write(conn, doc, table, written, old)
            for data in written.values():
                change.add(table, "written", data)
        for cert_id in before["certifications"]:
            if cert_id in doc.certifications and before["certifications"][cert_id] != after["certifications"][cert_id]:
                self._refresh_standings(conn, doc.certifications[cert_id])
        event = audit.make_event(pending_entry(doc), head, change.hexdigest())
        self._run(conn, "INSERT INTO audit_events (seq, event) VALUES (?, ?)", (event["seq"], _dumps(event)))
        self._set_meta(conn, "head", _dumps(event))
        doc.audit_head = AuditHead(event)

    def _delete(self, conn: Any, table: str, key: Any) -> None:
        if table == "enrollments":
            self._run(conn, "DELETE FROM standings WHERE user_id = ? AND certification_id = ?", key)
            self._run(conn, "DELETE FROM enrollments WHERE user_id = ? AND certification_id = ?", key)
        else:
            self._run(conn, f"DELETE FROM {table} WHERE id = ?", [key])

    def _write(
        self, conn: Any, doc: Document, table: str, written: dict[Any, dict[str, Any]], old: dict[Any, Any]
    ) -> None:
        if not written:
            return
        position = None
        by_key = {(e.user, e.certification): e for e in doc.enrollments} if table == "enrollments" else {}
        inserts, updates, pieces = [], [], []
        for key, data in written.items():
            values = self._columns(doc, table, data)
            if table == "enrollments":
                derived, enrollment_pieces = _derived(by_key[key], doc.certifications[key[1]])
                values += derived
                pieces += enrollment_pieces
            if key in old:
                updates.append([*values, *(key if table == "enrollments" else [key])])
            else:
                if position is None:
                    position = self._rows(conn, f"SELECT COALESCE(MAX(position), 0) FROM {table}")[0][0]
                position += 1
                inserts.append([*(key if table == "enrollments" else [key]), position, *values])
        names = self._column_names(table)
        if inserts:
            keys = "user_id, certification_id" if table == "enrollments" else "id"
            marks = ", ".join("?" * (len(inserts[0])))
            self._many(conn, f"INSERT INTO {table} ({keys}, position, {', '.join(names)}) VALUES ({marks})", inserts)
        if updates:
            where = "user_id = ? AND certification_id = ?" if table == "enrollments" else "id = ?"
            sets = ", ".join(f"{name} = ?" for name in names)
            self._many(conn, f"UPDATE {table} SET {sets} WHERE {where}", updates)
        if table == "enrollments":
            self._write_standings(conn, [list(key) for key in written if key in old], pieces)

    @staticmethod
    def _column_names(table: str) -> tuple[str, ...]:
        return {
            "users": ("manager", "data"),
            "enrollments": ("facts", "last_fact_at", "awaiting_review"),
        }.get(table, ("data",))

    @staticmethod
    def _columns(doc: Document, table: str, data: dict[str, Any]) -> list[Any]:
        if table == "users":
            return [data.get("manager"), _dumps(data)]
        if table == "enrollments":
            return [_dumps(data["facts"])]
        return [_dumps(data)]

    def _write_standings(self, conn: Any, replaced: list[list[Any]], pieces: list[list[Any]]) -> None:
        """Replace the standings rows of enrollments (user, certification) whose facts or definition changed."""
        if replaced:
            self._many(conn, "DELETE FROM standings WHERE user_id = ? AND certification_id = ?", replaced)
        if pieces:
            marks = ", ".join("?" * len(pieces[0]))
            self._many(
                conn,
                f"INSERT INTO standings (user_id, certification_id, last_fact_at, first_day, until_day, "
                f"{STANDING_COLUMNS}) VALUES ({marks})",
                pieces,
            )

    def _many(self, conn: Any, text: str, rows: list[list[Any]]) -> None:
        conn.executemany(self._sql(text), rows)

    def _refresh_standings(self, conn: Any, cert: Certification) -> None:
        """A certification's definition changed: its enrollments' standings are worked out again."""
        flags, pieces = [], []
        for enrollment in self._enrollments(self._select(conn, "enrollments", "certification_id = ?", [cert.id])):
            (_, awaiting), enrollment_pieces = _derived(enrollment, cert)
            flags.append([awaiting, enrollment.user, cert.id])
            pieces += enrollment_pieces
        self._many(conn, "UPDATE enrollments SET awaiting_review = ? WHERE user_id = ? AND certification_id = ?", flags)
        self._write_standings(conn, [[user, cert_id] for _, user, cert_id in flags], pieces)


def _plain(key: Any) -> Any:
    return list(key) if isinstance(key, tuple) else key


class _Outdated(Exception):
    """A store of an older table layout was opened for reading."""


# ---------------------------------------------------------------- SQLite


class SqliteStore(SqlStore):
    """One SQLite database file; WAL lets readers go on while a change is written."""

    blob = "BLOB"

    def __init__(self, path: Path, lock_timeout: float) -> None:
        super().__init__()
        self.path = path
        self.location = str(path)
        self.lock_timeout = lock_timeout

    def _connect(self) -> Any:
        import sqlite3

        if not self.path.exists() and not self._creating:
            raise self._missing()
        try:
            conn = sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)
            if self._creating:  # readers go on while a change is written; set once, kept in the file
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise DataError(f"cannot open store {self.location}: {exc}") from None
        return _SqliteConnection(conn, self)

    _creating = False

    def exists(self) -> bool:
        return self.path.exists() and super().exists()

    def restore(self, doc: Document, events: list[dict[str, Any]], proofs: dict[str, bytes]) -> None:
        if self.path.exists() and self.path.stat().st_size > 0:
            raise StateError(f"store {self.location} already exists", hint="use it as it is, or choose another --store")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._creating = True
        try:
            super().restore(doc, events, proofs)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        finally:
            self._creating = False

    def _prepare_new(self, conn: Any) -> None:
        self.path.chmod(0o600)  # a store holds personal data: owner-only unless the admin widens it

    def _begin(self, conn: Any, write: bool) -> None:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def _has_tables(self, conn: Any) -> bool:
        return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'certcli_meta'", []).fetchall())


class _Connection:
    """A driver's connection whose errors are the store's: a lock waited for too long is
    `StoreBusy` (exit 7), anything else a `DataError` (exit 6)."""

    def __init__(self, conn: Any, store: SqlStore) -> None:
        self.conn, self.store = conn, store

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _busy(self, waited_for: str) -> StoreBusy:
        return StoreBusy(
            f"store {self.store.location} is locked by {waited_for} (waited {self.store.lock_timeout:g} s)",
            hint="retry in a moment, or wait longer with CERTCLI_LOCK_TIMEOUT=SECONDS",
        )

    def execute(self, text: str, params: list[Any] | tuple[Any, ...] = ()) -> Any:
        """Run one statement; the cursor holds its rows."""
        with self._errors():
            cursor = self.conn.cursor()
            cursor.execute(text, params)
            return cursor

    def executemany(self, text: str, rows: list[list[Any]]) -> None:
        with self._errors():
            self.conn.cursor().executemany(text, rows)

    def commit(self) -> None:
        with self._errors():
            self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


class _SqliteConnection(_Connection):
    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import sqlite3

        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise self._busy("another process") from None
            raise DataError(f"store {self.store.location}: {exc}", hint="run `certcli doctor`") from None
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"store {self.store.location} is not a readable SQLite store: {exc}",
                hint="restore it from a backup",
            ) from None

    def commit(self) -> None:
        with self._errors():
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


# ---------------------------------------------------------------- PostgreSQL


class PostgresStore(SqlStore):
    """A PostgreSQL database (or the schema its URL's search_path names), shared by many machines."""

    blob = "BYTEA"

    def __init__(self, url: str, lock_timeout: float) -> None:
        super().__init__()
        self.url = url
        self.location = redact(url)
        self.lock_timeout = lock_timeout

    def _connect(self) -> Any:
        try:
            import psycopg2
        except ImportError:
            raise DataError(
                "PostgreSQL stores need the psycopg2 package", hint="pip install 'certcli[postgresql]'"
            ) from None
        try:
            conn = psycopg2.connect(self.url, connect_timeout=max(1, int(self.lock_timeout)))
        except psycopg2.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"cannot connect to {self.location}: {first_line}",
                hint="start the server, or check the URL (postgresql://[USER@]HOST[:PORT]/DATABASE)",
            ) from None
        return _PostgresConnection(conn, self)

    def _sql(self, text: str) -> str:
        return text.replace("%", "%%").replace("?", "%s")

    def _in(self, column: str, values: Collection[str]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _begin(self, conn: Any, write: bool) -> None:
        if write:
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(self.lock_timeout * 1000)}ms"])
            if self._has_tables(conn):  # every change moves the audit head: lock it for the whole change
                conn.execute("SELECT value FROM certcli_meta WHERE key = 'layout' FOR UPDATE", [])
        else:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", [])

    def _has_tables(self, conn: Any) -> bool:
        return conn.execute("SELECT to_regclass('certcli_meta') IS NOT NULL", []).fetchall()[0][0]

    def _prepare_new(self, conn: Any) -> None:
        """Create the schema the URL's search_path names, when it is not there yet."""
        if conn.execute("SELECT current_schema()", []).fetchall()[0][0] is not None:
            return
        first = conn.execute("SHOW search_path", []).fetchall()[0][0].split(",")[0].strip().strip('"')
        if first and first != "$user":
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{first}"', [])


class _PostgresConnection(_Connection):
    """A batch goes to the server in pages of statements, not one round trip per row."""

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg2
        import psycopg2.errors

        try:
            yield
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
            raise self._busy("another change") from None
        except psycopg2.Error as exc:
            raise DataError(f"store {self.store.location}: {str(exc).strip()}", hint="run `certcli doctor`") from None

    def executemany(self, text: str, rows: list[list[Any]]) -> None:
        from psycopg2.extras import execute_batch

        with self._errors():
            execute_batch(self.conn.cursor(), text, rows, page_size=1000)
