"""Bulk CSV import of users, assignments and completions, through the use case against a real store.

Expected dates are worked out by hand from the rules: a backfilled completion is stamped at 00:00 UTC
on its date; valid_until is completed_on + validity_months, clamped to the month's end.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from certcli import rules, usecases
from certcli.errors import DataError, PermissionDenied, UsageError
from certcli.model import Document, Enrollment
from certcli.store import Store, open_store
from certcli.usecases.imports import import_csv

NOW = "2025-06-01"
USERS_HEADER = "id,name,role,email,manager\n"
COMPLETIONS_HEADER = "certification,user,course,completed_on\n"


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def ctx(store: Store, actor: str = "root", when: str = NOW) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=at(when))


STORE_DATA: dict[str, Any] = {
    "users": [
        {"id": "root", "name": "Root", "role": "admin"},
        {"id": "mia", "name": "Mia", "role": "manager"},
        {"id": "ann", "name": "Ann", "manager": "mia"},
        {"id": "ben", "name": "Ben", "manager": "mia"},
        {"id": "cy", "name": "Cy"},
    ],
    "courses": [{"id": "c1", "title": "One"}, {"id": "c2", "title": "Two"}, {"id": "c3", "title": "Three"}]
    + [{"id": "prep", "title": "Exam prep"}],
    "certifications": [
        # every course mandatory (none marked); 45 days to complete after enrolment
        {"id": "sec", "title": "Security", "kind": "internal", "deadline_days": 45}
        | {"courses": [{"id": "c1"}, {"id": "c2"}]},
        # valid 12 months; c3 optional
        {"id": "cloud", "title": "Cloud", "kind": "internal", "validity_months": 12}
        | {"courses": [{"id": "c1", "mandatory": True}, {"id": "c2", "mandatory": True}, {"id": "c3"}]},
        {"id": "aws", "title": "AWS", "kind": "external", "courses": [{"id": "prep"}]},
        {"id": "old", "title": "Old", "kind": "internal", "retired": True, "courses": [{"id": "c1"}]},
    ],
}


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(STORE_DATA), encoding="utf-8")
    return path


@pytest.fixture
def store(store_path: Path) -> Store:
    return open_store(store_path)


def csv_file(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def snapshot(store_path: Path) -> tuple[bytes, bytes | None]:
    log = Path(f"{store_path}.audit.jsonl")
    return store_path.read_bytes(), log.read_bytes() if log.exists() else None


def enrollment(doc: Document, cert: str, user: str) -> Enrollment:
    found = doc.enrollment(cert, user)
    assert found is not None, f"{user} is not enrolled in {cert}"
    return found


def view(store: Store, cert: str, user: str, when: str = NOW) -> rules.EnrollmentView:
    doc = store.read()
    result = rules.evaluate(enrollment(doc, cert, user), doc.certifications[cert], at(when))
    assert result is not None
    return result


def refused(store: Store, path: Path, kind: str, **options: Any) -> list[str]:
    """The lines of the DataError an import raises."""
    with pytest.raises(DataError) as failure:
        import_csv(ctx(store), kind, path, **options)
    assert failure.value.exit_code == 6
    return failure.value.message.splitlines()


def problems(data: dict[str, Any]) -> list[tuple[int, str]]:
    return [(problem["line"], problem["reason"]) for problem in data["problems"]]


# ---------------------------------------------------------------- users


def test_users_are_imported_with_defaults_and_managers_from_later_in_the_file(tmp_path: Path, store: Store) -> None:
    path = csv_file(
        tmp_path,
        USERS_HEADER + "dee,Dee Diaz,,dee@example.com,max\nmax,Max Moss,manager,,mia\neve,Eve,admin,,\n",
    )

    outcome = import_csv(ctx(store), "users", path)

    assert outcome.data == {
        "kind": "users",
        "file": str(path),
        "dry_run": False,
        "imported": 3,
        "skipped": 0,
        "unchanged": 0,
        "problems": [],
        "problems_left_out": 0,
    }
    assert outcome.messages == ["Imported 3 users; 0 rows skipped, 0 unchanged."]
    users = {user["id"]: user for user in usecases.list_users(ctx(store)).data}
    assert users["dee"] == {"id": "dee", "name": "Dee Diaz", "role": "learner", "email": "dee@example.com"} | {
        "manager": "max",
        "active": True,
        "login": None,
    }
    assert users["max"] == {
        "id": "max", "name": "Max Moss", "role": "manager", "email": None, "manager": "mia", "active": True,
        "login": None,
    }  # fmt: skip
    assert users["eve"]["role"] == "admin" and users["eve"]["manager"] is None


def test_optional_user_columns_may_be_left_out_of_the_header(tmp_path: Path, store: Store) -> None:
    path = csv_file(tmp_path, "name,id\nDee,dee\n")

    import_csv(ctx(store), "users", path)

    assert store.read().users["dee"].role == "learner"


USERS_WITH_PROBLEMS = (
    USERS_HEADER
    + "dee,Dee,,,\n"  # 2: good
    + "ann,Ann Again,,,\n"  # 3: exists in the store
    + "dee,Dee Twice,,,\n"  # 4: duplicate of line 2
    + "fay,Fay,boss,,\n"  # 5: bad role
    + "bad id,Gus,,,\n"  # 6: malformed id
    + "hal,,,,\n"  # 7: no name
    + "ian,Ian,,,ian\n"  # 8: manages themselves
    + "joy,Joy,,,nobody\n"  # 9: unknown manager
    + "kim,Kim,,,fay\n"  # 10: manager refused on line 5
    + "lee,Lee,,,kim\n"  # 11: manager refused because of line 10
    + "moe,Moe,learner\n"  # 12: too few values
)

USERS_PROBLEMS = [
    (3, "user 'ann' already exists"),
    (4, "duplicate of line 2"),
    (5, "role 'boss' is not one of admin, manager, learner"),
    (6, "id 'bad id' is not an id (letters, digits, '.', '_', '@', '-', starting with a letter or digit)"),
    (7, "name is empty"),
    (8, "a user cannot manage themselves"),
    (9, "unknown manager 'nobody' (neither in the store nor in the file)"),
    (10, "manager 'fay' is not imported (line 5)"),
    (11, "manager 'kim' is not imported (line 10)"),
    (12, "expected 5 values (id,name,role,email,manager), got 3"),
]


def test_bad_user_rows_refuse_the_whole_file_listing_every_one(tmp_path: Path, store: Store, store_path: Path) -> None:
    path = csv_file(tmp_path, USERS_WITH_PROBLEMS)
    before = snapshot(store_path)

    lines = refused(store, path, "users")

    assert lines == [f"{path}:{line}: {reason}" for line, reason in USERS_PROBLEMS]
    assert snapshot(store_path) == before


def test_skip_invalid_imports_the_good_user_rows_and_reports_the_rest(tmp_path: Path, store: Store) -> None:
    path = csv_file(tmp_path, USERS_WITH_PROBLEMS)

    outcome = import_csv(ctx(store), "users", path, skip_invalid=True)

    assert (outcome.data["imported"], outcome.data["skipped"]) == (1, 10)
    assert problems(outcome.data) == USERS_PROBLEMS
    assert outcome.messages == [
        *(f"{path}:{line}: {reason}" for line, reason in USERS_PROBLEMS),
        "Imported 1 user; 10 rows skipped, 0 unchanged.",
    ]
    users = store.read().users
    assert set(users) == {"root", "mia", "ann", "ben", "cy", "dee"}
    assert users["ann"].name == "Ann"


# ---------------------------------------------------------------- the file: header, encoding, malformed lines


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("id,name,nickname", ["header: unknown column 'nickname'"]),
        ("id,role", ["header: missing column 'name'"]),
        ("id,name,name", ["header: column 'name' appears twice"]),
        (
            "ID,Name",
            ["header: unknown column 'ID'", "header: unknown column 'Name'"]
            + ["header: missing column 'id'", "header: missing column 'name'"],
        ),
    ],
)
def test_a_header_with_unknown_missing_or_repeated_columns_refuses_the_file(
    tmp_path: Path, store: Store, store_path: Path, header: str, expected: list[str]
) -> None:
    path = csv_file(tmp_path, header + "\ndee,Dee\n")
    before = snapshot(store_path)

    with pytest.raises(DataError) as failure:
        import_csv(ctx(store), "users", path, skip_invalid=True)

    assert failure.value.message.splitlines() == [f"{path}:1: {problem}" for problem in expected]
    hint = "the header names the columns, in any order: id, name; optional: role, email, manager, groups"
    assert failure.value.hint == hint
    assert snapshot(store_path) == before


def test_an_empty_file_has_no_header(tmp_path: Path, store: Store) -> None:
    path = csv_file(tmp_path, "\n\n")

    assert refused(store, path, "users", skip_invalid=True) == [f"{path}: empty: no header row"]


def test_a_header_alone_imports_nothing(tmp_path: Path, store: Store, store_path: Path) -> None:
    before = snapshot(store_path)

    outcome = import_csv(ctx(store), "users", csv_file(tmp_path, USERS_HEADER))

    assert (outcome.data["imported"], outcome.data["skipped"]) == (0, 0)
    assert snapshot(store_path) == before


def test_a_missing_file_is_invalid_data(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "absent.csv"

    assert refused(store, path, "users") == [f"cannot read {path}: No such file or directory"]


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path: Path, store: Store) -> None:
    path = csv_file(tmp_path, b"id,name\ndee,D\xe9e\n")

    assert refused(store, path, "users", skip_invalid=True) == [f"{path}:2: not UTF-8 text (byte 13)"]


def test_a_byte_order_mark_crlf_lines_quoted_values_and_blank_lines_are_accepted(tmp_path: Path, store: Store) -> None:
    path = csv_file(tmp_path, b'\xef\xbb\xbfid,name\r\ndee,"Diaz, Dee"\r\n\r\n,\r\n  eve  , Eve \r\n')

    outcome = import_csv(ctx(store), "users", path)

    assert outcome.data["imported"] == 2
    users = store.read().users
    assert users["dee"].name == "Diaz, Dee"
    assert users["eve"].name == "Eve"


def test_malformed_quoting_is_a_row_problem_at_its_line_and_later_lines_keep_their_numbers(
    tmp_path: Path, store: Store
) -> None:
    text = (
        "id,name\n"
        'dee,"Dee\nDiaz"\n'  # 2-3: one row across two lines
        'eve,"Eve"x\n'  # 4: text after a closing quote
        "fay,Fay,extra\n"  # 5: too many values
        "bad id,Gus\n"  # 6
        'hal,"Hal\n'  # 7: a quote never closed
    )
    path = csv_file(tmp_path, text)

    outcome = import_csv(ctx(store), "users", path, skip_invalid=True)

    assert problems(outcome.data) == [
        (2, "name 'Dee\\nDiaz' holds a line break or another control character"),
        (4, "malformed CSV: ',' expected after '\"'"),
        (5, "expected 2 values (id,name), got 3"),
        (6, "id 'bad id' is not an id (letters, digits, '.', '_', '@', '-', starting with a letter or digit)"),
        (7, "malformed CSV: unexpected end of data"),
    ]
    assert "dee" not in store.read().users  # a name on two lines would be a broken mail header
    assert "eve" not in store.read().users


# ---------------------------------------------------------------- assignments


def test_assignments_enrol_with_their_due_date_and_leave_existing_ones_alone(tmp_path: Path, store: Store) -> None:
    usecases.assign(ctx(store, when="2025-01-05"), "cloud", ["ann"], None)
    text = (
        "certification,user,due\n"
        "sec,ann,2025-07-01\n"  # 2
        "sec,ben,\n"  # 3: no due: enrolment 2025-06-01 + 45 days = 2025-07-16
        "cloud,ann,\n"  # 4: already assigned
        "sec,ann,2025-08-01\n"  # 5: duplicate of line 2
        "cloud,ghost,\n"  # 6
        "old,ben,\n"  # 7
        "aws,cy,2025-02-30\n"  # 8
        "nope,cy,\n"  # 9
        "cloud,ben\n"  # 10
    )

    outcome = import_csv(ctx(store), "assignments", csv_file(tmp_path, text), skip_invalid=True)

    assert (outcome.data["imported"], outcome.data["unchanged"], outcome.data["skipped"]) == (2, 1, 6)
    assert problems(outcome.data) == [
        (5, "duplicate of line 2"),
        (6, "unknown user 'ghost'"),
        (7, "certification 'old' is retired"),
        (8, "due '2025-02-30' is not a date YYYY-MM-DD"),
        (9, "unknown certification 'nope'"),
        (10, "expected 3 values (certification,user,due), got 2"),
    ]
    assert view(store, "sec", "ann").due == date(2025, 7, 1)
    assert view(store, "sec", "ben").due == date(2025, 7, 16)
    assert view(store, "sec", "ben").enrolled_on == date(2025, 6, 1)
    assert store.read().enrollment("aws", "cy") is None


# ---------------------------------------------------------------- completions


def test_completion_rows_with_problems_refuse_the_whole_file(tmp_path: Path, store: Store, store_path: Path) -> None:
    text = COMPLETIONS_HEADER + (
        "nope,ann,c1,2025-01-01\n"  # 2
        "sec,ghost,c1,2025-01-01\n"  # 3
        "sec,ann,zz,2025-01-01\n"  # 4
        "sec,ann,c3,2025-01-01\n"  # 5
        "sec,ann,c1,2025-13-01\n"  # 6
        "sec,ann,c1,01/02/2025\n"  # 7
        "sec,ann,c1,2025-06-02\n"  # 8: the day after the evaluation time
        "sec,ann,c1,2025-01-01\n"  # 9: good
        "sec,ann,c1,2025-01-01\n"  # 10
        "sec,ann,c1\n"  # 11
        "old,ann,c1,2025-01-01\n"  # 12
        "nope,ghost,,\n"  # 13
    )
    path = csv_file(tmp_path, text)
    before = snapshot(store_path)

    lines = refused(store, path, "completions")

    assert lines == [
        f"{path}:2: unknown certification 'nope'",
        f"{path}:3: unknown user 'ghost'",
        f"{path}:4: unknown course 'zz'",
        f"{path}:5: course 'c3' is not part of sec",
        f"{path}:6: completed_on '2025-13-01' is not a date YYYY-MM-DD",
        f"{path}:7: completed_on '01/02/2025' is not a date YYYY-MM-DD",
        f"{path}:8: completed_on 2025-06-02 is after the evaluation time (2025-06-01)",
        f"{path}:10: duplicate of line 9",
        f"{path}:11: expected 4 values (certification,user,course,completed_on), got 3",
        f"{path}:12: certification 'old' is retired: ann cannot be enrolled in it",
        f"{path}:13: unknown certification 'nope'; unknown user 'ghost'; course is empty; completed_on is empty",
    ]
    assert snapshot(store_path) == before


def test_backfilled_completions_enrol_the_learner_and_date_completion_and_validity(
    tmp_path: Path, store: Store
) -> None:
    text = COMPLETIONS_HEADER + (
        "cloud,cy,c2,2024-02-29\n"
        "cloud,cy,c1,2024-02-10\n"  # the earliest: cy is enrolled that day
        "cloud,cy,c1,2025-03-10\n"  # after cycle 1 expired on 2025-02-28: opens cycle 2
        "cloud,cy,c2,2025-03-12\n"
    )

    outcome = import_csv(ctx(store), "completions", csv_file(tmp_path, text))

    assert (outcome.data["imported"], outcome.data["enrolled"]) == (4, 1)
    assert outcome.messages == ["Imported 4 completions, enrolling 1 learner first; 0 rows skipped, 0 unchanged."]
    assigned = enrollment(store.read(), "cloud", "cy").facts[0]
    assert (assigned.type, assigned.at, assigned.by) == ("assigned", at("2024-02-10"), "root")
    now = view(store, "cloud", "cy")
    assert (now.status, now.cycle, now.enrolled_on) == ("completed", 2, date(2024, 2, 10))
    assert (now.completed_on, now.valid_until) == (date(2025, 3, 12), date(2026, 3, 12))
    first = now.cycles[0]
    # 2024-02-29 + 12 months has no 29th: clamped to 2025-02-28
    assert (first.completed_on, first.valid_until, first.outcome) == (date(2024, 2, 29), date(2025, 2, 28), "expired")
    then = view(store, "cloud", "cy", "2025-01-01")
    assert (then.status, then.cycle, then.valid_until) == ("completed", 1, date(2025, 2, 28))
    gap = view(store, "cloud", "cy", "2025-03-01")
    assert (gap.status, gap.overdue, gap.due) == ("expired", True, date(2025, 2, 28))


def test_importing_the_same_completions_again_changes_nothing(tmp_path: Path, store: Store, store_path: Path) -> None:
    path = csv_file(
        tmp_path,
        COMPLETIONS_HEADER + "cloud,cy,c1,2024-02-10\ncloud,cy,c2,2024-02-29\ncloud,cy,c1,2025-03-10\n",
    )
    import_csv(ctx(store), "completions", path)
    before = snapshot(store_path)

    again = import_csv(ctx(store), "completions", path)

    assert (again.data["imported"], again.data["unchanged"], again.data["enrolled"]) == (0, 3, 0)
    assert snapshot(store_path) == before


def test_a_course_completed_twice_in_one_cycle_keeps_its_first_date(tmp_path: Path, store: Store) -> None:
    text = COMPLETIONS_HEADER + "sec,cy,c1,2025-02-01\nsec,cy,c1,2025-01-01\nsec,cy,c2,2025-03-01\n"

    outcome = import_csv(ctx(store), "completions", csv_file(tmp_path, text))

    assert (outcome.data["imported"], outcome.data["unchanged"]) == (2, 1)
    courses = {course.id: course.completed_on for course in view(store, "sec", "cy").courses}
    assert courses == {"c1": date(2025, 1, 1), "c2": date(2025, 3, 1)}
    assert view(store, "sec", "cy").completed_on == date(2025, 3, 1)


def test_completions_of_an_enrolled_learner_go_into_their_cycle(tmp_path: Path, store: Store) -> None:
    usecases.assign(ctx(store, when="2025-01-05"), "sec", ["ann"], None)
    text = COMPLETIONS_HEADER + "sec,ann,c1,2024-12-01\nsec,ann,c2,2025-02-01\nsec,ann,c3,2025-02-01\n"

    outcome = import_csv(ctx(store), "completions", csv_file(tmp_path, text), skip_invalid=True)

    assert problems(outcome.data) == [
        (2, "completed_on 2024-12-01 is before ann was enrolled in sec (2025-01-05)"),
        (4, "course 'c3' is not part of sec"),
    ]
    assert (outcome.data["imported"], outcome.data["enrolled"]) == (1, 0)
    now = view(store, "sec", "ann")
    assert (now.status, now.courses_done, now.due) == ("started", 1, date(2025, 2, 19))


def test_a_completion_cannot_go_between_an_expiry_and_the_next_cycle(tmp_path: Path, store: Store) -> None:
    usecases.assign(ctx(store, when="2024-01-01"), "cloud", ["ben"], None)
    for course in ("c1", "c2"):
        usecases.complete(ctx(store, "ben", "2024-01-15"), "cloud", course)
    usecases.complete(ctx(store, "ben", "2025-03-01"), "cloud", "c1")  # expired 2025-01-15: opens cycle 2
    text = COMPLETIONS_HEADER + "cloud,ben,c2,2025-02-01\ncloud,ben,c2,2025-03-05\n"

    outcome = import_csv(ctx(store), "completions", csv_file(tmp_path, text), skip_invalid=True)

    assert problems(outcome.data) == [
        (
            2,
            "cloud was expired for ben on 2025-02-01 and its next cycle opened on 2025-03-01: "
            "a completion cannot go between two cycles",
        ),
    ]
    now = view(store, "cloud", "ben")
    assert (now.status, now.cycle, now.completed_on, now.valid_until) == (
        "completed",
        2,
        date(2025, 3, 5),
        date(2026, 3, 5),
    )


def test_a_completion_after_a_revocation_opens_the_next_cycle(tmp_path: Path, store: Store) -> None:
    usecases.assign(ctx(store, when="2024-01-01"), "sec", ["ben"], None)
    for course in ("c1", "c2"):
        usecases.complete(ctx(store, "ben", "2024-01-15"), "sec", course)
    usecases.revoke(ctx(store, when="2024-03-01"), "sec", "ben", "withdrawn")
    text = COMPLETIONS_HEADER + "sec,ben,c1,2024-02-01\nsec,ben,c1,2024-04-01\nsec,ben,c2,2024-04-02\n"

    outcome = import_csv(ctx(store), "completions", csv_file(tmp_path, text))

    assert (outcome.data["imported"], outcome.data["unchanged"]) == (2, 1)  # c1 on 2024-02-01: done in cycle 1
    now = view(store, "sec", "ben")
    assert (now.status, now.cycle, now.completed_on) == ("completed", 2, date(2024, 4, 2))
    assert now.cycles[0].outcome == "revoked"


def test_an_external_certifications_course_is_recorded_and_proof_is_still_needed(tmp_path: Path, store: Store) -> None:
    import_csv(ctx(store), "completions", csv_file(tmp_path, COMPLETIONS_HEADER + "aws,cy,prep,2025-05-01\n"))

    now = view(store, "aws", "cy")
    assert (now.status, now.courses_done, now.courses_required, now.completed_on) == ("started", 1, 1, None)


def random_completions(randomness: random.Random) -> list[tuple[str, str, str, str]]:
    """40 distinct rows over three and a half years, most of one learner's recurring certification
    (so cycles complete, expire and reopen), in a random order."""
    first, last = date(2022, 1, 1).toordinal(), date(2025, 6, 1).toordinal()
    rows: dict[tuple[str, str, str, str], None] = {}
    for _ in range(40):
        if randomness.random() < 0.6:
            cert, user, course = "cloud", "ann", randomness.choice(["c1", "c2", "c3"])
        else:
            cert, user = randomness.choice(["sec", "cloud"]), randomness.choice(["ben", "cy"])
            course = randomness.choice(["c1", "c2"])
        rows[(cert, user, course, date.fromordinal(randomness.randint(first, last)).isoformat())] = None
    return list(rows)


@pytest.mark.parametrize("already_enrolled", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_an_import_records_the_same_facts_as_assign_and_complete_day_by_day(
    tmp_path: Path, store_path: Path, seed: int, already_enrolled: bool
) -> None:
    """The import asks the rules only now and then; doing each row with `complete` asks them every time.
    With `already_enrolled`, ann's recurring certification holds facts from before the import."""
    if already_enrolled:
        before = open_store(store_path)
        usecases.assign(ctx(before, when="2021-12-01"), "cloud", ["ann"], None)
        usecases.complete(ctx(before, when="2022-06-01"), "cloud", "c1", "ann")
        usecases.complete(ctx(before, when="2023-07-01"), "cloud", "c2", "ann")
    rows = random_completions(random.Random(seed))
    for suffix in ("", ".audit.jsonl"):
        original = Path(f"{store_path}{suffix}")
        if original.exists():
            Path(f"{tmp_path / 'by_hand.json'}{suffix}").write_bytes(original.read_bytes())
    imported, by_hand = open_store(store_path), open_store(tmp_path / "by_hand.json")
    text = COMPLETIONS_HEADER + "".join(",".join(row) + "\n" for row in rows)

    import_csv(ctx(imported), "completions", csv_file(tmp_path, text))

    for cert, user, course, day in sorted(rows, key=lambda row: (row[3], rows.index(row))):
        if by_hand.read().enrollment(cert, user) is None:
            usecases.assign(ctx(by_hand, when=day), cert, [user], None)
        usecases.complete(ctx(by_hand, when=day), cert, course, user)
    for cert, user in {(cert, user) for cert, user, _, _ in rows}:
        assert enrollment(imported.read(), cert, user).facts == enrollment(by_hand.read(), cert, user).facts


