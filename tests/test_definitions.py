"""Certifications as code: the apply plan (create, update, unchanged, prune), idempotence, dry runs,
invalid files refused whole, and the export → apply → export round trip.

Every expected plan below is worked out by hand from the files and the store they are applied to.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certcli import usecases
from certcli.errors import DataError, PermissionDenied, StateError, UsageError
from certcli.store import Store, open_store
from certcli.usecases.as_code import apply_file, definitions_data, export_definitions

NOW = "2026-01-05"

BASE = """
[[users]]
id = "mia"
name = "Mia"
role = "manager"

[[users]]
id = "ann"
name = "Ann"
manager = "mia"

[[courses]]
id = "c1"
title = "Course one"

[[courses]]
id = "c2"
title = "Course two"
minutes = 30

[[certifications]]
id = "sec"
title = "Security"
kind = "internal"
published = 2026-01-01
courses = [{ id = "c1", mandatory = true }]

[[assignments]]
certification = "sec"
users = ["ann"]
due = 2026-02-01
"""

# BASE with: ann's email, c2's minutes, sec's title and courses changed; a new user bob assigned to sec.
UPDATED = """
[[users]]
id = "mia"
name = "Mia"
role = "manager"

[[users]]
id = "ann"
name = "Ann"
manager = "mia"
email = "ann@example.test"

[[users]]
id = "bob"
name = "Bob"

[[courses]]
id = "c1"
title = "Course one"

[[courses]]
id = "c2"
title = "Course two"
minutes = 45

[[certifications]]
id = "sec"
title = "Security awareness"
kind = "internal"
published = 2026-01-01
courses = [{ id = "c1", mandatory = true }, { id = "c2", mandatory = true }]

[[assignments]]
certification = "sec"
users = ["ann", "bob"]
due = 2026-02-01
"""

OLD = """
[[courses]]
id = "old-c"
title = "Old course"

[[certifications]]
id = "old"
title = "Old"
kind = "internal"
courses = [{ id = "old-c" }]
"""


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def ctx(store: Store, actor: str = "root", when: str = NOW) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=at(when))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A new store holding only the admin `root`."""
    created = open_store(tmp_path / "s.json")
    usecases.init_store(created, "root", "Root", "Org", at(NOW))
    return created


@pytest.fixture
def based(store: Store, tmp_path: Path) -> Store:
    """The store with BASE applied."""
    apply_file(ctx(store), write(tmp_path, BASE, "base.toml"))
    return store


def write(folder: Path, text: str, name: str = "defs.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def store_bytes(store: Store) -> bytes:
    return Path(store.location).read_bytes()


def audit_log(store: Store) -> bytes:
    return Path(f"{store.location}.audit.jsonl").read_bytes()


def audit_events(store: Store) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit_log(store).splitlines()]


def item(store: Store, user: str, cert: str, when: str = NOW) -> dict[str, Any]:
    """`user`'s list item for `cert` on `when`, as the admin sees it."""
    items = usecases.list_certifications(ctx(store, when=when), user_id=user).data
    return next(entry for entry in items if entry["id"] == cert)


def problems(error: DataError) -> list[str]:
    return error.message.splitlines()


# ---------------------------------------------------------------- the plan


def test_apply_creates_what_the_store_lacks_and_enrols_with_the_due_date(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, BASE)

    outcome = apply_file(ctx(store), path)

    assert {key: value for key, value in outcome.data.items() if key != "plan"} == {
        "dry_run": False,
        "changed": True,
        "users": {"created": ["mia", "ann"], "updated": {}, "unchanged": []},
        "courses": {"created": ["c1", "c2"], "updated": {}, "unchanged": [], "retired": []},
        "certifications": {"created": ["sec"], "updated": {}, "unchanged": [], "retired": []},
        "groups": {"created": [], "updated": {}, "unchanged": []},
        "assignments": {"created": [{"certification": "sec", "user": "ann"}], "unchanged": []},
    }
    assert [*outcome.data["plan"], *outcome.messages] == [
        "+ user mia",
        "+ user ann",
        "+ course c1",
        "+ course c2",
        "+ certification sec",
        "+ assign sec to ann (due 2026-02-01)",
        f"Applied {path}: 5 created, 0 updated, 0 retired, 1 assigned, 0 unchanged.",
    ]
    doc = store.read()
    assert list(doc.users) == ["root", "mia", "ann"]
    assert doc.users["ann"].manager == "mia"
    assert doc.courses["c2"].minutes == 30
    ann_sec = item(store, "ann", "sec")
    assert (ann_sec["status"], ann_sec["due"], ann_sec["courses_required"]) == ("enrolled", "2026-02-01", 1)


