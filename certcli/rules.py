"""The certification rules (docs/rules.md). Pure: every function takes `now`
where time matters and reads no clock and no file.

An enrollment is a list of dated facts. `evaluate` folds the facts stamped at
or before `now` into an `EnrollmentView`: status, dates, progress and queue.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from certcli.dates import midnight
from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    COURSE_STARTED,
    CYCLE_OPENED,
    PROOF_REVIEWED,
    PROOF_SUBMITTED,
    REMINDED,
    REMINDER_KINDS,
    REQUIREMENTS_CHANGED,
    REVOKED,
    STARTED,
    Certification,
    CourseRef,
    Enrollment,
    Fact,
    Proof,
    Record,
    ReminderSchedule,
    Requirements,
    User,
)

# The version of these rules. Raise it with any change that alters a standing (a status, a date, a flag)
# of an existing enrollment: database stores keep standings the rules worked out, record this number
# beside them, and work them out again when it differs from the certcli that opens them.
RULES_VERSION = 1

ENROLLED = "enrolled"
STARTED_STATUS = "started"
PENDING_APPROVAL = "pending_approval"
REJECTED = "rejected"
COMPLETED = "completed"
EXPIRED = "expired"
REVOKED_STATUS = "revoked"
STATUSES = (ENROLLED, STARTED_STATUS, PENDING_APPROVAL, REJECTED, COMPLETED, EXPIRED, REVOKED_STATUS)

# Proof reviews and cycle outcomes.
PENDING = "pending"
OPEN = "open"
REVOKED_OUTCOME = "revoked"

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"


# ---------------------------------------------------------------- dates


def days_in_month(year: int, month: int) -> int:
    """The Gregorian calendar's month lengths (the standard library's `calendar` costs half a
    millisecond to import, which every command would pay)."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def add_months(start: date, months: int) -> date:
    """`start` plus `months` calendar months (minus, when negative), clamped to the month's last day;
    held within the calendar: past its end (9999-12-31) its last day, before its start its first."""
    year, month_index = divmod(start.year * 12 + start.month - 1 + months, 12)
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    return date(year, month_index + 1, min(start.day, days_in_month(year, month_index + 1)))


def add_days(start: date, days: int) -> date:
    """`start` plus `days` (minus, when negative), held within the calendar."""
    return date.fromordinal(min(max(start.toordinal() + days, date.min.toordinal()), date.max.toordinal()))


def month_starts(today: date, months: int) -> list[date]:
    """The first day of this month and of the `months - 1` after it, as far as the calendar goes
    (from February 9999 on, fewer: the months to December 9999)."""
    first = today.replace(day=1)
    return sorted({add_months(first, n).replace(day=1) for n in range(months)})


# ---------------------------------------------------------------- requirements


def effective_requirements(cert: Certification) -> Requirements:
    """The certification's courses with the "none marked means all mandatory" rule applied."""
    any_marked = any(ref.mandatory for ref in cert.courses)
    courses = tuple(CourseRef(ref.id, ref.mandatory or not any_marked) for ref in cert.courses)
    return Requirements(courses=courses, ordered=cert.ordered)


# ---------------------------------------------------------------- folding facts


class CourseProgress(Record):
    __slots__ = ("status", "started_at", "completed_at", "touched")

    def __init__(self) -> None:
        self.status = NOT_STARTED
        self.started_at: datetime | None = None
        self.completed_at: datetime | None = None
        self.touched: tuple[datetime, int] | None = None  # (time, fact position): most recent touch

    @property
    def completed_on(self) -> date | None:
        return self.completed_at.date() if self.completed_at else None


class ProofState(Record):
    __slots__ = ("proof", "submitted_at", "review", "reviewed_at", "reviewed_by", "reason")

    def __init__(self, proof: Proof, submitted_at: datetime) -> None:
        self.proof, self.submitted_at = proof, submitted_at
        self.review = PENDING  # pending | approved | rejected
        self.reviewed_at: datetime | None = None
        self.reviewed_by: str | None = None
        self.reason: str | None = None


