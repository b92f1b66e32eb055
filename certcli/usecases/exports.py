"""Records for other systems: `export-xapi` (statements), `badge` (an Open Badges credential) and
`calendar` (an iCalendar feed). The use cases choose what to export and who may; `certcli.formats`
builds the documents."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from certcli import access, rules
from certcli.errors import StateError, UsageError
from certcli.formats import xapi
from certcli.formats.badges import build_credential
from certcli.formats.ical import CalendarEntry, calendar_entries, render_calendar, uid_host
from certcli.model import Certification, Document, User
from certcli.store import Need
from certcli.usecases.compliance import report_scope
from certcli.usecases.kernel import (
    Context,
    Outcome,
    about,
    actor,
    certification,
    enrollment,
    ids,
    read_about,
    subject,
    view,
)

if TYPE_CHECKING:
    from certcli.usecases.shapes import Feed





def export_statements(
    ctx: Context, user_id: str | None = None, cert_id: str | None = None, since: date | None = None
) -> Outcome[list[dict[str, Any]]]:
    """xAPI statements for whom `report` would show (admin: everyone; manager: their direct reports;
    anyone else: themselves), optionally one learner, one certification, and from `since` on."""
    # Every user: a statement may name a reviewer or a revoking admin as well as the learner.
    need = Need(
        all_users=True,
        all_certifications=True,
        enrollments_of_users=ids(user_id or ctx.actor_id),
        reports_of=ctx.actor_id,
    )
    everyone = Need(all_users=True, all_certifications=True, enrollments_of_certifications=ids(cert_id))
    doc, acting = read_about(ctx, need, user_id is None, everyone if cert_id else None)
    if user_id not in (None, acting.id):
        access.may_report_on_others(acting, "export-xapi")
    scope = report_scope(doc, acting, cert_id, user_id, include_inactive=True)  # history: leavers too
    if not doc.org_url:
        raise StateError(
            "the organisation has no web address, the base of the statements' identifiers",
            hint="an admin sets it with `certcli org set --url https://HOST`",
        )
    chosen = [
        found
        for found in doc.enrollments
        if (scope.cert is None or found.certification == scope.cert.id) and scope.include(doc.users[found.user])
    ]
    return Outcome(xapi.statements(doc, chosen, ctx.now, since))


def _not_completed_hint(cert: Certification, status: str) -> str:
    if status in (rules.EXPIRED, rules.REVOKED_STATUS):
        return f"`certcli start {cert.id}` opens the next cycle; complete it to earn a new badge"
    if status == rules.PENDING_APPROVAL:
        return "the proof is waiting for review: an admin or the learner's manager approves it (`certcli review`)"
    if cert.kind == "external":
        return f"upload proof with `certcli upload-proof {cert.id} FILE` and have it approved"
    return f"complete its mandatory courses: `certcli show {cert.id}` lists them"


def badge(ctx: Context, cert_id: str, user_id: str | None = None) -> Outcome[dict[str, Any]]:
    """The Open Badges credential for a completed certification of the acting user (or, with
    `user_id`, of whom the access policy lets them see)."""
    doc = ctx.store.read(about(ctx, cert_id, user_id))
    learner = subject(doc, actor(ctx, doc), user_id)
    cert = certification(doc, cert_id)
    found = enrollment(doc, cert, learner)
    if not doc.org_url:
        raise StateError(
            "the organisation has no web address, and badges are identified by it",
            hint="an admin sets it with `certcli org set --url URL`",
        )
    current = view(ctx, found, cert)
    if current.status != rules.COMPLETED:
        raise StateError(
            f"{learner.id}'s {cert.id} is {current.status}, not completed, as of {ctx.now.date()}: no badge",
            hint=_not_completed_hint(cert, current.status),
        )
    return Outcome(build_credential(doc, cert, learner, current.held))


def _calendar_learners(doc: Document, acting: User, user_id: str | None, everyone: bool) -> list[User]:
    """Whose dates: with `everyone`, the learners in the actor's reports; otherwise the acting
    user, or `user_id` as `show --user` allows."""
    if not everyone:
        return [subject(doc, acting, user_id)]
    access.may_see_everyone(acting)
    return [found for found in doc.users.values() if found.active and access.in_report_of(acting, found)]


def _entries(ctx: Context, doc: Document, learners: Iterable[User]) -> list[CalendarEntry]:
    wanted = {learner.id: learner for learner in learners}
    entries: list[CalendarEntry] = []
    for found in doc.enrollments:
        learner = wanted.get(found.user)
        if learner is None:
            continue
        cert = doc.certifications[found.certification]
        current = rules.evaluate(found, cert, ctx.now)
        if current is not None:
            entries.extend(calendar_entries(cert, learner, current))
    entries.sort(key=lambda entry: (entry.day, entry.learner.id, entry.cert.id, entry.kind))
    return entries


def calendar(ctx: Context, user_id: str | None = None, everyone: bool = False) -> Outcome[Feed]:
    """The iCalendar feed (text) of the due and expiry dates of one learner or, with
    `everyone`, of all the learners the acting user oversees."""
    if everyone and user_id is not None:
        raise UsageError("--all and --user exclude each other", hint="pass one of them")
    need = Need(
        users=ids(ctx.actor_id, user_id),
        enrollments_of_users=ids(user_id or ctx.actor_id),
        reports_of=ctx.actor_id if everyone else None,
    )
    doc, acting = read_about(ctx, need, everyone)
    learners = _calendar_learners(doc, acting, user_id, everyone)
    entries = _entries(ctx, doc, learners)
    org = doc.org_name or "certcli"
    if everyone:
        name, name_learners = f"{org} certifications", True
    else:
        name, name_learners = f"{org} certifications: {learners[0].name}", learners[0].id != acting.id
    text = render_calendar(entries, ctx.now, uid_host(doc.org_url), name, name_learners)
    return Outcome({"ical": text, "events": len(entries), "learners": [learner.id for learner in learners]})