def test_apply_is_one_audit_event_with_the_counts(store: Store, tmp_path: Path) -> None:
    before = len(audit_events(store))

    apply_file(ctx(store), write(tmp_path, BASE))

    events = audit_events(store)
    assert len(events) == before + 1
    event = events[-1]
    assert (event["action"], event["actor"]) == ("apply", "root")
    assert event["details"]["counts"] == {
        "users": {"created": 2, "updated": 0},
        "courses": {"created": 2, "updated": 0, "retired": 0},
        "certifications": {"created": 1, "updated": 0, "retired": 0},
        "groups": {"created": 0, "updated": 0},
        "assignments": {"created": 1},
    }
    assert event["details"]["users"] == ["mia", "ann"]
    assert usecases.audit_verify(ctx(store)).data["ok"] is True


def test_apply_names_the_fields_that_change_and_keeps_open_cycles_on_their_snapshot(
    based: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, UPDATED)

    outcome = apply_file(ctx(based, when="2026-01-10"), path)

    assert {key: value for key, value in outcome.data.items() if key != "plan"} == {
        "dry_run": False,
        "changed": True,
        "users": {"created": ["bob"], "updated": {"ann": ["email"]}, "unchanged": ["mia"]},
        "courses": {"created": [], "updated": {"c2": ["minutes"]}, "unchanged": ["c1"], "retired": []},
        "certifications": {"created": [], "updated": {"sec": ["title", "courses"]}, "unchanged": [], "retired": []},
        "groups": {"created": [], "updated": {}, "unchanged": []},
        "assignments": {
            "created": [{"certification": "sec", "user": "bob"}],
            "unchanged": [{"certification": "sec", "user": "ann"}],
        },
    }
    assert [*outcome.data["plan"], *outcome.messages] == [
        "+ user bob",
        "~ user ann: email",
        "~ course c2: minutes",
        "~ certification sec: title, courses",
        "+ assign sec to bob (due 2026-02-01)",
        f"Applied {path}: 1 created, 3 updated, 0 retired, 1 assigned, 3 unchanged.",
    ]
    assert based.read().certifications["sec"].title == "Security awareness"
    # ann's cycle began when sec needed c1 only; bob's begins on the new definition.
    assert item(based, "ann", "sec", "2026-01-10")["courses_required"] == 1
    assert item(based, "bob", "sec", "2026-01-10")["courses_required"] == 2


def test_prune_retires_what_the_file_leaves_out_and_a_retired_certification_cannot_be_assigned(
    store: Store, tmp_path: Path
) -> None:
    apply_file(ctx(store), write(tmp_path, BASE + OLD, "with-old.toml"))
    path = write(tmp_path, BASE)

    outcome = apply_file(ctx(store), path, prune=True)

    assert outcome.data["courses"] == {"created": [], "updated": {}, "unchanged": ["c1", "c2"], "retired": ["old-c"]}
    assert outcome.data["certifications"] == {"created": [], "updated": {}, "unchanged": ["sec"], "retired": ["old"]}
    assert [*outcome.data["plan"], *outcome.messages] == [
        "- retire course old-c",
        "- retire certification old",
        f"Applied {path}: 0 created, 0 updated, 2 retired, 0 assigned, 6 unchanged.",
    ]
    doc = store.read()
    assert doc.certifications["old"].retired and doc.courses["old-c"].retired
    with pytest.raises(StateError):
        usecases.assign(ctx(store), "old", ["ann"], None)

    again = apply_file(ctx(store), path, prune=True)

    assert again.data["changed"] is False
    assert again.data["certifications"]["unchanged"] == ["sec", "old"]
    assert again.data["certifications"]["retired"] == []