class Cycle(Record):
    """One cycle of an enrollment as the facts up to the evaluation time tell it."""

    __slots__ = (
        "number",
        "opened_at",
        "requirements",
        "assigned_due",
        "started_at",
        "progress",
        "proof",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
        "revoked_while_renewing",
    )

    def __init__(self, number: int, opened_at: datetime, requirements: Requirements, assigned_due: date | None) -> None:
        self.number, self.opened_at, self.requirements, self.assigned_due = (
            number,
            opened_at,
            requirements,
            assigned_due,
        )
        self.started_at: datetime | None = None
        self.progress: dict[str, CourseProgress] = {}
        self.proof: ProofState | None = None
        self.revoked_at: datetime | None = None
        self.revoked_by: str | None = None
        self.revoke_reason: str | None = None
        self.revoked_while_renewing = False  # revoked after a later cycle had opened to renew it

    def course(self, course_id: str) -> CourseProgress:
        return self.progress.setdefault(course_id, CourseProgress())

    @property
    def mandatory_done(self) -> bool:
        done = {cid for cid, progress in self.progress.items() if progress.status == COMPLETED}
        return mandatory_done(self.requirements, done)


def mandatory_done(requirements: Requirements, completed: Collection[str]) -> bool:
    """Whether the courses `completed` include every mandatory course of `requirements`."""
    return all(course_id in completed for course_id in requirements.mandatory_ids)


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
            cycles.append(Cycle(fact.cycle, fact.at, fact.requirements, fact.due))
        elif cycles:
            _apply(cycles, position, fact)
    return cycles


def _apply(cycles: list[Cycle], position: int, fact: Fact) -> None:
    """Apply one fact to the latest cycle (a revocation names the cycle whose completion it ends)."""
    cycle = cycles[-1]
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
    elif fact.type == REVOKED:
        revoked = next((c for c in cycles if c.number == fact.cycle), cycle)
        revoked.revoked_at, revoked.revoked_by, revoked.revoke_reason = fact.at, fact.by, fact.reason
        revoked.revoked_while_renewing = revoked is not cycle
    elif fact.type == REQUIREMENTS_CHANGED:
        assert fact.requirements is not None
        cycle.requirements = fact.requirements
    elif fact.type == PROOF_REVIEWED and cycle.proof is not None:
        assert fact.decision is not None
        cycle.proof.review, cycle.proof.reviewed_at = fact.decision, fact.at
        cycle.proof.reviewed_by, cycle.proof.reason = fact.by, fact.reason


# ---------------------------------------------------------------- completion, validity, outcome


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


def completed_at(cycle: Cycle, cert: Certification) -> datetime | None:
    """The moment the cycle became complete: its last mandatory course, or the approval of its proof."""
    if completed_on(cycle, cert) is None:
        return None
    if cert.kind == "internal":
        done = [cycle.course(course_id).completed_at for course_id in cycle.requirements.mandatory_ids]
        return max(at for at in done if at is not None)
    assert cycle.proof is not None
    return cycle.proof.reviewed_at


class CycleResult(Record):
    """What one cycle came to as of the evaluation time."""

    __slots__ = ("cycle", "completed_on", "valid_until", "validity_base", "due", "due_reason", "outcome")

    def __init__(
        self,
        cycle: Cycle,
        completed_on: date | None,
        valid_until: date | None,
        validity_base: str,  # how valid_until was counted, for explanations
        due: date | None,
        due_reason: str,
    ) -> None:
        self.cycle, self.completed_on, self.valid_until = cycle, completed_on, valid_until
        self.validity_base, self.due, self.due_reason = validity_base, due, due_reason
        self.outcome = OPEN  # open | completed | expired | revoked: set once the next cycle is known

    @property
    def holds(self) -> bool:
        """Complete and not revoked: it certifies the learner until valid_until."""
        return self.completed_on is not None and self.cycle.revoked_at is None


