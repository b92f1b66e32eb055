"""What a learner sees and does: `list`, `sort`, `show`, `start`, `complete`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from certcli import access, rules
from certcli.errors import StateError, UsageError
from certcli.model import COURSE_COMPLETED, COURSE_STARTED, SORT_KEYS, STARTED, Certification, Enrollment
from certcli.usecases.kernel import (
    Context,
    Outcome,
    about,
    actor,
    certification,
    course,
    enroll,
    enrollment,
    not_retired,
    note_change,
    open_next_cycle,
    record,
    subject,
    user,
    view,
)
from certcli.usecases.views import list_item, page, progress

if TYPE_CHECKING:
    from certcli.usecases.shapes import ListItem, Page, Progress


# ---------------------------------------------------------------- list, sort, show


def list_certifications(
    ctx: Context, user_id: str | None = None, pending: bool = False, sort: str = "relevance"
) -> Outcome[list[ListItem]]:
    """The certifications of the actor (or of `user_id`, as the access policy allows), sorted."""
    if sort not in SORT_KEYS:
        raise UsageError(f"unknown sort key {sort!r}", hint=f"use one of: {', '.join(SORT_KEYS)}")
    doc = ctx.store.read(about(ctx, None, user_id))
    learner = subject(doc, actor(ctx, doc), user_id)
    rows: list[tuple[rules.SortableItem, ListItem]] = []
    for found in doc.enrollments:
        if found.user != learner.id:
            continue
        cert = doc.certifications[found.certification]
        current = rules.evaluate(found, cert, ctx.now)
        if current is None or (pending and current.status == rules.COMPLETED and not current.renewal_open):
            continue
        key = rules.SortableItem(
            cert.id, cert.title, cert.published, current.status, current.overdue, current.due, learner.id
        )
        rows.append((key, list_item(cert, current, learner)))
    rows.sort(key=lambda row: rules.sort_key(sort, row[0]))
    return Outcome([item for _, item in rows])


def show(ctx: Context, cert_id: str, user_id: str | None = None) -> Outcome[Page]:
    doc = ctx.store.read(about(ctx, cert_id, user_id))
    learner = subject(doc, actor(ctx, doc), user_id)
    cert = certification(doc, cert_id)
    found = doc.enrollment(cert.id, learner.id)
    current = rules.evaluate(found, cert, ctx.now) if found else None
    return Outcome(page(doc, cert, current, learner))


# ---------------------------------------------------------------- start, complete


def _reopen(
    ctx: Context,
    found: Enrollment,
    cert: Certification,
    current: rules.EnrollmentView,
    messages: list[str],
    early: bool,
) -> rules.EnrollmentView:
    """Open the next cycle when the rules say taking it up now does; otherwise change nothing."""
    reason = rules.next_cycle_opens(current, early)
    if reason is None:
        return current
    why = {
        rules.LAPSED: f"{cert.id} expired on {current.valid_until}",
        rules.REVOKED_HELD: f"{cert.id} was revoked",
        rules.RENEWAL: f"the renewal window of {cert.id} is open (valid until {current.valid_until})",
    }[reason]
    open_next_cycle(ctx, found, cert, current)
    messages.append(f"{why}; opened cycle {current.cycle + 1}.")
    return view(ctx, found, cert)


def start(ctx: Context, cert_id: str, course_id: str | None = None) -> Outcome[Progress]:
    """Take up a certification: self-enrol where allowed, open a renewal, start the queue's head."""
    messages: list[str] = []
    with ctx.store.update(about(ctx, cert_id, None, course_id)) as doc:
        learner = actor(ctx, doc)
        cert = certification(doc, cert_id)
        if course_id is not None:
            course(doc, course_id)
        found = doc.enrollment(cert.id, learner.id)
        not_retired(cert)
        if found is None:
            if not cert.self_enroll:
                enrollment(doc, cert, learner)  # raises "not assigned"
            found = enroll(ctx, doc, cert, learner, by=learner.id, due=None)
            messages.append(f"Enrolled in {cert.id}.")
        note_change(ctx, doc, "start", {"course": course_id}, certification=cert.id, user=learner.id)
        current = _reopen(ctx, found, cert, view(ctx, found, cert), messages, early=True)
        if current.status == rules.COMPLETED and not current.renewing:
            until = f", valid until {current.valid_until}" if current.valid_until else ""
            messages.append(f"{cert.id} is already completed (on {current.completed_on}{until}).")
        elif current.awaiting_review:
            messages.append(f"Your proof for {cert.id} is waiting for review.")
        else:
            _take_up(ctx, found, cert, current, course_id, messages)
        return Outcome(progress(cert, view(ctx, found, cert), learner), messages)


