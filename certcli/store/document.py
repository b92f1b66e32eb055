"""The store document (docs/stores.md, "The store"): validation of a parsed file into the model,
and the model back into a plain document that JSON and TOML both hold.

Validation collects every problem, each naming the place (`certifications[2].kind`),
what was wrong and the fix, and raises one `DataError` listing them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from certcli.dates import format_date, format_time, parse_date, parse_time
from certcli.errors import DataError, UsageError
from certcli.fields import EMAIL, LOGIN, MAIL_FROM, NAME, ORG_NAME, TextRule, text_problem
from certcli.model import (
    ASSIGNED,
    COMPLETION_DATE,
    COURSE_COMPLETED,
    COURSE_STARTED,
    CYCLE_OPENED,
    DECISIONS,
    FACT_TYPES,
    KINDS,
    LEARNER,
    PROOF_REVIEWED,
    PROOF_SUBMITTED,
    REMINDED,
    REMINDER_KINDS,
    RENEW_FROM,
    REQUIREMENTS_CHANGED,
    REVOKED,
    ROLES,
    SCHEMA_VERSION,
    STARTED,
    AuditHead,
    Certification,
    Course,
    CourseRef,
    Document,
    Enrollment,
    Fact,
    Group,
    Proof,
    ReminderSchedule,
    Requirements,
    User,
)

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
ID_RULE = "letters, digits, '.', '_', '@' and '-', starting with a letter or digit, at most 128"


def is_identifier(value: object) -> bool:
    """Whether `value` is an id: the whole string matches, so no trailing newline or space slips through."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


HEX_DIGITS = frozenset("0123456789abcdef")


def is_sha256(value: str) -> bool:
    """64 lowercase hexadecimal digits (a string test: a pattern compiled at import costs every command)."""
    return len(value) == 64 and HEX_DIGITS.issuperset(value)


def is_reminder(value: str) -> bool:
    """A reminded fact's KIND:THRESHOLD; days overdue can span the whole calendar (3,652,058 days: 7 digits)."""
    kind, colon, days = value.partition(":")
    return bool(colon) and kind in REMINDER_KINDS and days.isascii() and days.isdigit() and len(days) <= 7


ORG_URL_PATTERN = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$")

# Keys each fact type may carry besides `type` and `at`; required ones first in the pair.
FACT_KEYS: dict[str, tuple[set[str], set[str]]] = {
    ASSIGNED: (set(), {"by", "due"}),
    CYCLE_OPENED: ({"cycle", "requirements"}, {"due"}),
    STARTED: (set(), set()),
    COURSE_STARTED: ({"course"}, set()),
    COURSE_COMPLETED: ({"course"}, set()),
    PROOF_SUBMITTED: ({"proof"}, set()),
    PROOF_REVIEWED: ({"by", "decision"}, {"reason"}),
    REVOKED: ({"by", "reason"}, {"cycle"}),
    REQUIREMENTS_CHANGED: ({"requirements"}, {"by"}),
    REMINDED: ({"by", "cycle", "reminder"}, set()),
}
FACT_ALLOWED = {
    kind: frozenset({"type", "at"} | required | optional) for kind, (required, optional) in FACT_KEYS.items()
}
ALL_FACT_KEYS = frozenset({"type", "at"}.union(*(required | optional for required, optional in FACT_KEYS.values())))


# ---------------------------------------------------------------- formatting helpers


# ---------------------------------------------------------------- validation


class Problems:
    """Collects validation problems against one source name. `typed`: the source is what a person
    wrote now (an `apply` file), whose text fields must also be on one line (`certcli.fields`)."""

    def __init__(self, source: str, typed: bool = False) -> None:
        self.source, self.typed = source, typed
        self.items: list[str] = []

    def add(self, where: str, what: str, fix: str) -> None:
        self.items.append(f"{self.source}: {where}: {what}; {fix}")

    def raise_if_any(self) -> None:
        if self.items:
            raise DataError(
                "\n".join(self.items),
                hint="correct the store file (every problem is listed above), or restore it from a backup",
            )


