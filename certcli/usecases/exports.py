"""Records for other systems: `export-xapi` (statements), `badge` (an Open Badges credential) and
`calendar` (an iCalendar feed). The use cases choose what to export and who may; `certcli.formats`
builds the documents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certcli import access, rules
from certcli.dates import format_date
from certcli.errors import DataError, StateError, UsageError
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
    from certcli import keys
    from certcli.usecases.shapes import BadgeChecked, Feed





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
    return Outcome(_credential(ctx, cert_id, user_id)[1])


def signed_badge(ctx: Context, cert_id: str, user_id: str | None, key_file: Path | None) -> Outcome[str]:
    """The badge as a compact JWS (Open Badges 3.0 §8.2), signed with the organisation's private key."""
    from certcli import keys
    from certcli.formats.badges import jwt_claims

    signing = keys.load_private(keys.key_file(key_file))
    doc, credential = _credential(ctx, cert_id, user_id)
    if doc.org_key is None or doc.org_key["kid"] != signing.public["kid"]:
        raise DataError(
            "the key file is not the organisation's signing key: nobody could verify the badge",
            hint="pass the key file `certcli org keygen` wrote, or make one with it",
        )
    return Outcome(keys.sign(jwt_claims(credential), signing, "JWT"))


def _credential(ctx: Context, cert_id: str, user_id: str | None) -> tuple[Document, dict[str, Any]]:
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
    return doc, build_credential(doc, cert, learner, current.held)


def verify_badge(ctx: Context, badge_file: Path, key_files: Sequence[Path] = ()) -> Outcome[BadgeChecked]:
    """Whether the signed badge in `badge_file` is valid (any user): signed with the key its `kid` names,
    one the organisation kept (current or retired) or, with `key_files`, one of those; issued by the
    organisation, valid on `ctx.now`, and, when the store holds its enrollment, not revoked since."""
    from certcli import keys

    given = keys.load_trusted(key_files)
    token = keys.read_token(badge_file, "a signed badge")
    doc = ctx.store.read(Need(users=ids(ctx.actor_id), all_certifications=True))
    actor(ctx, doc)
    trust = keys.trust(given, doc)
    if not trust.keys:
        raise StateError("the organisation has no public key to check badges with", hint="certcli org keygen -o FILE")
    try:
        header, claims = keys.verify(token, trust)
    except ValueError as exc:
        raise _invalid(badge_file, str(exc)) from None
    problem, cert = _badge_problem(ctx, doc, claims)
    if problem is not None:
        raise _invalid(badge_file, problem)
    data: BadgeChecked = {
        "valid": True, "id": str(claims["id"]), "certification": cert, "kid": str(header.get("kid")),
        "validFrom": str(claims["validFrom"]), "validUntil": claims.get("validUntil"),
    }  # fmt: skip
    until = f"until {data['validUntil']}" if data["validUntil"] else "with no end date"
    signer = _signer(doc, trust, data["kid"])
    return Outcome(data, [f"Valid: {claims.get('name')} ({cert}), signed by {signer}, valid {until}."])


def _signer(doc: Document, trust: keys.Trust, kid: str) -> str:
    if trust.given:
        return "a key given"
    if doc.org_key is not None and kid == doc.org_key["kid"]:
        return "the organisation's key"
    return f"the organisation's retired key {kid}"


def _invalid(badge_file: Path, reason: str) -> DataError:
    return DataError(f"badge {badge_file} is not valid: {reason}", hint="ask its holder for a current badge")


def _badge_problem(ctx: Context, doc: Document, claims: dict[str, Any]) -> tuple[str | None, str | None]:
    """Why the verified credential `claims` is not valid on `ctx.now`, and its certification's id."""
    from certcli.dates import parse_time
    from certcli.formats.identifiers import base_url, certification_url

    issuer = claims.get("issuer")
    if not isinstance(issuer, dict) or issuer.get("id") != base_url(doc.org_url):
        return "it was not issued by this organisation", None
    try:
        valid_from = parse_time(str(claims.get("validFrom")))
        valid_until = parse_time(str(claims["validUntil"])) if "validUntil" in claims else None
    except ValueError:
        return "its validFrom or validUntil is not a date-time", None
    if ctx.now < valid_from:
        return f"it is valid only from {claims['validFrom']}", None
    if valid_until is not None and ctx.now >= valid_until:
        return f"it expired on {claims['validUntil']}", None
    subject_ = claims.get("credentialSubject")
    achievement_id = subject_.get("achievement", {}).get("id") if isinstance(subject_, dict) else None
    certs = doc.certifications.values()
    cert = next((c for c in certs if certification_url(doc.org_url, c.id) == achievement_id), None)
    if cert is None:
        return None, None
    return _revoked(ctx, cert, str(claims.get("id"))), cert.id


def _revoked(ctx: Context, cert: Certification, credential: str) -> str | None:
    """Why the credential no longer holds when the store has its enrollment: its cycle was revoked by `ctx.now`."""
    from certcli.formats.badges import cycle_of
    from certcli.model import CYCLE_OPENED, REVOKED

    need = Need(users=ids(ctx.actor_id), certifications=[cert.id], enrollments_of_certifications=[cert.id])
    doc = ctx.store.read(need)
    for found in doc.enrollments:
        if found.certification != cert.id:
            continue
        cycles = sum(1 for fact in found.facts if fact.type == CYCLE_OPENED)
        number = cycle_of(credential, doc.org_url, found.user, cert.id, cycles)
        if number is None:
            continue
        for fact in found.facts:
            if fact.type == REVOKED and fact.cycle == number and fact.at <= ctx.now:
                return f"it was revoked on {format_date(fact.at.date())}: {fact.reason or 'no reason given'}"
        return None
    return None


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
