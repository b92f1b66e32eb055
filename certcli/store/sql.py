"""What the SQLite and PostgreSQL backends share: the document in indexed tables.

Each user, course, certification and enrollment is one row holding its part of
the document (the JSON a file store holds), so every backend validates the same
way; a command loads only the rows its `Need` names. Beside its facts, an
enrollment row keeps columns for the queries: when its last fact happened,
whether a proof waits for review, and its standing timeline (`rules.standing_timeline`),
so a report over a million enrollments reads a column instead of replaying facts.

A change is one transaction that writes only the rows that changed and appends its
audit event. SQLite holds the write lock from the first read to the commit (`BEGIN
IMMEDIATE`); PostgreSQL locks the rows a change loads (`FOR UPDATE` its enrollments,
`FOR SHARE` the rest) and the audit head only from the moment of appending to the
commit, so changes to different learners' enrollments go on side by side. Proof
files are kept in the database: a shared store has no shared folder.

Nothing read from a database is trusted more than a file: every row and meta value
is parsed and validated, a reference a partial load relies on must lead to a row,
and a driver's error becomes a `DataError` naming the store (or `StoreBusy`). A new
SQLite store is built whole in a file of its own beside its path and then linked
into place, so a path holds a whole store or nothing. The dialects live in
`certcli.store.sqlite` and `certcli.store.postgres`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Collection, Generator, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from certcli import rules
from certcli.dates import format_date, format_time, parse_date
from certcli.errors import CertcliError, DataError, StateError, StoreBusy
from certcli.model import SCHEMA_VERSION, AuditEntry, AuditHead, Certification, Document, Enrollment
from certcli.store import Need, pending_entry, tally
from certcli.store.document import (
    certification_data,
    course_data,
    document_from_data,
    enrollment_data,
    group_data,
    refuse_unreadable,
    schedule_data,
    user_data,
)

if TYPE_CHECKING:
    from certcli.rules import Standing
    from certcli.store.health import Finding

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
    (  # layout 3: groups, and deactivated users left out of reports by a column
        "CREATE TABLE groups (id TEXT PRIMARY KEY, position BIGINT NOT NULL, data TEXT NOT NULL)",
        "ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX users_inactive ON users (active) WHERE active = 0",
    ),
    (  # layout 4: the digest each event recorded of each row, for a change to read back for the rows it rewrites
        "CREATE TABLE audit_rows (seq BIGINT NOT NULL, tbl TEXT NOT NULL, row_key TEXT NOT NULL, digest TEXT,"
        " PRIMARY KEY (seq, tbl, row_key))",
        "CREATE INDEX audit_rows_by_row ON audit_rows (tbl, row_key, seq)",
    ),
)
AUDIT_ROWS_LAYOUT = 4
LAYOUT = len(LAYOUT_STEPS)

TABLES = ("users", "courses", "certifications", "enrollments", "groups")
ROW_TABLES = (*TABLES, "standings")  # what the document's rows are kept in
_KEYS = {"enrollments": "user_id, certification_id"}  # a row's key columns, where they are not `id`
OWN_TABLES = ("certcli_meta", *TABLES, "standings", "audit_events", "audit_rows", "proofs")

# What a database holds, as `SqlStore._contents` tells it; anything else is a description in words.
STORE = "a certcli store"
NOTHING = "nothing of certcli's"  # a store can be created there


# Where document validation places a problem (`users[3]`, `org`, `audit`): a row, or a meta value.
_PLACE = re.compile(r"^(?:(users|courses|certifications|enrollments)\[(\d+)\]|(schema|org|audit)\b)")


def _place(match: re.Match[str], data: dict[str, Any]) -> str:
    """The row or meta value behind a place in the document validated from `data`."""
    table, index, meta = match.groups()
    if meta is not None:
        key = "head" if meta == "audit" else meta
        return f"certcli_meta {key!r}"
    row = data[table][int(index)]
    key = (row["user"], row["certification"]) if table == "enrollments" else row["id"]
    return f"{table} row {key!r}"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def described(value: Any) -> str:
    """What kind of value a column or a parsed JSON value holds, in words."""
    kinds = {bytes: "binary data", memoryview: "binary data", str: "text", bool: "a boolean", int: "a number",
             float: "a number", list: "a list", dict: "an object", type(None): "null"}  # fmt: skip
    return kinds.get(type(value), type(value).__name__)


def _parse_json(text: Any) -> Any:
    """A row's or a meta value's JSON; ValueError saying what is wrong with it."""
    if not isinstance(text, str):
        raise ValueError(f"holds {described(text)} where JSON text belongs")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("holds JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"holds malformed JSON ({exc})") from None


def listed(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names[:6]) + (", …" if len(names) > 6 else "")


def rows_of(doc: Document) -> dict[str, dict[Any, dict[str, Any]]]:
    """The document's rows by table and key, as plain data to compare before and after a change."""
    return {
        "users": {u.id: user_data(u) for u in doc.users.values()},
        "courses": {c.id: course_data(c) for c in doc.courses.values()},
        "certifications": {c.id: certification_data(c) for c in doc.certifications.values()},
        "enrollments": {(e.user, e.certification): enrollment_data(e) for e in doc.enrollments},
        "groups": {g.id: group_data(g) for g in doc.groups.values()},
    }


def org_data(doc: Document) -> dict[str, Any]:
    settings = (("name", doc.org_name), ("url", doc.org_url), ("reminders", schedule_data(doc.reminders)))
    data: dict[str, Any] = {key: value for key, value in settings if value}
    if doc.org_key:
        data["key"] = dict(doc.org_key)
    if doc.org_retired_keys:
        data["retired_keys"] = [dict(key) for key in doc.org_retired_keys]
    return data


def _ids_in(rows: Iterable[dict[str, Any]], key: str) -> set[str]:
    """The ids `rows` name under `key` (what is not text is left for validation to report)."""
    return {row[key] for row in rows if isinstance(row.get(key), str)}


def _course_ids(cert: dict[str, Any]) -> list[str]:
    """The courses a certification row's data names (what is not an id is left for validation to report)."""
    refs = cert.get("courses")
    if not isinstance(refs, list):
        return []
    return [ref["id"] for ref in refs if isinstance(ref, dict) and isinstance(ref.get("id"), str)]


# ---------------------------------------------------------------- standings

STANDING_COLUMNS = "status, overdue, due, completed_on, valid_until, renewal_open, cycle"


def _last_and_view(enrollment: Enrollment, cert: Certification) -> tuple[datetime, rules.EnrollmentView | None]:
    last = max(fact.at for fact in enrollment.facts)
    return last, rules.evaluate(enrollment, cert, last, explain=False)


def _flag_columns(last: datetime, view: rules.EnrollmentView | None) -> list[Any]:
    """An enrollment row's columns beside its facts (last_fact_at, awaiting_review), from its facts."""
    awaiting = view is not None and view.proof is not None and view.proof.review == rules.PENDING
    return [format_time(last), int(awaiting)]


def enrollment_columns(enrollment: Enrollment, cert: Certification) -> list[Any]:
    return _flag_columns(*_last_and_view(enrollment, cert))


def user_columns(data: dict[str, Any]) -> list[Any]:
    """A user row's columns beside its data (manager, active), from its data."""
    return [data.get("manager"), int(data.get("active", True) is not False)]