MAX_WHOLE = 2**53 - 1  # the largest whole number every JSON reader keeps exactly
MAX_MONTHS = 1200  # validity: a hundred years
MAX_DAYS = 36_500  # deadlines and renewal windows: a hundred years


class Reader:
    """Reads typed fields out of one table, reporting problems at their place."""

    def __init__(self, problems: Problems, table: Any, where: str, allowed: Iterable[str]) -> None:
        self.problems, self.where = problems, where
        self.table: dict[str, Any] = table if isinstance(table, dict) else {}
        self.ok = isinstance(table, dict)
        if not self.ok:
            problems.add(
                where or "(top)", f"expected a table, got {_kind(table)}", "write it as a table of keys and values"
            )
            return
        for key in self.table:
            if key not in allowed:
                problems.add(
                    _place(where, key),
                    "unknown key",
                    f"remove it, or use one of: {', '.join(sorted(allowed))}",
                )

    def place(self, key: str) -> str:
        return _place(self.where, key)

    def _get(self, key: str, required: bool, expected: str) -> Any:
        if key not in self.table:
            if required:
                self.problems.add(self.place(key), "missing", f"add {key} ({expected})")
            return None
        return self.table[key]

    def _bad(self, key: str, value: Any, expected: str) -> None:
        self.problems.add(self.place(key), f"expected {expected}, got {_show(value)}", f"write {key} as {expected}")

    def text(self, key: str, required: bool = False, default: str | None = None) -> str | None:
        value = self._get(key, required, "a string")
        if value is None:
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self._bad(key, value, "a non-empty string" if required else "a string")
            return default
        return value

    def field(self, key: str, rule: TextRule) -> str | None:
        """A text field following `rule`: None when it is left out (and may be) or is wrong."""
        value = self.text(key, required=rule.required)
        if value is None:
            return None
        problem = text_problem(value, rule, self.problems.typed)
        if problem is not None:
            self.problems.add(self.place(key), f"{_show(value)} {problem}", f"write {key} as {rule.what}")
            return None
        return value

    def ident(self, key: str, required: bool = True) -> str | None:
        value = self._get(key, required, "an id")
        if value is None:
            return None
        if not is_identifier(value):
            self._bad(key, value, "an id (letters, digits, '.', '_', '@', '-')")
            return None
        return value

    def choice(
        self, key: str, choices: tuple[str, ...], default: str | None = None, required: bool = False
    ) -> str | None:
        expected = "one of " + ", ".join(choices)
        value = self._get(key, required, expected)
        if value is None:
            return default
        if value not in choices:
            self._bad(key, value, expected)
            return default
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._get(key, False, "true or false")
        if value is None:
            return default
        if not isinstance(value, bool):
            self._bad(key, value, "true or false")
            return default
        return value

    def id_list(self, key: str) -> tuple[str, ...]:
        """A list of ids, each once."""
        ids: dict[str, None] = {}  # a group may list many thousand members: looked up, not scanned
        for position, value in enumerate(self.array(key)):
            if not is_identifier(value):
                place = f"{self.place(key)}[{position}]"
                self.problems.add(place, f"expected an id, got {_show(value)}", "write each as an id string")
            elif value in ids:
                self.problems.add(f"{self.place(key)}[{position}]", f"{value!r} is listed twice", "list each once")
            else:
                ids[value] = None
        return tuple(ids)

    def integer(self, key: str, minimum: int, required: bool = False, maximum: int = MAX_WHOLE) -> int | None:
        expected = f"a whole number ≥ {minimum}"
        value = self._get(key, required, expected)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self._bad(key, value, expected)
            return None
        if value > maximum:
            self._bad(key, value, f"a whole number from {minimum} to {maximum}")
            return None
        return value

    def day(self, key: str, required: bool = False) -> date | None:
        value = self._get(key, required, "a date YYYY-MM-DD")
        if value is None:
            return None
        try:
            return parse_date(value) if isinstance(value, str) else _raise(value)
        except ValueError:
            self._bad(key, value, "a date YYYY-MM-DD")
            return None

    def time(self, key: str, required: bool = False) -> datetime | None:
        expected = "a date-time such as 2026-01-31T09:00:00Z"
        value = self._get(key, required, expected)
        if value is None:
            return None
        try:
            return parse_time(value) if isinstance(value, str) else _raise(value)
        except ValueError:
            self._bad(key, value, expected)
            return None

    def array(self, key: str, required: bool = False) -> list[Any]:
        value = self._get(key, required, "a list")
        if value is None:
            return []
        if not isinstance(value, list):
            self._bad(key, value, "a list")
            return []
        return value


