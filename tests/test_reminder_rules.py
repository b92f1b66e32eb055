"""Which reminder an enrollment calls for, and when one counts as sent: the rules alone, no store, no mail.

Tables of days around month ends, leap days and midnight: `--now` 23:59:59 is still the day before.
"""

from __future__ import annotations

from datetime import date

import pytest
from test_rules import course_completed, cycle_opened, day, enrollment, internal, moment, proof_submitted

from certcli import rules
from certcli.model import REMINDED, Fact, ReminderSchedule

SCHEDULE = ReminderSchedule(before_due=(14, 7, 1), before_expiry=(30, 7), overdue_every=7)


# ---------------------------------------------------------------- the arithmetic


@pytest.mark.parametrize(
    ("on", "today", "expected"),
    [
        ("2026-12-15", "2026-11-30", None),  # 15 days before: no threshold reached yet
        ("2026-12-15", "2026-12-01", 14),  # exactly 14 days before
        ("2026-12-15", "2026-12-07", 14),  # 8 days before: still the 14-day reminder
        ("2026-12-15", "2026-12-08", 7),
        ("2026-12-15", "2026-12-14", 1),
        ("2026-12-15", "2026-12-15", 1),  # on the day itself: the nearest, 1
        ("2026-12-15", "2026-12-16", None),  # past: overdue, not "before"
        ("2026-03-01", "2026-02-15", 14),  # across February's end (28 days in 2026)
        ("2026-03-01", "2026-02-22", 7),
        ("2028-03-01", "2028-02-16", 14),  # a leap year: 29 February counts
        ("2028-03-01", "2028-02-23", 7),
        ("2028-03-01", "2028-02-22", 14),  # 8 days before, counting 29 February
        ("2028-03-01", "2028-02-21", 14),
        ("2027-01-01", "2026-12-31", 1),  # across the year's end
    ],
)
def test_the_nearest_threshold_reached_before_a_date(on: str, today: str, expected: int | None) -> None:
    assert rules.nearest_threshold_before(day(on), (14, 7, 1), day(today)) == expected


def test_thresholds_passed_while_nobody_ran_collapse_into_the_nearest() -> None:
    assert rules.nearest_threshold_before(day("2026-12-15"), (14, 7, 1), day("2026-12-14")) == 1
    assert rules.nearest_threshold_before(day("2026-12-15"), (), day("2026-12-14")) is None
    assert rules.nearest_threshold_before(day("2026-12-15"), (0,), day("2026-12-15")) == 0


@pytest.mark.parametrize(
    ("due", "every", "today", "expected"),
    [
        ("2026-11-30", 7, "2026-11-30", None),  # the due date itself is not overdue
        ("2026-11-30", 7, "2026-12-01", 1),
        ("2026-11-30", 7, "2026-12-07", 1),
        ("2026-11-30", 7, "2026-12-08", 8),
        ("2026-11-30", 7, "2026-12-15", 15),
        ("2026-11-30", 7, "2027-11-30", 365),  # a long gap: only the latest
        ("2026-11-30", 1, "2026-12-03", 3),
        ("2026-11-30", 0, "2026-12-08", None),  # 0 turns overdue reminders off
        ("2028-02-28", 7, "2028-03-07", 8),  # 29 February 2028 is one of the days
        ("2026-02-28", 7, "2026-03-07", 7 + 1 - 7),  # 2026 has none: 7 days late, the 1st reminder still
    ],
)
def test_overdue_reminders_fall_every_n_days_from_the_first_late_day(
    due: str, every: int, today: str, expected: int | None
) -> None:
    assert rules.overdue_threshold(day(due), every, day(today)) == expected


# ---------------------------------------------------------------- an enrollment's reminder


def due_at(text: str, *facts: Fact, cert: rules.Certification | None = None) -> rules.ReminderDue | None:
    cert = cert or internal("a", "b")
    found = enrollment(cert, "2026-10-01", *facts, due="2026-12-15")
    view = rules.evaluate(found, cert, moment(text))
    assert view is not None
    return rules.reminder_due(view, SCHEDULE, moment(text).date())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-30T23:59:59", None),  # one second before the day 14 days out
        ("2026-12-01T00:00:00", ("due", 14)),
        ("2026-12-08T00:00:00", ("due", 7)),
        ("2026-12-15T23:59:59", ("due", 1)),  # the last second of the due date: not overdue yet
        ("2026-12-16T00:00:00", ("overdue", 1)),  # midnight: overdue
        ("2026-12-23T00:00:00", ("overdue", 8)),
    ],
)
def test_an_open_enrollment_is_reminded_before_its_due_date_then_while_overdue(
    now: str, expected: tuple[str, int] | None
) -> None:
    found = due_at(now)
    assert ((found.kind, found.threshold) if found else None) == expected
    if found is not None:
        assert (found.cycle, found.on) == (1, date(2026, 12, 15))


