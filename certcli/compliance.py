"""Compliance use cases: `report` (who holds what, who is late, what expires soon) and
`check` (the same facts as a pass/fail gate for CI and cron).

Both only read the store. A row is one learner in one certification as of the
evaluation time; enrollments made after it are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple

from certcli import rules
from certcli.dates import format_date
from certcli.errors import PermissionDenied, UsageError
from certcli.model import Certification, Document, User
from certcli.service import Context, Outcome, _certification, _ids, _read_about, _user
from certcli.store import Need
from certcli.text import spreadsheet_safe

ROW_FIELDS = (
    "user",
    "name",
    "certification",
    "title",
    "status",
    "overdue",
    "due",
    "completed_on",
    "valid_until",
    "days_left",
    "renewal_open",
    "cycle",
)
SUMMARY_FIELDS = ("certification", "title", "learners", "by_status", "completion_rate", "overdue", "expiring")
SUMMARY_CSV_FIELDS = (
    "certification",
    "title",
    "learners",
    *(f"by_status.{status}" for status in rules.STATUSES),
    "completion_rate",
    "overdue",
    "expiring",
)

DEFAULT_EXPIRING_DAYS = 30
FAIL_ON_KINDS = ("overdue", "expired", "revoked", "pending_approval", "expiring")
DEFAULT_FAIL_ON = ("overdue", "expired", "revoked")


# ---------------------------------------------------------------- who may see whom


def _visible_to(actor: User, subject: User | None) -> Callable[[User], bool]:
    """Which learners' rows `actor` sees: with `subject`, only theirs; otherwise an
    admin sees everyone, a manager their direct reports, anyone else themselves."""
    if subject is not None:
        return lambda learner: learner.id == subject.id
    if actor.role == "admin":
        return lambda learner: True
    if actor.role == "manager":
        return lambda learner: learner.manager == actor.id
    return lambda learner: learner.id == actor.id


def _may_name(actor: User, subject: User) -> None:
    """A named --user must be the actor, or for a manager one of their direct reports."""
    if actor.role == "manager" and subject.id != actor.id and subject.manager != actor.id:
        raise PermissionDenied(f"{subject.id} is not a direct report of {actor.id}", hint="drop --user")


class _Scope(NamedTuple):
    cert: Certification | None
    include: Callable[[User], bool]
    everyone: bool  # every learner's rows: an admin asking about no one in particular


def _read(ctx: Context, user_id: str | None, rows: bool, *roles: str) -> tuple[Document, User]:
    """The store as a report needs it, and the acting user: every certification, and the
    users it may show (themselves and their direct reports; with `rows`, everyone for an
    admin: each row names its learner, while counts need no names). Standings come apart."""
    need = Need(users=_ids(ctx.actor_id, user_id), reports_of=ctx.actor_id, all_certifications=True)
    everyone = need._replace(all_users=True)
    return _read_about(ctx, need, rows and user_id is None, everyone, roles)


def _scope(doc: Document, actor: User, cert_id: str | None, user_id: str | None) -> _Scope:
    """Lookups (exit 3) before the relationship check (exit 4), as the contract orders them."""
    cert = _certification(doc, cert_id) if cert_id is not None else None
    subject = _user(doc, user_id) if user_id is not None else None
    if subject is not None:
        _may_name(actor, subject)
    return _Scope(cert, _visible_to(actor, subject), everyone=subject is None and actor.role == "admin")


# ---------------------------------------------------------------- rows


def _days_left(view: rules.Standing, today: date) -> int | None:
    end = view.valid_until if view.status == rules.COMPLETED else view.due
    return (end - today).days if end is not None else None


def _row(learner: User, cert: Certification, view: rules.Standing, today: date) -> dict[str, Any]:
    return {
        "user": learner.id,
        "name": learner.name,
        "certification": cert.id,
        "title": cert.title,
        "status": view.status,
        "overdue": view.overdue,
        "due": format_date(view.due),
        "completed_on": format_date(view.completed_on),
        "valid_until": format_date(view.valid_until),
        "days_left": _days_left(view, today),
        "renewal_open": view.renewal_open,
        "cycle": view.cycle,
    }


def _learners(doc: Document, scope: _Scope) -> set[str] | None:
    """The ids of the learners in scope, or None for everyone."""
    return None if scope.everyone else {user.id for user in doc.users.values() if scope.include(user)}


def _rows(ctx: Context, doc: Document, scope: _Scope) -> list[dict[str, Any]]:
    today = ctx.now.date()
    cert_id = scope.cert.id if scope.cert is not None else None
    standings = ctx.store.standings(doc, ctx.now, cert_id, _learners(doc, scope))
    rows = [
        _row(doc.users[user_id], doc.certifications[cert], standing, today) for user_id, cert, standing in standings
    ]
    rows.sort(key=lambda row: (row["certification"], row["user"]))
    return rows


def _expiring(row: dict[str, Any], days: int) -> bool:
    """Completed, with a validity that ends within `days` days from today."""
    days_left = row["days_left"]
    return row["status"] == rules.COMPLETED and row["valid_until"] is not None and 0 <= days_left <= days


# ---------------------------------------------------------------- report


def _check_days(days: int | None, option: str) -> None:
    if days is not None and days < 0:
        raise UsageError(f"{option} must be 0 or more days, got {days}")


def _summary(ctx: Context, doc: Document, scope: _Scope, expiring_days: int) -> list[dict[str, Any]]:
    """Per certification (every one, or the one asked for), in id order: counted by the
    store, which for a database means a grouped query rather than a row per enrollment."""
    certs = [scope.cert] if scope.cert is not None else sorted(doc.certifications.values(), key=lambda c: c.id)
    until = rules.add_days(ctx.now.date(), expiring_days)
    cert_id = scope.cert.id if scope.cert is not None else None
    counts = ctx.store.standing_counts(doc, ctx.now, cert_id, _learners(doc, scope), until)
    by_cert: dict[str, dict[str, Any]] = {cert.id: _empty_summary(cert) for cert in certs}
    for (cert_id, status, overdue, expiring), count in counts.items():
        summary = by_cert[cert_id]
        summary["learners"] += count
        summary["by_status"][status] += count
        summary["overdue"] += count if overdue else 0
        summary["expiring"] += count if expiring else 0
    for summary in by_cert.values():
        learners = summary["learners"]
        summary["completion_rate"] = round(summary["by_status"][rules.COMPLETED] / learners, 3) if learners else 0.0
    return list(by_cert.values())


def _empty_summary(cert: Certification) -> dict[str, Any]:
    return {
        "certification": cert.id,
        "title": cert.title,
        "learners": 0,
        "by_status": dict.fromkeys(rules.STATUSES, 0),
        "completion_rate": 0.0,
        "overdue": 0,
        "expiring": 0,
    }


def report(
    ctx: Context,
    cert_id: str | None = None,
    user_id: str | None = None,
    expiring_within: int | None = None,
    summary: bool = False,
) -> Outcome:
    """One row per learner and certification (admin: everyone; manager: their direct
    reports), or with `summary` one dict per certification."""
    _check_days(expiring_within, "--expiring-within")
    doc, actor = _read(ctx, user_id, not summary, "admin", "manager")
    scope = _scope(doc, actor, cert_id, user_id)
    if summary:
        days = DEFAULT_EXPIRING_DAYS if expiring_within is None else expiring_within
        return Outcome(_summary(ctx, doc, scope, days))
    rows = _rows(ctx, doc, scope)
    if expiring_within is not None:
        rows = [row for row in rows if _expiring(row, expiring_within)]
    return Outcome(rows)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return spreadsheet_safe(value)  # a name `=1+2` stays text, not a live formula
    return value


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    """Nested tables (a summary's `by_status`) become dotted columns: `by_status.completed`."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            flat[key] = value
    return flat


def rows_to_csv(rows: Iterable[dict[str, Any]], fields: Sequence[str] | None = None) -> str:
    """Report rows or summaries as CSV with a header row: booleans `true`/`false`, nulls empty, text
    that a spreadsheet would run as a formula prefixed with an apostrophe.

    The columns are `fields`, else those of the first row, else the report row's fields.
    """
    import csv
    import io

    flat = [_flatten(row) for row in rows]
    columns = list(fields) if fields is not None else (list(flat[0]) if flat else list(ROW_FIELDS))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in flat:
        writer.writerow([_csv_value(row.get(column)) for column in columns])
    return out.getvalue()


# ---------------------------------------------------------------- check


class FailOn(NamedTuple):
    """The parsed `--fail-on` kinds; `expiring_days` is None unless `expiring:DAYS` was given."""

    kinds: tuple[str, ...]
    expiring_days: int | None

    def names(self) -> list[str]:
        return [f"expiring:{self.expiring_days}" if kind == "expiring" else kind for kind in self.kinds]


def parse_fail_on(values: Sequence[str]) -> FailOn:
    """`["overdue,expired", "expiring:30"]` → the kinds, in order, each once. Nothing given: the default."""
    if not values:
        return FailOn(DEFAULT_FAIL_ON, None)
    kinds: list[str] = []
    expiring_days: int | None = None
    for word in (part.strip() for value in values for part in value.split(",")):
        if not word:
            continue
        kind, colon, days = word.partition(":")
        if kind == "expiring":
            if expiring_days is not None:
                raise UsageError("--fail-on names expiring twice", hint="give one expiring:DAYS")
            expiring_days = _parse_days(word, days)
        elif kind not in FAIL_ON_KINDS or colon:
            raise UsageError(f"unknown --fail-on kind {word!r}", hint=f"use any of: {', '.join(_kind_choices())}")
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        raise UsageError("--fail-on names no kind", hint=f"use any of: {', '.join(_kind_choices())}")
    return FailOn(tuple(kinds), expiring_days)


def _kind_choices() -> list[str]:
    return [f"{kind}:DAYS" if kind == "expiring" else kind for kind in FAIL_ON_KINDS]


def _parse_days(word: str, days: str) -> int:
    if not days.isdecimal():
        raise UsageError(f"--fail-on {word!r}: DAYS must be a whole number ≥ 0", hint="for example expiring:30")
    return int(days)


def _matches(row: dict[str, Any], kind: str, expiring_days: int | None) -> bool:
    if kind == "overdue":
        return bool(row["overdue"])
    if kind == "expiring":
        assert expiring_days is not None
        return _expiring(row, expiring_days)
    return row["status"] == kind  # expired, revoked, pending_approval are statuses


def _finding(row: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "user": row["user"],
        "certification": row["certification"],
        "kind": kind,
        "status": row["status"],
        "due": row["due"],
        "valid_until": row["valid_until"],
        "days_left": row["days_left"],
    }


def check(ctx: Context, fail_on: Sequence[str], cert_id: str | None = None, user_id: str | None = None) -> Outcome:
    """Findings: one per row and `fail_on` kind it matches. Returns normally whether or not
    there are any; `compliant` says which (the command line exits 1 when it is false)."""
    wanted = parse_fail_on(fail_on)
    doc, actor = _read(ctx, user_id, True)
    if actor.role not in ("admin", "manager") and user_id not in (None, actor.id):
        raise PermissionDenied(f"{actor.id} may check only their own certifications", hint="drop --user")
    scope = _scope(doc, actor, cert_id, user_id)
    rows = _rows(ctx, doc, scope)
    findings = [
        _finding(row, kind) for row in rows for kind in wanted.kinds if _matches(row, kind, wanted.expiring_days)
    ]
    data = {"compliant": not findings, "findings": findings, "checked": len(rows), "fail_on": wanted.names()}
    if findings:
        learners = len({item["user"] for item in findings})
        message = f"Not compliant: {len(findings)} finding(s) for {learners} learner(s) in {len(rows)} row(s) checked."
    else:
        message = f"Compliant: {len(rows)} row(s) checked against {', '.join(wanted.names())}."
    return Outcome(data, [message])