def _validity(
    cycle: Cycle, cert: Certification, done_on: date | None, previous: CycleResult | None
) -> tuple[date | None, str]:
    """valid_until of a completed cycle, and in words what it counted from."""
    if done_on is None or cert.validity_months is None:
        return None, ""
    months = cert.validity_months
    if cert.renew_from == "enrollment":
        base, words = cycle.opened_at.date(), f"cycle opened {cycle.opened_at.date()} (renew_from = enrollment)"
    elif (
        cert.renew_from == "expiry"
        and previous is not None
        and previous.holds
        and previous.valid_until is not None
        and done_on < previous.valid_until
    ):
        base = previous.valid_until
        words = f"previous validity ended {base}, renewed before it on {done_on} (renew_from = expiry)"
    else:
        base, words = done_on, f"completed {done_on}"
    until = add_months(base, months)
    if (until.year - base.year) * 12 + until.month - base.month < months:
        clamped = " (held at the calendar's last day)"
    else:
        clamped = " (clamped to the month's end)" if until.day != base.day else ""
    return until, f"{words} + {months} months → valid until {until}{clamped}"


def _cycle_due(index: int, cycle: Cycle, previous: CycleResult | None) -> tuple[date | None, str]:
    if index == 0:
        return cycle.assigned_due, "set at enrolment (assign --due, or enrolment + deadline_days)"
    if previous is not None and previous.holds and previous.valid_until is not None:
        return previous.valid_until, f"recertification: due when cycle {previous.cycle.number}'s validity ends"
    return None, "recertification after a revocation or lapse: no due date"


def cycle_results(cycles: Sequence[Cycle], cert: Certification, today: date) -> list[CycleResult]:
    """Every cycle's completion, validity, due date and outcome, oldest first."""
    results: list[CycleResult] = []
    for index, cycle in enumerate(cycles):
        previous = results[-1] if results else None
        done_on = completed_on(cycle, cert)
        until, base = _validity(cycle, cert, done_on, previous)
        due, due_reason = _cycle_due(index, cycle, previous)
        results.append(CycleResult(cycle, done_on, until, base, due, due_reason))
    for index, result in enumerate(results):
        following = results[index + 1] if index + 1 < len(results) else None
        result.outcome = _outcome(result, following, today)
    return results


def _outcome(result: CycleResult, following: CycleResult | None, today: date) -> str:
    if result.cycle.revoked_at is not None:
        return REVOKED_OUTCOME
    if result.completed_on is None:
        return OPEN
    if result.valid_until is None:
        return COMPLETED
    lapse_checked_at = following.completed_on if following and following.completed_on else today
    return EXPIRED if result.valid_until <= lapse_checked_at else COMPLETED


# ---------------------------------------------------------------- the enrollment's status


class CourseView(Record):
    __slots__ = ("id", "mandatory", "status", "completed_on")

    def __init__(self, id: str, mandatory: bool, status: str, completed_on: date | None) -> None:
        self.id, self.mandatory, self.status, self.completed_on = id, mandatory, status, completed_on


class EnrollmentView(Record):
    """Everything the rules say about one enrollment at one evaluation time.

    `renewing`: a renewal cycle is open while an earlier completion still holds.
    `cycles`: every cycle's result, oldest first; `reasons`: the explanation in words.
    """

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
    renewal_open: bool
    renewing: bool
    cycles: list[CycleResult]
    reasons: list[str]
    __slots__ = tuple(__annotations__)

    def __init__(self, **fields: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, fields.pop(name))
        if fields:
            raise TypeError(f"unknown fields: {', '.join(fields)}")

    @property
    def next_course(self) -> str | None:
        return self.queue[0] if self.queue else None

    @property
    def held(self) -> CycleResult:
        """The cycle whose completion the status reports: the current one, or the one before an open
        renewal cycle."""
        return self.cycles[-2] if self.renewing else self.cycles[-1]

    @property
    def courses_outstanding(self) -> bool:
        """Mandatory courses of the current cycle are still to do: an external certification takes
        no proof until they are done."""
        return self.courses_done < self.courses_required

    @property
    def awaiting_review(self) -> bool:
        """A proof of the current cycle waits for an admin or the learner's manager."""
        return self.proof is not None and self.proof.review == PENDING


# What the learner does next (`list`'s NEXT): take the next course, upload a proof, recertify with
# `start`, or wait while a reviewer looks at the proof; None: nothing to do.
NEXT_COURSE = "course"
NEXT_UPLOAD = "upload-proof"
NEXT_START = "start"
NEXT_REVIEW = "review"


