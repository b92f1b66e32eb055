"""The certification rules (docs/rules.md) and the sort orders (docs/commands.md), on model objects alone: no files,
no CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from certcli import rules
from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    COURSE_STARTED,
    CYCLE_OPENED,
    PROOF_REVIEWED,
    PROOF_SUBMITTED,
    REVOKED,
    STARTED,
    Certification,
    CourseRef,
    Enrollment,
    Fact,
    Proof,
    Requirements,
)

ADMIN = "root"
LEARNER = "ann"

# ---------------------------------------------------------------- builders


def moment(text: str) -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS` (UTC), as `--now` reads them."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def day(text: str) -> date:
    return date.fromisoformat(text)


def internal(*course_ids: str, mandatory: tuple[str, ...] = (), **options: Any) -> Certification:
    refs = tuple(CourseRef(course_id, course_id in mandatory) for course_id in course_ids)
    return Certification(id="cert", title="Cert", kind="internal", courses=refs, **options)


def external(*course_ids: str, mandatory: tuple[str, ...] = (), **options: Any) -> Certification:
    refs = tuple(CourseRef(course_id, course_id in mandatory) for course_id in course_ids)
    return Certification(id="badge", title="Badge", kind="external", courses=refs, **options)


def started(when: str) -> Fact:
    return Fact(STARTED, moment(when))


def course_started(course: str, when: str) -> Fact:
    return Fact(COURSE_STARTED, moment(when), course=course)


def course_completed(course: str, when: str) -> Fact:
    return Fact(COURSE_COMPLETED, moment(when), course=course)


def proof_submitted(when: str, completed_on: str | None = None) -> Fact:
    proof = Proof("0" * 64, 2048, "proof.pdf", day(completed_on) if completed_on else None)
    return Fact(PROOF_SUBMITTED, moment(when), proof=proof)


def proof_reviewed(when: str, decision: str, reason: str | None = None) -> Fact:
    return Fact(PROOF_REVIEWED, moment(when), by=ADMIN, decision=decision, reason=reason)


def cycle_opened(cert: Certification, number: int, when: str) -> Fact:
    """A later cycle (recertification), with the certification's requirements as they are."""
    return Fact(CYCLE_OPENED, moment(when), cycle=number, requirements=rules.effective_requirements(cert))


def enrollment(cert: Certification, assigned_on: str, *facts: Fact, due: str | None = None) -> Enrollment:
    """An enrollment assigned at `assigned_on` (optionally with `assign --due`), followed by `facts`."""
    when = moment(assigned_on)
    assigned_due = day(due) if due else None
    first_cycle = Fact(
        CYCLE_OPENED,
        when,
        cycle=1,
        requirements=rules.effective_requirements(cert),
        due=rules.first_due(cert, when.date(), assigned_due),
    )
    return Enrollment(LEARNER, cert.id, [Fact(ASSIGNED, when, by=ADMIN, due=assigned_due), first_cycle, *facts])


def view_at(record: Enrollment, cert: Certification, when: str) -> rules.EnrollmentView:
    view = rules.evaluate(record, cert, moment(when))
    assert view is not None, f"no enrollment as of {when}"
    return view


TWO_COURSES = internal("a", "b")
YEARLY = internal("a", validity_months=12)
BADGE = external()
YEARLY_BADGE = external(validity_months=12)
BADGE_WITH_COURSE = external("a")


# ---------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("cert", "record", "now", "expected"),
    [
        pytest.param(TWO_COURSES, enrollment(TWO_COURSES, "2026-01-01"), "2026-01-05", "enrolled", id="enrolled"),
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01", started("2026-01-02")),
            "2026-01-05",
            "started",
            id="started-took-it-up",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01", course_started("b", "2026-01-02")),
            "2026-01-05",
            "started",
            id="started-a-course-in-progress",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01", course_completed("a", "2026-01-02")),
            "2026-01-05",
            "started",
            id="started-one-of-two-courses-done",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(
                TWO_COURSES, "2026-01-01", course_completed("a", "2026-01-02"), course_completed("b", "2026-01-03")
            ),
            "2026-01-05",
            "completed",
            id="completed-internal",
        ),
        pytest.param(
            BADGE,
            enrollment(BADGE, "2026-01-01", proof_submitted("2026-01-02")),
            "2026-01-05",
            "pending_approval",
            id="pending-approval",
        ),
        pytest.param(
            BADGE,
            enrollment(BADGE, "2026-01-01", proof_submitted("2026-01-02"), proof_reviewed("2026-01-03", "rejected")),
            "2026-01-05",
            "rejected",
            id="rejected",
        ),
        pytest.param(
            BADGE,
            enrollment(
                BADGE,
                "2026-01-01",
                proof_submitted("2026-01-02"),
                proof_reviewed("2026-01-03", "rejected", "blurry scan"),
                proof_submitted("2026-01-04"),
            ),
            "2026-01-05",
            "pending_approval",
            id="pending-again-after-new-upload",
        ),
        pytest.param(
            BADGE,
            enrollment(BADGE, "2026-01-01", proof_submitted("2026-01-02"), proof_reviewed("2026-01-03", "approved")),
            "2026-01-05",
            "completed",
            id="completed-external",
        ),
        pytest.param(
            YEARLY,
            enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10")),
            "2026-01-09",
            "completed",
            id="completed-recurring-still-valid",
        ),
        pytest.param(
            YEARLY,
            enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10")),
            "2026-03-01",
            "expired",
            id="expired-internal",
        ),
        pytest.param(
            YEARLY_BADGE,
            enrollment(
                YEARLY_BADGE, "2025-01-01", proof_submitted("2025-02-01"), proof_reviewed("2025-02-03", "approved")
            ),
            "2026-02-03",
            "expired",
            id="expired-external",
        ),
    ],
)
def test_status(cert: Certification, record: Enrollment, now: str, expected: str) -> None:
    assert view_at(record, cert, now).status == expected


