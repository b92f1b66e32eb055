"""xAPI statements of what the enrollments record (`export-xapi`).

`statements` is pure: the document, the enrollments to export and the
evaluation time in; statement dicts out. Ids and registrations are UUIDv5 of
the facts themselves, so exporting the same facts again gives the same
statements, and an LRS that already holds one recognises it.

What becomes a statement (see the table in docs/exports.md): every cycle opened
(registered), every course completed in a cycle and every cycle completed
(completed), every proof submitted (submitted), every review of one (approved,
rejected: pointing at the submission's statement), and every revoked completion
(a voiding statement pointing at that cycle's completed statement).

People are Agents: by `mbox` when they have an e-mail address, else by an
`account` of the organisation (its address and their user id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from certcli import rules
from certcli.dates import format_time, midnight
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
SUBMITTED = "proof-submitted"
APPROVED = "approved"
REJECTED = "rejected"
VOIDED = "voided"

VERBS = {
    REGISTERED: ("http://adlnet.gov/expapi/verbs/registered", "registered"),
    COURSE_COMPLETED: ("http://adlnet.gov/expapi/verbs/completed", "completed"),
    CERTIFICATION_COMPLETED: ("http://adlnet.gov/expapi/verbs/completed", "completed"),
    SUBMITTED: ("http://activitystrea.ms/schema/1.0/submit", "submitted"),
    APPROVED: ("http://activitystrea.ms/schema/1.0/approve", "approved"),
    REJECTED: ("http://activitystrea.ms/schema/1.0/reject", "rejected"),
    VOIDED: ("http://adlnet.gov/expapi/verbs/voided", "voided"),
}


class Event(NamedTuple):
    """One exportable fact of an enrollment.

    `by`: the staff member who acted (reviews and revocations), else None: the learner acted.
    `completed_at`: for a revocation, when the completion it ends was reached.
    `reviewed`: for a review, the submission it decided.
    `occurrence`: how many identical events came before it (same kind, cycle, time and course).
    """

    kind: str
    at: datetime
    cycle: int
    course: str | None = None
    by: str | None = None
    reason: str | None = None
    completed_at: datetime | None = None
    reviewed: Event | None = None
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


def _review_events(enrollment: Enrollment, now: datetime, number: Callable[[Event], Event]) -> Iterator[Event]:
    """Every proof submitted and every review of one, in the cycle it happened in (the rules keep
    only the latest); a review refers to the latest submission of its cycle."""
    cycle, submitted = 0, None
    for _, fact in rules.facts_as_of(enrollment.facts, now):
        if fact.type == CYCLE_OPENED:
            cycle, submitted = fact.cycle or cycle + 1, None
        elif fact.type == PROOF_SUBMITTED and cycle:
            submitted = number(Event(SUBMITTED, fact.at, cycle))
            yield submitted
        elif fact.type == PROOF_REVIEWED and submitted is not None:
            kind = APPROVED if fact.decision == "approved" else REJECTED
            yield number(Event(kind, fact.at, cycle, by=fact.by, reason=fact.reason, reviewed=submitted))


def _numbering() -> Callable[[Event], Event]:
    """Numbers each event by how many identical ones (kind, cycle, time, course) it follows, so each has its own id."""
    seen: dict[tuple[str, int, datetime, str | None], int] = {}

    def number(event: Event) -> Event:
        key = (event.kind, event.cycle, event.at, event.course)
        seen[key] = seen.get(key, 0) + 1
        return event._replace(occurrence=seen[key] - 1)

    return number


def events(enrollment: Enrollment, cert: Certification, now: datetime) -> list[Event]:
    """The enrollment's exportable facts recorded at or before `now`."""
    number = _numbering()
    found = [number(event) for cycle in rules.fold_cycles(enrollment, now) for event in _cycle_events(cycle, cert)]
    found.extend(_review_events(enrollment, now, number))
    return found


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


def _agent(org_url: str, user: User) -> dict[str, Any]:
    """The user as an Agent: their e-mail address when they have one, else their account with the organisation."""
    agent: dict[str, Any] = {"objectType": "Agent"}
    if user.name:
        agent["name"] = user.name
    if user.email:
        agent["mbox"] = f"mailto:{user.email}"
    else:
        agent["account"] = {"homePage": base_url(org_url), "name": user.id}
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
    if event.kind in (REGISTERED, SUBMITTED):
        return _agent(org_url, learner), certification, None, {}
    if event.kind == COURSE_COMPLETED:
        assert event.course is not None
        course = _course_activity(org_url, doc, event.course)
        return _agent(org_url, learner), course, {"completion": True}, {"parent": [certification]}
    if event.kind == CERTIFICATION_COMPLETED:
        return _agent(org_url, learner), certification, {"completion": True, "success": True}, {}
    staff = _agent(org_url, doc.users[event.by or ""])
    if event.kind == VOIDED:
        assert event.completed_at is not None
        target = Event(CERTIFICATION_COMPLETED, event.completed_at, event.cycle)
    else:  # a review: of the learner's submission, the statement it points at
        assert event.reviewed is not None
        target = event.reviewed
    pointer = {"objectType": "StatementRef", "id": statement_id(org_url, learner.id, cert.id, target)}
    return staff, pointer, response, {"grouping": [certification]}


def statement(doc: Document, enrollment: Enrollment, event: Event) -> dict[str, Any]:
    """The xAPI statement of one event."""
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


def statements(
    doc: Document, enrollments: Iterable[Enrollment], now: datetime, since: date | None = None
) -> list[dict[str, Any]]:
    """The statements of `enrollments` as of `now` (and from `since` on), by timestamp then id."""
    start = midnight(since) if since is not None else None
    chosen = [
        (enrollment, event)
        for enrollment in enrollments
        for event in events(enrollment, doc.certifications[enrollment.certification], now)
        if start is None or event.at >= start
    ]
    found = [statement(doc, enrollment, event) for enrollment, event in chosen]
    found.sort(key=lambda item: (item["timestamp"], item["id"]))
    return found


def to_json_lines(found: Iterable[dict[str, Any]]) -> str:
    import json

    from certcli.text import json_safe

    return "".join(json_safe(json.dumps(item, ensure_ascii=False, separators=(",", ":"))) + "\n" for item in found)