def next_step(view: EnrollmentView, cert: Certification) -> str | None:
    """The learner's next step on an enrollment, for every status."""
    if view.status in (EXPIRED, REVOKED_STATUS):
        return NEXT_START
    if view.status == COMPLETED and not view.renewing:
        return NEXT_START if view.renewal_open else None
    if view.awaiting_review:
        return NEXT_REVIEW
    if cert.kind == "external" and not view.courses_outstanding:
        return NEXT_UPLOAD
    return NEXT_COURSE if view.queue else None


def enrolled_at(enrollment: Enrollment, now: datetime) -> datetime | None:
    """When the learner was enrolled, if that happened at or before `now`."""
    for _, fact in facts_as_of(enrollment.facts, now):
        if fact.type == ASSIGNED:
            return fact.at
    return None


# ---------------------------------------------------------------- who may be enrolled, who holds a login


def enrolment_refusal(learner: User) -> str | None:
    """Why `learner` cannot be enrolled in anything now, or None: a deactivated user is enrolled in
    nothing (`assign`, imports, `apply` and group rules alike); their history stays."""
    return None if learner.active else f"{learner.id} is deactivated"


def identity_clash(user: User, others: Iterable[User]) -> str | None:
    """Why `user` cannot hold its id or login name beside `others`, or None. One name, one person:
    a user's id and login name each name no other user, by id or login, since the operating
    system login name `--as` defaults to finds a user by either."""
    for other in others:
        if other.id == user.id:
            continue
        if user.id == other.login:
            return f"{user.id!r} is the login name of user {other.id}"
        if user.login is not None and user.login in (other.id, other.login):
            return f"login name {user.login!r} already names user {other.id}"
    return None