def _place(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _raise(value: Any) -> Any:
    raise ValueError(value)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unique(problems: Problems, where: str, items: list[tuple[int, str | None]]) -> None:
    seen: dict[str, int] = {}
    for index, item_id in items:
        if item_id is None:
            continue
        if item_id in seen:
            problems.add(
                f"{where}[{index}].id",
                f"duplicate id {item_id!r} (also {where}[{seen[item_id]}])",
                "give each one its own id",
            )
        else:
            seen[item_id] = index


TOP_KEYS = {"schema", "org", "users", "courses", "certifications", "enrollments", "groups", "audit"}


def document_from_data(data: Any, source: str, whole: bool = True) -> Document:
    """Validate a parsed store (dates as `YYYY-MM-DD` or date-time strings) into a `Document`.

    `whole=False` reads part of a database store: its rows name users, courses and
    certifications that were not loaded, and the database's foreign keys vouch for them.
    """
    problems = Problems(source)
    top = Reader(problems, data, "", TOP_KEYS)
    schema = top.integer("schema", 1)
    if schema is not None and schema != SCHEMA_VERSION:
        problems.add("schema", f"unsupported schema version {schema}", f"this certcli reads schema {SCHEMA_VERSION}")
    org_name, org_url, reminders, org_key, retired_keys = _read_org(problems, top.table.get("org", {}))

    audit_head = _read_audit_head(problems, top.table["audit"]) if "audit" in top.table else None
    users = read_all(problems, top.array("users"), "users", read_user)
    courses = read_all(problems, top.array("courses"), "courses", read_course)
    certs = read_all(problems, top.array("certifications"), "certifications", read_certification)
    # Known ids come from every table that names one, so a problem elsewhere in a
    # table is reported once and not again at each reference to it.
    user_ids = named_ids(top.table.get("users"))
    course_ids = named_ids(top.table.get("courses"))
    cert_ids = named_ids(top.table.get("certifications"))
    if not whole:
        user_ids, course_ids, cert_ids = _AnyId(), _AnyId(), _AnyId()
    for index, user in users:
        if user.manager is not None and user.manager not in user_ids:
            problems.add(f"users[{index}].manager", f"unknown user {user.manager!r}", "name an existing user id")
    for index, cert in certs:
        for position, ref in enumerate(cert.courses):
            if ref.id not in course_ids:
                problems.add(
                    f"certifications[{index}].courses[{position}].id",
                    f"unknown course {ref.id!r}",
                    "add the course to courses, or name an existing one",
                )
    refs = References(user_ids, course_ids, cert_ids)
    groups = read_all(problems, top.array("groups"), "groups", lambda r: read_group(r, refs))
    enrollments = read_all(problems, top.array("enrollments"), "enrollments", lambda r: _read_enrollment(r, refs))
    seen_pairs: dict[tuple[str, str], int] = {}
    for index, enrollment in enrollments:
        pair = (enrollment.certification, enrollment.user)
        if pair in seen_pairs:
            problems.add(
                f"enrollments[{index}]",
                f"second enrollment of {pair[1]!r} in {pair[0]!r} (also enrollments[{seen_pairs[pair]}])",
                "merge their facts into one enrollment",
            )
        seen_pairs.setdefault(pair, index)
    problems.raise_if_any()
    return Document(
        org_name=org_name,
        org_url=org_url,
        users={u.id: u for _, u in users},
        courses={c.id: c for _, c in courses},
        certifications={c.id: c for _, c in certs},
        enrollments=[e for _, e in enrollments],
        audit_head=audit_head,
        groups={g.id: g for _, g in groups},
        reminders=reminders,
        org_key=org_key,
        org_retired_keys=retired_keys,
    )

OrgSettings = tuple[str, str, ReminderSchedule, dict[str, Any] | None, list[dict[str, Any]]]


def _read_org(problems: Problems, table: Any) -> OrgSettings:
    """The organisation's name, address, reminder schedule, public key and retired keys."""
    org = Reader(problems, table, "org", {"name", "url", "reminders", "key", "retired_keys"})
    org_name = org.field("name", ORG_NAME) or ""
    org_url = org.text("url", default="") or ""
    if org_url and not ORG_URL_PATTERN.match(org_url):
        problems.add("org.url", f"{org_url!r} is not an https:// address", "write it as https://HOST[/PATH]")
    reminders = ReminderSchedule()
    if "reminders" in org.table:
        reminders = read_schedule(Reader(problems, org.table["reminders"], "org.reminders", SCHEDULE_KEYS))
    return org_name, org_url, reminders, _read_public_key(org, "key", org.table.get("key")), _read_retired_keys(org)


def refuse_unreadable(changed: dict[str, list[dict[str, Any]]], org: dict[str, Any] | None) -> None:
    """Refuse to save rows (in document form, by table) or an organisation that a load would refuse:
    checked by the very readers that load them, as values given now (`certcli.fields`). `UsageError`
    listing every problem; the caller then saves nothing."""
    problems = Problems("not saved", typed=True)
    if org is not None:
        _read_org(problems, org)
    refs = References(_AnyId(), _AnyId(), _AnyId())
    readers: dict[str, Callable[[Reader], Any]] = {
        "users": read_user,
        "courses": read_course,
        "certifications": read_certification,
        "groups": lambda r: read_group(r, refs),
        "enrollments": lambda r: _read_enrollment(r, refs),
    }
    for table, rows in changed.items():
        for row in rows:
            key = row.get("id") or f"{row.get('user')}/{row.get('certification')}"
            readers[table](Reader(problems, row, f"{table}[{key}]", _ALLOWED[table]))
    if problems.items:
        raise UsageError("\n".join(problems.items), hint="change the values named; nothing was saved")


def refuse_unreadable_document(doc: Document) -> None:
    """`refuse_unreadable` for every row and the organisation of a store about to be created."""
    data = document_to_data(doc)
    refuse_unreadable(changed_rows({}, data), data["org"])


def changed_rows(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The rows of the document `after` (as `document_to_data` gives it) that are new or differ in `before`."""
    changed: dict[str, list[dict[str, Any]]] = {}
    for table in _ALLOWED:
        old = {_row_key(row): row for row in before.get(table, [])}
        changed[table] = [row for row in after.get(table, []) if old.get(_row_key(row)) != row]
    return changed


def _row_key(row: dict[str, Any]) -> Any:
    return row.get("id") or (row.get("user"), row.get("certification"))


def _read_public_key(org: Reader, where: str, key: Any) -> dict[str, Any] | None:
    """A public key of the organisation: a JWK table of text values with `kty` and `kid` (never a private part)."""
    if key is None:
        return None
    if not isinstance(key, dict) or not all(isinstance(value, str) for value in key.values()):
        org._bad(where, key, "a public JWK (a table of text values)")
        return None
    if "kty" not in key or "kid" not in key or "d" in key:
        org._bad(where, key, "a public JWK with kty and kid and no private part")
        return None
    return dict(key)


def _read_retired_keys(org: Reader) -> list[dict[str, Any]]:
    """The keys the organisation signed with before its current one (older stores kept none)."""
    read = (_read_public_key(org, f"retired_keys[{index}]", key) for index, key in enumerate(org.array("retired_keys")))
    return [key for key in read if key is not None]


SCHEDULE_KEYS = ("before_due", "before_expiry", "overdue_every", "mail_from")


def read_schedule(r: Reader) -> ReminderSchedule:
    """The reminder schedule of an `org.reminders` table: a key left out takes its default."""
    default = ReminderSchedule()
    every = r.integer("overdue_every", 0, maximum=MAX_DAYS)
    return ReminderSchedule(
        before_due=_read_days(r, "before_due", default.before_due),
        before_expiry=_read_days(r, "before_expiry", default.before_expiry),
        overdue_every=default.overdue_every if every is None else every,
        mail_from=r.field("mail_from", MAIL_FROM) or "",
    )


def _read_days(r: Reader, key: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """A list of day counts, each once, from 0 to MAX_DAYS, in the order reminders come (most days first)."""
    if key not in r.table:
        return default
    days: list[int] = []
    for position, value in enumerate(r.array(key)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            r.problems.add(f"{r.place(key)}[{position}]", f"expected days from 0 to {MAX_DAYS}, got {_show(value)}",
                           "write each as a whole number of days")  # fmt: skip
        elif value not in days:
            days.append(value)
    return tuple(sorted(days, reverse=True))


def schedule_data(schedule: ReminderSchedule) -> dict[str, Any]:
    """The keys of `schedule` that differ from the default (none: an empty table)."""
    default = ReminderSchedule()
    data: dict[str, Any] = {
        key: list(value) if isinstance(value, tuple) else value
        for key in SCHEDULE_KEYS
        if (value := getattr(schedule, key)) != getattr(default, key)
    }
    return data


class _AnyId(set[str]):
    """Every id is known: the references of a partly loaded database store."""

    def __contains__(self, item: object) -> bool:
        return True


def named_ids(tables: Any) -> set[str]:
    if not isinstance(tables, list):
        return set()
    return {table["id"] for table in tables if isinstance(table, dict) and isinstance(table.get("id"), str)}


AUDIT_EVENT_KEYS = ("seq", "at", "actor", "action", "subject", "details", "prev", "store_sha256", "sha256")
OPTIONAL_AUDIT_EVENT_KEYS = ("recorded_at", "rows")  # later events carry them


def _read_audit_head(problems: Problems, table: Any) -> AuditHead | None:
    """The store's copy of the latest audit event; its chain is checked by `audit verify`."""
    before = len(problems.items)
    reader = Reader(problems, table, "audit", {*AUDIT_EVENT_KEYS, *OPTIONAL_AUDIT_EVENT_KEYS})
    if not reader.ok:
        return None
    reader.integer("seq", 1, required=True)
    reader.time("at", required=True)
    reader.time("recorded_at")
    reader.text("actor")
    reader.text("action", required=True)
    for key in ("prev", "store_sha256", "sha256"):
        value = reader.text(key, required=True)
        if value is not None and not is_sha256(value):
            reader._bad(key, value, "64 lowercase hexadecimal digits")
    for key in ("subject", "details"):
        if not isinstance(reader.table.get(key), dict):
            reader._bad(key, reader.table.get(key), "a table")
    return AuditHead(dict(reader.table)) if len(problems.items) == before else None


class References:
    def __init__(self, users: set[str], courses: set[str], certs: set[str]) -> None:
        self.users, self.courses, self.certs = users, courses, certs

    def check(self, reader: Reader, key: str, value: str | None, known: set[str], what: str) -> None:
        if value is not None and value not in known:
            reader.problems.add(reader.place(key), f"unknown {what} {value!r}", f"name an existing {what} id")


def read_all(
    problems: Problems, items: list[Any], where: str, read: Callable[[Reader], Any]
) -> list[tuple[int, Any]]:
    result: list[tuple[int, Any]] = []
    allowed = _ALLOWED[where]
    for index, table in enumerate(items):
        before = len(problems.items)
        reader = Reader(problems, table, f"{where}[{index}]", allowed)
        if not reader.ok:
            continue
        item = read(reader)
        if item is not None and len(problems.items) == before:
            result.append((index, item))
    if where != "enrollments":
        _unique(problems, where, [(i, getattr(item, "id", None)) for i, item in result])
    return result


# The keys a table may hold are the model's fields.
_ALLOWED = {
    "groups": set(Group.__slots__),
    "users": set(User.__slots__),
    "courses": set(Course.__slots__),
    "certifications": set(Certification.__slots__),
    "enrollments": set(Enrollment.__slots__),
}


def read_user(r: Reader) -> User | None:
    user = User(
        id=r.ident("id") or "",
        name=r.field("name", NAME) or "",
        role=r.choice("role", ROLES, default=LEARNER) or LEARNER,
        email=r.field("email", EMAIL),
        manager=r.ident("manager", required=False),
        active=r.boolean("active", default=True),
        login=r.field("login", LOGIN),
    )
    if user.manager is not None and user.manager == user.id:
        r.problems.add(f"{r.where}.manager", "a user cannot manage themselves", "name another user or remove it")
    return user


def read_group(r: Reader, refs: References) -> Group:
    group = Group(
        id=r.ident("id") or "",
        name=r.field("name", NAME) or "",
        members=r.id_list("members"),
        auto_assign=r.id_list("auto_assign"),
    )
    for position, member in enumerate(group.members):
        refs.check(r, f"members[{position}]", member, refs.users, "user")
    for position, cert_id in enumerate(group.auto_assign):
        refs.check(r, f"auto_assign[{position}]", cert_id, refs.certs, "certification")
    return group


def read_course(r: Reader) -> Course:
    return Course(
        id=r.ident("id") or "",
        title=r.field("title", NAME) or "",
        minutes=r.integer("minutes", 0),
        retired=r.boolean("retired"),
    )


def _read_course_refs(r: Reader, key: str) -> tuple[CourseRef, ...]:
    refs: list[CourseRef] = []
    for position, table in enumerate(r.array(key)):
        sub = Reader(r.problems, table, f"{r.where}.{key}[{position}]", {"id", "mandatory"})
        if sub.ok:
            refs.append(CourseRef(sub.ident("id") or "", sub.boolean("mandatory")))
    seen: set[str] = set()
    for position, ref in enumerate(refs):
        if ref.id in seen:
            r.problems.add(
                f"{r.where}.{key}[{position}].id", f"course {ref.id!r} listed twice", "list each course once"
            )
        seen.add(ref.id)
    return tuple(refs)


def read_certification(r: Reader) -> Certification:
    kind = r.choice("kind", KINDS, required=True) or "internal"
    courses = _read_course_refs(r, "courses")
    if kind == "internal" and not r.table.get("courses"):
        r.problems.add(f"{r.where}.courses", "an internal certification needs at least one course", "list its courses")
    if kind == "internal" and "completion_date" in r.table:
        r.problems.add(f"{r.where}.completion_date", "only external certifications have it", "remove it")
    return Certification(
        id=r.ident("id") or "",
        title=r.field("title", NAME) or "",
        kind=kind,
        overview=r.text("overview", default="") or "",
        issuer=r.text("issuer", default="") or "",
        badge=r.text("badge", default="") or "",
        published=r.day("published"),
        self_enroll=r.boolean("self_enroll"),
        validity_months=r.integer("validity_months", 1, maximum=MAX_MONTHS),
        renew_from=r.choice("renew_from", RENEW_FROM, default="completion") or "completion",
        renewal_window_days=r.integer("renewal_window_days", 0, maximum=MAX_DAYS),
        deadline_days=r.integer("deadline_days", 0, maximum=MAX_DAYS),
        courses=courses,
        ordered=r.boolean("ordered"),
        completion_date=r.choice("completion_date", COMPLETION_DATE, default="approval") or "approval",
        retired=r.boolean("retired"),
    )


def _read_enrollment(r: Reader, refs: References) -> Enrollment:
    user = r.ident("user")
    cert = r.ident("certification")
    refs.check(r, "user", user, refs.users, "user")
    refs.check(r, "certification", cert, refs.certs, "certification")
    facts: list[Fact] = []
    for position, table in enumerate(r.array("facts", required=True)):
        fact = _read_fact(Reader(r.problems, table, f"{r.where}.facts[{position}]", ALL_FACT_KEYS), refs)
        if fact is not None:
            facts.append(fact)
    types = [fact.type for fact in facts]
    if facts and (ASSIGNED not in types or CYCLE_OPENED not in types):
        r.problems.add(f"{r.where}.facts", "needs an 'assigned' and a 'cycle_opened' fact", "add them")
    cycles = [fact.cycle for fact in facts if fact.type == CYCLE_OPENED]
    if cycles != list(range(1, len(cycles) + 1)):
        r.problems.add(f"{r.where}.facts", f"cycles must be numbered 1, 2, ... in order, got {cycles}", "renumber them")
    return Enrollment(user=user or "", certification=cert or "", facts=facts)


def _read_fact(r: Reader, refs: References) -> Fact | None:
    if not r.ok:
        return None
    kind = r.choice("type", FACT_TYPES, required=True)
    at = r.time("at", required=True)
    if kind is None or at is None:
        return None
    table, allowed = r.table, FACT_ALLOWED[kind]
    for key in table:
        if key in ALL_FACT_KEYS and key not in allowed:
            r.problems.add(r.place(key), f"not part of a {kind!r} fact", "remove it")
    for key in FACT_KEYS[kind][0] - table.keys():
        r.problems.add(r.place(key), f"missing from a {kind!r} fact", f"add {key}")
    # Only the keys present are read: a store holds many facts and each type uses few keys.
    by = r.ident("by", required=False) if "by" in table else None
    course = r.ident("course", required=False) if "course" in table else None
    refs.check(r, "by", by, refs.users, "user")
    refs.check(r, "course", course, refs.courses, "course")
    return Fact(
        kind,
        at,
        by=by,
        course=course,
        cycle=r.integer("cycle", 1) if "cycle" in table else None,
        due=r.day("due") if "due" in table else None,
        requirements=_read_requirements(r, refs) if "requirements" in table else None,
        proof=_read_proof(r) if "proof" in table else None,
        decision=r.choice("decision", DECISIONS) if "decision" in table else None,
        reason=r.text("reason") if "reason" in table else None,
        reminder=_read_reminder(r) if "reminder" in table else None,
    )


def _read_reminder(r: Reader) -> str | None:
    value = r.text("reminder")
    if value is not None and not is_reminder(value):
        r._bad("reminder", value, f"KIND:DAYS, KIND one of {', '.join(REMINDER_KINDS)}")
        return None
    return value


def _read_requirements(r: Reader, refs: References) -> Requirements | None:
    sub = Reader(r.problems, r.table["requirements"], f"{r.where}.requirements", {"courses", "ordered"})
    if not sub.ok:
        return None
    courses = _read_course_refs(sub, "courses")
    for position, ref in enumerate(courses):
        refs.check(sub, f"courses[{position}].id", ref.id, refs.courses, "course")
    return Requirements(courses=courses, ordered=sub.boolean("ordered"))


def _read_proof(r: Reader) -> Proof | None:
    sub = Reader(r.problems, r.table["proof"], f"{r.where}.proof", {"sha256", "size", "filename", "completed_on"})
    if not sub.ok:
        return None
    sha = sub.text("sha256", required=True) or ""
    if sha and not is_sha256(sha):
        sub._bad("sha256", sha, "64 lowercase hexadecimal digits")
    return Proof(
        sha256=sha,
        size=sub.integer("size", 0, required=True) or 0,
        filename=sub.text("filename", required=True) or "",
        completed_on=sub.day("completed_on"),
    )


# ---------------------------------------------------------------- model → document


def _compact(table: dict[str, Any]) -> dict[str, Any]:
    """Drop keys that hold nothing, so the document has no nulls (TOML has none)."""
    return {key: value for key, value in table.items() if not _empty(value)}


def _empty(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)


def _refs_data(courses: Iterable[CourseRef]) -> list[dict[str, Any]]:
    return [{"id": ref.id, "mandatory": ref.mandatory} for ref in courses]


def _fact_data(fact: Fact) -> dict[str, Any]:
    data: dict[str, Any] = {"type": fact.type, "at": format_time(fact.at)}
    data.update(
        _compact(
            {
                "by": fact.by,
                "course": fact.course,
                "cycle": fact.cycle,
                "due": format_date(fact.due),
                "decision": fact.decision,
                "reason": fact.reason,
                "reminder": fact.reminder,
            }
        )
    )
    if fact.requirements is not None:
        data["requirements"] = {"ordered": fact.requirements.ordered, "courses": _refs_data(fact.requirements.courses)}
    if fact.proof is not None:
        data["proof"] = _compact(
            {
                "sha256": fact.proof.sha256,
                "size": fact.proof.size,
                "filename": fact.proof.filename,
                "completed_on": format_date(fact.proof.completed_on),
            }
        )
    return data


def document_to_data(doc: Document) -> dict[str, Any]:
    """The plain document both file formats hold: strings, numbers, booleans, lists, tables."""
    data = {
        "schema": doc.schema,
        "org": _compact(
            {
                "name": doc.org_name, "url": doc.org_url, "reminders": schedule_data(doc.reminders),
                "key": doc.org_key, "retired_keys": doc.org_retired_keys,
            }  # fmt: skip
        )
        or {"name": ""},
        "users": [user_data(u) for u in doc.users.values()],
        "courses": [course_data(c) for c in doc.courses.values()],
        "certifications": [certification_data(c) for c in doc.certifications.values()],
        "enrollments": [enrollment_data(e) for e in doc.enrollments],
    }
    if doc.groups:  # left out when there are none, so stores without groups stay as they were
        data["groups"] = [group_data(g) for g in doc.groups.values()]
    if doc.audit_head is not None:
        data["audit"] = dict(doc.audit_head.event)
    return data


def user_data(user: User) -> dict[str, Any]:
    data = _compact({"id": user.id, "name": user.name, "role": user.role, "email": user.email, "manager": user.manager})
    if user.login:
        data["login"] = user.login
    if not user.active:
        data["active"] = False  # only a deactivated user says so: active is the default
    return data


def group_data(group: Group) -> dict[str, Any]:
    data: dict[str, Any] = {"id": group.id, "name": group.name, "members": list(group.members)}
    if group.auto_assign:
        data["auto_assign"] = list(group.auto_assign)
    return data


def course_data(course: Course) -> dict[str, Any]:
    return _compact({"id": course.id, "title": course.title, "minutes": course.minutes, "retired": course.retired})


def enrollment_data(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "user": enrollment.user,
        "certification": enrollment.certification,
        "facts": [_fact_data(fact) for fact in enrollment.facts],
    }


def certification_data(cert: Certification) -> dict[str, Any]:
    data = _compact(
        {
            "id": cert.id,
            "title": cert.title,
            "kind": cert.kind,
            "overview": cert.overview,
            "issuer": cert.issuer,
            "badge": cert.badge,
            "published": format_date(cert.published),
            "self_enroll": cert.self_enroll,
            "validity_months": cert.validity_months,
            "renew_from": cert.renew_from if cert.renew_from != "completion" else None,
            "renewal_window_days": cert.renewal_window_days,
            "deadline_days": cert.deadline_days,
            "ordered": cert.ordered,
            "completion_date": cert.completion_date if cert.completion_date != "approval" else None,
            "retired": cert.retired,
        }
    )
    data["courses"] = _refs_data(cert.courses)
    return data
