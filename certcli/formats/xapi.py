"""xAPI statements of what the enrollments record (`export-xapi`).

`statements` is pure: the document, the enrollments to export and the
evaluation time in; statement dicts out. Ids and registrations are UUIDv5 of
the facts themselves, so exporting the same facts again gives the same
statements, and an LRS that already holds one recognises it.

What becomes a statement (see the README's table): every cycle opened
(registered), every course completed in a cycle and every cycle completed
(completed), every proof review (approved, rejected), and every revoked
completion (a voiding statement pointing at that cycle's completed statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from certcli import rules
from certcli.dates import format_time
from certcli.errors import StateError
from certcli.formats.identifiers import base_url, certification_url, course_url
from certcli.model import CYCLE_OPENED, PROOF_REVIEWED, PROOF_SUBMITTED, Certification, Document, Enrollment, User

# Fixed for ever: changing it changes every statement id and registration ever exported.
NAMESPACE = uuid.UUID("a9bc863d-78b4-4b0f-b86d-e93b312d334e")

# xAPI 1.0.3 §2.4.10: a Learning Record Provider that sets `version` sets it to 1.0.0,
# the data model every 1.0.x shares.
VERSION = "1.0.0"

# Titles and overviews are written in whatever language the admin used (RFC 5646 "undetermined").
TEXT_LANGUAGE = "und"

CERTIFICATION_TYPE = "http://id.tincanapi.com/activitytype/certificate"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"

REGISTERED = "registered"
COURSE_COMPLETED = "course-completed"
CERTIFICATION_COMPLETED = "certification-completed"
APPROVED = "approved"
REJECTED = "rejected"
VOIDED = "voided"

VERBS = {
    REGISTERED: ("http://adlnet.gov/expapi/verbs/registered", "registered"),
    COURSE_COMPLETED: ("http://adlnet.gov/expapi/verbs/completed", "completed"),
    CERTIFICATION_COMPLETED: ("http://adlnet.gov/expapi/verbs/completed", "completed"),
    APPROVED: ("http://activitystrea.ms/schema/1.0/approve", "approved"),
    REJECTED: ("http://activitystrea.ms/schema/1.0/reject", "rejected"),
    VOIDED: ("http://adlnet.gov/expapi/verbs/voided", "voided"),
}


class Event(NamedTuple):
    """One exportable fact of an enrollment.

    `by`: the staff member who acted (reviews and revocations), else None: the learner acted.
    `completed_at`: for a revocation, when the completion it ends was reached.
    `occurrence`: how many identical events came before it (same kind, cycle, time and course).
    """

    kind: str
    at: datetime
    cycle: int
    course: str | None = None
    by: str | None = None
    reason: str | None = None
    completed_at: datetime | None = None
    occurrence: int = 0


# ---------------------------------------------------------------- the facts worth exporting


def _cycle_events(cycle: rules.Cycle, cert: Certification) -> Iterator[Event]:
    yield Event(REGISTERED, cycle.opened_at, cycle.number)
    for course_id, progress in list(cycle.progress.items()):
        if progress.completed_at is not None:
            yield Event(COURSE_COMPLETED, progress.completed_at, cycle.number, course=course_id)
    done_at = rules.completed_at(cycle, cert)
    if done_at is not None:
        yield Event(CERTIFICATION_COMPLETED, done_at, cycle.number)
        if cycle.revoked_at is not None:
            yield Event(
                VOIDED,
                cycle.revoked_at,
                cycle.number,
                by=cycle.revoked_by,
                reason=cycle.revoke_reason,
                completed_at=done_at,
            )


def _review_events(enrollment: Enrollment, now: datetime) -> Iterator[Event]:
    """Every review of a submitted proof, in the cycle it happened in (the rules keep only the latest)."""
    cycle, has_proof = 0, False
    for _, fact in rules.facts_as_of(enrollment.facts, now):
        if fact.type == CYCLE_OPENED:
            cycle, has_proof = fact.cycle or cycle + 1, False
        elif fact.type == PROOF_SUBMITTED:
            has_proof = True
        elif fact.type == PROOF_REVIEWED and has_proof and cycle:
            kind = APPROVED if fact.decision == "approved" else REJECTED
            yield Event(kind, fact.at, cycle, by=fact.by, reason=fact.reason)


def events(enrollment: Enrollment, cert: Certification, now: datetime) -> list[Event]:
    """The enrollment's exportable facts recorded at or before `now`."""
    found = [event for cycle in rules.fold_cycles(enrollment, now) for event in _cycle_events(cycle, cert)]
    found.extend(_review_events(enrollment, now))
    seen: dict[tuple[str, int, datetime, str | None], int] = {}
    numbered = []
    for event in found:
        key = (event.kind, event.cycle, event.at, event.course)
        numbered.append(event._replace(occurrence=seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return numbered


# ---------------------------------------------------------------- identifiers


def _uuid(*parts: object) -> str:
    # Ids, an https address and ISO times hold no spaces: joined with one, the parts stay apart.
    return str(uuid.uuid5(NAMESPACE, " ".join(str(part) for part in parts)))


def registration(org_url: str, user_id: str, cert_id: str, cycle: int) -> str:
    """The registration of one enrollment cycle: every statement of that cycle carries it."""
    return _uuid("registration", base_url(org_url), user_id, cert_id, cycle)


def statement_id(org_url: str, user_id: str, cert_id: str, event: Event) -> str:
    parts = ["statement", base_url(org_url), user_id, cert_id, event.cycle, event.kind, format_time(event.at)]
    if event.course is not None:
        parts.append(event.course)
    if event.occurrence:
        parts.append(f"#{event.occurrence}")
    return _uuid(*parts)



# ---------------------------------------------------------------- statements


def _agent(user: User) -> dict[str, Any]:
    agent: dict[str, Any] = {"objectType": "Agent"}
    if user.name:
        agent["name"] = user.name
    agent["mbox"] = f"mailto:{user.email}"
    return agent


def _activity(iri: str, activity_type: str, name: str, description: str = "") -> dict[str, Any]:
    definition: dict[str, Any] = {}
    if name:
        definition["name"] = {TEXT_LANGUAGE: name}
    if description:
        definition["description"] = {TEXT_LANGUAGE: description}
    definition["type"] = activity_type
    return {"objectType": "Activity", "id": iri, "definition": definition}


def _certification_activity(org_url: str, cert: Certification) -> dict[str, Any]:
    return _activity(certification_url(org_url, cert.id), CERTIFICATION_TYPE, cert.title, cert.overview)


def _course_activity(org_url: str, doc: Document, course_id: str) -> dict[str, Any]:
    course = doc.courses.get(course_id)
    return _activity(course_url(org_url, course_id), COURSE_TYPE, course.title if course else "")


def _parts(doc: Document, enrollment: Enrollment, event: Event) -> tuple[Any, Any, Any, dict[str, Any]]:
    """actor, object, result and the context's activities of one event's statement."""
    org_url, learner = doc.org_url, doc.users[enrollment.user]
    cert = doc.certifications[enrollment.certification]
    certification = _certification_activity(org_url, cert)
    response = {"response": event.reason} if event.reason else None
    if event.kind == REGISTERED:
        return _agent(learner), certification, None, {}
    if event.kind == COURSE_COMPLETED:
        assert event.course is not None
        course = _course_activity(org_url, doc, event.course)
        return _agent(learner), course, {"completion": True}, {"parent": [certification]}
    if event.kind == CERTIFICATION_COMPLETED:
        return _agent(learner), certification, {"completion": True, "success": True}, {}
    reviewer = _agent(doc.users[event.by or ""])
    if event.kind == VOIDED:
        assert event.completed_at is not None
        completion = Event(CERTIFICATION_COMPLETED, event.completed_at, event.cycle)
        voided = statement_id(org_url, learner.id, cert.id, completion)
        return reviewer, {"objectType": "StatementRef", "id": voided}, response, {"grouping": [certification]}
    return reviewer, _agent(learner), response, {"grouping": [certification]}


def statement(doc: Document, enrollment: Enrollment, event: Event) -> dict[str, Any]:
    """The xAPI statement of one event; every user it names has an e-mail address."""
    org_url = doc.org_url
    actor, target, result, activities = _parts(doc, enrollment, event)
    verb_id, verb_word = VERBS[event.kind]
    cycle_registration = registration(org_url, enrollment.user, enrollment.certification, event.cycle)
    context: dict[str, Any] = {"registration": cycle_registration}
    if activities:
        context["contextActivities"] = activities
    data: dict[str, Any] = {
        "id": statement_id(org_url, enrollment.user, enrollment.certification, event),
        "actor": actor,
        "verb": {"id": verb_id, "display": {"en-US": verb_word}},
        "object": target,
    }
    if result:
        data["result"] = result
    data.update({"context": context, "timestamp": format_time(event.at), "version": VERSION})
    return data


def _named_users(enrollment: Enrollment, event: Event) -> list[str]:
    return [enrollment.user] + ([event.by] if event.by else [])


def _check_emails(doc: Document, user_ids: Iterable[str]) -> None:
    missing = [user_id for user_id in dict.fromkeys(user_ids) if not doc.users[user_id].email]
    if not missing:
        return
    others = f" (nor do {len(missing) - 1} more: {', '.join(missing[1:])})" if len(missing) > 1 else ""
    raise StateError(
        f"user {missing[0]} has no e-mail address, which xAPI needs to identify them{others}",
        hint=f'add email = "..." to {missing[0]} in the file `certcli export -o users.toml` writes, '
        "then `certcli apply -f users.toml`; or leave them out with --user or --cert",
    )


def statements(
    doc: Document, enrollments: Iterable[Enrollment], now: datetime, since: date | None = None
) -> list[dict[str, Any]]:
    """The statements of `enrollments` as of `now` (and from `since` on), by timestamp then id.

    Raises StateError when a user the statements name has no e-mail address.
    """
    start = datetime.combine(since, datetime.min.time(), UTC) if since is not None else None
    chosen = [
        (enrollment, event)
        for enrollment in enrollments
        for event in events(enrollment, doc.certifications[enrollment.certification], now)
        if start is None or event.at >= start
    ]
    _check_emails(doc, (user_id for enrollment, event in chosen for user_id in _named_users(enrollment, event)))
    found = [statement(doc, enrollment, event) for enrollment, event in chosen]
    found.sort(key=lambda item: (item["timestamp"], item["id"]))
    return found


def to_json_lines(found: Iterable[dict[str, Any]]) -> str:
    import json

    from certcli.text import json_safe

    return "".join(json_safe(json.dumps(item, ensure_ascii=False, separators=(",", ":"))) + "\n" for item in found)
