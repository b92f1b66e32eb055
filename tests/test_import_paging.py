"""Bulk import a page at a time, on every backend: the store is changed a few rows at a time in one
change, with the same result as the whole file at once, one audit event, and nothing saved when a
row of a late page refuses the file or the run is a dry one.

The pages here hold two rows (the real ones hold thousands), so that every file spans several pages
and one learner's rows fall into more than one.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from backends import store_state, write_lock_held
from test_csv_import import COMPLETIONS_HEADER, STORE_DATA, csv_file

from certcli import usecases
from certcli.errors import DataError, StoreBusy
from certcli.store import Store, open_store
from certcli.store.document import document_from_data, document_to_data
from certcli.usecases import import_rows, imports
from certcli.usecases.audit_trail import audit_verify
from certcli.usecases.import_rows import Columns, Problem, Row, Spool
from certcli.usecases.imports import import_csv

NOW = datetime(2025, 6, 1, tzinfo=UTC)

COMPLETIONS = COMPLETIONS_HEADER + (
    "cloud,cy,c2,2024-02-29\n"
    "sec,ann,c1,2025-02-01\n"  # ann was assigned sec on 2025-01-05
    "cloud,cy,c1,2024-02-10\n"  # cy's earliest: enrolled that day
    "sec,cy,c1,2025-01-10\n"
    "cloud,cy,c1,2025-03-10\n"  # after cycle 1 expired on 2025-02-28: opens cycle 2
    "aws,ben,prep,2025-04-01\n"
    "sec,ann,c2,2025-02-03\n"
    "cloud,cy,c2,2025-03-12\n"
    "sec,cy,c2,2025-01-11\n"
    "sec,ben,c1,2025-05-01\n"
    "sec,ben,c1,2025-05-01\n"  # 12: a duplicate of line 11
)


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "PAGE_ROWS", 2)


def ctx(store: Store, actor: str = "root", now: datetime = NOW) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=now)


def made(location: str | Path) -> Store:
    """A store at `location` holding the test organisation, with ann assigned sec on 2025-01-05."""
    store = open_store(location)
    store.create(document_from_data(copy.deepcopy(STORE_DATA), str(location)))
    usecases.assign(ctx(store, now=datetime(2025, 1, 5, tzinfo=UTC)), "sec", ["ann"], None)
    return store


def enrollments(store: Store) -> list[dict[str, Any]]:
    data = document_to_data(store.read())
    return sorted(data["enrollments"], key=lambda row: (row["certification"], row["user"]))


def events(store: Store) -> list[dict[str, Any]]:
    return store.read_audit()[0]


def test_a_paged_import_gives_what_the_whole_file_gives_with_one_audit_event(new_store: str, tmp_path: Path) -> None:
    path = csv_file(tmp_path, COMPLETIONS)
    reference = made(tmp_path / "reference" / "s.json")
    with pytest.MonkeyPatch.context() as whole:
        whole.setattr(imports, "PAGE_ROWS", 1_000)
        expected = import_csv(ctx(reference), "completions", path, skip_invalid=True)
    store = made(new_store)
    trail_before = len(events(store))

    outcome = import_csv(ctx(store), "completions", path, skip_invalid=True)

    assert outcome.data == expected.data
    assert (outcome.data["imported"], outcome.data["enrolled"], outcome.data["skipped"]) == (10, 4, 1)
    assert outcome.data["problems"] == [{"line": 12, "reason": "duplicate of line 11"}]
    assert enrollments(store) == enrollments(reference)
    cy = store.read().enrollment("cloud", "cy")
    assert cy is not None and [fact.type for fact in cy.facts].count("cycle_opened") == 2
    new_events = events(store)[trail_before:]
    assert [event["action"] for event in new_events] == ["import"]
    assert new_events[0]["details"]["imported"] == 10
    assert audit_verify(ctx(store)).data["ok"] is True


def test_a_problem_in_a_late_page_refuses_the_whole_file_and_changes_nothing(new_store: str, tmp_path: Path) -> None:
    store = made(new_store)
    # the last row can only be refused when it is applied: ann was enrolled after that day
    path = csv_file(tmp_path, COMPLETIONS.replace("sec,ben,c1,2025-05-01\n", "") + "sec,ann,c1,2024-12-01\n")
    before = store_state(new_store)

    with pytest.raises(DataError) as refused:
        import_csv(ctx(store), "completions", path)

    assert refused.value.message.splitlines() == [
        f"{path}:11: completed_on 2024-12-01 is before ann was enrolled in sec (2025-01-05)"
    ]
    assert store_state(new_store) == before


def test_a_dry_run_reports_what_an_import_does_and_changes_nothing(new_store: str, tmp_path: Path) -> None:
    store = made(new_store)
    path = csv_file(tmp_path, COMPLETIONS)
    store.read()  # a TOML store's parse cache, which reading commands keep beside it, is made
    before = store_state(new_store)

    dry = import_csv(ctx(store), "completions", path, dry_run=True, skip_invalid=True)

    assert store_state(new_store) == before
    done = import_csv(ctx(store), "completions", path, skip_invalid=True)
    assert {**dry.data, "dry_run": False} == done.data


def test_a_dry_run_reads_while_another_change_holds_the_write_lock(new_store: str, tmp_path: Path) -> None:
    made(new_store)
    path = csv_file(tmp_path, COMPLETIONS)
    waiting = open_store(new_store, lock_timeout=0.5)

    with write_lock_held(new_store):
        dry = import_csv(ctx(waiting), "completions", path, dry_run=True, skip_invalid=True)
        with pytest.raises(StoreBusy):
            import_csv(ctx(waiting), "completions", path, skip_invalid=True)

    assert (dry.data["dry_run"], dry.data["imported"], dry.data["enrolled"]) == (True, 10, 4)


def test_assignments_in_pages_enrol_each_learner_once(new_store: str, tmp_path: Path) -> None:
    store = made(new_store)
    text = "certification,user,due\nsec,ben,\ncloud,ann,2025-09-01\nsec,ann,\nsec,cy,\ncloud,ann,\naws,ben,\n"

    outcome = import_csv(ctx(store), "assignments", csv_file(tmp_path, text), skip_invalid=True)

    assert (outcome.data["imported"], outcome.data["unchanged"]) == (4, 1)
    assert outcome.data["problems"] == [{"line": 6, "reason": "duplicate of line 3"}]
    pairs = {(row["certification"], row["user"]) for row in enrollments(store)}
    assert pairs == {("sec", "ann"), ("sec", "ben"), ("sec", "cy"), ("cloud", "ann"), ("aws", "ben")}


USERS = (
    "id,name,role,email,manager,groups\n"
    "dee,Dee,,,max,crew\n"  # 2: her manager comes later, on another page, and is refused: so is she
    "max,Max,manager,,zoe,\n"  # 3: refused in turn: his manager's row is refused
    "zoe,Zoe,chief,,,\n"  # 4: not a role
    "ann,Ann Again,,,,\n"  # 5: already in the store
    "eli,Eli,,,mia,crew\n"  # 6
    "dee,Dee Twice,,,,\n"  # 7: a duplicate of line 2
    "fay,Fay,,,nobody,\n"  # 8
    "gus,Gus,,,eli,crew\n"  # 9: his manager is on an earlier page
)


def with_crew(store: Store) -> Store:
    """`store` with a group crew that enrols its members in sec."""
    usecases.add_group(ctx(store), "crew", "Crew")
    usecases.auto_assign(ctx(store), "crew", "sec")
    return store


def test_users_in_pages_find_managers_and_refusals_across_pages(new_store: str, tmp_path: Path) -> None:
    path = csv_file(tmp_path, USERS)
    reference = with_crew(made(tmp_path / "reference" / "s.json"))
    with pytest.MonkeyPatch.context() as whole:
        whole.setattr(imports, "PAGE_ROWS", 1_000)
        expected = import_csv(ctx(reference), "users", path, skip_invalid=True)
    store = with_crew(made(new_store))
    dry = import_csv(ctx(store), "users", path, dry_run=True, skip_invalid=True)

    outcome = import_csv(ctx(store), "users", path, skip_invalid=True)

    assert (outcome.data, outcome.messages) == (expected.data, expected.messages)
    assert {**dry.data, "dry_run": False} == outcome.data  # a dry run's parts do not see each other's changes
    assert [(problem["line"], problem["reason"]) for problem in outcome.data["problems"]] == [
        (2, "manager 'max' is not imported (line 3)"),
        (3, "manager 'zoe' is not imported (line 4)"),
        (4, "role 'chief' is not one of admin, manager, learner"),
        (5, "user 'ann' already exists"),
        (7, "duplicate of line 2"),
        (8, "unknown manager 'nobody' (neither in the store nor in the file)"),
    ]
    assert outcome.data["imported"] == 2
    doc = store.read()
    assert {user_id: doc.users[user_id].manager for user_id in ("eli", "gus")} == {"eli": "mia", "gus": "eli"}
    assert doc.groups["crew"].members == reference.read().groups["crew"].members
    assert doc.groups["crew"].members == ("eli", "gus")
    assert {row["user"] for row in enrollments(store) if row["certification"] == "sec"} == {"ann", "eli", "gus"}


# ---------------------------------------------------------------- the spool


def test_a_full_disk_under_the_spool_is_one_clear_error_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, new_store: str, tmp_path: Path
) -> None:
    store = made(new_store)
    opened = import_rows._SpoolDatabase.__init__

    def on_a_small_disk(spool: Any) -> None:
        opened(spool)
        spool.run("PRAGMA max_page_count = 4")  # SQLite's own "database or disk is full" past 16 kB

    monkeypatch.setattr(import_rows._SpoolDatabase, "__init__", on_a_small_disk)
    path = csv_file(tmp_path, COMPLETIONS_HEADER + "sec,ann,c1,2025-02-01\n" * 2_000)
    before = store_state(new_store)

    with pytest.raises(DataError) as refused:
        import_csv(ctx(store), "completions", path)

    assert refused.value.message == (
        "cannot keep the file's rows in a temporary file while importing: database or disk is full"
    )
    assert refused.value.hint is not None and "TMPDIR" in refused.value.hint
    assert store_state(new_store) == before


def spooled(rows: list[tuple[int, str, str, str]]) -> Spool:
    spool = Spool(
        ("certification", "user", "day"),
        key=("certification", "user", "day"),
        group=("certification", "user"),
        order=("day",),
    )
    spool.add([(line, (cert, user, day), "") for line, cert, user, day in rows])
    return spool


def test_the_spool_gives_whole_groups_in_the_order_of_their_first_line() -> None:
    with spooled(
        [(2, "a", "x", "2025-03"), (3, "b", "y", "2025-01"), (4, "a", "x", "2025-01"), (5, "a", "x", "2025-02")]
    ) as spool:
        pages = [[[row.line for row in group] for group in page] for page in spool.groups(page_rows=2)]

    assert pages == [[[4, 5, 2]], [[3]]]  # a group of three is never split to fill a page of two


def test_the_spool_names_each_duplicate_by_the_first_line_and_keeps_other_reasons() -> None:
    with spooled([(2, "a", "x", "d"), (3, "a", "x", "d"), (4, "b", "x", "d")]) as spool:
        spool.add([(5, ("a", "x", "d"), "unknown user 'x'")])
        spool.add_malformed(Problem(6, "malformed CSV: unexpected end of data"))
        spool.add_malformed(Problem(7, "malformed CSV: unexpected end of data"))
        spool.check_across_rows()

        assert list(spool.problems()) == [
            (3, "duplicate of line 2"),
            (5, "unknown user 'x'; duplicate of line 2"),
            (6, "malformed CSV: unexpected end of data"),
            (7, "malformed CSV: unexpected end of data"),
        ]
        assert [[row.line for row in group] for page in spool.groups(10) for group in page] == [[2], [4]]


def test_records_read_a_row_at_a_time_keep_their_first_physical_line(tmp_path: Path) -> None:
    from certcli.usecases.import_rows import read_records

    path = csv_file(tmp_path, '\ufeffid,name\n\nann,"Ann\nAnders"\nben,Ben,x\n,\ncy,Cy\n')

    records = list(read_records(path, Columns(("id", "name"))))

    assert records == [
        Row(3, {"id": "ann", "name": "Ann\nAnders"}),
        Problem(5, "expected 2 values (id,name), got 3"),
        Row(7, {"id": "cy", "name": "Cy"}),
    ]
