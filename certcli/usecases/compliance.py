"""Compliance use cases: `report` (who holds what, who is late, what expires soon) and
`check` (the same facts as a pass/fail gate for CI and cron).

Both only read the store. A row is one learner in one certification as of the
evaluation time; enrollments made after it are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from certcli import access, rules
from certcli.dates import format_date
from certcli.errors import UsageError
from certcli.model import Certification, Document, User
from certcli.store import Need
from certcli.usecases.kernel import Context, Outcome, certification, ids, read_about, user

if TYPE_CHECKING:
    from certcli.usecases.shapes import CheckResult, Finding, ReportPage, ReportRow, Summary


DEFAULT_EXPIRING_DAYS = 30
FAIL_ON_KINDS = ("overdue", "expired", "revoked", "pending_approval", "expiring")
DEFAULT_FAIL_ON = ("overdue", "expired", "revoked")










# ---------------------------------------------------------------- whose rows


class Scope(NamedTuple):
    """Whose rows a report holds: of one certification or all, and of the learners `include` keeps;
    deactivated learners only when `inactive_too` (or named)."""

    cert: Certification | None
    include: Callable[[User], bool]
    everyone: bool  # every learner's rows: an admin asking about no one in particular
    inactive_too: bool = False


def read_for_report(ctx: Context, user_id: str | None, rows: bool, *roles: str) -> tuple[Document, User]:
    """The store as a report needs it, and the acting user: every certification, and the
    users it may show (themselves and their direct reports; with `rows`, everyone for an
    admin: each row names its learner, while counts need no names). Standings come apart."""
    need = Need(users=ids(ctx.actor_id, user_id), reports_of=ctx.actor_id, all_certifications=True)
    everyone = need._replace(all_users=True)
    return read_about(ctx, need, rows and user_id is None, everyone, roles)


def report_scope(
    doc: Document, acting: User, cert_id: str | None, user_id: str | None, include_inactive: bool = False
) -> Scope:
    """Lookups (exit 3) before the relationship check (exit 4), as the contract orders them. A learner
    named with `user_id` is reported on whether active or not."""
    cert = certification(doc, cert_id) if cert_id is not None else None
    named = user(doc, user_id) if user_id is not None else None
    if named is None:
        in_report = (lambda learner: access.in_report_of(acting, learner)) if include_inactive else (
            lambda learner: learner.active and access.in_report_of(acting, learner)
        )
        return Scope(cert, in_report, everyone=access.is_admin(acting), inactive_too=include_inactive)
    access.may_name_in_report(acting, named)
    return Scope(cert, lambda learner: learner.id == named.id, everyone=False, inactive_too=True)


# ---------------------------------------------------------------- rows


def _days_left(view: rules.Standing, today: date) -> int | None:
    end = view.valid_until if view.status == rules.COMPLETED else view.due
    return (end - today).days if end is not None else None


def _row(learner: User, cert: Certification, view: rules.Standing, today: date) -> ReportRow:
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
        "active": learner.active,
    }


def _learners(doc: Document, scope: Scope) -> set[str] | None:
    """The ids of the learners in scope, or None for everyone."""
    return None if scope.everyone else {found.id for found in doc.users.values() if scope.include(found)}


def _rows(ctx: Context, doc: Document, scope: Scope) -> list[ReportRow]:
    today = ctx.now.date()
    cert_id = scope.cert.id if scope.cert is not None else None
    standings = ctx.store.standings(doc, ctx.now, cert_id, _learners(doc, scope), not scope.inactive_too)
    rows = [
        _row(doc.users[user_id], doc.certifications[cert], standing, today) for user_id, cert, standing in standings
    ]
    rows.sort(key=lambda row: (row["certification"], row["user"]))
    return rows


def _expiring(row: ReportRow, days: int) -> bool:
    """Completed, with a validity that ends within `days` days from today."""
    days_left = row["days_left"]
    return row["status"] == rules.COMPLETED and days_left is not None and 0 <= days_left <= days


# ---------------------------------------------------------------- report


def _check_days(days: int | None, option: str) -> None:
    if days is not None and days < 0:
        raise UsageError(f"{option} must be 0 or more days, got {days}")


def _summary(ctx: Context, doc: Document, scope: Scope, expiring_days: int) -> list[Summary]:
    """Per certification (every one, or the one asked for), in id order: counted by the
    store, which for a database means a grouped query rather than a row per enrollment."""
    certs = [scope.cert] if scope.cert is not None else sorted(doc.certifications.values(), key=lambda c: c.id)
    until = rules.add_days(ctx.now.date(), expiring_days)
    cert_id = scope.cert.id if scope.cert is not None else None
    counts = ctx.store.standing_counts(doc, ctx.now, cert_id, _learners(doc, scope), until, not scope.inactive_too)
    by_cert = {cert.id: _empty_summary(cert) for cert in certs}
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


def _empty_summary(cert: Certification) -> Summary:
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
    include_inactive: bool = False,
) -> Outcome[list[ReportRow]]:
    """One row per learner and certification (admin: everyone; manager: their direct reports),
    with `expiring_within` only completions that end within that many days; deactivated learners
    only with `include_inactive` (their rows say `active` false)."""
    _check_days(expiring_within, "--expiring-within")
    doc, acting = read_for_report(ctx, user_id, True, *access.STAFF)
    scope = report_scope(doc, acting, cert_id, user_id, include_inactive)
    return Outcome(_report_rows(ctx, doc, scope, expiring_within))


def _report_rows(ctx: Context, doc: Document, scope: Scope, expiring_within: int | None) -> list[ReportRow]:
    """`report`'s rows: with `expiring_within`, only the completions ending within that many days."""
    rows = _rows(ctx, doc, scope)
    if expiring_within is not None:
        rows = [row for row in rows if _expiring(row, expiring_within)]
    return rows


