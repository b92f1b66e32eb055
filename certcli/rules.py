"""The certification rules (contract §2). Pure: every function takes `now`
where time matters and reads no clock and no file.

An enrollment is a list of dated facts. `evaluate` folds the facts stamped at
or before `now` into an `EnrollmentView`: status, dates, progress and queue.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    COURSE_STARTED,
    CYCLE_OPENED,
    PROOF_REVIEWED,
    PROOF_SUBMITTED,
    STARTED,
    Certification,
    CourseRef,
    Enrollment,
    Fact,
    Proof,
    Requirements,
)

ENROLLED = "enrolled"
STARTED_STATUS = "started"
PENDING_APPROVAL = "pending_approval"
REJECTED = "rejected"
COMPLETED = "completed"
EXPIRED = "expired"
STATUSES = (ENROLLED, STARTED_STATUS, PENDING_APPROVAL, REJECTED, COMPLETED, EXPIRED)

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"

SORT_KEYS = ("relevance", "published", "name", "due")


# ---------------------------------------------------------------- dates


def add_months(start: date, months: int) -> date:
    """`start` plus `months` calendar months, clamped to the month's last day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


# ---------------------------------------------------------------- requirements


def effective_requirements(cert: Certification) -> Requirements:
    """The certification's courses with the "none marked means all mandatory" rule applied."""
    any_marked = any(ref.mandatory for ref in cert.courses)
    courses = tuple(CourseRef(ref.id, ref.mandatory or not any_marked) for ref in cert.courses)
    return Requirements(courses=courses, ordered=cert.ordered)


# ---------------------------------------------------------------- folding facts


@dataclass
class CourseProgress:
    status: str = NOT_STARTED
    started_at: datetime | None = None
    completed_at: datetime | None = None
    touched: tuple[datetime, int] | None = None  # (time, fact position): most recent touch

    @property
    def completed_on(self) -> date | None:
        return self.completed_at.date() if self.completed_at else None


@dataclass
class ProofState:
    proof: Proof
    submitted_at: datetime
    review: str = "pending"  # pending | approved | rejected
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    reason: str | None = None


@dataclass
class Cycle:
    """One cycle of an enrollment as the facts up to the evaluation time tell it."""

    number: int
    opened_at: datetime
    requirements: Requirements
    assigned_due: date | None = None
    started_at: datetime | None = None
    progress: dict[str, CourseProgress] = field(default_factory=dict)
    proof: ProofState | None = None

    def course(self, course_id: str) -> CourseProgress:
        return self.progress.setdefault(course_id, CourseProgress())

    @property
    def mandatory_done(self) -> bool:
        return all(self.course(cid).status == COMPLETED for cid in self.requirements.mandatory_ids)


def facts_as_of(facts: Iterable[Fact], now: datetime) -> list[tuple[int, Fact]]:
    """The facts stamped at or before `now`, in time order (ties keep recording order)."""
    dated = [(position, fact) for position, fact in enumerate(facts) if fact.at <= now]
    return sorted(dated, key=lambda item: (item[1].at, item[0]))


def fold_cycles(enrollment: Enrollment, now: datetime) -> list[Cycle]:
    """Replay the enrollment's facts up to `now` into its cycles, oldest first."""
    cycles: list[Cycle] = []
    for position, fact in facts_as_of(enrollment.facts, now):
        if fact.type == CYCLE_OPENED:
            assert fact.requirements is not None and fact.cycle is not None
            cycles.append(Cycle(fact.cycle, fact.at, fact.requirements, assigned_due=fact.due))
        elif cycles:
            _apply(cycles[-1], position, fact)
    return cycles