# ---------------------------------------------------------------- dry run, audit, progress, permissions


def test_a_dry_run_reports_and_writes_nothing(tmp_path: Path, store: Store, store_path: Path) -> None:
    usecases.assign(ctx(store, when="2025-01-05"), "sec", ["ann"], None)
    path = csv_file(
        tmp_path, COMPLETIONS_HEADER + "sec,ann,c1,2025-02-01\nsec,ben,c1,2025-02-01\nsec,x,c1,2025-02-01\n"
    )
    before = snapshot(store_path)

    outcome = import_csv(ctx(store), "completions", path, dry_run=True, skip_invalid=True)

    assert snapshot(store_path) == before
    assert outcome.data == {
        "kind": "completions",
        "file": str(path),
        "dry_run": True,
        "imported": 2,
        "skipped": 1,
        "unchanged": 0,
        "problems": [{"line": 4, "reason": "unknown user 'x'"}],
        "problems_left_out": 0,
        "enrolled": 1,
    }
    assert outcome.messages[-1] == (
        "Would import 2 completions, enrolling 1 learner first; 1 row skipped, 0 unchanged. Dry run: nothing written."
    )
    assert refused(store, path, "completions", dry_run=True) == [f"{path}:4: unknown user 'x'"]
    assert snapshot(store_path) == before
    real = import_csv(ctx(store), "completions", path, skip_invalid=True)
    assert {**real.data, "dry_run": True} == outcome.data