def dated_completion_at(day: date, enrolled: datetime) -> datetime:
    """When a completion known only by its `day` is recorded: at the start of that day (UTC), or,
    on the day of enrolment, at the moment of enrolment, so that a course done that day counts."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return enrolled if start < enrolled and enrolled.date() == day else start


def evaluate(
    enrollment: Enrollment, cert: Certification, now: datetime, explain: bool = True
) -> EnrollmentView | None:
    """The enrollment as of `now`, or None when it did not exist yet.
    `explain=False` leaves out most of the reasons, for callers that only need the outcome."""
    cycles = fold_cycles(enrollment, now)
    enrolled = enrolled_at(enrollment, now)
    if not cycles or enrolled is None:
        return None
    today = now.date()
    results = cycle_results(cycles, cert, today)
    current = results[-1]
    previous = results[-2] if len(results) > 1 else None
    reasons = _describe_cycle(current, cert) if explain else []
    held = _held(current, previous, today)
    status, renewing = _status(current, previous, held, today, reasons)
    due = _due(current, held, status, renewing, reasons)
    window_opens = _renewal_window_opens(held, cert)
    renewal_open = status == COMPLETED and window_opens is not None and (renewing or today >= window_opens)
    if window_opens is not None and status == COMPLETED and not renewing:
        relation = "on or after" if renewal_open else "before"
        reasons.append(
            f"renewal window of {cert.renewal_window_days} days opens {window_opens}; "
            f"now {today} is {relation} it → renewal {'open' if renewal_open else 'not open yet'}"
        )
    overdue = due is not None and today > due and status != COMPLETED
    if due is not None:
        reasons.append(_overdue_reason(today, due, status, overdue))
    cycle = current.cycle
    mandatory = cycle.requirements.mandatory_ids
    return EnrollmentView(
        status=status,
        overdue=overdue,
        cycle=cycle.number,
        enrolled_on=enrolled.date(),
        due=due,
        completed_on=held.completed_on if held else None,
        valid_until=held.valid_until if held and status != REVOKED_STATUS else None,
        courses=[
            CourseView(ref.id, ref.mandatory, cycle.course(ref.id).status, cycle.course(ref.id).completed_on)
            for ref in cycle.requirements.courses
        ],
        courses_done=sum(cycle.course(cid).status == COMPLETED for cid in mandatory),
        courses_required=len(mandatory),
        queue=player_queue(cycle) if current.outcome == OPEN and status != PENDING_APPROVAL else [],
        proof=cycle.proof,
        requirements=cycle.requirements,
        renewal_open=renewal_open,
        renewing=renewing,
        cycles=results,
        reasons=reasons,
    )


def _held(current: CycleResult, previous: CycleResult | None, today: date) -> CycleResult | None:
    """The cycle whose completion the status reports: the current one once complete,
    else an earlier one still valid while its renewal cycle is open."""
    if current.completed_on is not None or current.cycle.revoked_at is not None:
        return current
    if previous is not None and previous.holds and (previous.valid_until is None or today < previous.valid_until):
        return previous
    return None


def _status(
    current: CycleResult, previous: CycleResult | None, held: CycleResult | None, today: date, reasons: list[str]
) -> tuple[str, bool]:
    """The status, and whether a renewal cycle is open beside a completion that still holds."""
    cycle = current.cycle
    revoked = cycle if cycle.revoked_at is not None else None
    if revoked is None and previous is not None and current.completed_on is None:
        # A completion revoked while its renewal cycle was open stays revoked until that cycle completes.
        earlier = previous.cycle
        if earlier.revoked_at is not None and earlier.revoked_while_renewing:
            revoked = earlier
    if revoked is not None:
        reasons.append(
            f"cycle {revoked.number} revoked {revoked.revoked_at.date() if revoked.revoked_at else '?'} "
            f"by {revoked.revoked_by}: {revoked.revoke_reason} → revoked"
        )
        return REVOKED_STATUS, False
    if held is not None:
        renewing = held is not current
        if held.valid_until is None:
            return COMPLETED, renewing
        if today >= held.valid_until:
            reasons.append(f"now {today} is on or after {held.valid_until} → expired")
            return EXPIRED, False
        note = f" (cycle {held.cycle.number}, while cycle {cycle.number} renews it)" if renewing else ""
        reasons.append(f"now {today} is before {held.valid_until} → completed{note}")
        return COMPLETED, renewing
    if cycle.proof is not None and cycle.proof.review in (PENDING, REJECTED):
        return (PENDING_APPROVAL if cycle.proof.review == PENDING else REJECTED), False
    return (STARTED_STATUS if cycle.started_at is not None else ENROLLED), False


def _due(
    current: CycleResult, held: CycleResult | None, status: str, renewing: bool, reasons: list[str]
) -> date | None:
    if status == EXPIRED and held is not None:
        reasons.append(f"expired: due at its valid-until date {held.valid_until}")
        return held.valid_until
    if status in (COMPLETED, REVOKED_STATUS) and not renewing:
        return None
    if current.due is not None:
        reasons.append(f"due {current.due}: {current.due_reason}")
    return current.due


def _renewal_window_opens(held: CycleResult | None, cert: Certification) -> date | None:
    if held is None or held.valid_until is None or cert.renewal_window_days is None:
        return None
    return add_days(held.valid_until, -cert.renewal_window_days)


def _overdue_reason(today: date, due: date, status: str, overdue: bool) -> str:
    if overdue:
        return f"now {today} is after the due date {due} and the status is {status} → overdue"
    if status == COMPLETED:
        return "completed → not overdue"
    if today == due:
        return f"now {today} is the due date itself → not overdue yet"
    return f"now {today} is before the due date {due} → not overdue"


def _describe_cycle(result: CycleResult, cert: Certification) -> list[str]:
    """In words: the cycle, its requirements and how far it got."""
    cycle = result.cycle
    requirements = cycle.requirements
    mandatory = requirements.mandatory_ids
    order = "in order" if requirements.ordered else "in any order"
    reasons = [
        f"cycle {cycle.number} opened {cycle.opened_at.date()}; it requires {len(mandatory)} mandatory of "
        f"{len(requirements.courses)} courses ({', '.join(mandatory) or 'none'}), {order}"
    ]
    done = [f"{cid} on {cycle.course(cid).completed_on}" for cid in mandatory if cycle.course(cid).completed_on]
    pending = [cid for cid in mandatory if cycle.course(cid).status != COMPLETED]
    if mandatory:
        summary = f"mandatory courses done {len(done)} of {len(mandatory)}"
        reasons.append(
            summary + (f": {', '.join(done)}" if done else "") + (f"; pending: {', '.join(pending)}" if pending else "")
        )
    if cert.kind == "external":
        reasons.append(_describe_proof(cycle.proof, cert))
    if result.completed_on is not None:
        basis = "the last mandatory course" if cert.kind == "internal" else f"completion_date = {cert.completion_date}"
        reasons.append(f"complete → completed on {result.completed_on} ({basis})")
        reasons.append(result.validity_base or "perpetual → valid with no end")
    return reasons


def _describe_proof(proof: ProofState | None, cert: Certification) -> str:
    if proof is None:
        return "no proof uploaded in this cycle"
    text = f"proof {proof.proof.filename} submitted {proof.submitted_at.date()}"
    if proof.review == PENDING:
        return text + ", waiting for review → pending_approval"
    verdict = f", {proof.review} {proof.reviewed_at.date() if proof.reviewed_at else '?'} by {proof.reviewed_by}"
    if proof.review == REJECTED:
        return text + verdict + f" ({proof.reason}) → rejected"
    return text + verdict


# Why the next cycle opens now (see `next_cycle_opens`).
LAPSED = "expired"
REVOKED_HELD = "revoked"
RENEWAL = "renewal"


def next_cycle_opens(view: EnrollmentView, early: bool) -> str | None:
    """Whether taking up the enrollment now opens its next cycle, and why: its completion expired
    (`LAPSED`) or was revoked (`REVOKED_HELD`), or, with `early` (the learner starts it), its renewal
    window is open (`RENEWAL`). None: the current cycle goes on. Recording a completion (`complete`,
    an import) opens one only when the completion no longer holds."""
    if view.status == EXPIRED:
        return LAPSED
    if view.status == REVOKED_STATUS and view.cycles[-1].outcome != OPEN:
        return REVOKED_HELD
    if early and view.renewal_open and not view.renewing:
        return RENEWAL
    return None


def first_due(cert: Certification, enrolled: date, assigned_due: date | None) -> date | None:
    """The first cycle's due date: `assign --due`, else enrolment + `deadline_days`."""
    if assigned_due is not None:
        return assigned_due
    if cert.deadline_days is not None:
        return add_days(enrolled, cert.deadline_days)
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