def _apply(cycle: Cycle, position: int, fact: Fact) -> None:
    if fact.type == STARTED:
        cycle.started_at = cycle.started_at or fact.at
    elif fact.type in (COURSE_STARTED, COURSE_COMPLETED):
        assert fact.course is not None
        progress = cycle.course(fact.course)
        progress.touched = (fact.at, position)
        progress.started_at = progress.started_at or fact.at
        cycle.started_at = cycle.started_at or fact.at
        if fact.type == COURSE_COMPLETED and progress.status != COMPLETED:
            progress.status, progress.completed_at = COMPLETED, fact.at
        elif progress.status == NOT_STARTED:
            progress.status = IN_PROGRESS
    elif fact.type == PROOF_SUBMITTED:
        assert fact.proof is not None
        cycle.proof = ProofState(fact.proof, fact.at)
        cycle.started_at = cycle.started_at or fact.at
    elif fact.type == PROOF_REVIEWED and cycle.proof is not None:
        assert fact.decision is not None
        cycle.proof.review, cycle.proof.reviewed_at = fact.decision, fact.at
        cycle.proof.reviewed_by, cycle.proof.reason = fact.by, fact.reason


# ---------------------------------------------------------------- completion and status


def completed_on(cycle: Cycle, cert: Certification) -> date | None:
    """The day the cycle became complete, or None while it is not."""
    if not cycle.mandatory_done:
        return None
    if cert.kind == "internal":
        done = [cycle.course(cid).completed_on for cid in cycle.requirements.mandatory_ids]
        return max(d for d in done if d is not None)
    proof = cycle.proof
    if proof is None or proof.review != "approved" or proof.reviewed_at is None:
        return None
    if cert.completion_date == "submitted" and proof.proof.completed_on is not None:
        return proof.proof.completed_on
    return proof.reviewed_at.date()


def valid_until(cycle: Cycle, cert: Certification, done_on: date | None) -> date | None:
    """End of validity of a completed cycle of a recurring certification."""
    if done_on is None or cert.validity_months is None:
        return None
    base = cycle.opened_at.date() if cert.renew_from == "enrollment" else done_on
    return add_months(base, cert.validity_months)


@dataclass
class CourseView:
    id: str
    mandatory: bool
    status: str
    completed_on: date | None


@dataclass
class EnrollmentView:
    """Everything the rules say about one enrollment at one evaluation time."""

    status: str
    overdue: bool
    cycle: int
    enrolled_on: date
    due: date | None
    completed_on: date | None
    valid_until: date | None
    courses: list[CourseView]
    courses_done: int
    courses_required: int
    queue: list[str]
    proof: ProofState | None
    requirements: Requirements

    @property
    def next_course(self) -> str | None:
        return self.queue[0] if self.queue else None


def enrolled_at(enrollment: Enrollment, now: datetime) -> datetime | None:
    """When the learner was enrolled, if that happened at or before `now`."""
    for _, fact in facts_as_of(enrollment.facts, now):
        if fact.type == ASSIGNED:
            return fact.at
    return None


def evaluate(enrollment: Enrollment, cert: Certification, now: datetime) -> EnrollmentView | None:
    """The enrollment as of `now`, or None when it did not exist yet."""
    cycles = fold_cycles(enrollment, now)
    enrolled = enrolled_at(enrollment, now)
    if not cycles or enrolled is None:
        return None
    cycle = cycles[-1]
    today = now.date()
    done_on = completed_on(cycle, cert)
    until = valid_until(cycle, cert, done_on)
    status = _status(cycle, cert, done_on, until, today)
    due = _due(cycles, cert, status, until)
    mandatory = cycle.requirements.mandatory_ids
    return EnrollmentView(
        status=status,
        overdue=due is not None and today > due and status != COMPLETED,
        cycle=cycle.number,
        enrolled_on=enrolled.date(),
        due=due,
        completed_on=done_on,
        valid_until=until,
        courses=[
            CourseView(ref.id, ref.mandatory, cycle.course(ref.id).status, cycle.course(ref.id).completed_on)
            for ref in cycle.requirements.courses
        ],
        courses_done=sum(cycle.course(cid).status == COMPLETED for cid in mandatory),
        courses_required=len(mandatory),
        queue=player_queue(cycle) if status in (ENROLLED, STARTED_STATUS, REJECTED) else [],
        proof=cycle.proof,
        requirements=cycle.requirements,
    )


