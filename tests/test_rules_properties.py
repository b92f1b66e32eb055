"""Properties of the rules (docs/rules.md, docs/commands.md "Sort keys") that hold for any input, checked with
hypothesis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certcli import rules
from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    COURSE_STARTED,
    CYCLE_OPENED,
    SORT_KEYS,
    Certification,
    CourseRef,
    Enrollment,
    Fact,
)

# Few examples each: the whole file stays within a few seconds.
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ASSIGNED_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

# ---------------------------------------------------------------- builders

# One step of a learner's progress: (fact type, course id, minutes since the previous step).
Step = tuple[str, str, int]


def certification(courses: tuple[CourseRef, ...], validity_months: int | None = None) -> Certification:
    return Certification(id="cert", title="Cert", kind="internal", courses=courses, validity_months=validity_months)


def enrollment(cert: Certification, assigned_at: datetime, facts: list[Fact]) -> Enrollment:
    opened = Fact(CYCLE_OPENED, assigned_at, cycle=1, requirements=rules.effective_requirements(cert))
    return Enrollment("ann", cert.id, [Fact(ASSIGNED, assigned_at, by="root"), opened, *facts])


def dated_facts(steps: list[Step]) -> list[Fact]:
    """The steps as facts, each `minutes` after the one before (0 minutes: the same timestamp)."""
    facts, when = [], ASSIGNED_AT
    for fact_type, course, minutes in steps:
        when += timedelta(minutes=minutes)
        facts.append(Fact(fact_type, when, course=course))
    return facts


def last_moment(facts: list[Fact]) -> datetime:
    return max((fact.at for fact in facts), default=ASSIGNED_AT)


def evaluate(record: Enrollment, cert: Certification, now: datetime) -> rules.EnrollmentView:
    view = rules.evaluate(record, cert, now)
    assert view is not None
    return view


# ---------------------------------------------------------------- strategies


@st.composite
def course_lists(draw: st.DrawFn) -> tuple[CourseRef, ...]:
    ids = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), min_size=1, max_size=7, unique=True))
    flags = draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)))
    return tuple(CourseRef(course_id, flag) for course_id, flag in zip(ids, flags, strict=True))


def progress_steps(courses: tuple[CourseRef, ...], fact_types: tuple[str, ...]) -> st.SearchStrategy[list[Step]]:
    step = st.tuples(
        st.sampled_from(fact_types), st.sampled_from([ref.id for ref in courses]), st.integers(0, 3 * 24 * 60)
    )
    return st.lists(step, max_size=15)


@st.composite
def certification_with_progress(draw: st.DrawFn, fact_types: tuple[str, ...]) -> tuple[Certification, list[Fact]]:
    cert = certification(draw(course_lists()))
    return cert, dated_facts(draw(progress_steps(cert.courses, fact_types)))


DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31))
MONTHS = st.integers(min_value=1, max_value=600)

SORT_STATUSES = st.sampled_from(list(rules.STATUSES))
OPTIONAL_DATES = st.none() | st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 3, 31))
TITLES = st.text(alphabet="abAB ", min_size=1, max_size=4)


@st.composite
def sortable_items(draw: st.DrawFn, published: st.SearchStrategy[date | None] = OPTIONAL_DATES) -> rules.SortableItem:
    return rules.SortableItem(
        id="",  # replaced by a unique id in `item_lists`
        title=draw(TITLES),
        published=draw(published),
        status=draw(SORT_STATUSES),
        overdue=draw(st.booleans()),
        due=draw(OPTIONAL_DATES),
        user="ann",
    )


@st.composite
def item_lists(draw: st.DrawFn, published: st.SearchStrategy[date | None] = OPTIONAL_DATES) -> list[rules.SortableItem]:
    """Rows of one `list` output: one per certification, so ids are unique."""
    drafts = draw(st.lists(sortable_items(published), max_size=12))
    return [
        rules.SortableItem(f"cert-{n}", d.title, d.published, d.status, d.overdue, d.due, d.user)
        for n, d in enumerate(drafts)
    ]


# ---------------------------------------------------------------- the player queue


@FAST
@given(certification_with_progress((COURSE_STARTED, COURSE_COMPLETED)))
def test_queue_is_exactly_the_pending_courses(case: tuple[Certification, list[Fact]]) -> None:
    cert, facts = case
    view = evaluate(enrollment(cert, ASSIGNED_AT, facts), cert, last_moment(facts))
    finished = {fact.course for fact in facts if fact.type == COURSE_COMPLETED}
    pending = [ref.id for ref in cert.courses if ref.id not in finished]
    if view.status == "completed":
        assert view.queue == []
    else:
        assert len(view.queue) == len(set(view.queue))
        assert set(view.queue) == set(pending)
    assert view.next_course == (view.queue[0] if view.queue else None)


@FAST
@given(certification_with_progress((COURSE_STARTED, COURSE_COMPLETED)))
def test_queue_puts_mandatory_courses_before_optional_ones(case: tuple[Certification, list[Fact]]) -> None:
    cert, facts = case
    view = evaluate(enrollment(cert, ASSIGNED_AT, facts), cert, last_moment(facts))
    mandatory = set(rules.effective_requirements(cert).mandatory_ids)
    flags = [course in mandatory for course in view.queue]
    assert flags == sorted(flags, reverse=True)


# ---------------------------------------------------------------- progress


@FAST
@given(certification_with_progress((COURSE_STARTED, COURSE_COMPLETED)))
def test_completing_more_courses_never_lowers_courses_done(case: tuple[Certification, list[Fact]]) -> None:
    cert, facts = case
    record = enrollment(cert, ASSIGNED_AT, facts)
    done_over_time = [evaluate(record, cert, fact.at).courses_done for fact in facts]
    assert done_over_time == sorted(done_over_time)
    required = len(rules.effective_requirements(cert).mandatory_ids)
    assert all(0 <= done <= required for done in done_over_time)


# ---------------------------------------------------------------- validity


@FAST
@given(DATES, MONTHS)
def test_add_months_is_later_and_lands_in_the_right_month(start: date, months: int) -> None:
    end = rules.add_months(start, months)
    assert end > start
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)


@FAST
@given(DATES, MONTHS)
def test_valid_until_is_after_completed_on(completed: date, months: int) -> None:
    cert = certification((CourseRef("a"),), validity_months=months)
    finished_at = datetime(completed.year, completed.month, completed.day, 15, 0, tzinfo=UTC)
    record = enrollment(cert, finished_at - timedelta(hours=1), [Fact(COURSE_COMPLETED, finished_at, course="a")])
    view = evaluate(record, cert, finished_at)
    assert view.status == "completed"
    assert view.completed_on == completed
    assert view.valid_until is not None
    assert view.valid_until > view.completed_on


# ---------------------------------------------------------------- sort orders


@FAST
@given(st.sampled_from(SORT_KEYS), item_lists(), st.data())
def test_each_sort_order_is_total_and_deterministic(
    key: str, items: list[rules.SortableItem], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(items), label="the same items in another order")
    assert rules.sort_items(shuffled, key) == rules.sort_items(items, key)


RELEVANCE_GROUPS = {
    "expired": 1,
    "rejected": 1,
    "revoked": 1,
    "started": 2,
    "enrolled": 3,
    "pending_approval": 4,
    "completed": 5,
}


def due_rank(item: rules.SortableItem) -> tuple[bool, date]:
    """Soonest first, none last."""
    return (item.due is None, item.due or date.min)


def published_rank(item: rules.SortableItem) -> int:
    """Newest first."""
    assert item.published is not None
    return -item.published.toordinal()


def contract_rank(key: str, item: rules.SortableItem) -> tuple:
    """The sort keys (docs/commands.md), written out independently: the order each key promises
    (ties beyond it are free)."""
    if key == "relevance":
        group = 0 if item.overdue else RELEVANCE_GROUPS[item.status]
        return (group, due_rank(item), published_rank(item), item.title.casefold())
    if key == "published":
        return (published_rank(item),)
    if key == "name":
        return (item.title.casefold(),)
    return (due_rank(item),)


@FAST
@given(st.sampled_from(SORT_KEYS), item_lists(published=st.dates(date(2024, 1, 1), date(2024, 3, 31))))
def test_each_sort_order_follows_the_contract(key: str, items: list[rules.SortableItem]) -> None:
    ranks = [contract_rank(key, item) for item in rules.sort_items(items, key)]
    assert ranks == sorted(ranks)


# ---------------------------------------------------------------- standing timelines


def assert_timeline_matches_evaluate(record: Enrollment, cert: Certification, days: int) -> None:
    """On every day from the last fact on, the stored timeline says what replaying the facts says."""
    since = max(fact.at for fact in record.facts)
    timeline = rules.standing_timeline(record, cert, since)
    for offset in range(days):
        now = since + timedelta(days=offset, hours=offset % 24)
        assert rules.standing_on(timeline, now.date()) == rules.standing(evaluate(record, cert, now)), now


@FAST
@given(
    certification_with_progress((COURSE_STARTED, COURSE_COMPLETED)),
    st.sampled_from([None, 1, 12, 13]),
    st.sampled_from([None, 0, 30, 400]),
    st.sampled_from(["completion", "enrollment", "expiry"]),
    st.one_of(st.none(), st.dates(date(2025, 12, 1), date(2026, 3, 1))),
)
def test_standing_timeline_agrees_with_evaluate_on_every_later_day(
    case: tuple[Certification, list[Fact]], months: int | None, window: int | None, renew_from: str, due: date | None
) -> None:
    cert, facts = case
    cert = cert._replace(validity_months=months, renewal_window_days=window if months else None, renew_from=renew_from)
    record = enrollment(cert, ASSIGNED_AT, facts)
    record.facts[1] = record.facts[1]._replace(due=due)
    assert_timeline_matches_evaluate(record, cert, days=3 * 366)


def test_standing_timeline_agrees_with_evaluate_for_every_demo_enrollment() -> None:
    from certcli.store import open_store

    doc = open_store(Path(__file__).resolve().parent.parent / "fixtures" / "acme.toml").read()
    for record in doc.enrollments:
        assert_timeline_matches_evaluate(record, doc.certifications[record.certification], days=4 * 366)


def test_standing_timeline_is_empty_before_enrolment() -> None:
    cert = certification((CourseRef("a", True),))
    record = enrollment(cert, ASSIGNED_AT, [])
    assert rules.standing_timeline(record, cert, ASSIGNED_AT - timedelta(seconds=1)) == []
    timeline = rules.standing_timeline(record, cert, ASSIGNED_AT)
    assert rules.standing_on(timeline, ASSIGNED_AT.date() - timedelta(1)) is None
