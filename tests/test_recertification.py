"""Recertification: renewal windows, renew_from, cycle history, definition changes, revocation and explain.

Every expected date below is worked out by hand from the rules: valid_until is the base date plus the
validity in calendar months, clamped to the month's end; the renewal window opens `renewal_window_days`
days before valid_until; at or after valid_until the status is expired.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from backends import copied, store_state
from typer.testing import CliRunner

from certcli import usecases
from certcli.cli import app
from certcli.errors import PermissionDenied, StateError, UsageError
from certcli.store import Store, open_store

ADMIN, MANAGER, ANN, BEN, CY = "root", "mia", "ann", "ben", "cy"
COURSES = ("c1", "a", "b", "c", "d")


# ---------------------------------------------------------------- builders


def at(when: str) -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM[:SS]` (UTC)."""
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def ctx(store: Store, actor: str, when: str) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=at(when))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JSON store with an admin, a manager, three learners reporting to her, and five courses."""
    path = tmp_path_factory.mktemp("template") / "s.json"
    store = open_store(path)
    usecases.init_store(store, ADMIN, "Root", "Org", at("2025-01-01"))
    setup = ctx(store, ADMIN, "2025-01-01")
    usecases.add_user(setup, MANAGER, "Mia", "manager", None, None)
    for learner in (ANN, BEN, CY):
        usecases.add_user(setup, learner, learner.title(), "learner", None, MANAGER)
    for course in COURSES:
        usecases.add_course(setup, course, f"Course {course}", None)
    return path


@pytest.fixture
def store_path(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template store and its audit log."""
    path = tmp_path / template.name
    for source in (template, Path(f"{template}.audit.jsonl")):
        shutil.copyfile(source, tmp_path / source.name)
    return path


@pytest.fixture
def store(store_path: Path, backend: str, new_store: str) -> Store:
    """The template on each backend: the JSON copy, or that copy migrated to a new store."""
    if backend == "json":
        return open_store(store_path)
    return copied(open_store(store_path), new_store, ADMIN, at("2025-01-01"))


def define(store: Store, cert_id: str, when: str = "2025-01-01", **options: Any) -> None:
    options.setdefault("kind", "internal")
    options.setdefault("courses", ["c1"])
    usecases.define(ctx(store, ADMIN, when), usecases.Definition(id=cert_id, title=cert_id.upper(), **options), False)


def redefine(store: Store, cert_id: str, when: str, apply_to_open: bool, **options: Any) -> usecases.Outcome:
    options.setdefault("kind", "internal")
    spec = usecases.Definition(id=cert_id, title=cert_id.upper(), **options)
    return usecases.define(ctx(store, ADMIN, when), spec, True, apply_to_open)


def assign(store: Store, cert_id: str, when: str, *learners: str) -> None:
    usecases.assign(ctx(store, ADMIN, when), cert_id, list(learners or (ANN,)), None)


def complete(store: Store, cert_id: str, course: str, when: str, learner: str = ANN) -> dict[str, Any]:
    return usecases.complete(ctx(store, learner, when), cert_id, course).data


def start(store: Store, cert_id: str, when: str, learner: str = ANN) -> usecases.Outcome:
    return usecases.start(ctx(store, learner, when), cert_id)


def item(store: Store, cert_id: str, when: str, learner: str = ANN) -> dict[str, Any]:
    """The learner's `list` row for `cert_id` at `when`."""
    rows = usecases.list_certifications(ctx(store, learner, when)).data
    return next(row for row in rows if row["id"] == cert_id)


def pending_ids(store: Store, when: str, learner: str = ANN) -> list[str]:
    return [row["id"] for row in usecases.list_certifications(ctx(store, learner, when), pending=True).data]


def cycles(store: Store, cert_id: str, when: str, learner: str = ANN) -> list[dict[str, Any]]:
    return usecases.history(ctx(store, learner, when), cert_id).data["cycles"]


def reasons(store: Store, cert_id: str, when: str, learner: str = ANN) -> list[str]:
    return usecases.explain(ctx(store, learner, when), cert_id).data["reasons"]