@pytest.mark.parametrize(
    ("cert", "record", "now", "expected_status", "expected_overdue"),
    [
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01", due="2026-02-01"),
            "2026-02-02",
            "enrolled",
            True,
            id="enrolled-after-due-date",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01", started("2026-01-05"), due="2026-02-01"),
            "2026-02-01T23:59:59",
            "started",
            False,
            id="started-on-due-date",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01", due="2026-02-01"),
            "2026-01-20",
            "enrolled",
            False,
            id="before-due-date",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01"),
            "2030-01-01",
            "enrolled",
            False,
            id="no-due-date",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(
                TWO_COURSES,
                "2026-01-01",
                course_completed("a", "2026-02-03"),
                course_completed("b", "2026-02-04"),
                due="2026-02-01",
            ),
            "2026-02-10",
            "completed",
            False,
            id="completed-late-is-not-overdue",
        ),
        pytest.param(
            BADGE,
            enrollment(BADGE, "2026-01-01", proof_submitted("2026-01-20"), due="2026-02-01"),
            "2026-02-02",
            "pending_approval",
            True,
            id="pending-approval-after-due-date",
        ),
        pytest.param(
            BADGE,
            enrollment(
                BADGE,
                "2026-01-01",
                proof_submitted("2026-01-20"),
                proof_reviewed("2026-01-21", "rejected"),
                due="2026-02-01",
            ),
            "2026-02-02",
            "rejected",
            True,
            id="rejected-after-due-date",
        ),
        pytest.param(
            YEARLY,
            enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10")),
            "2026-01-11",
            "expired",
            True,
            id="expired-after-valid-until",
        ),
        pytest.param(
            YEARLY,
            enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10")),
            "2026-01-10T12:00:00",
            "expired",
            False,
            id="expired-on-valid-until",
        ),
    ],
)
def test_overdue(
    cert: Certification, record: Enrollment, now: str, expected_status: str, expected_overdue: bool
) -> None:
    view = view_at(record, cert, now)
    assert (view.status, view.overdue) == (expected_status, expected_overdue)


# ---------------------------------------------------------------- mandatory and optional courses


FOUR_TWO_MANDATORY = internal("intro", "safety", "extras", "exam", mandatory=("safety", "exam"))


def test_two_mandatory_of_four_complete_after_those_two() -> None:
    record = enrollment(
        FOUR_TWO_MANDATORY,
        "2026-01-01",
        course_completed("exam", "2026-01-03"),
        course_completed("safety", "2026-01-07"),
    )
    view = view_at(record, FOUR_TWO_MANDATORY, "2026-01-10")
    assert view.status == "completed"
    assert view.completed_on == day("2026-01-07")
    assert (view.courses_done, view.courses_required) == (2, 2)


def test_one_of_two_mandatory_done_is_still_started() -> None:
    record = enrollment(FOUR_TWO_MANDATORY, "2026-01-01", course_completed("exam", "2026-01-03"))
    view = view_at(record, FOUR_TWO_MANDATORY, "2026-01-10")
    assert view.status == "started"
    assert view.completed_on is None
    assert (view.courses_done, view.courses_required) == (1, 2)


def test_optional_courses_never_complete_a_certification_nor_count() -> None:
    record = enrollment(
        FOUR_TWO_MANDATORY,
        "2026-01-01",
        course_completed("intro", "2026-01-02"),
        course_completed("extras", "2026-01-03"),
    )
    view = view_at(record, FOUR_TWO_MANDATORY, "2026-01-10")
    assert view.status == "started"
    assert (view.courses_done, view.courses_required) == (0, 2)


def test_an_optional_course_finished_later_does_not_move_completed_on() -> None:
    record = enrollment(
        FOUR_TWO_MANDATORY,
        "2026-01-01",
        course_completed("safety", "2026-01-02"),
        course_completed("exam", "2026-01-03"),
        course_completed("extras", "2026-01-20"),
    )
    view = view_at(record, FOUR_TWO_MANDATORY, "2026-01-25")
    assert view.completed_on == day("2026-01-03")
    assert (view.courses_done, view.courses_required) == (2, 2)


def test_every_course_is_mandatory_when_none_is_marked() -> None:
    cert = internal("a", "b", "c")
    two_done = enrollment(cert, "2026-01-01", course_completed("a", "2026-01-02"), course_completed("b", "2026-01-03"))
    view = view_at(two_done, cert, "2026-01-10")
    assert (view.status, view.courses_done, view.courses_required) == ("started", 2, 3)
    two_done.facts.append(course_completed("c", "2026-01-04"))
    view = view_at(two_done, cert, "2026-01-10")
    assert (view.status, view.completed_on, view.courses_done) == ("completed", day("2026-01-04"), 3)


@pytest.mark.parametrize(
    ("refs", "expected_mandatory"),
    [
        pytest.param((CourseRef("a"), CourseRef("b")), ("a", "b"), id="none-marked-means-all"),
        pytest.param((CourseRef("a"), CourseRef("b", True), CourseRef("c")), ("b",), id="marked-ones-only"),
        pytest.param((CourseRef("a", True), CourseRef("b", True)), ("a", "b"), id="all-marked"),
        pytest.param((), (), id="external-without-courses"),
    ],
)
def test_effective_requirements(refs: tuple[CourseRef, ...], expected_mandatory: tuple[str, ...]) -> None:
    cert = Certification(id="c", title="C", kind="external", courses=refs, ordered=True)
    requirements = rules.effective_requirements(cert)
    assert requirements.mandatory_ids == expected_mandatory
    assert [ref.id for ref in requirements.courses] == [ref.id for ref in refs]
    assert requirements.ordered is True