def report_summary(
    ctx: Context,
    cert_id: str | None = None,
    user_id: str | None = None,
    expiring_within: int | None = None,
    include_inactive: bool = False,
) -> Outcome[list[Summary]]:
    """Counts per certification of whom `report` would list; `expiring` counts completions ending
    within `expiring_within` days (default 30)."""
    _check_days(expiring_within, "--expiring-within")
    doc, acting = read_for_report(ctx, user_id, False, *access.STAFF)
    days = DEFAULT_EXPIRING_DAYS if expiring_within is None else expiring_within
    scope = report_scope(doc, acting, cert_id, user_id, include_inactive)
    return Outcome(_summary(ctx, doc, scope, days))


def report_page(
    ctx: Context,
    cert_id: str | None = None,
    user_id: str | None = None,
    expiring_within: int | None = None,
    include_inactive: bool = False,
) -> Outcome[ReportPage]:
    """The compliance report as one self-contained HTML page: the counts `report_summary` gives and the
    rows `report` gives for the same options, from one read of the store, with charts of both."""
    from certcli.formats.html_report import render_report_page

    _check_days(expiring_within, "--expiring-within")
    doc, acting = read_for_report(ctx, user_id, True, *access.STAFF)
    scope = report_scope(doc, acting, cert_id, user_id, include_inactive)
    days = DEFAULT_EXPIRING_DAYS if expiring_within is None else expiring_within
    summary = _summary(ctx, doc, scope, days)
    rows = _report_rows(ctx, doc, scope, expiring_within)
    page = render_report_page(summary, rows, doc.org_name or "", ctx.now, days)
    return Outcome({"html": page, "summary": summary, "rows": rows})


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


def _matches(row: ReportRow, kind: str, expiring_days: int | None) -> bool:
    if kind == "overdue":
        return bool(row["overdue"])
    if kind == "expiring":
        assert expiring_days is not None
        return _expiring(row, expiring_days)
    return row["status"] == kind  # expired, revoked, pending_approval are statuses


def _finding(row: ReportRow, kind: str) -> Finding:
    return {
        "user": row["user"],
        "certification": row["certification"],
        "kind": kind,
        "status": row["status"],
        "due": row["due"],
        "valid_until": row["valid_until"],
        "days_left": row["days_left"],
    }


def check(
    ctx: Context, fail_on: Sequence[str], cert_id: str | None = None, user_id: str | None = None
) -> Outcome[CheckResult]:
    """Findings: one per row and `fail_on` kind it matches. Returns normally whether or not
    there are any; `compliant` says which (the command line exits 1 when it is false)."""
    wanted = parse_fail_on(fail_on)
    doc, acting = read_for_report(ctx, user_id, True)
    if user_id not in (None, acting.id):
        access.may_report_on_others(acting, "check")
    scope = report_scope(doc, acting, cert_id, user_id)
    rows = _rows(ctx, doc, scope)
    findings = [
        _finding(row, kind) for row in rows for kind in wanted.kinds if _matches(row, kind, wanted.expiring_days)
    ]
    data: CheckResult = {
        "compliant": not findings,
        "findings": findings,
        "checked": len(rows),
        "fail_on": wanted.names(),
    }
    if findings:
        learners = len({item["user"] for item in findings})
        message = f"Not compliant: {len(findings)} finding(s) for {learners} learner(s) in {len(rows)} row(s) checked."
    else:
        message = f"Compliant: {len(rows)} row(s) checked against {', '.join(wanted.names())}."
    return Outcome(data, [message])