USER_COLUMNS = ("manager", "active")
ENROLLMENT_COLUMNS = ("last_fact_at", "awaiting_review")


_WITH_COLUMNS = ("users", "enrollments")  # the tables whose rows keep columns beside their data


class Differing(NamedTuple):
    """A row whose columns beside its data are not what its data gives: what differs, and the right values."""

    key: Any
    problems: list[str]
    columns: list[Any]


def _differing(
    table: str, key: Any, names: Sequence[str], kept: Sequence[Any], expected: list[Any]
) -> Differing | None:
    problems = [
        f"{table} row {row_key(key)!r} column {name} holds {_shown(value)} where its data gives {_shown(right)}"
        for name, value, right in zip(names, kept, expected, strict=True)
        if value != right or type(value) is not type(right)
    ]
    return Differing(key, problems, expected) if problems else None


def _shown(value: Any) -> str:
    return "NULL" if value is None else repr(value)


def _derived(enrollment: Enrollment, cert: Certification) -> tuple[list[Any], list[list[Any]]]:
    """The columns an enrollment row keeps beside its facts (last_fact_at, awaiting_review),
    and its rows of the standings table."""
    last, view = _last_and_view(enrollment, cert)
    last_text = format_time(last)
    timeline = rules.standing_timeline(enrollment, cert, last, view)
    ends = [format_date(day) for day, _ in timeline[1:]] + [None]
    pieces = [
        [enrollment.user, enrollment.certification, last_text, format_date(day), end, s.status, int(s.overdue),
         format_date(s.due), format_date(s.completed_on), format_date(s.valid_until), int(s.renewal_open), s.cycle]
        for (day, s), end in zip(timeline, ends, strict=True)
    ]  # fmt: skip
    return _flag_columns(last, view), pieces


def _status(value: Any) -> str:
    if value not in rules.STATUSES:
        raise ValueError(f"status {value!r}, not a status certcli knows")
    return str(value)


def flag(value: Any, column: str) -> bool:
    if value not in (0, 1):
        raise ValueError(f"{column} {value!r}, not 0 or 1")
    return bool(value)


def _optional_date(value: Any, column: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} {value!r}, not a date") from None


def _cycle(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"cycle {value!r}, not a whole number ≥ 1")
    return value


def _standing_of(columns: Sequence[Any]) -> Standing:
    """A standings row's `STANDING_COLUMNS`; ValueError naming the value that is not one."""
    status, overdue, due, completed_on, valid_until, renewal_open, cycle = columns
    return rules.Standing(
        _status(status), flag(overdue, "overdue"), _optional_date(due, "due"),
        _optional_date(completed_on, "completed_on"), _optional_date(valid_until, "valid_until"),
        flag(renewal_open, "renewal_open"), _cycle(cycle),
    )  # fmt: skip


# ---------------------------------------------------------------- the store