# ---------------------------------------------------------------- validity dates


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param("2025-01-31", 1, "2025-02-28", id="jan31+1-common-year"),
        pytest.param("2024-01-31", 1, "2024-02-29", id="jan31+1-leap-year"),
        pytest.param("2024-02-29", 12, "2025-02-28", id="leap-day+12"),
        pytest.param("2024-02-29", 48, "2028-02-29", id="leap-day+48-lands-on-leap-day"),
        pytest.param("2025-03-31", 1, "2025-04-30", id="mar31+1"),
        pytest.param("2025-08-31", 6, "2026-02-28", id="aug31+6-crosses-year"),
        pytest.param("2025-12-31", 2, "2026-02-28", id="dec31+2-crosses-year"),
        pytest.param("2023-12-31", 2, "2024-02-29", id="dec31+2-into-leap-year"),
        pytest.param("2025-12-15", 1, "2026-01-15", id="dec+1-crosses-year"),
        pytest.param("2025-01-15", 12, "2026-01-15", id="plain+12"),
        pytest.param("2025-01-15", 25, "2027-02-15", id="plain+25"),
        pytest.param("2025-01-31", 0, "2025-01-31", id="plus-zero-is-same-day"),
    ],
)
def test_add_months(start: str, months: int, expected: str) -> None:
    assert rules.add_months(day(start), months) == day(expected)


@pytest.mark.parametrize(
    ("validity_months", "completed_at", "expected_valid_until"),
    [
        pytest.param(1, "2025-01-31", "2025-02-28", id="jan31+1-common-year"),
        pytest.param(1, "2024-01-31", "2024-02-29", id="jan31+1-leap-year"),
        pytest.param(12, "2024-02-29", "2025-02-28", id="leap-day+12"),
        pytest.param(1, "2025-03-31", "2025-04-30", id="mar31+1"),
        pytest.param(2, "2025-12-31", "2026-02-28", id="dec31+2-crosses-year"),
    ],
)
def test_valid_until_counts_from_completed_on(
    validity_months: int, completed_at: str, expected_valid_until: str
) -> None:
    cert = internal("a", validity_months=validity_months)
    record = enrollment(cert, "2023-06-01", course_completed("a", f"{completed_at}T16:30:00"))
    view = view_at(record, cert, f"{completed_at}T18:00:00")
    assert view.status == "completed"
    assert view.completed_on == day(completed_at)
    assert view.valid_until == day(expected_valid_until)


# ---------------------------------------------------------------- the calendar's edges (0001-01-01 to 9999-12-31)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param("9999-11-30", 1, "9999-12-30", id="last-month-still-fits"),
        pytest.param("9999-12-31", 1, "9999-12-31", id="past-the-end-is-the-last-day"),
        pytest.param("9999-06-15", 120, "9999-12-31", id="ten-years-past-the-end"),
        pytest.param("2026-01-01", 10**6, "9999-12-31", id="a-million-months"),
        pytest.param("0001-03-31", -2, "0001-01-31", id="back-within-year-1"),
        pytest.param("0001-01-31", -1, "0001-01-01", id="before-the-start-is-the-first-day"),
        pytest.param("2026-01-01", -(10**6), "0001-01-01", id="a-million-months-back"),
    ],
)
def test_add_months_is_held_within_the_calendar(start: str, months: int, expected: str) -> None:
    assert rules.add_months(day(start), months) == day(expected)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        pytest.param("9999-12-30", 1, "9999-12-31", id="last-day-still-fits"),
        pytest.param("9999-12-31", 1, "9999-12-31", id="past-the-end"),
        pytest.param("9999-12-31", 10**9, "9999-12-31", id="far-past-the-end"),
        pytest.param("0001-01-02", -1, "0001-01-01", id="first-day-still-fits"),
        pytest.param("0001-01-01", -30, "0001-01-01", id="before-the-start"),
    ],
)
def test_add_days_is_held_within_the_calendar(start: str, days: int, expected: str) -> None:
    assert rules.add_days(day(start), days) == day(expected)


@pytest.mark.parametrize(
    ("today", "count", "first", "last"),
    [
        pytest.param("2026-11-28", 12, "2026-11-01", "2027-10-01", id="a-year-ahead"),
        pytest.param("0001-01-01", 12, "0001-01-01", "0001-12-01", id="the-first-year"),
        pytest.param("9999-01-31", 12, "9999-01-01", "9999-12-01", id="the-last-year-whole"),
        pytest.param("9999-02-01", 11, "9999-02-01", "9999-12-01", id="the-last-year-from-february"),
        pytest.param("9999-12-31", 1, "9999-12-01", "9999-12-01", id="the-last-day"),
    ],
)
def test_month_starts_stop_at_the_calendars_last_month(today: str, count: int, first: str, last: str) -> None:
    starts = rules.month_starts(day(today), 12)
    assert (len(starts), starts[0], starts[-1]) == (count, day(first), day(last))
    assert all(start.day == 1 for start in starts) and starts == sorted(set(starts))