def test_without_prune_what_the_file_leaves_out_is_not_touched(store: Store, tmp_path: Path) -> None:
    apply_file(ctx(store), write(tmp_path, BASE + OLD, "with-old.toml"))

    outcome = apply_file(ctx(store), write(tmp_path, BASE))

    assert outcome.data["changed"] is False
    assert outcome.data["certifications"] == {"created": [], "updated": {}, "unchanged": ["sec"], "retired": []}
    assert not store.read().certifications["old"].retired


def test_a_retired_certification_in_the_file_again_is_unretired(store: Store, tmp_path: Path) -> None:
    apply_file(ctx(store), write(tmp_path, BASE + OLD, "with-old.toml"))
    apply_file(ctx(store), write(tmp_path, BASE), prune=True)
    path = write(tmp_path, BASE + OLD + '\n[[assignments]]\ncertification = "old"\nusers = ["ann"]\n')

    outcome = apply_file(ctx(store), path)

    assert outcome.data["courses"]["updated"] == {"old-c": ["retired"]}
    assert outcome.data["certifications"]["updated"] == {"old": ["retired"]}
    assert "~ certification old: retired" in outcome.data["plan"]
    assert outcome.data["assignments"]["created"] == [{"certification": "old", "user": "ann"}]
    assert item(store, "ann", "old")["status"] == "enrolled"


# ---------------------------------------------------------------- idempotence and dry runs