class SqlStore:
    """What SQLite and PostgreSQL share; the subclasses connect, lock and spell parameters."""

    location: str
    lock_timeout: float
    blob = ""
    elsewhere_hint = ""  # where to go instead of a database that holds something else

    def __init__(self) -> None:
        self._notices: list[str] = []
        self.partial_reads = True
        self._conn: Any = None  # the connection of the change in progress, for put_proof
        self._locking_rows = False  # whether rows are being loaded for a change, which locks them

    def take_notices(self) -> list[str]:
        notices, self._notices = self._notices, []
        return notices

    def check_health(self, doc: Document) -> list[Finding]:
        from certcli.store.health import kept_proofs_findings

        return kept_proofs_findings(doc, self.proof_content) + self._standings_findings() + self._columns_findings()

    def _columns_findings(self) -> list[Finding]:
        """The columns users and enrollments rows keep beside their data, worked out again from it."""
        from certcli.store.health import Finding, passed

        with self._transaction(write=False) as conn:
            self._require_store(conn)
            problems = self._column_problems(conn)
        if not problems:
            return [passed("columns", "the columns users and enrollments rows keep beside their data match it")]
        fix = "run `certcli doctor --repair` to work it out again from the data"
        return [Finding("columns", False, f"{problem}; {fix}") for problem in problems]

    def _standings_findings(self) -> list[Finding]:
        """The standings table worked out again from the facts: one finding per enrollment whose rows differ."""
        from certcli.store.health import Finding, number, passed

        with self._transaction(write=False) as conn:
            self._require_store(conn)
            differing, count = self._standings_differences(conn)
        if not differing:
            return [passed("standings", f"{number(count, 'standings row')} match the facts they are worked out from")]
        fix = "run `certcli doctor --repair` to work them out again"
        return [Finding("standings", False, f"{what}; {fix}") for what in differing]

    def _standings_differences(self, conn: Any) -> tuple[list[str], int]:
        """What differs between the standings table and the facts, by enrollment, and how many rows it holds."""
        meta = self._meta(conn)
        doc = self._load(conn, meta, Need(all_certifications=True))
        expected: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
        for cert in doc.certifications.values():
            for enrollment in self._enrollments(self._select(conn, "enrollments", "certification_id = ?", [cert.id])):
                pieces = _derived(enrollment, cert)[1]
                expected[enrollment.user, cert.id] = {tuple(piece) for piece in pieces}
        found: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
        columns = f"user_id, certification_id, last_fact_at, first_day, until_day, {STANDING_COLUMNS}"
        rows = self._rows(conn, f"SELECT {columns} FROM standings")
        for row in rows:
            found.setdefault((row[0], row[1]), set()).add(tuple(row))
        differing = []
        for key in sorted(set(expected) | set(found), key=repr):
            if expected.get(key, set()) != found.get(key, set()):
                what = "has no enrollment" if key not in expected else "differ from what its facts give"
                differing.append(f"standings rows of {key[0]} in {key[1]} {what}")
        return differing, len(rows)

    def rebuild_derived(self, entry: AuditEntry) -> int:
        """Work the standings out again from the facts when any row differs, with an audit event;
        how many enrollments' rows differed (0: nothing was written)."""
        from certcli import audit

        with self._transaction(write=True) as conn:
            meta = self._checked_meta(conn, write=True)
            doc = self._load(conn, meta, Need(all_certifications=True))
            differing, _ = self._standings_differences(conn)
            columns = self._columns_differing(conn)
            repaired = sum(len(rows) for rows in columns.values())
            if not differing and not repaired:
                return 0
            self._repair_columns(conn, columns)
            if differing:
                self._run(conn, "DELETE FROM standings")
                for cert in doc.certifications.values():
                    self._refresh_standings(conn, cert)
            entry = entry._replace(details={**entry.details, "standings": len(differing), "columns": repaired})
            self._append_event(conn, entry, doc.audit_head, audit.ChangeHash().hexdigest(), {})
        return len(differing) + repaired

    def _repair_columns(self, conn: Any, differing: dict[str, list[Differing]]) -> None:
        """Set the columns of the rows `differing` names to what their data gives."""
        users = [[*row.columns, row.key] for row in differing["users"]]
        enrollments = [[*row.columns, *row.key] for row in differing["enrollments"]]
        if users:
            self._many(conn, "UPDATE users SET manager = ?, active = ? WHERE id = ?", users)
        if enrollments:
            sets = "last_fact_at = ?, awaiting_review = ?"
            self._many(conn, f"UPDATE enrollments SET {sets} WHERE user_id = ? AND certification_id = ?", enrollments)

    # ------------------------------------------------------------ dialect hooks

    def _connect(self, write: bool) -> Connection:
        raise NotImplementedError

    def _begin(self, conn: Any, write: bool) -> None:
        raise NotImplementedError

    def _row_lock(self, table: str) -> str:
        """What a change's SELECT of `table` ends with to lock the rows it loads (none where the
        whole store is locked for the change)."""
        return ""

    def _locked_head(self, conn: Any, head: AuditHead | None) -> AuditHead | None:
        """The audit chain's head, locked until the change commits: the event is appended after it."""
        return head

    def _lock_tables(self, conn: Any) -> None:
        """A change of the whole document waits for the changes in progress and holds off new ones
        (where the whole store is not locked for every change already)."""

    def _sql(self, text: str) -> str:
        """`text` with `?` placeholders in the dialect's spelling."""
        return text

    def _in(self, column: str, values: Collection[Any]) -> tuple[str, list[Any]]:
        """A condition `column` is one of `values`, and its parameters."""
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def _contents(self, conn: Any) -> str:
        """`STORE`, `NOTHING` (a store can be created there), or in words what else the database holds."""
        raise NotImplementedError

    def _lock_creation(self, conn: Any) -> None:
        """Make a creation of this store that runs at the same time wait until this one is done."""

    def _prepare_new(self, conn: Any) -> None:
        """Ready an empty database for the tables."""

    def shown(self, text: str) -> str:
        """A driver's message fit to show: no secret of the location in it."""
        return text

    # ------------------------------------------------------------ plumbing

    def _missing(self) -> DataError:
        return DataError(
            f"store {self.location} does not exist",
            hint="create one with `certcli init --admin ID`, or copy one there with `certcli migrate --to`",
        )

    def _already_exists(self) -> StateError:
        return StateError(f"store {self.location} already exists", hint="use it as it is, or choose another --store")

    def _not_a_store(self, contents: str, error: type[CertcliError]) -> CertcliError:
        """Exit 6 for a command that uses the store, 5 for one that would create it."""
        return error(f"store {self.location} is not a certcli store: it holds {contents}", hint=self.elsewhere_hint)

    def _damaged(self, where: str, what: str) -> DataError:
        return DataError(f"store {self.location} is damaged: {where} {what}", hint="restore it from a backup")

    def _dangling(self, where: str, table: str, value: str) -> DataError:
        return self._damaged(where, f"names {table[:-1]} {value!r}, which has no row in {table} (a dangling reference)")

    def _require_store(self, conn: Any) -> None:
        contents = self._contents(conn)
        if contents == NOTHING:
            raise self._missing()
        if contents != STORE:
            raise self._not_a_store(contents, DataError)

    def _run(self, conn: Any, text: str, params: Iterable[Any] = ()) -> list[Any]:
        return conn.execute(self._sql(text), list(params))

    def _rows(self, conn: Any, text: str, params: Iterable[Any] = ()) -> list[Any]:
        return self._run(conn, text, params)

    @contextlib.contextmanager
    def _transaction(self, write: bool) -> Iterator[Any]:
        conn = self._connect(write)
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

    def _parsed(self, text: Any, where: str) -> Any:
        try:
            return _parse_json(text)
        except ValueError as exc:
            raise self._damaged(where, str(exc)) from None

    def _meta(self, conn: Any) -> dict[str, Any]:
        """The meta table's values, each parsed from its JSON."""
        rows = self._rows(conn, "SELECT key, value FROM certcli_meta")
        return {key: self._parsed(value, f"certcli_meta {key!r}") for key, value in rows}

    def _checked_meta(self, conn: Any, write: bool, head_locked: bool = False) -> dict[str, Any]:
        """The meta table, after bringing an older layout forward (in a change only)."""
        self._require_store(conn)
        meta = self._meta(conn)
        layout = meta.get("layout")
        if isinstance(layout, bool) or not isinstance(layout, int) or layout < 1:
            found = "is missing" if "layout" not in meta else f"is {layout!r}, not a table layout number"
            raise self._damaged("certcli_meta 'layout'", found)
        if layout > LAYOUT:
            raise DataError(
                f"store {self.location} has table layout {layout}; this certcli knows up to {LAYOUT}",
                hint="upgrade certcli",
            )
        worked_out_by = meta.get("rules")
        if layout == LAYOUT and worked_out_by == rules.RULES_VERSION:
            return meta
        if not write:
            raise Outdated()
        if not head_locked:  # every other change waits while the tables are brought forward
            self._locked_head(conn, None)
            return self._checked_meta(conn, write, head_locked=True)
        if layout < LAYOUT:
            self._create_layout(conn, layout)
        if worked_out_by != rules.RULES_VERSION:
            self._work_out_standings_again(conn, meta, worked_out_by)
        return meta

    def _work_out_standings_again(self, conn: Any, meta: dict[str, Any], worked_out_by: Any) -> None:
        """The standings were worked out by other rules than this certcli's: work every one out again
        (inside the write lock), so that reports always equal a replay of the facts."""
        doc = self._load(conn, meta, Need(all_certifications=True))
        for cert in doc.certifications.values():
            self._refresh_standings(conn, cert)
        self._set_meta(conn, "rules", str(rules.RULES_VERSION))
        before = "an earlier certcli" if worked_out_by is None else f"rules version {worked_out_by!r}"
        self._notices.append(
            f"worked out the standings of {self.location} again: they came from {before}, "
            f"this certcli's rules are version {rules.RULES_VERSION}"
        )

    def _create_layout(self, conn: Any, start: int) -> None:
        for step in LAYOUT_STEPS[start:]:
            for statement in step:
                self._run(conn, statement.format(blob=self.blob))
        if 0 < start < AUDIT_ROWS_LAYOUT:  # an older store: the digests its events recorded, kept from now on
            self._keep_digests(conn, self._audit_events(conn)[0])
        self._set_meta(conn, "layout", str(LAYOUT))

    def _keep_digests(self, conn: Any, events: Iterable[dict[str, Any]]) -> None:
        """Keep the row digests `events` record in audit_rows, beside the trail."""
        from certcli import audit

        kept = [list(row) for event in events for row in audit.kept_rows(event)]
        if kept:
            self._insert(conn, "audit_rows", ("seq", "tbl", "row_key", "digest"), kept)

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
            return self._contents(conn) == STORE

    def read(self, need: Need | None = None) -> Document:
        return self._snapshot(need, with_audit=False)[0]

    def read_with_audit(self, need: Need | None = None) -> tuple[Document, list[dict[str, Any]], str | None]:
        return self._snapshot(need, with_audit=True)

    def _snapshot(self, need: Need | None, with_audit: bool) -> tuple[Document, list[dict[str, Any]], str | None]:
        """The document, and with `with_audit` the audit events, read in one transaction."""
        try:
            return self._read_once(need, with_audit)
        except Outdated:
            with self.update(Need()):  # brings the layout forward under the write lock
                pass
            return self._read_once(need, with_audit)

    def _read_once(self, need: Need | None, with_audit: bool) -> tuple[Document, list[dict[str, Any]], str | None]:
        with self._transaction(write=False) as conn:
            doc = self._load(conn, self._checked_meta(conn, write=False), need)
            events, problem = self._audit_events(conn) if with_audit else ([], None)
            if with_audit and problem is None:
                problem = self._rows_problem(conn, events)
        return doc, events, problem

    def _load(self, conn: Any, meta: dict[str, Any], need: Need | None) -> Document:
        if need is None:
            tables = {table: self._select(conn, table, "1 = 1", []) for table in TABLES}
        else:
            tables = self._load_needed(conn, need)
        data = {"schema": meta.get("schema", SCHEMA_VERSION), "org": meta.get("org", {}), **tables}
        if "head" in meta:
            data["audit"] = meta["head"]
        return self._document(data, whole=need is None)

    def _document(self, data: dict[str, Any], whole: bool) -> Document:
        """`data` validated as a document: each problem placed in its row or meta value (`users row
        'ana'.name` rather than the `users[3].name` of a file), with the fix a database allows."""
        try:
            return document_from_data(data, self.location, whole=whole)
        except DataError as error:
            prefix = f"{self.location}: "
            placed = [
                f"store {self.location} is damaged: {_PLACE.sub(lambda m: _place(m, data), line[len(prefix) :], 1)}"
                if line.startswith(prefix) else line
                for line in error.message.split("\n")
            ]  # fmt: skip
            raise DataError("\n".join(placed), hint="restore it from a backup") from None

    def _select(self, conn: Any, table: str, where: str, params: list[Any]) -> list[dict[str, Any]]:
        """The data of the rows of `table` that match, in the document's order."""
        columns = "user_id, certification_id, facts" if table == "enrollments" else "id, data"
        order = f"position, {_KEYS.get(table, 'id')}"  # rows written at the same moment share a position
        lock = self._row_lock(table) if self._locking_rows else ""
        rows = self._rows(conn, f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}{lock}", params)
        if table == "enrollments":
            return [self._enrollment_data(row) for row in rows]
        return [self._row_data(table, key, text) for key, text in rows]

    def _row_data(self, table: str, key: Any, text: Any) -> dict[str, Any]:
        where = f"{table} row {key!r}"
        data = self._parsed(text, where)
        if not isinstance(data, dict):
            raise self._damaged(where, f"holds {described(data)}, not a JSON object")
        if data.get("id") != key:
            raise self._damaged(where, f"holds the data of id {data.get('id')!r}")
        return data

    def _enrollment_data(self, row: Sequence[Any]) -> dict[str, Any]:
        user, cert, facts = row
        return {
            "user": user,
            "certification": cert,
            "facts": self._parsed(facts, f"enrollments row ({user!r}, {cert!r})"),
        }

    def _load_needed(self, conn: Any, need: Need) -> dict[str, list[dict[str, Any]]]:
        enrollments = self._needed_enrollments(conn, need)
        user_ids = {*need.users, *_ids_in(enrollments, "user")}
        cert_ids = {*need.certifications, *_ids_in(enrollments, "certification")}
        if need.reports_of is not None:
            reports = self._rows(conn, "SELECT id FROM users WHERE manager = ?", [need.reports_of])
            user_ids.update(row[0] for row in reports)
        users = self._by_ids(conn, "users", None if need.all_users else user_ids)
        certs = self._by_ids(conn, "certifications", None if need.all_certifications else cert_ids)
        course_ids = {*need.courses, *(ref for cert in certs for ref in _course_ids(cert))}
        courses = self._by_ids(conn, "courses", None if need.all_courses else course_ids)
        groups = self._by_ids(conn, "groups", None if need.all_groups else set(need.groups))
        self._check_references(enrollments, users, certs, courses)
        tables = {"users": users, "courses": courses, "certifications": certs, "enrollments": enrollments}
        return {**tables, "groups": groups}

    def _check_references(
        self,
        enrollments: list[dict[str, Any]],
        users: list[dict[str, Any]],
        certs: list[dict[str, Any]],
        courses: list[dict[str, Any]],
    ) -> None:
        """A part of the store is loaded with what it cannot do without: each enrollment's user and
        certification and each certification's courses. One that is not there is a dangling reference
        (a row deleted with the foreign keys off), not something to trust."""
        found = {
            "users": _ids_in(users, "id"),
            "certifications": _ids_in(certs, "id"),
            "courses": _ids_in(courses, "id"),
        }
        for enrollment in enrollments:
            where = f"enrollments row ({enrollment['user']!r}, {enrollment['certification']!r})"
            for key, table in (("user", "users"), ("certification", "certifications")):
                if isinstance(enrollment[key], str) and enrollment[key] not in found[table]:
                    raise self._dangling(where, table, enrollment[key])
        for cert in certs:
            for course in _course_ids(cert):
                if course not in found["courses"]:
                    raise self._dangling(f"certifications row {cert['id']!r}", "courses", course)

    def _by_ids(self, conn: Any, table: str, ids: Collection[str] | None) -> list[dict[str, Any]]:
        if ids is None:
            return self._select(conn, table, "1 = 1", [])
        if not ids:
            return []
        condition, params = self._in("id", ids)
        return self._select(conn, table, condition, params)

    def _needed_enrollments(self, conn: Any, need: Need) -> list[dict[str, Any]]:
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

    def _require_rows(self, referrer: str, table: str, ids: Iterable[Any], loaded: Collection[str]) -> None:
        """Rows of `table` that `referrer` names and the document was not loaded with must be in
        the database; the first that is not is a dangling reference."""
        unloaded = {value for value in ids if value not in loaded}
        if not unloaded:
            return
        condition, params = self._in("id", unloaded)
        with self._transaction(write=False) as conn:
            there = {row[0] for row in self._rows(conn, f"SELECT id FROM {table} WHERE {condition}", params)}
        for value in sorted(unloaded - there, key=repr):
            raise self._dangling(referrer, table, value)

    def read_audit(self) -> tuple[list[dict[str, Any]], str | None]:
        with self._transaction(write=False) as conn:
            self._require_store(conn)
            return self._audit_events(conn)

    def _audit_events(self, conn: Any) -> tuple[list[dict[str, Any]], str | None]:
        """The audit events in order, and what is wrong with the first row that does not hold one
        (the events before it are returned, as a file store's log gives those before a bad line)."""
        events: list[dict[str, Any]] = []
        for seq, text in self._rows(conn, "SELECT seq, event FROM audit_events ORDER BY seq"):
            try:
                events.append(event_of(text))
            except ValueError as exc:
                return events, f"audit_events row {seq!r} (after event {len(events)}): {exc}; the table was edited"
        return events, None

    def proof_content(self, sha256: str) -> bytes | None:
        with self._transaction(write=False) as conn:
            return self._proof_content(conn, sha256)

    def _proof_content(self, conn: Any, sha256: str) -> bytes | None:
        rows = self._rows(conn, "SELECT content FROM proofs WHERE sha256 = ?", [sha256])
        if not rows:
            return None
        content = rows[0][0]
        if not isinstance(content, (bytes, memoryview)):
            raise self._damaged(f"proofs row {sha256!r}", f"holds {described(content)}, not a file's bytes")
        return bytes(content)

    def content_hash(self, doc: Document) -> str | None:
        return None  # each event carries the SHA-256 of its change: hashing a million rows per change is not an option

    def _scope(
        self, certification: str | None, users: Collection[str] | None, active_only: bool
    ) -> tuple[str, list[Any]]:
        conditions, params = [], []
        if active_only:
            conditions.append("user_id NOT IN (SELECT id FROM users WHERE active = 0)")
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
        active_only: bool,
        column_params: Iterable[Any] = (),
        group: str = "",
    ) -> tuple[list[Any], list[dict[str, Any]]]:
        """Rows of the standings table in force on `now`'s day, and the enrollments
        with facts after `now`, which only a replay of their facts can tell about."""
        as_of, today = format_time(now), format_date(now.date())
        current = (
            f"SELECT {columns} FROM standings WHERE last_fact_at <= ? AND first_day <= ?"
            f" AND (until_day IS NULL OR until_day > ?){{scope}}{group}"
        )
        later = "SELECT user_id, certification_id, facts FROM enrollments WHERE last_fact_at > ?{scope}"
        with self._transaction(write=False) as conn:
            # Leaving deactivated users out costs a lookup per row: only where there are any.
            anyone_inactive = active_only and bool(self._rows(conn, "SELECT 1 FROM users WHERE active = 0 LIMIT 1"))
            scope, params = self._scope(certification, users, anyone_inactive)
            found = self._rows(conn, current.format(scope=scope), [*column_params, as_of, today, today, *params])
            later_rows = self._rows(conn, later.format(scope=scope), [as_of, *params])
            return found, [self._enrollment_data(row) for row in later_rows]

    def standings(
        self,
        doc: Document,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        active_only: bool = True,
    ) -> Iterator[tuple[str, str, Standing]]:
        current, later = self._current_and_later(
            f"user_id, certification_id, {STANDING_COLUMNS}", now, certification, users, active_only
        )
        found = [(row[0], row[1], self._standing(row)) for row in current]
        self._require_rows("a standings row", "users", (user for user, _, _ in found), doc.users)
        self._require_rows("a standings row", "certifications", (cert for _, cert, _ in found), doc.certifications)
        yield from found
        yield from self._replayed(doc, later, now)

    def _standing(self, row: Sequence[Any]) -> Standing:
        try:
            return _standing_of(row[2:])
        except ValueError as exc:
            raise self._damaged(f"standings row ({row[0]!r}, {row[1]!r})", f"holds {exc}") from None

    def standing_counts(
        self,
        doc: Document,
        now: datetime,
        certification: str | None,
        users: Collection[str] | None,
        expiring_until: date,
        active_only: bool = True,
    ) -> Counter[tuple[str, str, bool, bool]]:
        expiring = "CASE WHEN status = 'completed' AND valid_until >= ? AND valid_until <= ? THEN 1 ELSE 0 END"
        columns = f"certification_id, status, overdue, {expiring} AS expiring, COUNT(*)"
        limits = [format_date(now.date()), format_date(expiring_until)]
        group = " GROUP BY certification_id, status, overdue, expiring"
        current, later = self._current_and_later(columns, now, certification, users, active_only, limits, group)
        counts = tally(self._replayed(doc, later, now), now.date(), expiring_until)
        for cert, status, overdue, is_expiring, count in current:
            try:
                key = (cert, _status(status), flag(overdue, "overdue"), bool(is_expiring))
            except ValueError as exc:
                raise self._damaged(f"standings rows of certification {cert!r}", f"hold {exc}") from None
            counts[key] += count
        self._require_rows("a standings row", "certifications", (cert for cert, *_ in current), doc.certifications)
        return counts

    def _enrollments(self, rows: list[dict[str, Any]]) -> list[Enrollment]:
        """Enrollments from the data of their rows, validated like any other."""
        return self._document({"enrollments": rows}, whole=False).enrollments

    def _replayed(
        self, doc: Document, rows: list[dict[str, Any]], now: datetime
    ) -> Iterator[tuple[str, str, Standing]]:
        enrollments = self._enrollments(rows)
        certs = (enrollment.certification for enrollment in enrollments)
        self._require_rows("an enrollments row", "certifications", certs, doc.certifications)
        for enrollment in enrollments:
            view = rules.evaluate(enrollment, doc.certifications[enrollment.certification], now)
            if view is not None:
                yield enrollment.user, enrollment.certification, rules.standing(view)

    # ------------------------------------------------------------ changing

    @contextlib.contextmanager
    def update(self, need: Need | None = None) -> Iterator[Document]:
        """A change of one part: the rows `need` names, locked (PostgreSQL), or the whole document with
        the tables locked."""
        with self._change(lock_tables=need is None) as change, change.part(need, lock_rows=need is not None) as doc:
            yield doc

    @contextlib.contextmanager
    def update_in_parts(self, dry_run: bool = False) -> Iterator[SqlParts]:
        """One write transaction, the tables locked for it as for a change of the whole document; a dry
        run's is one read transaction, whose parts write nothing."""
        if not dry_run:
            with self._change(lock_tables=True) as change:
                yield change
            return
        self.read(Need())  # brings an older layout forward first, as a snapshot does
        with self._transaction(write=False) as conn:
            yield SqlParts(self, conn, self._checked_meta(conn, write=False), keep=False)

    @contextlib.contextmanager
    def _change(self, lock_tables: bool) -> Iterator[SqlParts]:
        """A write transaction whose parts write their rows as each ends, and its audit event at the end."""
        with self._transaction(write=True) as conn:
            meta = self._checked_meta(conn, write=True)
            if lock_tables:
                self._lock_tables(conn)
            change = SqlParts(self, conn, meta)
            self._conn = conn
            try:
                yield change
            finally:
                self._conn = None
            change.finish()

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

    def _write_changes(
        self,
        conn: Any,
        doc: Document,
        before: dict[str, dict[Any, dict[str, Any]]],
        after: dict[str, dict[Any, dict[str, Any]]],
        org_before: dict[str, Any] | None,
        change: Any,
        digests: dict[str, dict[str, str | None]],
        certifications: Mapping[str, Certification],
    ) -> None:
        """Write the rows that changed between `before` and `after`, adding them to the `change` hash
        and their digests to `digests` (a table past LISTED_ROWS_LIMIT as unlisted); `certifications`
        are those loaded, as they were before the change."""
        from certcli import audit

        changed = {
            table: {key: data for key, data in after[table].items() if before[table].get(key) != data}
            for table in TABLES
        }
        org_after = org_data(doc)
        refuse_unreadable({table: list(rows.values()) for table, rows in changed.items()},
                          org_after if org_after != org_before else None)  # fmt: skip
        if org_after != org_before:
            org = self._locked_org(conn, org_before or {}, org_after)
            self._refuse_unrecorded(conn, "org", [ORG_ROW], certifications)
            self._set_meta(conn, "org", dumps(org))
            change.add("org", "written", org)
            digests["org"] = {ORG_ROW: audit.row_digest(org)}
        for table in TABLES:
            old, written = before[table], changed[table]
            removed = [key for key in old if key not in after[table]]
            self._refuse_unrecorded(conn, table, [*removed, *written], certifications)
            listed: dict[str, str | None] = {}
            for key in removed:
                self._delete(conn, table, key)
                change.add(table, "removed", _plain(key))
                listed[row_key(key)] = None
            self._write(conn, doc, table, written, old)
            for key, data in written.items():
                change.add(table, "written", data)
                listed[row_key(key)] = audit.row_digest(data)
            list_digests(digests, table, listed)
        for cert_id in before["certifications"]:
            if cert_id in doc.certifications and before["certifications"][cert_id] != after["certifications"][cert_id]:
                self._refresh_standings(conn, doc.certifications[cert_id])

    def _append_event(
        self,
        conn: Any,
        entry: AuditEntry,
        head: AuditHead | None,
        change: str,
        digests: dict[str, dict[str, str | None]],
    ) -> dict[str, Any]:
        """Record `entry` as the event after the chain's head, carrying the SHA-256 `change` of what it
        wrote and each row's digest; refused (and the change with it) when the trail's end does not hold."""
        from datetime import UTC

        from certcli import audit

        head = self._locked_head(conn, head)
        self._refuse_broken_trail(conn, head)
        event = audit.make_event(entry, head, change, datetime.now(UTC), digests)
        self._run(conn, "INSERT INTO audit_events (seq, event) VALUES (?, ?)", (event["seq"], dumps(event)))
        self._run(conn, "DELETE FROM audit_rows WHERE seq = 0")  # the marks of the rows this change wrote
        self._keep_digests(conn, [event])
        self._set_meta(conn, "head", dumps(event))
        return event

    # ------------------------------------------------------------ what the trail covers

    def _refuse_broken_trail(self, conn: Any, head: AuditHead | None) -> None:
        """A change is recorded only where the trail's end holds, as on a file store: the head the store
        records is the last event, unedited, and follows the one before it; checked under the chain's lock,
        as the event is appended. (The whole chain and every row are re-hashed by `audit verify` and
        `doctor`; a change reads only what it needs, at any size.)"""
        from certcli import audit

        rows = self._rows(conn, "SELECT seq, event FROM audit_events ORDER BY seq DESC LIMIT 2")
        problem: str | None
        try:
            tail = [event_of(text) for _, text in reversed(rows)]
        except ValueError as exc:
            tail, problem = [], f"the audit_events table was edited: {exc}"
        else:
            problem = audit.tail_problem(tail, head)
        if problem is not None:
            raise self._broken_trail(problem)

    def _broken_trail(self, problem: str) -> DataError:
        return DataError(
            f"store {self.location}: audit trail broken: {problem}",
            hint="run `certcli audit verify`; restore the store from a backup (nothing was written)",
        )

    def _rows_problem(self, conn: Any, events: list[dict[str, Any]]) -> str | None:
        """Every row of the store re-hashed against the latest event that wrote it: the rows edited,
        added or removed without an event, named (the first few), or None."""
        from certcli import audit

        found: dict[tuple[str, str], str] = {}
        for table in TABLES:
            for data in self._select(conn, table, "1 = 1", []):
                key = (data["user"], data["certification"]) if table == "enrollments" else data["id"]
                found[table, row_key(key)] = audit.row_digest(data)
        org = self._meta(conn).get("org", {})
        found["org", ORG_ROW] = audit.row_digest(org)
        derived = self._column_problems(conn) + self._standings_differences(conn)[0]
        problems = audit.row_problems(events, found) + self._kept_problems(conn, events) + derived
        if not problems:
            return None
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        return "; ".join(problems[:5]) + more

    def _locked_org(self, conn: Any, loaded: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
        """The organisation's settings this change writes, held for it until it commits. Where changes run
        side by side (PostgreSQL), another may have set some since this one loaded them: the settings this
        change set are put over what that one wrote, so neither undoes the other's."""
        if not self._org_row_lock:
            return changed
        rows = self._rows(conn, _ORG + self._org_row_lock)
        current: dict[str, Any] = self._parsed(rows[0][0], "certcli_meta 'org'") if rows else {}
        merged = dict(current)
        for key in loaded.keys() | changed.keys():
            if loaded.get(key) != changed.get(key):
                if key in changed:
                    merged[key] = changed[key]
                else:
                    merged.pop(key, None)
        return merged

    _org_row_lock = ""  # what locks the organisation's settings where changes run side by side

    def _refuse_unrecorded(
        self, conn: Any, table: str, keys: list[Any], certifications: Mapping[str, Certification]
    ) -> None:
        """The rows of `table` a change is about to rewrite or remove, as the database holds them now, against
        the digest the trail keeps of each: a row edited, added or removed since without an audit event is
        refused, with the whole change, instead of being blessed by the change's event. Rows this change
        wrote already (an earlier part) are its own. So is a row whose columns beside its data (as the
        `certifications` the change loaded give them) are not what its data gives. Cost: the rows named, by index."""
        if not keys:
            return
        names = [row_key(key) for key in keys]
        self.refuse_edited(conn, table, names, self._current_digests(conn, table, keys))
        for differing in self._column_differences(conn, table, keys, certifications):
            raise DataError(
                f"store {self.location}: {differing.problems[0]}; nothing was written",
                hint="run `certcli doctor`: `certcli doctor --repair` works the columns out again from the data",
            )
        self._many(conn, _PENDING, [[table, name] for name in names])

    def refuse_edited(self, conn: Any, table: str, names: list[str], current: Mapping[str, str]) -> None:
        """Rows `names` of `table`, whose content now hashes to `current` (a row not there: none), against
        the digest the trail keeps of each (rows this change wrote already are its own): the first edited,
        added or removed without an audit event is refused, naming it."""
        from certcli import audit

        recorded, pending, accounted = self._kept_digests(conn, table, names)
        for name in names:
            problem = None if name in pending else audit.row_problem(
                table, name, recorded.get(name), current.get(name), accounted
            )
            if problem is not None:
                raise DataError(
                    f"store {self.location}: {problem}, so it no longer matches the audit trail; nothing was written",
                    hint="run `certcli audit verify`; undo the edit, or restore the store from a backup",
                )

    def _kept_digests(
        self, conn: Any, table: str, names: list[str]
    ) -> tuple[dict[str, tuple[int, str | None]], set[str], bool]:
        """What audit_rows holds of rows `names` of `table`: the latest event's number and digest of each
        (since the trail last listed the whole store or left the table unlisted), the rows this change
        wrote already, and whether the trail accounts for every row of the table."""
        from certcli import audit

        marks = dict(self._rows(conn, _MARKS, [audit.UNLISTED, audit.WHOLE_STORE, table]))
        whole, unlisted = marks.get(audit.WHOLE_STORE), marks.get(table)
        since = max(whole or 0, unlisted or 0)
        condition, params = self._in("a.row_key", names)
        rows = self._rows(conn, _LATEST.format(condition=condition), [table, *params])
        pending = {name for name, seq, _ in rows if seq == 0}
        recorded = {name: (seq, digest) for name, seq, digest in rows if seq >= since and seq > 0}
        relied_on = [(seq, table, name, digest) for name, (seq, digest) in recorded.items()]
        relied_on += [(whole, audit.WHOLE_STORE, audit.UNLISTED, None)] if whole else []
        relied_on += [(unlisted, table, audit.UNLISTED, None)] if unlisted else []
        self._refuse_unfounded(conn, relied_on)
        return recorded, pending, whole is not None and (unlisted is None or unlisted < whole)

    def _refuse_unfounded(self, conn: Any, entries: list[tuple[int, str, str, str | None]]) -> None:
        """The audit_rows entries a change relies on, each found in the event it names: an entry edited or
        added there is not believed (that takes rewriting the chain, which only `audit verify` and a
        kept checkpoint catch). One indexed read per event named."""
        from certcli import audit

        seqs = sorted({entry[0] for entry in entries})
        if not seqs:
            return
        condition, params = self._in("seq", seqs)
        recorded: set[tuple[int, str, str, str | None]] = set()
        for seq, text in self._rows(conn, f"SELECT seq, event FROM audit_events WHERE {condition}", params):
            try:
                event = event_of(text)
            except ValueError as exc:
                raise self._broken_trail(f"the audit_events table was edited: {exc}") from None
            if audit.event_hash(event) != event["sha256"]:
                raise self._broken_trail(f"event {seq} was edited: its content no longer matches its SHA-256")
            recorded.update(audit.kept_rows(event))
        for seq, table, key, _ in (entry for entry in entries if entry not in recorded):
            raise DataError(
                f"store {self.location}: the audit_rows entry of event {seq} for {table} row {key!r} is not what "
                "that event records; nothing was written",
                hint="run `certcli audit verify`; restore the store from a backup",
            )

    def _current_digests(self, conn: Any, table: str, keys: list[Any]) -> dict[str, str]:
        """The digest of each of the rows `keys` of `table` as the database holds it now (a row not there: none)."""
        from certcli import audit

        if table == "org":
            org = self._parsed(value[0][0], "certcli_meta 'org'") if (value := self._rows(conn, _ORG)) else {}
            return {ORG_ROW: audit.row_digest(org)}
        if table == "enrollments":
            condition, params = self._in("user_id", {user for user, _ in keys})
            wanted = set(keys)
            rows = [row for row in self._select(conn, table, condition, params)
                    if (row["user"], row["certification"]) in wanted]  # fmt: skip
            return {row_key((row["user"], row["certification"])): audit.row_digest(row) for row in rows}
        condition, params = self._in("id", keys)
        return {row["id"]: audit.row_digest(row) for row in self._select(conn, table, condition, params)}

    def _column_differences(
        self, conn: Any, table: str, keys: Collection[Any] | None, certifications: Mapping[str, Certification]
    ) -> list[Differing]:
        """The rows `keys` of `table` (None: every row) whose columns beside their data differ from what
        their data gives: users' manager and active, enrollments' last_fact_at and awaiting_review (of the
        `certifications` given)."""
        if table not in _WITH_COLUMNS:
            return []
        wanted = None if keys is None else set(keys)
        if table == "users":
            where, params = ("1 = 1", []) if keys is None else self._in("id", wanted or set())
            rows = self._rows(conn, f"SELECT id, data, {', '.join(USER_COLUMNS)} FROM users WHERE {where}", params)
            found = [(key, list(kept), user_columns(self._row_data(table, key, text))) for key, text, *kept in rows]
            return [d for key, kept, right in found if (d := _differing(table, key, USER_COLUMNS, kept, right))]
        where, params = ("1 = 1", []) if wanted is None else self._in("user_id", {user for user, _ in wanted})
        columns = f"user_id, certification_id, facts, {', '.join(ENROLLMENT_COLUMNS)}"
        rows = [row for row in self._rows(conn, f"SELECT {columns} FROM enrollments WHERE {where}", params)
                if (wanted is None or (row[0], row[1]) in wanted) and row[1] in certifications]  # fmt: skip
        enrollments = self._enrollments([self._enrollment_data(row[:3]) for row in rows])
        differing = (
            _differing(table, (row[0], row[1]), ENROLLMENT_COLUMNS, row[3:],
                       enrollment_columns(enrollment, certifications[enrollment.certification]))
            for row, enrollment in zip(rows, enrollments, strict=True)
        )  # fmt: skip
        return [d for d in differing if d is not None]

    def _columns_differing(self, conn: Any) -> dict[str, list[Differing]]:
        """Every row whose columns beside its data differ from what its data gives, by table."""
        certifications = self._load(conn, self._meta(conn), Need(all_certifications=True)).certifications
        return {table: self._column_differences(conn, table, None, certifications) for table in _WITH_COLUMNS}

    def _column_problems(self, conn: Any) -> list[str]:
        return [problem for rows in self._columns_differing(conn).values() for row in rows for problem in row.problems]

    def _kept_problems(self, conn: Any, events: list[dict[str, Any]]) -> list[str]:
        """audit_rows against the row digests the events record: the entries edited, added or removed. (Those
        of events past the trail's end are left to the chain and the checkpoints, which tell of removed events.)"""
        from certcli import audit

        expected = {(seq, table, key): digest for event in events for seq, table, key, digest in audit.kept_rows(event)}
        rows = self._rows(conn, f"{_KEPT} WHERE seq <= ?", [len(events)])
        kept = {(seq, table, key): digest for seq, table, key, digest in rows}
        problems = []
        for place in sorted(expected.keys() | kept.keys(), key=repr):
            if place in kept and place in expected and kept[place] == expected[place]:
                continue
            what = "is missing" if place not in kept else "was added" if place not in expected else "was edited"
            seq, table, key = place
            problems.append(f"audit_rows entry of event {seq} for {table} row {key!r} {what}")
        return problems

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
                    position = self._last_position(conn, table)
                position += 1
                inserts.append([*(key if table == "enrollments" else [key]), position, *values])
        names = self._column_names(table)
        if inserts:
            keys = ("user_id", "certification_id") if table == "enrollments" else ("id",)
            self._insert(conn, table, (*keys, "position", *names), inserts)
        if updates:
            where = "user_id = ? AND certification_id = ?" if table == "enrollments" else "id = ?"
            sets = ", ".join(f"{name} = ?" for name in names)
            self._many(conn, f"UPDATE {table} SET {sets} WHERE {where}", updates)
        if table == "enrollments":
            self._write_standings(conn, [list(key) for key in written if key in old], pieces)

    def _last_position(self, conn: Any, table: str) -> int:
        last = self._rows(conn, f"SELECT COALESCE(MAX(position), 0) FROM {table}")[0][0]
        if isinstance(last, bool) or not isinstance(last, int):
            raise self._damaged(f"{table} positions", f"end with {last!r}, not a whole number")
        return last

    @staticmethod
    def _column_names(table: str) -> tuple[str, ...]:
        return {
            "users": ("manager", "active", "data"),
            "enrollments": ("facts", "last_fact_at", "awaiting_review"),
        }.get(table, ("data",))

    @staticmethod
    def _columns(doc: Document, table: str, data: dict[str, Any]) -> list[Any]:
        if table == "users":
            return [*user_columns(data), dumps(data)]
        if table == "enrollments":
            return [dumps(data["facts"])]
        return [dumps(data)]

    def _write_standings(self, conn: Any, replaced: list[list[Any]], pieces: list[list[Any]]) -> None:
        """Replace the standings rows of enrollments (user, certification) whose facts or definition changed."""
        if replaced:
            self._many(conn, "DELETE FROM standings WHERE user_id = ? AND certification_id = ?", replaced)
        if pieces:
            columns = ("user_id", "certification_id", "last_fact_at", "first_day", "until_day")
            self._insert(conn, "standings", (*columns, *STANDING_COLUMNS.split(", ")), pieces)

    def _many(self, conn: Any, text: str, rows: list[list[Any]]) -> None:
        conn.executemany(self._sql(text), rows)

    def _insert(self, conn: Any, table: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
        """Insert new rows, by the dialect's fastest way."""
        marks = ", ".join("?" * len(columns))
        self._many(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

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


_KEPT = "SELECT seq, tbl, row_key, digest FROM audit_rows"
# Entries of events the trail holds (one added past its end is not believed).
_IN_TRAIL = "SELECT COALESCE(MAX(seq), 0) FROM audit_events"
# The last event that left a table unlisted, and the last that listed the whole store: earlier digests are void.
_MARKS = (
    "SELECT tbl, MAX(seq) FROM audit_rows WHERE row_key = ? AND tbl IN (?, ?) AND seq > 0"
    f" AND seq <= ({_IN_TRAIL}) GROUP BY tbl"
)
# Each row's latest digest, and its mark when this change wrote it already (seq 0, until the event is appended).
_LATEST = (
    "SELECT a.row_key, a.seq, a.digest FROM audit_rows a WHERE a.tbl = ? AND {condition} AND (a.seq = 0"
    " OR a.seq = (SELECT MAX(b.seq) FROM audit_rows b WHERE b.tbl = a.tbl AND b.row_key = a.row_key"
    f" AND b.seq <= ({_IN_TRAIL})))"
)
_PENDING = "INSERT INTO audit_rows (seq, tbl, row_key, digest) VALUES (0, ?, ?, NULL) ON CONFLICT DO NOTHING"
_ORG = "SELECT value FROM certcli_meta WHERE key = 'org'"
ORG_ROW = "org"  # the organisation's settings, kept as one meta value, are the one "row" of table org


def list_digests(digests: dict[str, dict[str, str | None]], table: str, rows: Mapping[str, str | None]) -> None:
    """Add the digests of `rows` of `table` (None: removed) to an event's `digests`; a table past
    LISTED_ROWS_LIMIT is unlisted instead, so that the event stays small enough to read on every command."""
    from certcli import audit

    if not rows:
        return
    listed = digests.setdefault(table, {})
    if audit.UNLISTED in listed:
        return
    if len(listed) + len(rows) > audit.LISTED_ROWS_LIMIT:
        digests[table] = {audit.UNLISTED: None}
        return
    listed.update(rows)


def row_key(key: Any) -> str:
    """A row's key as an event names it: the id, or `user/certification` for an enrollment."""
    return "/".join(key) if isinstance(key, tuple) else str(key)


def event_of(text: Any) -> dict[str, Any]:
    """The audit event an audit_events row holds; ValueError saying what is wrong with it."""
    from certcli import audit

    if not isinstance(text, str):
        raise ValueError(f"it holds {described(text)}, not JSON text")
    try:
        return audit.decode_event(text)
    except RecursionError:
        raise ValueError("its JSON is nested too deeply") from None


class Outdated(Exception):
    """A store of an older table layout, or with standings from other rules, was opened for reading."""


class SqlParts:
    """The `Parts` of a change to a database store, in the transaction `conn` holds: each part's
    changed rows are written as it ends, and `finish` appends the one audit event, with the entry
    the last part named (unless the parts are not to be kept: a dry run's)."""

    def __init__(self, store: SqlStore, conn: Any, meta: dict[str, Any], keep: bool = True) -> None:
        from certcli import audit

        self.store, self._conn, self._meta, self._keep = store, conn, meta, keep
        self._change = audit.ChangeHash()
        self._digests: dict[str, dict[str, str | None]] = {}
        self._head: AuditHead | None = None
        self._last: Document | None = None
        self._changed = False

    @contextlib.contextmanager
    def part(self, need: Need | None, lock_rows: bool = False) -> Iterator[Document]:
        self.store._locking_rows = lock_rows
        try:
            doc = self.store._load(self._conn, self._meta, need)
        finally:
            self.store._locking_rows = False
        if not self._keep:
            yield doc
            return
        before, org_before, certifications = rows_of(doc), org_data(doc), dict(doc.certifications)
        yield doc
        after, org_after = rows_of(doc), org_data(doc)
        if after != before or org_after != org_before:
            self.store._write_changes(
                self._conn, doc, before, after, org_before, self._change, self._digests, certifications
            )
            self._meta = {**self._meta, "org": org_after}  # what the next part loads
            self._changed = True
        self._head = doc.audit_head if self._last is None else self._head
        self._last = doc
        self._changed = self._changed or doc.record_anyway

    def finish(self) -> None:
        """Append the audit event of the change, when it changed something or was to be recorded anyway."""
        if self._changed and self._last is not None:
            entry = pending_entry(self._last)
            event = self.store._append_event(self._conn, entry, self._head, self._change.hexdigest(), self._digests)
            self._last.audit_head = AuditHead(event)


class Connection:
    """A driver's connection whose errors are the store's: a lock waited for too long is
    `StoreBusy` (exit 7), anything else a `DataError` (exit 6). Rows are fetched inside, so
    an error met while reading them is converted as well."""

    # (error codes, what they make of the store, the fix): the first whose code begins the error's
    problems: tuple[tuple[tuple[str, ...], str, str], ...] = ()
    fallback = ("is damaged", "restore it from a backup")

    def __init__(self, conn: Any, store: SqlStore) -> None:
        self.conn, self.store = conn, store

    def _errors(self, statement: str) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _busy(self, waited_for: str) -> StoreBusy:
        return StoreBusy(
            f"store {self.store.location} is locked by {waited_for} (waited {self.store.lock_timeout:g} s)",
            hint="retry in a moment, or wait longer with CERTCLI_LOCK_TIMEOUT=SECONDS",
        )

    def _clash(self) -> StoreBusy:
        return StoreBusy(
            f"store {self.store.location}: another change was changing the same rows at the same moment; "
            "nothing was written",
            hint="retry the command: it starts again from what the other change wrote",
        )

    def _converted(self, code: str, message: str, statement: str) -> DataError:
        what, fix = next(((what, fix) for codes, what, fix in self.problems if code.startswith(codes)), self.fallback)
        lines = message.strip().splitlines() or ["(no message)"]
        text = self.store.shown(lines[0][:300])
        table = _TABLE.search(statement)
        if table and table.group(1) not in text:
            text += f" (table {table.group(1)})"
        return DataError(f"store {self.store.location} {what}: {text}", hint=fix)

    def execute(self, text: str, params: list[Any] | tuple[Any, ...] = ()) -> list[Any]:
        """Run one statement; its rows, if it has any."""
        with self._errors(text), contextlib.closing(self.conn.cursor()) as cursor:
            cursor.execute(text, params)
            return cursor.fetchall() if cursor.description is not None else []

    def executemany(self, text: str, rows: list[list[Any]]) -> None:
        with self._errors(text), contextlib.closing(self.conn.cursor()) as cursor:
            cursor.executemany(text, rows)

    def stream(self, text: str, params: list[Any], page_rows: int) -> Generator[list[Any], None, None]:
        """A query's rows, `page_rows` at a time, fetched as they are read."""
        with self._errors(text), contextlib.closing(self._streaming_cursor()) as cursor:
            cursor.execute(text, params)
            while rows := cursor.fetchmany(page_rows):
                yield rows

    def _streaming_cursor(self) -> Any:
        return self.conn.cursor()

    def commit(self) -> None:
        with self._errors("COMMIT"):
            self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # done with it: the outcome was settled by the commit
            self.conn.close()


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|TABLE)\s+(\w+)", re.IGNORECASE)