@pytest.mark.parametrize(
    ("cert", "assigned", "facts", "now", "expected"),
    [
        pytest.param(
            internal("a", validity_months=12), "9999-01-01", [course_completed("a", "9999-06-15")], "9999-12-30",
            {"status": "completed", "valid_until": day("9999-12-31")}, id="validity-past-the-end-ends-on-its-last-day",
        ),
        pytest.param(
            internal("a", validity_months=12), "9999-01-01", [course_completed("a", "9999-06-15")],
            "9999-12-31T23:59:59", {"status": "expired", "valid_until": day("9999-12-31")},
            id="and-expires-on-it",
        ),
        pytest.param(
            internal("a", deadline_days=60), "9999-12-01", [], "9999-12-31T23:59:59",
            {"status": "enrolled", "due": day("9999-12-31"), "overdue": False}, id="deadline-past-the-end",
        ),
        pytest.param(
            internal("a", validity_months=1, renewal_window_days=400), "0001-01-01",
            [course_completed("a", "0001-01-10")], "0001-01-10",
            {"status": "completed", "valid_until": day("0001-02-10"), "renewal_open": True},
            id="renewal-window-before-the-start",
        ),
        pytest.param(
            internal("a", validity_months=1), "0001-01-01", [], "0001-01-01",
            {"status": "enrolled", "due": None, "enrolled_on": day("0001-01-01")}, id="enrolled-on-the-first-day",
        ),
    ],
)  # fmt: skip
def test_the_rules_hold_at_the_calendars_edges(
    cert: Certification, assigned: str, facts: list[Fact], now: str, expected: dict[str, Any]
) -> None:
    view = view_at(enrollment(cert, assigned, *facts), cert, now)
    assert {name: getattr(view, name) for name in expected} == expected


def test_a_validity_held_at_the_calendars_last_day_says_so() -> None:
    cert = internal("a", validity_months=12)
    view = view_at(enrollment(cert, "9999-01-01", course_completed("a", "9999-06-15")), cert, "9999-07-01")
    assert any("valid until 9999-12-31 (held at the calendar's last day)" in reason for reason in view.reasons)


@pytest.mark.parametrize(
    ("cert", "facts", "today", "expected"),
    [
        pytest.param(
            internal("a", validity_months=12), [course_completed("a", "9999-11-30T12:00:00")], "9999-12-01",
            ("expiry", 30, day("9999-12-31")), id="expiry-reminder-before-the-last-day",
        ),
        pytest.param(
            internal("a", deadline_days=60), [], "9999-12-30", ("due", 1, day("9999-12-31")),
            id="due-reminder-on-the-eve-of-the-last-day",
        ),
        pytest.param(
            internal("a", deadline_days=1), [], "9999-12-31", ("overdue", 29, day("9999-12-01")),
            id="overdue-on-the-last-day",
        ),
    ],
)  # fmt: skip
def test_reminders_fall_within_the_calendar(
    cert: Certification, facts: list[Fact], today: str, expected: tuple[str, int, date]
) -> None:
    record = enrollment(cert, "9999-11-30", *facts)
    view = view_at(record, cert, today)
    due = rules.reminder_due(view, rules.ReminderSchedule(before_due=(14, 7, 1)), day(today))
    assert due is not None and (due.kind, due.threshold, due.on) == expected


def test_perpetual_certification_has_no_valid_until() -> None:
    record = enrollment(
        TWO_COURSES, "2020-01-01", course_completed("a", "2020-01-02"), course_completed("b", "2020-01-03")
    )
    view = view_at(record, TWO_COURSES, "2040-01-01")
    assert (view.status, view.valid_until) == ("completed", None)


def test_renew_from_enrollment_counts_from_the_enrolment_date() -> None:
    cert = internal("a", validity_months=12, renew_from="enrollment")
    record = enrollment(cert, "2026-01-10", course_completed("a", "2026-03-20"))
    view = view_at(record, cert, "2026-04-01")
    assert view.completed_on == day("2026-03-20")
    assert view.valid_until == day("2027-01-10")


def test_renew_from_enrollment_counts_a_later_cycle_from_its_opening() -> None:
    cert = internal("a", validity_months=12, renew_from="enrollment")
    record = enrollment(
        cert,
        "2026-01-10",
        course_completed("a", "2026-03-20"),
        cycle_opened(cert, 2, "2027-01-15"),
        course_completed("a", "2027-02-01"),
    )
    view = view_at(record, cert, "2027-03-01")
    assert (view.cycle, view.status) == (2, "completed")
    assert view.valid_until == day("2028-01-15")


# ---------------------------------------------------------------- time boundaries


def test_status_at_valid_until_is_expired_and_a_second_before_completed() -> None:
    record = enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10"))
    assert view_at(record, YEARLY, "2026-01-09T23:59:59").status == "completed"
    assert view_at(record, YEARLY, "2026-01-10T00:00:00").status == "expired"


def test_overdue_starts_the_day_after_the_due_date() -> None:
    record = enrollment(TWO_COURSES, "2026-01-01", due="2026-02-01")
    assert view_at(record, TWO_COURSES, "2026-02-01T23:59:59").overdue is False
    assert view_at(record, TWO_COURSES, "2026-02-02T00:00:00").overdue is True


@pytest.mark.parametrize(
    ("now", "expected_status", "expected_done"),
    [
        pytest.param("2026-01-03", "enrolled", 0, id="before-start"),
        pytest.param("2026-01-07", "started", 0, id="after-start"),
        pytest.param("2026-01-15", "started", 1, id="after-first-course"),
        pytest.param("2026-01-20T09:59:59", "started", 1, id="a-second-before-last-course"),
        pytest.param("2026-01-20T10:00:00", "completed", 2, id="at-last-course"),
    ],
)
def test_facts_stamped_after_now_are_ignored(now: str, expected_status: str, expected_done: int) -> None:
    record = enrollment(
        TWO_COURSES,
        "2026-01-01",
        started("2026-01-05"),
        course_completed("a", "2026-01-10"),
        course_completed("b", "2026-01-20T10:00:00"),
    )
    view = view_at(record, TWO_COURSES, now)
    assert (view.status, view.courses_done) == (expected_status, expected_done)