class SortableItem(Record):
    """What the sort orders look at: one row of `list`."""

    __slots__ = ("id", "title", "published", "status", "overdue", "due", "user")

    def __init__(
        self, id: str, title: str, published: date | None, status: str, overdue: bool, due: date | None, user: str = ""
    ) -> None:
        self.id, self.title, self.published, self.status = id, title, published, status
        self.overdue, self.due, self.user = overdue, due, user


_RELEVANCE_GROUP = {
    EXPIRED: 1,
    REVOKED_STATUS: 1,
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


# ---------------------------------------------------------------- standing over time


class Standing(NamedTuple):
    """What reports need of an enrollment on one day: a view without its courses and reasons."""

    status: str
    overdue: bool
    due: date | None
    completed_on: date | None
    valid_until: date | None
    renewal_open: bool
    cycle: int


def standing(view: EnrollmentView) -> Standing:
    return Standing(
        view.status, view.overdue, view.due, view.completed_on, view.valid_until, view.renewal_open, view.cycle
    )


def _turning_days(view: EnrollmentView, cert: Certification) -> set[date]:
    """Days on which, with no new fact, the view may change: each rule compares `today`
    with one of these dates by <, <=, > or >=, so it turns on the date or the day after."""
    dates: set[date] = set()
    for result in view.cycles:
        dates.update(d for d in (result.due, result.valid_until, result.completed_on) if d is not None)
        if result.valid_until is not None and cert.renewal_window_days is not None:
            dates.add(add_days(result.valid_until, -cert.renewal_window_days))
    return {add_days(day, shift) for day in dates for shift in (0, 1)}


def standing_timeline(
    enrollment: Enrollment, cert: Certification, since: datetime, view: EnrollmentView | None = None
) -> list[tuple[date, Standing]]:
    """How the enrollment stands from `since` on while no fact is added after it: pieces
    (first day, standing), oldest first. Empty when the learner was not enrolled by `since`.
    `view`: the enrollment evaluated at `since`, when the caller has it already.

    A store keeps this beside the facts so a report over a million enrollments reads a
    few columns instead of replaying every enrollment's facts.
    """
    view = view or evaluate(enrollment, cert, since, explain=False)
    if view is None:
        return []
    pieces = [(since.date(), standing(view))]
    for day in sorted(d for d in _turning_days(view, cert) if d > since.date()):
        later = evaluate(enrollment, cert, midnight(day), explain=False)
        assert later is not None  # enrolled by `since`, so by any later day
        if standing(later) != pieces[-1][1]:
            pieces.append((day, standing(later)))
    return pieces


def standing_on(timeline: Sequence[tuple[date, Standing]], today: date) -> Standing | None:
    """The standing of a timeline on `today` (on or after its first day), or None before it."""
    current = None
    for first_day, piece in timeline:
        if first_day > today:
            break
        current = piece
    return current


# ---------------------------------------------------------------- reminders


DUE_REMINDER, EXPIRY_REMINDER, OVERDUE_REMINDER = REMINDER_KINDS


class ReminderDue(NamedTuple):
    """A reminder the schedule calls for: about cycle `cycle`, of `kind`, at `threshold` days (before the
    date for `due` and `expiry`, past it for `overdue`); `on`: the due date or the end of the validity."""

    cycle: int
    kind: str
    threshold: int
    on: date

    @property
    def code(self) -> str:
        """How a `reminded` fact names it: KIND:THRESHOLD."""
        return f"{self.kind}:{self.threshold}"


def reminder_days(due: ReminderDue, today: date) -> int:
    """The day count every text of a reminder tells on `today`: the days left until `due.on` (0 on the day
    itself) for a due or expiry reminder, the days past it for an overdue one. (The threshold is the
    schedule's mark the reminder answers, which `today` may have passed: a count it is not.)"""
    days = due.on.toordinal() - today.toordinal()
    return -days if due.kind == OVERDUE_REMINDER else days


def nearest_threshold_before(on: date, thresholds: Iterable[int], today: date) -> int | None:
    """The fewest days before `on` among the `thresholds` that `today` has reached (today is on or after
    `on` minus that many days) while `on` has not passed: several reached at once give only the nearest."""
    if today > on:
        return None
    left = on.toordinal() - today.toordinal()
    reached = [days for days in thresholds if days >= left]
    return min(reached) if reached else None


def overdue_threshold(due: date, every: int, today: date) -> int | None:
    """How many days overdue the latest overdue reminder falls on: the first day after `due`, then every
    `every` days (1, 1 + every, ...); None before that, or when `every` is 0 (no overdue reminders)."""
    late = today.toordinal() - due.toordinal()
    if every <= 0 or late < 1:
        return None
    return 1 + (late - 1) // every * every


def reminder_due(view: EnrollmentView, schedule: ReminderSchedule, today: date) -> ReminderDue | None:
    """The reminder an enrollment calls for on `today`, if any: before its validity ends while it is
    completed; while overdue, every `overdue_every` days; else before its due date. Nothing while a proof
    waits for review (the learner has nothing to do) or once revoked."""
    if view.status == COMPLETED:
        if view.valid_until is None:
            return None
        days = nearest_threshold_before(view.valid_until, schedule.before_expiry, today)
        if days is None or today >= view.valid_until:
            return None
        return ReminderDue(view.held.cycle.number, EXPIRY_REMINDER, days, view.valid_until)
    if view.due is None or view.status in (REVOKED_STATUS, PENDING_APPROVAL):
        return None
    if view.overdue or view.status == EXPIRED:  # an expiry was told before: once expired, only "overdue"
        late = overdue_threshold(view.due, schedule.overdue_every, today)
        return None if late is None else ReminderDue(view.cycle, OVERDUE_REMINDER, late, view.due)
    days = nearest_threshold_before(view.due, schedule.before_due, today)
    return None if days is None else ReminderDue(view.cycle, DUE_REMINDER, days, view.due)


def reminded(enrollment: Enrollment, recipient: str, reminder: ReminderDue) -> bool:
    """Whether `recipient` has been sent `reminder`, or one that supersedes it: of the same cycle and
    kind, nearer the date (fewer days before it) or further past it (more days overdue)."""
    for fact in enrollment.facts:
        if fact.type != REMINDED or fact.by != recipient or fact.cycle != reminder.cycle or fact.reminder is None:
            continue
        kind, _, days = fact.reminder.partition(":")
        if kind == reminder.kind and (
            int(days) >= reminder.threshold if kind == OVERDUE_REMINDER else int(days) <= reminder.threshold
        ):
            return True
    return False