def test_applying_the_same_file_twice_changes_nothing_the_second_time(based: Store, tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    stored, logged = store_bytes(based), audit_log(based)

    outcome = apply_file(ctx(based, when="2026-03-01"), path)

    assert outcome.data["changed"] is False
    assert outcome.data["users"] == {"created": [], "updated": {}, "unchanged": ["mia", "ann"]}
    assert outcome.data["assignments"] == {"created": [], "unchanged": [{"certification": "sec", "user": "ann"}]}
    assert [*outcome.data["plan"], *outcome.messages] == [
        f"No changes: the store already matches {path} (0 created, 0 updated, 0 retired, 0 assigned, 6 unchanged)."
    ]
    assert store_bytes(based) == stored
    assert audit_log(based) == logged


@pytest.mark.parametrize("prune", [False, True])
def test_dry_run_plans_the_same_changes_and_writes_nothing(store: Store, tmp_path: Path, prune: bool) -> None:
    apply_file(ctx(store), write(tmp_path, BASE + OLD, "with-old.toml"))
    path = write(tmp_path, UPDATED)
    stored, logged = store_bytes(store), audit_log(store)

    planned = apply_file(ctx(store), path, dry_run=True, prune=prune)

    assert store_bytes(store) == stored
    assert audit_log(store) == logged
    assert planned.data["dry_run"] is True
    assert planned.messages[-1] == (
        f"Plan: 1 to create, 3 to update, {2 if prune else 0} to retire, 1 to assign, 3 unchanged. "
        "Dry run: nothing written."
    )
    applied = apply_file(ctx(store), path, prune=prune)
    assert planned.data == {**applied.data, "dry_run": True}
    assert planned.data["plan"] == applied.data["plan"]


# ---------------------------------------------------------------- invalid files


def test_an_invalid_file_is_refused_whole_with_every_problem_listed(based: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[users]]
id = "zoe"
name = "Zoe"
colour = "green"

[[courses]]
id = "c3"
title = "A valid new course"

[[certifications]]
id = "ops"
title = "Ops"
kind = "intern"
courses = [{ id = "c3" }]

[[assignments]]
certification = "ops"
users = ["zoe", "ghost"]
""",
    )
    stored, logged = store_bytes(based), audit_log(based)

    with pytest.raises(DataError) as raised:
        apply_file(ctx(based), path)

    assert raised.value.exit_code == 6
    assert problems(raised.value) == [
        f"{path}: users[0].colour: unknown key; remove it, or use one of: "
        "active, email, id, login, manager, name, role",
        f"{path}: certifications[0].kind: expected one of internal, external, got 'intern'; "
        "write kind as one of internal, external",
        f"{path}: assignments[0].users[1]: unknown user 'ghost'; add the user to users, or name a user of the store",
    ]
    assert store_bytes(based) == stored
    assert audit_log(based) == logged
    assert "c3" not in based.read().courses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[certifications]]\nid = "x"\ntitle = "X"\nkind = "internal"\ncourses = [{ id = "nope" }]\n',
            "certifications[0].courses[0].id: unknown course 'nope'",
        ),
        (
            '[[users]]\nid = "zoe"\nname = "Zoe"\nmanager = "nobody"\n',
            "users[0].manager: unknown user 'nobody'",
        ),
        (
            '[[assignments]]\ncertification = "nope"\nusers = ["ann"]\n',
            "assignments[0].certification: unknown certification 'nope'",
        ),
        (
            '[[assignments]]\ncertification = "sec"\nusers = ["mia"]\n'
            '[[assignments]]\ncertification = "sec"\nusers = ["mia"]\ndue = 2026-03-01\n',
            "assignments[1].users[0]: 'mia' is assigned to 'sec' twice (also assignments[0].users[0])",
        ),
        (
            '[[assignments]]\ncertification = "sec"\nusers = []\n',
            "assignments[0].users: an assignment needs at least one user",
        ),
        (
            '[[courses]]\nid = "c9"\ntitle = "A"\n[[courses]]\nid = "c9"\ntitle = "B"\n',
            "courses[1].id: duplicate id 'c9' (also courses[0])",
        ),
        ('[[teams]]\nid = "g"\n', "teams: unknown key"),
        ('[[groups]]\nid = "g"\nname = "G"\nmembers = ["nobody"]\n', "groups[0].members[0]: unknown user 'nobody'"),
        ('users = "ann"\n', "users: expected a list, got 'ann'"),
    ],
)
def test_bad_references_duplicates_and_unknown_keys_are_refused(
    based: Store, tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    stored = store_bytes(based)

    with pytest.raises(DataError) as raised:
        apply_file(ctx(based), path)

    assert [line.split(": ", 1)[1] for line in problems(raised.value)] == [expected + line_fix(raised.value)]
    assert store_bytes(based) == stored


def line_fix(error: DataError) -> str:
    """The `; fix` part of a one-problem message (its wording is not what these tests check)."""
    return ";" + error.message.split(";", 1)[1]


def test_a_certification_may_name_a_course_of_the_store(based: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path, '[[certifications]]\nid = "ops"\ntitle = "Ops"\nkind = "internal"\ncourses = [{ id = "c2" }]\n'
    )

    outcome = apply_file(ctx(based), path)

    assert outcome.data["certifications"]["created"] == ["ops"]
    assert based.read().certifications["ops"].courses[0].id == "c2"


def test_prune_refuses_to_retire_a_course_a_certification_in_the_file_still_uses(based: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path, '[[certifications]]\nid = "sec"\ntitle = "S"\nkind = "internal"\ncourses = [{ id = "c1" }]\n'
    )

    with pytest.raises(DataError) as raised:
        apply_file(ctx(based), path, prune=True)

    assert problems(raised.value) == [
        f"{path}: certifications[0].courses[0].id: course 'c1' is not in the file, so --prune would retire it; "
        "add the course to courses, or apply without --prune"
    ]
    # A field the file leaves out takes its default: published is cleared.
    assert apply_file(ctx(based), path).data["certifications"]["updated"] == {"sec": ["title", "published", "courses"]}


def test_a_new_assignment_to_a_retired_certification_is_refused_an_existing_one_is_unchanged(
    store: Store, tmp_path: Path
) -> None:
    with_old = BASE + OLD + '\n[[assignments]]\ncertification = "old"\nusers = ["ann"]\n'
    apply_file(ctx(store), write(tmp_path, with_old, "with-old.toml"))
    apply_file(ctx(store), write(tmp_path, BASE, "base.toml"), prune=True)
    path = write(tmp_path, '[[assignments]]\ncertification = "old"\nusers = ["ann", "mia"]\n')

    with pytest.raises(DataError) as raised:
        apply_file(ctx(store), path)

    assert problems(raised.value) == [
        f"{path}: assignments[0].certification: certification 'old' is retired: a retired certification cannot "
        "be assigned (mia not enrolled yet); list the certification in the file (without retired = true), "
        "or remove these users"
    ]
    only_ann = write(tmp_path, '[[assignments]]\ncertification = "old"\nusers = ["ann"]\n', "ann.toml")
    assert apply_file(ctx(store), only_ann).data["changed"] is False


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("defs.toml", "[[users]\n", "malformed TOML"),
        ("defs.json", '{"users": [', "malformed JSON"),
        ("defs.json", '{"users": [], "users": []}', "malformed JSON: duplicate key 'users'"),
        ("defs.toml", b"\xff\xfe", "not UTF-8 text"),
        ("missing.toml", None, "no such file"),
    ],
)
def test_an_unreadable_or_malformed_file_is_invalid_data(
    based: Store, tmp_path: Path, name: str, content: str | bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    stored = store_bytes(based)

    with pytest.raises(DataError) as raised:
        apply_file(ctx(based), path)

    assert raised.value.exit_code == 6
    assert raised.value.message.startswith(f"{path}: {expected}")
    assert store_bytes(based) == stored


def test_a_file_that_is_neither_toml_nor_json_is_a_usage_error(based: Store, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        apply_file(ctx(based), write(tmp_path, BASE, "defs.yaml"))

    assert raised.value.exit_code == 2


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("actor", ["ann", "mia", "nobody"])
def test_only_an_admin_applies_or_exports(based: Store, tmp_path: Path, actor: str) -> None:
    path = write(tmp_path, UPDATED)
    stored = store_bytes(based)

    with pytest.raises(PermissionDenied) as applying:
        apply_file(ctx(based, actor), path)
    with pytest.raises(PermissionDenied) as planning:
        apply_file(ctx(based, actor), path, dry_run=True)
    with pytest.raises(PermissionDenied) as exporting:
        export_definitions(ctx(based, actor), "toml")

    assert applying.value.exit_code == planning.value.exit_code == exporting.value.exit_code == 4
    assert store_bytes(based) == stored


def test_the_role_is_checked_before_the_file_is_read(based: Store, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        apply_file(ctx(based, "ann"), tmp_path / "missing.toml")


# ---------------------------------------------------------------- export


def test_export_holds_the_definitions_and_the_enrollments_grouped_by_due_date(based: Store) -> None:
    admin = ctx(based)
    usecases.add_user(admin, "ben", "Ben", "learner", None, "mia")
    usecases.add_user(admin, "cy", "Cy", "learner", "cy@example.test", None)
    usecases.assign(admin, "sec", ["ben"], None)
    usecases.assign(admin, "sec", ["cy"], datetime(2026, 2, 1).date())

    outcome = export_definitions(admin, "json")

    assert json.loads(outcome.data) == {
        "users": [
            {"id": "root", "name": "Root", "role": "admin"},
            {"id": "mia", "name": "Mia", "role": "manager"},
            {"id": "ann", "name": "Ann", "role": "learner", "manager": "mia"},
            {"id": "ben", "name": "Ben", "role": "learner", "manager": "mia"},
            {"id": "cy", "name": "Cy", "role": "learner", "email": "cy@example.test"},
        ],
        "courses": [{"id": "c1", "title": "Course one"}, {"id": "c2", "title": "Course two", "minutes": 30}],
        "certifications": [
            {
                "id": "sec",
                "title": "Security",
                "kind": "internal",
                "published": "2026-01-01",
                "courses": [{"id": "c1", "mandatory": True}],
            }
        ],
        "assignments": [
            {"certification": "sec", "users": ["ann", "cy"], "due": "2026-02-01"},
            {"certification": "sec", "users": ["ben"]},
        ],
    }
    assert outcome.messages == ["Exported 5 users, 2 courses, 1 certifications and 3 assignments."]


def test_export_rejects_an_unknown_format(based: Store) -> None:
    with pytest.raises(UsageError):
        export_definitions(ctx(based), "yaml")


def build_rich_store(store: Store, tmp_path: Path) -> None:
    """Users with managers and emails; internal and external, recurring and perpetual certifications;
    assignments with and without a due date, a self-enrolment, and a retired certification and course."""
    admin = ctx(store)
    usecases.add_user(admin, "mia", "Mia Lindqvist", "manager", "mia@example.test", None)
    usecases.add_user(admin, "ann", "Ann É. Souza", "learner", None, "mia")
    usecases.add_user(admin, "ben", "Ben", "learner", "ben@example.test", "mia")
    usecases.add_course(admin, "c1", "Course one", 30)
    usecases.add_course(admin, "c2", "Course two", None)
    usecases.add_course(admin, "old-c", "Old course", 0)
    Definition = usecases.Definition
    usecases.define(
        admin,
        Definition(
            "sec",
            "Security",
            "internal",
            overview="Yearly",
            recurring=12,
            renewal_window=30,
            deadline_days=14,
            courses=["c1", "c2"],
            mandatory=["c1"],
            ordered=True,
        ),
        False,
    )
    usecases.define(
        admin,
        Definition(
            "ext",
            "External",
            "external",
            issuer="Vendor",
            badge="ext.png",
            recurring=24,
            renew_from="expiry",
            self_enroll=True,
            completion_date="submitted",
        ),
        False,
    )
    usecases.define(admin, Definition("old", "Old", "internal", courses=["old-c"]), False)
    usecases.assign(admin, "sec", ["ann"], datetime(2026, 2, 1).date())
    usecases.assign(admin, "sec", ["ben"], None)
    usecases.assign(admin, "ext", ["ann"], datetime(2026, 3, 1).date())
    usecases.assign(admin, "old", ["ben"], None)
    usecases.start(ctx(store, "ben"), "ext")
    # Retire `old` and `old-c`: apply everything else with --prune.
    data = definitions_data(store.read())
    data["courses"] = [course for course in data["courses"] if course["id"] != "old-c"]
    data["certifications"] = [cert for cert in data["certifications"] if cert["id"] != "old"]
    data["assignments"] = [group for group in data["assignments"] if group["certification"] != "old"]
    retire = write(tmp_path, json.dumps(data), "retire.json")
    assert apply_file(admin, retire, prune=True).data["certifications"]["retired"] == ["old"]


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_export_then_apply_into_a_fresh_store_then_export_gives_the_same_file(tmp_path: Path, fmt: str) -> None:
    original = open_store(tmp_path / "original.toml")
    usecases.init_store(original, "root", "Root", "Org", at(NOW))
    build_rich_store(original, tmp_path)
    exported = export_definitions(ctx(original), fmt).data
    parse = tomllib.loads if fmt == "toml" else json.loads
    parsed = parse(exported)
    old = next(cert for cert in parsed["certifications"] if cert["id"] == "old")
    assert old["retired"] is True
    assert next(course for course in parsed["courses"] if course["id"] == "old-c")["retired"] is True
    assert parsed["assignments"] == [
        {"certification": "sec", "users": ["ann"], "due": "2026-02-01"},
        {"certification": "sec", "users": ["ben"]},
        {"certification": "ext", "users": ["ann"], "due": "2026-03-01"},
        {"certification": "ext", "users": ["ben"]},
    ]
    path = write(tmp_path, exported, f"exported.{fmt}")

    assert apply_file(ctx(original), path).data["changed"] is False

    fresh = open_store(tmp_path / "fresh.json")
    usecases.init_store(fresh, "root", None, None, at("2026-06-01"))
    applied = apply_file(ctx(fresh, when="2026-06-01"), path)

    assert applied.data["users"]["updated"] == {"root": ["name"]}
    assert export_definitions(ctx(fresh, when="2026-06-01"), fmt).data == exported
    assert item(fresh, "ann", "sec", "2026-06-01")["due"] == "2026-02-01"
    assert fresh.read().certifications["old"].retired