def test_a_review_stamped_after_now_is_ignored() -> None:
    record = enrollment(BADGE, "2026-01-01", proof_submitted("2026-01-02"), proof_reviewed("2026-01-09", "approved"))
    assert view_at(record, BADGE, "2026-01-08").status == "pending_approval"
    assert view_at(record, BADGE, "2026-01-09").status == "completed"


def test_evaluating_before_the_assignment_gives_none() -> None:
    record = enrollment(TWO_COURSES, "2026-01-01T08:00:00")
    assert rules.evaluate(record, TWO_COURSES, moment("2026-01-01T07:59:59")) is None
    assert rules.evaluate(record, TWO_COURSES, moment("2026-01-01T08:00:00")) is not None


def test_an_expired_cycle_answers_for_times_before_the_next_cycle_opened() -> None:
    record = enrollment(
        YEARLY, "2025-01-01", course_completed("a", "2025-01-10"), cycle_opened(YEARLY, 2, "2026-02-01")
    )
    earlier = view_at(record, YEARLY, "2026-01-20")
    assert (earlier.cycle, earlier.status) == (1, "expired")
    later = view_at(record, YEARLY, "2026-02-01")
    assert (later.cycle, later.status, later.courses_done) == (2, "enrolled", 0)


# ---------------------------------------------------------------- due dates


@pytest.mark.parametrize(
    ("deadline_days", "assigned_due", "expected"),
    [
        pytest.param(None, "2026-03-01", "2026-03-01", id="assign-due"),
        pytest.param(30, "2026-03-01", "2026-03-01", id="assign-due-wins-over-deadline-days"),
        pytest.param(30, None, "2026-02-14", id="deadline-days"),
        pytest.param(None, None, None, id="neither"),
    ],
)
def test_first_due(deadline_days: int | None, assigned_due: str | None, expected: str | None) -> None:
    cert = internal("a", deadline_days=deadline_days)
    due = rules.first_due(cert, day("2026-01-15"), day(assigned_due) if assigned_due else None)
    assert due == (day(expected) if expected else None)


def test_deadline_days_cross_the_year_end() -> None:
    cert = internal("a", deadline_days=20)
    assert rules.first_due(cert, day("2025-12-20"), None) == day("2026-01-09")


@pytest.mark.parametrize(
    ("cert", "assigned_due", "expected"),
    [
        pytest.param(internal("a"), "2026-03-01", "2026-03-01", id="assign-due"),
        pytest.param(internal("a", deadline_days=30), None, "2026-02-14", id="deadline-days"),
        pytest.param(internal("a"), None, None, id="neither"),
    ],
)
def test_first_cycle_due_through_evaluate(cert: Certification, assigned_due: str | None, expected: str | None) -> None:
    view = view_at(enrollment(cert, "2026-01-15T11:00:00", due=assigned_due), cert, "2026-01-20")
    assert view.due == (day(expected) if expected else None)


def test_a_later_cycle_is_due_at_the_previous_valid_until() -> None:
    record = enrollment(
        YEARLY,
        "2025-01-01",
        course_completed("a", "2025-01-10"),
        cycle_opened(YEARLY, 2, "2026-02-01"),
        due="2025-01-31",
    )
    view = view_at(record, YEARLY, "2026-02-05")
    assert view.cycle == 2
    assert view.due == day("2026-01-10")
    assert view.overdue is True


def test_a_completed_cycle_has_no_due_date() -> None:
    record = enrollment(TWO_COURSES, "2026-01-01", course_completed("a", "2026-01-02"), due="2026-03-01")
    assert view_at(record, TWO_COURSES, "2026-01-05").due == day("2026-03-01")
    record.facts.append(course_completed("b", "2026-01-03"))
    assert view_at(record, TWO_COURSES, "2026-01-05").due is None


def test_an_expired_enrollment_is_due_at_its_valid_until() -> None:
    record = enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10"), due="2025-02-01")
    view = view_at(record, YEARLY, "2026-06-01")
    assert (view.status, view.due, view.overdue) == ("expired", day("2026-01-10"), True)


def test_a_new_cycle_resets_progress_and_completes_on_its_own() -> None:
    record = enrollment(
        YEARLY,
        "2025-01-01",
        course_completed("a", "2025-01-10"),
        cycle_opened(YEARLY, 2, "2026-02-01"),
        course_completed("a", "2026-02-03"),
    )
    view = view_at(record, YEARLY, "2026-02-05")
    assert (view.cycle, view.status, view.due) == (2, "completed", None)
    assert (view.completed_on, view.valid_until) == (day("2026-02-03"), day("2027-02-03"))


# ---------------------------------------------------------------- external certifications


@pytest.mark.parametrize(
    ("completion_date", "expected_completed_on", "expected_valid_until"),
    [
        pytest.param("approval", "2026-01-12", "2027-01-12", id="approval-date"),
        pytest.param("submitted", "2026-01-05", "2027-01-05", id="date-given-on-upload"),
    ],
)
def test_external_completion_date(completion_date: str, expected_completed_on: str, expected_valid_until: str) -> None:
    cert = external(validity_months=12, completion_date=completion_date)
    record = enrollment(
        cert,
        "2026-01-01",
        proof_submitted("2026-01-10", completed_on="2026-01-05"),
        proof_reviewed("2026-01-12", "approved"),
    )
    view = view_at(record, cert, "2026-02-01")
    assert view.status == "completed"
    assert view.completed_on == day(expected_completed_on)
    assert view.valid_until == day(expected_valid_until)


def test_external_approval_needs_the_mandatory_courses_done() -> None:
    record = enrollment(
        BADGE_WITH_COURSE, "2026-01-01", proof_submitted("2026-01-10"), proof_reviewed("2026-01-12", "approved")
    )
    view = view_at(record, BADGE_WITH_COURSE, "2026-01-15")
    assert view.status != "completed"
    assert view.completed_on is None
    assert (view.courses_done, view.courses_required) == (0, 1)