def test_an_import_is_one_audit_event_with_its_counts(tmp_path: Path, store: Store, store_path: Path) -> None:
    path = csv_file(tmp_path, USERS_HEADER + "dee,Dee,,,\neve,Eve,,,\nann,Ann,,,\n", name="people.csv")

    import_csv(ctx(store), "users", path, skip_invalid=True)

    events, _ = store.read_audit()
    assert len(events) == 1
    event = events[0]
    assert (event["action"], event["actor"], event["at"]) == ("import", "root", "2025-06-01T00:00:00Z")
    assert event["details"] == {"kind": "users", "file": "people.csv", "imported": 2, "skipped": 1, "unchanged": 0}
    assert usecases.audit_verify(ctx(store)).data["ok"] is True


def test_progress_is_reported_from_zero_to_the_total_row_by_row(tmp_path: Path, store: Store) -> None:
    calls: list[tuple[int, int]] = []
    path = csv_file(tmp_path, USERS_HEADER + 'dee,Dee,,,\neve,"Eve"x,,,\nann,Ann,,,\nfay,Fay,,,\n')

    import_csv(ctx(store), "users", path, skip_invalid=True, progress=lambda done, total: calls.append((done, total)))

    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_progress_on_a_long_file_is_reported_in_bounded_steps(tmp_path: Path, store: Store) -> None:
    people, courses, months = ("ann", "ben", "cy"), ("c1", "c2"), range(1, 6)
    rows = "".join(
        f"sec,{user},{course},2025-0{month}-01\n" for user in people for course in courses for month in months
    )
    path = csv_file(tmp_path, COMPLETIONS_HEADER + rows * 40)  # 1,200 rows, most of them duplicates
    calls: list[tuple[int, int]] = []

    import_csv(ctx(store), "completions", path, skip_invalid=True, progress=lambda *call: calls.append(call))

    done = [call[0] for call in calls]
    assert calls[0] == (0, 1200) and calls[-1] == (1200, 1200)
    assert all(total == 1200 for _, total in calls)
    assert done == sorted(set(done))  # strictly increasing
    assert len(calls) <= 202