def run(store_path: Path | str, actor: str, when: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--store", str(store_path), "--as", actor, "--now", when, *args])


# ---------------------------------------------------------------- recertified three times under each renew_from


@dataclass(frozen=True)
class CycleRow:
    opened_on: str
    completed_on: str
    valid_until: str
    due: str | None
    outcome: str


@dataclass(frozen=True)
class Recertification:
    """Cycle 1: assigned 2025-01-10, c1 completed 2025-01-31. Then (start day, completion day) of cycles 2-4:
    early (well inside the 30-day window), on time (the day before valid_until), late (after expiry)."""

    renew_from: str
    early: tuple[str, str]
    on_time: tuple[str, str]
    late: tuple[str, str]
    cycles: tuple[CycleRow, CycleRow, CycleRow, CycleRow]
    last_validity: str  # how explain counts cycle 4's valid_until


RECERTIFICATIONS = [
    # completion: valid_until = completion + 12 months.
    #   window of cycle 1 opens 2026-01-31 - 30 d = 2026-01-01; of cycle 2, 2027-01-08 - 30 d = 2026-12-09.
    #   cycle 3 ends 2028-01-07; the late completion on leap day 2028-02-29 + 12 months clamps to 2029-02-28.
    Recertification(
        "completion",
        early=("2026-01-05", "2026-01-08"),
        on_time=("2026-12-20", "2027-01-07"),
        late=("2028-02-29", "2028-02-29"),
        cycles=(
            CycleRow("2025-01-10", "2025-01-31", "2026-01-31", None, "completed"),
            CycleRow("2026-01-05", "2026-01-08", "2027-01-08", "2026-01-31", "completed"),
            CycleRow("2026-12-20", "2027-01-07", "2028-01-07", "2027-01-08", "expired"),
            CycleRow("2028-02-29", "2028-02-29", "2029-02-28", "2028-01-07", "completed"),
        ),
        last_validity="completed 2028-02-29 + 12 months → valid until 2029-02-28",
    ),
    # enrollment: valid_until = the cycle's opening day + 12 months, whenever it is completed.
    #   cycle 1 opened 2025-01-10 → 2026-01-10, window opens 2025-12-11; cycle 2 opened 2025-12-15 → 2026-12-15,
    #   window opens 2026-11-15; cycle 3 opened 2026-11-30 → 2027-11-30; cycle 4 opened 2028-02-29 → 2029-02-28.
    Recertification(
        "enrollment",
        early=("2025-12-15", "2025-12-20"),
        on_time=("2026-11-30", "2026-12-14"),
        late=("2028-02-29", "2028-03-05"),
        cycles=(
            CycleRow("2025-01-10", "2025-01-31", "2026-01-10", None, "completed"),
            CycleRow("2025-12-15", "2025-12-20", "2026-12-15", "2026-01-10", "completed"),
            CycleRow("2026-11-30", "2026-12-14", "2027-11-30", "2026-12-15", "expired"),
            CycleRow("2028-02-29", "2028-03-05", "2029-02-28", "2027-11-30", "completed"),
        ),
        last_validity="cycle opened 2028-02-29 (renew_from = enrollment) + 12 months → valid until 2029-02-28",
    ),
    # expiry: renewed before valid_until → old valid_until + 12 months; after expiry → completion + 12 months.
    #   cycle 1 (no earlier validity) 2025-01-31 → 2026-01-31; cycle 2 done 2026-01-08 < 2026-01-31 → 2027-01-31,
    #   window opens 2027-01-01; cycle 3 done 2027-01-30 < 2027-01-31 → 2028-01-31; cycle 4 done 2028-02-29,
    #   after 2028-01-31 → 2029-02-28.
    Recertification(
        "expiry",
        early=("2026-01-05", "2026-01-08"),
        on_time=("2027-01-20", "2027-01-30"),
        late=("2028-02-29", "2028-02-29"),
        cycles=(
            CycleRow("2025-01-10", "2025-01-31", "2026-01-31", None, "completed"),
            CycleRow("2026-01-05", "2026-01-08", "2027-01-31", "2026-01-31", "completed"),
            CycleRow("2027-01-20", "2027-01-30", "2028-01-31", "2027-01-31", "expired"),
            CycleRow("2028-02-29", "2028-02-29", "2029-02-28", "2028-01-31", "completed"),
        ),
        last_validity="completed 2028-02-29 + 12 months → valid until 2029-02-28",
    ),
]


def _recertify(store: Store, start_day: str, complete_day: str, before: CycleRow, after: CycleRow) -> None:
    """Start (10:00) and complete (15:00) one recertification, checking the status on the way."""
    row = item(store, "cpr", f"{start_day}T10:00")
    late = start_day >= before.valid_until
    assert row["status"] == ("expired" if late else "completed")
    assert row["renewal_open"] is (not late)
    start(store, "cpr", f"{start_day}T10:00")
    if complete_day > start_day and not late:
        # While the renewal cycle is open the earlier completion still shows.
        waiting = item(store, "cpr", f"{complete_day}T09:00")
        assert (waiting["status"], waiting["valid_until"]) == ("completed", before.valid_until)
    done = complete(store, "cpr", "c1", f"{complete_day}T15:00")
    assert (done["status"], done["completed_on"], done["valid_until"]) == (
        "completed",
        after.completed_on,
        after.valid_until,
    )


@pytest.mark.parametrize("case", RECERTIFICATIONS, ids=lambda case: case.renew_from)
def test_recertified_early_on_time_and_late(store: Store, case: Recertification) -> None:
    define(store, "cpr", recurring=12, renew_from=case.renew_from, renewal_window=30)
    assign(store, "cpr", "2025-01-10T09:00")
    first = complete(store, "cpr", "c1", "2025-01-31T15:00")
    assert (first["completed_on"], first["valid_until"]) == (case.cycles[0].completed_on, case.cycles[0].valid_until)

    for (start_day, complete_day), index in zip((case.early, case.on_time, case.late), (1, 2, 3), strict=True):
        _recertify(store, start_day, complete_day, case.cycles[index - 1], case.cycles[index])

    recorded = cycles(store, "cpr", "2028-03-10")
    seen = [CycleRow(c["opened_on"], c["completed_on"], c["valid_until"], c["due"], c["outcome"]) for c in recorded]
    assert [c["cycle"] for c in recorded] == [1, 2, 3, 4]
    assert seen == list(case.cycles)
    assert any(reason.startswith(case.last_validity) for reason in reasons(store, "cpr", "2028-03-10"))


@pytest.mark.parametrize(
    ("renew_from", "assigned", "completed", "months", "valid_until"),
    [
        ("completion", "2026-01-05", "2026-01-31", 1, "2026-02-28"),  # Jan 31 + 1 month: no Feb 31
        ("completion", "2028-01-05", "2028-01-31", 1, "2028-02-29"),  # leap year
        ("completion", "2026-03-01", "2026-03-31", 1, "2026-04-30"),
        ("enrollment", "2026-01-31", "2026-02-10", 1, "2026-02-28"),  # counts from the opening day Jan 31
        ("enrollment", "2026-08-31", "2026-09-02", 6, "2027-02-28"),
        ("expiry", "2026-01-05", "2026-01-31", 1, "2026-02-28"),  # first cycle: nothing to extend, completion
    ],
)
def test_valid_until_clamps_to_the_month_end(
    store: Store, renew_from: str, assigned: str, completed: str, months: int, valid_until: str
) -> None:
    define(store, "cpr", recurring=months, renew_from=renew_from)
    assign(store, "cpr", f"{assigned}T09:00")
    done = complete(store, "cpr", "c1", f"{completed}T15:00")
    assert (done["completed_on"], done["valid_until"]) == (completed, valid_until)


def test_expiry_renewal_extends_the_clamped_date_not_the_original_day(store: Store) -> None:
    # Jan 31 + 1 month = Feb 28; renewed early, Feb 28 + 1 month = Mar 28 (the day of the month stays 28).
    define(store, "cpr", recurring=1, renew_from="expiry", renewal_window=10)
    assign(store, "cpr", "2026-01-05T09:00")
    complete(store, "cpr", "c1", "2026-01-31T15:00")
    start(store, "cpr", "2026-02-20T10:00")  # the window opened 2026-02-18
    done = complete(store, "cpr", "c1", "2026-02-25T15:00")
    assert (done["completed_on"], done["valid_until"]) == ("2026-02-25", "2026-03-28")


def test_completing_on_the_valid_until_day_itself_is_late(store: Store) -> None:
    # At valid_until the status is expired, so a renewal completed that day counts from completion
    # and the earlier cycle lapsed.
    define(store, "cpr", recurring=12, renew_from="expiry", renewal_window=30)
    assign(store, "cpr", "2025-01-10T09:00")
    complete(store, "cpr", "c1", "2025-01-31T15:00")  # valid until 2026-01-31
    start(store, "cpr", "2026-01-20T10:00")
    done = complete(store, "cpr", "c1", "2026-01-31T15:00")
    assert done["valid_until"] == "2027-01-31"
    assert [c["outcome"] for c in cycles(store, "cpr", "2026-02-01")] == ["expired", "completed"]


# ---------------------------------------------------------------- the renewal window's exact boundaries


@pytest.fixture
def windowed(store: Store) -> Store:
    """c1 completed 2025-03-15 → valid until 2026-03-15; a 30-day window opens 2026-02-13."""
    define(store, "cpr", recurring=12, renewal_window=30)
    assign(store, "cpr", "2025-03-01T09:00")
    complete(store, "cpr", "c1", "2025-03-15T10:00")
    return store


@pytest.mark.parametrize(
    ("when", "status", "renewal_open", "pending", "overdue"),
    [
        ("2026-02-12T23:59:59", "completed", False, False, False),
        ("2026-02-13T00:00:00", "completed", True, True, False),
        ("2026-03-14T23:59:59", "completed", True, True, False),
        ("2026-03-15T00:00:00", "expired", False, True, False),  # due 2026-03-15: not overdue on the day
        ("2026-03-16T00:00:00", "expired", False, True, True),
    ],
)
def test_renewal_window_boundaries(
    windowed: Store, when: str, status: str, renewal_open: bool, pending: bool, overdue: bool
) -> None:
    row = item(windowed, "cpr", when)
    assert (row["status"], row["renewal_open"], row["overdue"]) == (status, renewal_open, overdue)
    assert ("cpr" in pending_ids(windowed, when)) is pending


def test_start_before_the_window_opens_nothing(windowed: Store) -> None:
    outcome = start(windowed, "cpr", "2026-02-12T23:59:59")
    assert outcome.data["status"] == "completed"
    assert outcome.data["cycle"] == 1
    assert any("already completed" in message for message in outcome.messages)
    assert len(cycles(windowed, "cpr", "2026-02-14")) == 1


def test_an_open_renewal_cycle_keeps_completed_until_valid_until_then_follows_the_cycle(windowed: Store) -> None:
    opened = start(windowed, "cpr", "2026-02-13T00:00:00").data
    assert (opened["status"], opened["cycle"], opened["renewal_open"]) == ("completed", 2, True)
    assert (opened["completed_on"], opened["valid_until"], opened["next_course"]) == ("2025-03-15", "2026-03-15", "c1")

    last_valid_moment = item(windowed, "cpr", "2026-03-14T23:59:59")
    assert (last_valid_moment["status"], last_valid_moment["renewal_open"]) == ("completed", True)
    assert "cpr" in pending_ids(windowed, "2026-03-14T23:59:59")

    lapsed = item(windowed, "cpr", "2026-03-15T00:00:00")
    assert (lapsed["status"], lapsed["renewal_open"], lapsed["cycle"]) == ("started", False, 2)
    assert (lapsed["due"], lapsed["overdue"], lapsed["valid_until"]) == ("2026-03-15", False, None)
    assert item(windowed, "cpr", "2026-03-16")["overdue"] is True


def test_start_again_in_an_open_renewal_cycle_opens_no_third(windowed: Store) -> None:
    start(windowed, "cpr", "2026-02-20T10:00")
    again = start(windowed, "cpr", "2026-02-21T10:00").data
    assert again["cycle"] == 2
    assert len(cycles(windowed, "cpr", "2026-02-22")) == 2


# ---------------------------------------------------------------- definition changes


@pytest.fixture
def redefined(store: Store) -> Store:
    """`fire` requires a, b, c. On 2026-02-01 it is redefined to a, b, d without --apply-to-open.
    ann completed all three (last on 2026-01-20); ben completed a and b; cy has not started."""
    define(store, "fire", recurring=12, courses=["a", "b", "c"])
    assign(store, "fire", "2026-01-05T09:00", ANN, BEN, CY)
    for course, day in (("a", "2026-01-10"), ("b", "2026-01-15"), ("c", "2026-01-20")):
        complete(store, "fire", course, f"{day}T10:00", ANN)
    complete(store, "fire", "a", "2026-01-11T10:00", BEN)
    complete(store, "fire", "b", "2026-01-12T10:00", BEN)
    outcome = redefine(store, "fire", "2026-02-01T09:00", False, recurring=12, courses=["a", "b", "d"])
    assert any("keep the requirements they began with" in message for message in outcome.messages)
    return store


def _page(store: Store, learner: str, when: str) -> dict[str, Any]:
    return usecases.show(ctx(store, learner, when), "fire").data


def _courses(page: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(course["id"], course["status"], course["completed_on"]) for course in page["courses"]]


def test_replace_leaves_completed_learners_completed(redefined: Store) -> None:
    page = _page(redefined, ANN, "2026-02-02")
    assert (page["status"], page["completed_on"], page["valid_until"]) == ("completed", "2026-01-20", "2027-01-20")
    assert (page["courses_done"], page["courses_required"]) == (3, 3)


def test_replace_leaves_open_cycles_on_their_snapshot(redefined: Store) -> None:
    ben = _page(redefined, BEN, "2026-02-02")
    assert (ben["status"], ben["courses_done"], ben["courses_required"], ben["next_course"]) == ("started", 2, 3, "c")
    assert [course["id"] for course in ben["courses"]] == ["a", "b", "c"]
    assert _page(redefined, CY, "2026-02-02")["next_course"] == "a"
    with pytest.raises(StateError, match="not part of fire"):
        complete(redefined, "fire", "d", "2026-02-02T10:00", BEN)


def test_apply_to_open_moves_open_cycles_and_keeps_completed_courses(redefined: Store) -> None:
    outcome = redefine(redefined, "fire", "2026-02-05T09:00", True, recurring=12, courses=["a", "b", "d"])
    assert any("Moved 2 open cycle(s)" in message for message in outcome.messages)

    ben = _page(redefined, BEN, "2026-02-06")
    assert _courses(ben) == [
        ("a", "completed", "2026-01-11"),
        ("b", "completed", "2026-01-12"),
        ("d", "not_started", None),
    ]
    assert (ben["status"], ben["courses_done"], ben["courses_required"], ben["next_course"]) == ("started", 2, 3, "d")
    cy = _page(redefined, CY, "2026-02-06")
    assert [course["id"] for course in cy["courses"]] == ["a", "b", "d"]
    assert (cy["courses_done"], cy["next_course"]) == (0, "a")

    with pytest.raises(StateError, match="not part of fire"):
        complete(redefined, "fire", "c", "2026-02-06T10:00", BEN)
    done = complete(redefined, "fire", "d", "2026-02-06T10:00", BEN)
    assert (done["status"], done["completed_on"], done["valid_until"]) == ("completed", "2026-02-06", "2027-02-06")


def test_apply_to_open_leaves_a_completed_cycle_alone_until_its_next_cycle(redefined: Store) -> None:
    redefine(redefined, "fire", "2026-02-05T09:00", True, recurring=12, courses=["a", "b", "d"])
    ann = _page(redefined, ANN, "2026-02-06")
    assert [course["id"] for course in ann["courses"]] == ["a", "b", "c"]
    assert (ann["status"], ann["courses_done"]) == ("completed", 3)
    # Expired 2027-01-20; the next cycle starts on the current requirements.
    renewed = start(redefined, "fire", "2027-02-01T10:00").data
    assert (renewed["cycle"], renewed["courses_done"], renewed["courses_required"]) == (2, 0, 3)
    assert [course["id"] for course in _page(redefined, ANN, "2027-02-02")["courses"]] == ["a", "b", "d"]


def test_apply_to_open_needs_replace(store: Store) -> None:
    spec = usecases.Definition(id="fire", title="Fire", kind="internal", courses=["a"])
    with pytest.raises(UsageError, match="--apply-to-open"):
        usecases.define(ctx(store, ADMIN, "2026-01-01"), spec, False, True)


# ---------------------------------------------------------------- revocation


@pytest.fixture
def revoked(store: Store) -> Store:
    """ann completed cpr (12 months) on 2026-01-20; root revoked it on 2026-02-01."""
    define(store, "cpr", recurring=12, published=at("2026-01-02").date())
    assign(store, "cpr", "2026-01-05T09:00")
    complete(store, "cpr", "c1", "2026-01-20T10:00")
    outcome = usecases.revoke(ctx(store, ADMIN, "2026-02-01T09:00"), "cpr", ANN, "exam answers were shared")
    assert outcome.data["status"] == "revoked"
    return store


def test_revoked_status_no_longer_valid_and_pending(revoked: Store) -> None:
    row = item(revoked, "cpr", "2026-02-02")
    assert (row["status"], row["valid_until"], row["renewal_open"]) == ("revoked", None, False)
    assert "cpr" in pending_ids(revoked, "2026-02-02")
    # Before the revocation the completion held.
    assert item(revoked, "cpr", "2026-01-31")["status"] == "completed"


def test_revoked_sorts_with_expired_and_rejected(revoked: Store, tmp_path: Path) -> None:
    # Evaluated 2026-02-15. Group 1: "old" expired that day (due 2026-02-15, not overdue yet), then those
    # without a due date newest first: "ext" rejected (published 01-03), cpr revoked (01-02).
    # Then "run" started (01-04, newest of all), "new" enrolled, "done" completed.
    define(revoked, "old", recurring=1, published=at("2026-01-01").date())
    define(revoked, "ext", kind="external", courses=[], published=at("2026-01-03").date())
    for cert_id, day in (("run", "2026-01-04"), ("new", "2026-01-05"), ("done", "2026-01-06")):
        define(revoked, cert_id, published=at(day).date())
    assign(revoked, "old", "2026-01-10T09:00")
    complete(revoked, "old", "c1", "2026-01-15T10:00")  # valid until 2026-02-15
    for cert_id in ("ext", "run", "new", "done"):
        assign(revoked, cert_id, "2026-01-10T09:00")
    proof = tmp_path / "card.pdf"
    proof.write_bytes(b"%PDF-1.4\n%certificate\n")
    usecases.upload_proof(ctx(revoked, ANN, "2026-01-11T10:00"), "ext", proof)
    usecases.review(ctx(revoked, ADMIN, "2026-01-12T10:00"), "ext", ANN, "rejected", "blurred scan")
    start(revoked, "run", "2026-01-13T10:00")
    complete(revoked, "done", "c1", "2026-01-14T10:00")

    rows = usecases.list_certifications(ctx(revoked, ANN, "2026-02-15")).data
    assert [(row["id"], row["status"]) for row in rows] == [
        ("old", "expired"),
        ("ext", "rejected"),
        ("cpr", "revoked"),
        ("run", "started"),
        ("new", "enrolled"),
        ("done", "completed"),
    ]


@pytest.mark.parametrize("actor", [MANAGER, ANN])
def test_only_an_admin_revokes(revoked: Store, actor: str) -> None:
    assign(revoked, "cpr", "2026-01-05T09:00", BEN)
    complete(revoked, "cpr", "c1", "2026-01-06T10:00", BEN)
    with pytest.raises(PermissionDenied) as denied:
        usecases.revoke(ctx(revoked, actor, "2026-02-02"), "cpr", BEN, "no")
    assert denied.value.exit_code == 4


@pytest.mark.parametrize("learner_state", ["enrolled", "started", "revoked", "expired"])
def test_revoking_what_is_not_completed_is_refused(revoked: Store, learner_state: str) -> None:
    when, learner = "2026-02-02T09:00", BEN
    if learner_state == "revoked":
        learner = ANN
    else:
        assign(revoked, "cpr", "2026-01-05T09:00", BEN)
    if learner_state == "started":
        start(revoked, "cpr", "2026-01-06T10:00", BEN)
    if learner_state == "expired":
        complete(revoked, "cpr", "c1", "2026-01-06T10:00", BEN)
        when = "2027-01-06T09:00"
    assert item(revoked, "cpr", when, learner)["status"] == learner_state
    with pytest.raises(StateError) as refused:
        usecases.revoke(ctx(revoked, ADMIN, when), "cpr", learner, "no")
    assert refused.value.exit_code == 5


def test_start_after_revocation_opens_the_next_cycle(revoked: Store) -> None:
    outcome = start(revoked, "cpr", "2026-02-10T10:00")
    assert any("revoked" in message and "opened cycle 2" in message for message in outcome.messages)
    assert (outcome.data["cycle"], outcome.data["status"], outcome.data["next_course"]) == (2, "started", "c1")
    done = complete(revoked, "cpr", "c1", "2026-02-12T10:00")
    assert (done["status"], done["completed_on"], done["valid_until"]) == ("completed", "2026-02-12", "2027-02-12")


def test_history_shows_the_revoked_cycle_with_its_reason(revoked: Store) -> None:
    start(revoked, "cpr", "2026-02-10T10:00")
    first, second = cycles(revoked, "cpr", "2026-02-11")
    assert (first["cycle"], first["completed_on"], first["outcome"]) == (1, "2026-01-20", "revoked")
    assert first["revoked"] == {"on": "2026-02-01", "by": ADMIN, "reason": "exam answers were shared"}
    assert (second["cycle"], second["opened_on"], second["outcome"], second["revoked"]) == (
        2,
        "2026-02-10",
        "open",
        None,
    )


def test_revoking_during_an_open_renewal_cycle_revokes_the_completion_held(store: Store) -> None:
    define(store, "cpr", recurring=12, renewal_window=30)
    assign(store, "cpr", "2025-01-10T09:00")
    complete(store, "cpr", "c1", "2025-01-31T10:00")  # valid until 2026-01-31, window opens 2026-01-01
    start(store, "cpr", "2026-01-05T10:00")  # renewal cycle 2 open; cycle 1's completion still holds
    usecases.revoke(ctx(store, ADMIN, "2026-01-06T10:00"), "cpr", ANN, "certificate withdrawn")
    assert item(store, "cpr", "2026-01-07")["status"] == "revoked"
    first = cycles(store, "cpr", "2026-01-07")[0]
    assert (first["completed_on"], first["outcome"]) == ("2025-01-31", "revoked")
    assert first["revoked"] is not None and first["revoked"]["reason"] == "certificate withdrawn"


# ---------------------------------------------------------------- explain


@pytest.fixture
def explained(store: Store) -> Store:
    """c1 completed 2026-01-31 → valid until 2027-01-31; a 30-day window opens 2027-01-01."""
    define(store, "cpr", recurring=12, renewal_window=30)
    assign(store, "cpr", "2026-01-05T09:00")
    complete(store, "cpr", "c1", "2026-01-31T10:00")
    return store


def test_explain_names_the_dates_of_an_expiry(explained: Store) -> None:
    explanation = usecases.explain(ctx(explained, ANN, "2027-02-01"), "cpr").data
    assert (explanation["status"], explanation["overdue"], explanation["now"]) == (
        "expired",
        True,
        "2027-02-01T00:00:00Z",
    )
    said = explanation["reasons"]
    assert "completed 2026-01-31 + 12 months → valid until 2027-01-31" in said
    assert "now 2027-02-01 is on or after 2027-01-31 → expired" in said
    assert any("after the due date 2027-01-31" in reason and "overdue" in reason for reason in said)


def test_explain_with_an_earlier_now(explained: Store) -> None:
    said = reasons(explained, "cpr", "2026-06-01")
    assert "completed 2026-01-31 + 12 months → valid until 2027-01-31" in said
    assert "now 2026-06-01 is before 2027-01-31 → completed" in said
    assert any("opens 2027-01-01" in reason and "not open yet" in reason for reason in said)
    assert not any("expired" in reason for reason in said)

    in_window = reasons(explained, "cpr", "2027-01-01")
    assert any("opens 2027-01-01" in reason and "renewal open" in reason for reason in in_window)

    before_completion = reasons(explained, "cpr", "2026-01-20")
    assert any("done 0 of 1" in reason and "pending: c1" in reason for reason in before_completion)
    assert not any("valid until" in reason for reason in before_completion)


def test_explain_names_a_clamp_and_an_expiry_extension(store: Store) -> None:
    define(store, "cpr", recurring=1, renew_from="expiry", renewal_window=10)
    assign(store, "cpr", "2026-01-05T09:00")
    complete(store, "cpr", "c1", "2026-01-31T10:00")
    assert any(
        reason.startswith("completed 2026-01-31 + 1 month")
        and reason.endswith("→ valid until 2026-02-28 (clamped to the month's end)")
        for reason in reasons(store, "cpr", "2026-02-01")
    )
    start(store, "cpr", "2026-02-20T10:00")
    complete(store, "cpr", "c1", "2026-02-25T10:00")
    assert any(
        "previous validity ended 2026-02-28" in reason and "2026-02-25" in reason and "valid until 2026-03-28" in reason
        for reason in reasons(store, "cpr", "2026-03-01")
    )


# ---------------------------------------------------------------- the command line


def test_cli_define_with_a_renewal_window_and_expiry(store: Store) -> None:
    store_path = store.location
    result = run(
        store_path, ADMIN, "2026-01-01",
        "define", "ce", "--title", "CE", "--kind", "internal", "--course", "c1",
        "--recurring", "12", "--renew-from", "expiry", "--renewal-window", "30", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    page = json.loads(result.stdout)
    assert (page["renew_from"], page["renewal_window_days"], page["validity_months"]) == ("expiry", 30, 12)


@pytest.mark.parametrize(
    "extra",
    [["--renewal-window", "30"], ["--recurring", "12", "--renewal-window", "-1"], ["--renew-from", "never"]],
)
def test_cli_define_rejects_bad_renewal_options(store: Store, extra: list[str]) -> None:
    before = store_state(store.location)
    base = ["define", "ce", "--title", "CE", "--kind", "internal", "--course", "c1"]
    result = run(store.location, ADMIN, "2026-01-01", *base, *extra)
    assert result.exit_code == 2
    assert store_state(store.location) == before


def test_cli_list_pending_shows_renewal_open(store: Store) -> None:
    store_path = store.location
    define(store, "cpr", recurring=12, renewal_window=30)
    assign(store, "cpr", "2025-03-01T09:00")
    complete(store, "cpr", "c1", "2025-03-15T10:00")
    result = run(store_path, ANN, "2026-02-13", "list", "--pending", "--json")
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert (row["id"], row["status"], row["renewal_open"], row["valid_until"]) == (
        "cpr",
        "completed",
        True,
        "2026-03-15",
    )
    assert json.loads(run(store_path, ANN, "2026-02-12", "list", "--pending", "--json").stdout) == []


def test_cli_revoke_exit_codes_and_json(store: Store) -> None:
    store_path = store.location
    define(store, "cpr", recurring=12)
    assign(store, "cpr", "2026-01-05T09:00", ANN, BEN)
    complete(store, "cpr", "c1", "2026-01-20T10:00")

    denied = run(store_path, MANAGER, "2026-02-01", "revoke", "cpr", ANN, "--reason", "no")
    assert denied.exit_code == 4
    assert denied.stderr.startswith("error: ")
    not_completed = run(store_path, ADMIN, "2026-02-01", "revoke", "cpr", BEN, "--reason", "no")
    assert not_completed.exit_code == 5
    assert run(store_path, ADMIN, "2026-02-01", "revoke", "cpr", ANN).exit_code == 2  # --reason is required

    result = run(store_path, ADMIN, "2026-02-01", "revoke", "cpr", ANN, "--reason", "withdrawn", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["id"], data["user"], data["status"]) == ("cpr", ANN, "revoked")


def test_cli_history_json_and_text(revoked: Store) -> None:
    store_path = revoked.location
    result = run(store_path, ADMIN, "2026-02-02", "history", "cpr", "--user", ANN, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["id"], data["user"], len(data["cycles"])) == ("cpr", ANN, 1)
    assert data["cycles"][0]["outcome"] == "revoked"

    text = run(store_path, ANN, "2026-02-02", "history", "cpr")
    assert text.exit_code == 0
    assert "cycle 1 revoked 2026-02-01 by root: exam answers were shared" in text.stdout

    assert run(store_path, BEN, "2026-02-02", "history", "cpr", "--user", ANN).exit_code == 4
    assert run(store_path, ANN, "2026-02-02", "history", "nope").exit_code == 3


def test_cli_explain_json_and_text(explained: Store) -> None:
    store_path = explained.location
    result = run(store_path, MANAGER, "2027-02-01", "explain", "cpr", "--user", ANN, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"id", "user", "now", "status", "overdue", "renewal_open", "cycle", "reasons"}
    assert (data["user"], data["status"], data["cycle"]) == (ANN, "expired", 1)

    text = run(store_path, ANN, "2026-06-01", "explain", "cpr")
    assert text.exit_code == 0
    assert "completed 2026-01-31 + 12 months → valid until 2027-01-31" in text.stdout
    assert "now 2026-06-01 is before 2027-01-31 → completed" in text.stdout


def test_cli_define_replace_apply_to_open(redefined: Store) -> None:
    store_path = redefined.location
    args = ["define", "fire", "--title", "Fire", "--kind", "internal", "--recurring", "12"]
    args += ["--course", "a", "--course", "b", "--course", "d", "--replace", "--apply-to-open"]
    result = run(store_path, ADMIN, "2026-02-05", *args)
    assert result.exit_code == 0, result.stderr
    assert "Moved 2 open cycle(s)" in result.stderr
    shown = json.loads(run(store_path, BEN, "2026-02-06", "show", "fire", "--json").stdout)
    assert (shown["next_course"], shown["courses_done"]) == ("d", 2)


# ---------------------------------------------------------------- backdated changes


def test_a_cycle_cannot_be_opened_before_the_next_one_already_opened(store: Store) -> None:
    define(store, "cpr", recurring=12)
    assign(store, "cpr", "2025-01-10T09:00")
    complete(store, "cpr", "c1", "2025-01-31T10:00")  # valid until 2026-01-31
    start(store, "cpr", "2026-03-01")  # expired: cycle 2 opens 2026-03-01
    before = store_state(store.location)
    with pytest.raises(StateError, match="cycle 2 of cpr was already opened on 2026-03-01"):
        complete(store, "cpr", "c1", "2026-02-15")  # expired then too, but cycle 2 exists already
    assert store_state(store.location) == before
    assert [cycle["cycle"] for cycle in cycles(store, "cpr", "2026-03-02")] == [1, 2]