def test_external_with_courses_done_completes_on_approval() -> None:
    record = enrollment(
        BADGE_WITH_COURSE,
        "2026-01-01",
        course_completed("a", "2026-01-05"),
        proof_submitted("2026-01-10"),
        proof_reviewed("2026-01-12", "approved"),
    )
    view = view_at(record, BADGE_WITH_COURSE, "2026-01-15")
    assert (view.status, view.completed_on) == ("completed", day("2026-01-12"))
    assert (view.courses_done, view.courses_required) == (1, 1)


def test_external_without_courses_requires_none() -> None:
    view = view_at(enrollment(BADGE, "2026-01-01"), BADGE, "2026-01-02")
    assert (view.courses_done, view.courses_required, view.queue, view.next_course) == (0, 0, [], None)


# ---------------------------------------------------------------- the player queue


# Four mandatory courses and two optional ones, interleaved.
PLAYER = internal("m1", "o1", "m2", "m3", "o2", "m4", mandatory=("m1", "m2", "m3", "m4"))


@pytest.mark.parametrize(
    ("facts", "expected_queue"),
    [
        pytest.param((), ["m1", "m2", "m3", "m4", "o1", "o2"], id="nothing-started"),
        pytest.param((started("2026-01-02"),), ["m1", "m2", "m3", "m4", "o1", "o2"], id="started-no-course"),
        pytest.param(
            (course_started("m3", "2026-01-02"),),
            ["m3", "m1", "m2", "m4", "o1", "o2"],
            id="one-in-progress-goes-first",
        ),
        pytest.param(
            (course_started("m3", "2026-01-02"), course_started("m2", "2026-01-03")),
            ["m2", "m3", "m1", "m4", "o1", "o2"],
            id="most-recently-started-first",
        ),
        pytest.param(
            (
                course_started("m2", "2026-01-02"),
                course_started("m4", "2026-01-03"),
                course_started("m2", "2026-01-04"),
            ),
            ["m2", "m4", "m1", "m3", "o1", "o2"],
            id="returning-to-a-course-touches-it",
        ),
        pytest.param(
            (course_started("m2", "2026-01-02"), course_completed("m1", "2026-01-03")),
            ["m2", "m3", "m4", "o1", "o2"],
            id="completed-course-leaves-the-queue",
        ),
        pytest.param(
            (course_started("o2", "2026-01-02"),),
            ["m1", "m2", "m3", "m4", "o1", "o2"],
            id="optional-in-progress-stays-in-list-order-after-mandatory",
        ),
        pytest.param(
            (course_completed("o1", "2026-01-02"), course_started("m4", "2026-01-03")),
            ["m4", "m1", "m2", "m3", "o2"],
            id="completed-optional-leaves-the-queue",
        ),
    ],
)
def test_player_queue_order(facts: tuple[Fact, ...], expected_queue: list[str]) -> None:
    view = view_at(enrollment(PLAYER, "2026-01-01", *facts), PLAYER, "2026-01-10")
    assert view.queue == expected_queue
    assert view.next_course == expected_queue[0]


def test_queue_is_empty_when_completed_even_with_optional_courses_left() -> None:
    facts = [course_completed(course, "2026-01-02") for course in ("m1", "m2", "m3", "m4")]
    view = view_at(enrollment(PLAYER, "2026-01-01", *facts), PLAYER, "2026-01-10")
    assert (view.status, view.queue, view.next_course) == ("completed", [], None)


def test_queue_is_empty_while_pending_approval() -> None:
    cert = external("a", "extra", mandatory=("a",))
    record = enrollment(cert, "2026-01-01", course_completed("a", "2026-01-02"), proof_submitted("2026-01-03"))
    view = view_at(record, cert, "2026-01-10")
    assert (view.status, view.queue, view.next_course) == ("pending_approval", [], None)


def test_queue_offers_the_pending_courses_again_after_rejection() -> None:
    cert = external("a", "extra", mandatory=("a",))
    record = enrollment(
        cert,
        "2026-01-01",
        course_completed("a", "2026-01-02"),
        proof_submitted("2026-01-03"),
        proof_reviewed("2026-01-04", "rejected", "wrong file"),
    )
    view = view_at(record, cert, "2026-01-10")
    assert (view.status, view.queue, view.next_course) == ("rejected", ["extra"], "extra")


# ---------------------------------------------------------------- ordered sequencing


ORDERED = Requirements(
    courses=(CourseRef("a", True), CourseRef("opt", False), CourseRef("b", True), CourseRef("c", True)),
    ordered=True,
)


@pytest.mark.parametrize(
    ("statuses", "course", "expected_blocker"),
    [
        pytest.param({}, "a", None, id="first-course-is-free"),
        pytest.param({}, "b", "a", id="second-blocked-by-first"),
        pytest.param({}, "c", "a", id="third-blocked-by-first-unfinished"),
        pytest.param({"a": "completed"}, "c", "b", id="third-blocked-by-second"),
        pytest.param({"a": "completed", "b": "in_progress"}, "c", "b", id="in-progress-still-blocks"),
        pytest.param({"a": "completed", "b": "completed"}, "c", None, id="all-ahead-done"),
        pytest.param({"a": "completed"}, "b", None, id="optional-ahead-does-not-block"),
        pytest.param({}, "opt", None, id="optional-course-is-never-blocked"),
        pytest.param({}, "elsewhere", None, id="course-not-in-certification"),
    ],
)
def test_blocking_course_when_ordered(statuses: dict[str, str], course: str, expected_blocker: str | None) -> None:
    assert rules.blocking_course(ORDERED, statuses, course) == expected_blocker