def _take_up(
    ctx: Context,
    found: Enrollment,
    cert: Certification,
    current: rules.EnrollmentView,
    course_id: str | None,
    messages: list[str],
) -> None:
    """Start `course_id`, or the queue's head, or (with nothing to take) the cycle itself."""
    if course_id is not None:
        _check_course_action(current, cert, course_id, "start")
    target = course_id or current.next_course
    if target is not None and _course_status(current, target) != rules.COMPLETED:
        record(ctx, found, COURSE_STARTED, course=target)
        messages.append(f"Now taking {target}.")
    elif target is not None:
        messages.append(f"Course {target} is already completed.")
    elif current.cycles[-1].cycle.started_at is None:
        record(ctx, found, STARTED)
    if cert.kind == "external":
        messages.append(_upload_hint(cert, current))


def _upload_hint(cert: Certification, current: rules.EnrollmentView) -> str:
    if current.courses_outstanding:
        return f"Complete the mandatory courses, then upload your proof: certcli upload-proof {cert.id} FILE"
    return f"Upload your proof of {cert.title}: certcli upload-proof {cert.id} FILE (PDF, PNG or JPEG)"


def _course_status(current: rules.EnrollmentView, course_id: str) -> str:
    return next((c.status for c in current.courses if c.id == course_id), rules.NOT_STARTED)


def _check_course_action(current: rules.EnrollmentView, cert: Certification, course_id: str, verb: str) -> None:
    if not current.requirements.has_course(course_id):
        raise StateError(
            f"course {course_id!r} is not part of {cert.id} (cycle {current.cycle})",
            hint=f"see its courses with `certcli show {cert.id}`",
        )
    statuses = {taken.id: taken.status for taken in current.courses}
    blocker = rules.blocking_course(current.requirements, statuses, course_id)
    if blocker is not None:
        raise StateError(
            f"{cert.id} is ordered: cannot {verb} {course_id} before completing {blocker}",
            hint=f"complete {blocker} first",
        )


def complete(ctx: Context, cert_id: str, course_id: str, user_id: str | None = None) -> Outcome[Progress]:
    """Record a course completion for the actor, or (an admin) for `user_id`."""
    messages: list[str] = []
    with ctx.store.update(about(ctx, cert_id, user_id, course_id)) as doc:
        acting = actor(ctx, doc)
        access.may_record_for(acting, user_id or acting.id)
        learner = user(doc, user_id) if user_id is not None else acting
        cert = certification(doc, cert_id)
        course(doc, course_id)
        found = enrollment(doc, cert, learner)
        note_change(ctx, doc, "complete", {"course": course_id}, certification=cert.id, user=learner.id)
        before = _reopen(ctx, found, cert, view(ctx, found, cert), messages, early=False)
        _check_course_action(before, cert, course_id, "complete")
        if _course_status(before, course_id) == rules.COMPLETED:
            messages.append(f"{course_id} is already completed; nothing to do.")
        else:
            record(ctx, found, COURSE_COMPLETED, course=course_id)
            messages.append(f"Completed {course_id}.")
        after = view(ctx, found, cert)
    if after.cycles[-1].completed_on is not None and before.cycles[-1].completed_on is None:
        until = f", valid until {after.valid_until}" if after.valid_until else ""
        messages.append(f"{cert.id} is complete{until}.")
    elif cert.kind == "external" and not after.courses_outstanding and not after.awaiting_review:
        messages.append(f"Mandatory courses done; upload your proof: certcli upload-proof {cert.id} FILE")
    return Outcome(progress(cert, after, learner), messages)