@pytest.mark.parametrize(
    ("now", "kind", "threshold", "days", "words"),
    [
        ("2026-12-01", "due", 14, 14, "Due in 14 days, on 2026-12-15"),
        ("2026-12-04", "due", 14, 11, "Due in 11 days, on 2026-12-15"),  # the 14-day mark, 11 days left
        ("2026-12-11", "due", 7, 4, "Due in 4 days, on 2026-12-15"),  # the 7-day mark, 4 days left
        ("2026-12-14", "due", 1, 1, "Due tomorrow, on 2026-12-15"),
        ("2026-12-15", "due", 1, 0, "Due today, on 2026-12-15"),
        ("2026-12-16", "overdue", 1, 1, "Overdue since 2026-12-15 (1 day)"),
        ("2026-12-19", "overdue", 1, 4, "Overdue since 2026-12-15 (4 days)"),
        ("2026-12-23", "overdue", 8, 8, "Overdue since 2026-12-15 (8 days)"),
        ("2027-07-20", "overdue", 211, 217, "Overdue since 2026-12-15 (217 days)"),  # the 211-day mark
    ],
)
def test_a_reminder_tells_the_days_from_its_date_not_the_schedule_mark(
    now: str, kind: str, threshold: int, days: int, words: str
) -> None:
    from certcli.formats.mail import when

    found = due_at(now)
    assert found is not None and (found.kind, found.threshold) == (kind, threshold)
    assert rules.reminder_days(found, day(now)) == days
    assert when(found.kind, found.on.isoformat(), rules.reminder_days(found, day(now))) == words


def test_a_completed_enrollment_is_not_reminded_of_its_due_date() -> None:
    done = (course_completed("a", "2026-11-01"), course_completed("b", "2026-11-02"))
    assert due_at("2026-12-14", *done) is None


def test_nothing_while_a_proof_waits_for_review() -> None:
    from test_rules import external

    assert due_at("2026-12-14", proof_submitted("2026-11-01"), cert=external()) is None


def test_a_validity_is_reminded_before_it_ends_month_end_clamped() -> None:
    cert = internal("a", validity_months=1)
    found = enrollment(cert, "2026-01-01", course_completed("a", "2026-01-31"))
    # 31 January + 1 month = 28 February 2026 (clamped): 30 days before is 29 January, 7 days before 21 February.
    for now, expected in [("2026-02-20", ("expiry", 30)), ("2026-02-21", ("expiry", 7)), ("2026-02-28", None)]:
        view = rules.evaluate(found, cert, moment(now))
        assert view is not None
        due = rules.reminder_due(view, SCHEDULE, moment(now).date())
        assert ((due.kind, due.threshold) if due else None) == expected, now
        if due is not None:
            assert due.on == date(2026, 2, 28)
    # Expired on 28 February: overdue from 1 March, reminded about the expired cycle.
    view = rules.evaluate(found, cert, moment("2026-03-01"))
    assert view is not None
    assert rules.reminder_due(view, SCHEDULE, date(2026, 3, 1)) == rules.ReminderDue(1, "overdue", 1, date(2026, 2, 28))


def test_a_renewal_in_progress_is_reminded_of_the_held_cycle_ending() -> None:
    cert = internal("a", validity_months=12, renewal_window_days=60)
    found = enrollment(cert, "2025-01-01", course_completed("a", "2025-01-10"), cycle_opened(cert, 2, "2025-12-01"))
    view = rules.evaluate(found, cert, moment("2026-01-03"))
    assert view is not None and view.renewing
    assert rules.reminder_due(view, SCHEDULE, date(2026, 1, 3)) == rules.ReminderDue(1, "expiry", 7, date(2026, 1, 10))


# ---------------------------------------------------------------- sent, or superseded


def reminded_fact(by: str, cycle: int, code: str) -> Fact:
    return Fact(REMINDED, moment("2026-12-01"), by=by, cycle=cycle, reminder=code)


@pytest.mark.parametrize(
    ("recorded", "asked", "expected"),
    [
        (("ann", 1, "due:14"), ("due", 14), True),
        (("ann", 1, "due:7"), ("due", 14), True),  # a nearer one went: the earlier is never sent
        (("ann", 1, "due:14"), ("due", 7), False),
        (("mia", 1, "due:7"), ("due", 7), False),  # the manager's digest is not the learner's message
        (("ann", 2, "due:7"), ("due", 7), False),  # another cycle
        (("ann", 1, "overdue:8"), ("overdue", 1), True),
        (("ann", 1, "overdue:1"), ("overdue", 8), False),
        (("ann", 1, "expiry:7"), ("due", 7), False),
    ],
)
def test_a_reminder_counts_as_sent_when_it_or_a_later_one_went(
    recorded: tuple[str, int, str], asked: tuple[str, int], expected: bool
) -> None:
    cert = internal("a")
    found = enrollment(cert, "2026-10-01", reminded_fact(*recorded))
    reminder = rules.ReminderDue(1, asked[0], asked[1], date(2026, 12, 15))
    assert rules.reminded(found, "ann", reminder) is expected


def test_a_reminded_fact_changes_no_standing() -> None:
    cert = internal("a")
    plain = enrollment(cert, "2026-10-01", due="2026-12-15")
    noted = enrollment(cert, "2026-10-01", reminded_fact("ann", 1, "due:14"), due="2026-12-15")
    now = moment("2026-12-20")
    first, second = rules.evaluate(plain, cert, now), rules.evaluate(noted, cert, now)
    assert first is not None and second is not None
    assert rules.standing(first) == rules.standing(second)