def test_nothing_blocks_when_not_ordered() -> None:
    unordered = ORDERED._replace(ordered=False)
    assert rules.blocking_course(unordered, {}, "c") is None


# ---------------------------------------------------------------- requirements snapshot


def test_a_cycle_keeps_the_requirements_it_began_with() -> None:
    before = internal("a", "b")
    record = enrollment(before, "2026-01-01", course_completed("a", "2026-01-02"), course_completed("b", "2026-01-03"))
    after = before._replace(courses=(CourseRef("a"), CourseRef("b"), CourseRef("new")))
    view = view_at(record, after, "2026-01-10")
    assert (view.status, view.courses_done, view.courses_required) == ("completed", 2, 2)
    assert [course.id for course in view.courses] == ["a", "b"]


def test_a_course_dropped_from_the_certification_is_still_required_by_the_open_cycle() -> None:
    before = internal("a", "b")
    record = enrollment(before, "2026-01-01", course_completed("a", "2026-01-02"))
    after = before._replace(courses=(CourseRef("a"),))
    view = view_at(record, after, "2026-01-10")
    assert (view.status, view.courses_done, view.courses_required, view.queue) == ("started", 1, 2, ["b"])


# ---------------------------------------------------------------- sort orders


def item(
    item_id: str,
    status: str = "started",
    *,
    due: str | None = None,
    published: str | None = "2025-01-01",
    overdue: bool = False,
    title: str | None = None,
) -> rules.SortableItem:
    return rules.SortableItem(
        id=item_id,
        title=title if title is not None else item_id,
        published=day(published) if published else None,
        status=status,
        overdue=overdue,
        due=day(due) if due else None,
    )


@pytest.mark.parametrize(
    ("key", "items", "expected_ids"),
    [
        pytest.param(
            "relevance",
            [
                item("done", "completed"),
                item("waiting", "pending_approval"),
                item("new", "enrolled"),
                item("going", "started"),
                item("refused", "rejected"),
                item("lapsed", "expired", due="2026-03-01"),
                item("late", "started", due="2026-01-01", overdue=True),
            ],
            ["late", "lapsed", "refused", "going", "new", "waiting", "done"],
            id="relevance-groups",
        ),
        pytest.param(
            "relevance",
            [
                item("lapsed", "expired", due="2026-03-01"),
                item("refused", "rejected", due="2026-02-01"),
                item("going", "started", due="2026-01-01"),
            ],
            ["refused", "lapsed", "going"],
            id="relevance-expired-and-rejected-share-a-group",
        ),
        pytest.param(
            "relevance",
            [
                item("waiting", "pending_approval", due="2026-02-01", overdue=True),
                item("lapsed", "expired", due="2026-01-20", overdue=True),
                item("going", "started", due="2026-01-15", overdue=True),
                item("refused", "rejected", due="2026-03-01"),
            ],
            ["going", "lapsed", "waiting", "refused"],
            id="relevance-overdue-first-whatever-the-status",
        ),
        pytest.param(
            "relevance",
            [item("later", due="2026-03-01"), item("none"), item("sooner", due="2026-02-01")],
            ["sooner", "later", "none"],
            id="relevance-due-soonest-none-last",
        ),
        pytest.param(
            "relevance",
            [
                item("old", due="2026-03-01", published="2024-01-01"),
                item("new", due="2026-03-01", published="2026-01-01"),
                item("mid", due="2026-03-01", published="2025-01-01"),
            ],
            ["new", "mid", "old"],
            id="relevance-then-published-newest",
        ),
        pytest.param(
            "relevance",
            [item("x", title="Beta"), item("y", title="gamma"), item("z", title="alpha")],
            ["z", "x", "y"],
            id="relevance-then-title-case-insensitive",
        ),
        pytest.param(
            "published",
            [
                item("old", "started", published="2024-05-01", overdue=True, due="2026-01-01"),
                item("new", "completed", published="2026-01-01"),
                item("mid", "enrolled", published="2025-03-03"),
            ],
            ["new", "mid", "old"],
            id="published-newest-first",
        ),
        pytest.param(
            "name",
            [
                item("1", title="banana"),
                item("2", title="Apple"),
                item("3", "completed", title="cherry"),
                item("4", title="apple pie", overdue=True, due="2026-01-01"),
                item("5", title="Beta"),
            ],
            ["2", "4", "1", "5", "3"],
            id="name-a-to-z-case-insensitive",
        ),
        pytest.param(
            "due",
            [
                item("later", "enrolled", due="2026-03-01"),
                item("none", "started", overdue=False),
                item("sooner", "completed", due="2026-01-15"),
                item("overdue-later", "started", due="2026-02-01", overdue=True),
            ],
            ["sooner", "overdue-later", "later", "none"],
            id="due-soonest-first-none-last",
        ),
    ],
)
def test_sort_orders(key: str, items: list[rules.SortableItem], expected_ids: list[str]) -> None:
    assert [entry.id for entry in rules.sort_items(items, key)] == expected_ids


def test_unknown_sort_key_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sort key"):
        rules.sort_key("size", item("a"))


def test_month_lengths_agree_with_the_standard_calendar_for_every_month_of_four_centuries() -> None:
    import calendar

    for year in range(1600, 2401):
        for month in range(1, 13):
            assert rules.days_in_month(year, month) == calendar.monthrange(year, month)[1], (year, month)


# ---------------------------------------------------------------- the next step (`list`'s NEXT)

RENEWABLE = internal("a", validity_months=12, renewal_window_days=30)