def _status(cycle: Cycle, cert: Certification, done_on: date | None, until: date | None, today: date) -> str:
    if done_on is not None:
        return EXPIRED if until is not None and today >= until else COMPLETED
    if cycle.proof is not None and cycle.proof.review == "pending":
        return PENDING_APPROVAL
    if cycle.proof is not None and cycle.proof.review == "rejected":
        return REJECTED
    return STARTED_STATUS if cycle.started_at is not None else ENROLLED


def _due(cycles: Sequence[Cycle], cert: Certification, status: str, until: date | None) -> date | None:
    if status == COMPLETED:
        return None
    if status == EXPIRED:
        return until
    if len(cycles) == 1:
        return cycles[0].assigned_due
    previous = cycles[-2]
    return valid_until(previous, cert, completed_on(previous, cert))


def first_due(cert: Certification, enrolled: date, assigned_due: date | None) -> date | None:
    """The first cycle's due date: `assign --due`, else enrolment + `deadline_days`."""
    if assigned_due is not None:
        return assigned_due
    if cert.deadline_days is not None:
        return date.fromordinal(enrolled.toordinal() + cert.deadline_days)
    return None


# ---------------------------------------------------------------- the player queue


def player_queue(cycle: Cycle) -> list[str]:
    """Pending mandatory courses (in progress, most recently touched first, then
    not started in list order), then pending optional courses in list order."""
    refs = cycle.requirements.courses
    pending = [ref for ref in refs if cycle.course(ref.id).status != COMPLETED]
    in_progress = [ref.id for ref in pending if ref.mandatory and cycle.course(ref.id).status == IN_PROGRESS]
    in_progress.sort(key=lambda cid: cycle.course(cid).touched or (datetime.min, -1), reverse=True)
    not_started = [ref.id for ref in pending if ref.mandatory and cycle.course(ref.id).status == NOT_STARTED]
    optional = [ref.id for ref in pending if not ref.mandatory]
    return in_progress + not_started + optional


def blocking_course(requirements: Requirements, statuses: dict[str, str], course_id: str) -> str | None:
    """With ordered sequencing: the first mandatory course ahead of `course_id`
    that is not completed, or None when `course_id` may be started or completed."""
    if not requirements.ordered:
        return None
    target = next((ref for ref in requirements.courses if ref.id == course_id), None)
    if target is None or not target.mandatory:
        return None
    for ref in requirements.courses:
        if ref.id == course_id:
            return None
        if ref.mandatory and statuses.get(ref.id, NOT_STARTED) != COMPLETED:
            return ref.id
    return None


# ---------------------------------------------------------------- sorting


@dataclass(frozen=True)
class SortableItem:
    """What the sort orders look at: one row of `list`."""

    id: str
    title: str
    published: date | None
    status: str
    overdue: bool
    due: date | None
    user: str = ""


_RELEVANCE_GROUP = {
    EXPIRED: 1,
    REJECTED: 1,
    STARTED_STATUS: 2,
    ENROLLED: 3,
    PENDING_APPROVAL: 4,
    COMPLETED: 5,
}


def _due_key(item: SortableItem) -> tuple[bool, int]:
    return (item.due is None, item.due.toordinal() if item.due else 0)


def _newest_key(item: SortableItem) -> tuple[bool, int]:
    return (item.published is None, -item.published.toordinal() if item.published else 0)


def _tie_break(item: SortableItem) -> tuple[str, str, str]:
    return (item.title.casefold(), item.id, item.user)


def sort_key(key: str, item: SortableItem) -> tuple:
    """The sort key of one item under `key` (relevance, published, name or due)."""
    if key == "relevance":
        group = 0 if item.overdue else _RELEVANCE_GROUP[item.status]
        return (group, _due_key(item), _newest_key(item), _tie_break(item))
    if key == "published":
        return (_newest_key(item), _tie_break(item))
    if key == "name":
        return (_tie_break(item),)
    if key == "due":
        return (_due_key(item), _tie_break(item))
    raise ValueError(f"unknown sort key {key!r}")


def sort_items(items: Iterable[SortableItem], key: str = "relevance") -> list[SortableItem]:
    return sorted(items, key=lambda item: sort_key(key, item))