@pytest.mark.parametrize("actor", ["ann", "mia", "ghost", None])
def test_only_an_admin_imports_even_when_the_file_is_missing(tmp_path: Path, store: Store, actor: str | None) -> None:
    with pytest.raises(PermissionDenied):
        import_csv(usecases.Context(store, actor, at(NOW)), "users", tmp_path / "absent.csv")


def test_an_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    store = open_store(tmp_path / "missing.json")

    with pytest.raises(UsageError) as failure:
        import_csv(ctx(store), "courses", tmp_path / "absent.csv")

    assert failure.value.hint == "use one of: users, assignments, completions"


def test_the_import_benchmark_runs_and_its_second_import_changes_nothing() -> None:
    bench = Path(__file__).resolve().parent.parent / "bench" / "import_completions.py"
    sizes = ["--learners", "4", "--certifications", "2", "--courses", "3"]

    done = subprocess.run(
        [sys.executable, str(bench), *sizes, "--json"], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    first, again = json.loads(done.stdout)["results"]
    assert (first["rows"], first["imported"], first["unchanged"]) == (24, 24, 0)  # 4 learners x 2 x 3 courses
    assert (again["rows"], again["imported"], again["unchanged"]) == (24, 0, 24)
    assert first["store_bytes_after"] > first["store_bytes_before"]
    assert again["store_bytes_after"] == again["store_bytes_before"] == first["store_bytes_after"]


# ---------------------------------------------------------------- a file of bad rows


def test_of_many_refused_rows_the_first_are_shown_and_the_rest_counted(tmp_path: Path, store: Store) -> None:
    from certcli.usecases.imports import PROBLEMS_SHOWN

    refused = PROBLEMS_SHOWN + 250
    rows = "".join(f"ghost{number},Ghost\n" for number in range(refused)).replace("ghost0,", "bad id,")
    path = csv_file(tmp_path, "id,name,manager\n" + rows.replace(",Ghost\n", ",Ghost,nobody\n"))

    outcome = import_csv(ctx(store), "users", path, skip_invalid=True, dry_run=True)

    assert outcome.data["skipped"] == refused
    assert [line for line, _ in problems(outcome.data)] == list(range(2, PROBLEMS_SHOWN + 2))
    assert outcome.data["problems_left_out"] == 250
    assert outcome.messages[PROBLEMS_SHOWN] == f"{path}: and 250 more rows refused"
    assert problems(outcome.data)[1] == (3, "unknown manager 'nobody' (neither in the store nor in the file)")
    with pytest.raises(DataError) as refusal:
        import_csv(ctx(store), "users", path)
    assert str(refusal.value).splitlines()[-1] == f"{path}: and 250 more rows refused"