@pytest.mark.parametrize(
    ("cert", "record", "now", "expected"),
    [
        pytest.param(TWO_COURSES, enrollment(TWO_COURSES, "2026-01-01"), "2026-01-05", "course", id="enrolled"),
        pytest.param(
            TWO_COURSES,
            enrollment(TWO_COURSES, "2026-01-01", course_completed("a", "2026-01-02")),
            "2026-01-05",
            "course",
            id="started",
        ),
        pytest.param(
            TWO_COURSES,
            enrollment(
                TWO_COURSES, "2026-01-01", course_completed("a", "2026-01-02"), course_completed("b", "2026-01-03")
            ),
            "2026-01-05",
            None,
            id="completed-perpetual",
        ),
        pytest.param(BADGE_WITH_COURSE, enrollment(BADGE_WITH_COURSE, "2026-01-01"), "2026-01-05", "course",
                     id="external-enrolled-its-mandatory-course-first"),  # fmt: skip
        pytest.param(
            BADGE_WITH_COURSE,
            enrollment(BADGE_WITH_COURSE, "2026-01-01", course_completed("a", "2026-01-02")),
            "2026-01-05",
            "upload-proof",
            id="external-its-mandatory-course-done",
        ),
        pytest.param(
            BADGE,
            enrollment(BADGE, "2026-01-01", proof_submitted("2026-01-02")),
            "2026-01-05",
            "review",
            id="pending-approval",
        ),
        pytest.param(
            BADGE,
            enrollment(BADGE, "2026-01-01", proof_submitted("2026-01-02"), proof_reviewed("2026-01-03", "rejected")),
            "2026-01-05",
            "upload-proof",
            id="rejected",
        ),
        pytest.param(
            YEARLY,
            enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10")),
            "2026-01-10",
            "start",
            id="expired-at-midnight-of-valid-until",
        ),
        pytest.param(
            YEARLY,
            enrollment(YEARLY, "2025-01-01", course_completed("a", "2025-01-10")),
            "2026-01-09T23:59:59",
            None,
            id="completed-a-second-before-it-ends",
        ),
        pytest.param(
            RENEWABLE,
            enrollment(RENEWABLE, "2025-01-01", course_completed("a", "2025-01-10")),
            "2025-12-11",
            "start",
            id="renewal-window-open",
        ),
        pytest.param(
            RENEWABLE,
            enrollment(RENEWABLE, "2025-01-01", course_completed("a", "2025-01-10")),
            "2025-12-10",
            None,
            id="renewal-window-not-open-yet",
        ),
        pytest.param(
            RENEWABLE,
            enrollment(
                RENEWABLE, "2025-01-01", course_completed("a", "2025-01-10"), cycle_opened(RENEWABLE, 2, "2025-12-20")
            ),
            "2025-12-21",
            "course",
            id="renewing-while-the-last-completion-holds",
        ),
        pytest.param(
            YEARLY,
            enrollment(
                YEARLY,
                "2025-01-01",
                course_completed("a", "2025-01-10"),
                Fact(REVOKED, moment("2025-03-01"), by=ADMIN, reason="forged", cycle=1),
            ),
            "2025-03-02",
            "start",
            id="revoked",
        ),
    ],
)
def test_next_step(cert: Certification, record: Enrollment, now: str, expected: str | None) -> None:
    assert rules.next_step(view_at(record, cert, now), cert) == expected


# ---------------------------------------------------------------- a completion known by its day


@pytest.mark.parametrize(
    ("completed_on", "enrolled", "recorded"),
    [
        ("2026-12-07", "2026-12-07T09:30:00", "2026-12-07T09:30:00"),  # the day of enrolment: from enrolment
        ("2026-12-07", "2026-12-07T00:00:00", "2026-12-07T00:00:00"),  # enrolled at midnight: the same moment
        ("2026-12-08", "2026-12-07T23:59:59", "2026-12-08T00:00:00"),  # the next day: its start
        ("2026-12-06", "2026-12-07T09:30:00", "2026-12-06T00:00:00"),  # before enrolment: left as it is
        ("2024-02-29", "2024-02-29T18:00:00", "2024-02-29T18:00:00"),  # a leap day
        ("2026-12-31", "2026-12-31T23:59:59", "2026-12-31T23:59:59"),  # a year's last second
    ],
)
def test_a_completion_known_by_its_day_counts_from_the_day_or_the_enrolment(
    completed_on: str, enrolled: str, recorded: str
) -> None:
    assert rules.dated_completion_at(day(completed_on), moment(enrolled)) == moment(recorded)


# ---------------------------------------------------------------- who may be enrolled, who holds a login


def test_only_an_active_user_may_be_enrolled() -> None:
    from certcli.model import User

    assert rules.enrolment_refusal(User("ann", "Ann")) is None
    assert rules.enrolment_refusal(User("ann", "Ann", active=False)) == "ann is deactivated"


@pytest.mark.parametrize(
    ("user", "others", "clash"),
    [
        (("asmith", None), [("ana", "asmith")], "'asmith' is the login name of user ana"),
        (("zed", "ana"), [("ana", None)], "login name 'ana' already names user ana"),
        (("zed", "asmith"), [("ana", "asmith")], "login name 'asmith' already names user ana"),
        (("ana", "ana"), [("ana", None)], None),  # one's own id as one's login
        (("zed", None), [("ana", "asmith")], None),
        (("zed", "zsmith"), [("ana", "asmith"), ("ben", None)], None),
    ],
)
def test_an_id_or_login_names_one_user(
    user: tuple[str, str | None], others: list[tuple[str, str | None]], clash: str | None
) -> None:
    from certcli.model import User

    def made(pair: tuple[str, str | None]) -> User:
        return User(pair[0], pair[0].title(), login=pair[1])

    assert rules.identity_clash(made(user), [made(other) for other in others]) == clash
