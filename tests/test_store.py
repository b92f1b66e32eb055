"""The JSON and TOML store files (docs/stores.md): round trips, validation messages, atomic writes, the lock."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from filelock import FileLock

from certcli.errors import DataError, StoreBusy, UsageError
from certcli.formats.documents import FORMATS
from certcli.model import (
    Certification,
    Course,
    CourseRef,
    Document,
    Enrollment,
    Fact,
    Proof,
    Requirements,
    User,
)
from certcli.store import Store, open_store
from certcli.store.document import document_to_data
from certcli.store.files import parse_document, serialize_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WORKER_SCRIPT = Path(__file__).with_name("store_worker.py")
EXTENSIONS = [".json", ".toml"]
SHA = "0123456789abcdef" * 4


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 1, day, hour, 0, 0, tzinfo=UTC)


# ---------------------------------------------------------------- a document with everything in it


def full_document() -> Document:
    """Users of every role, certifications of every flavour, an enrollment with every fact type."""
    users = [
        User("root", "Rosa Root", "admin", email="root@example.com"),
        User("mia", "Mia Manager", "manager", manager="root"),
        User("ana", "Ana Learner", email="ana@example.com", manager="mia"),
        User("ben", "Bén Ünicode", "learner"),
    ]
    courses = [Course("intro", "Intro", 30), Course("deep", "Deep dive", 0), Course("exam", "Exam prep")]
    certifications = [
        Certification(
            "perpetual",
            "Perpetual internal",
            "internal",
            overview="Read me",
            issuer="Acme",
            badge="star",
            published=date(2026, 1, 5),
            self_enroll=True,
            deadline_days=30,
            courses=(CourseRef("intro", True), CourseRef("deep")),
            ordered=True,
        ),
        Certification(
            "yearly",
            "Recurring internal",
            "internal",
            validity_months=12,
            renew_from="enrollment",
            deadline_days=0,
            courses=(CourseRef("intro"), CourseRef("deep"), CourseRef("exam")),
        ),
        Certification("bare-external", "External, no courses", "external", completion_date="submitted"),
        Certification(
            "vendor",
            "External with a course",
            "external",
            issuer="Vendor Inc",
            published=date(2025, 12, 31),
            validity_months=24,
            courses=(CourseRef("exam", True),),
        ),
        Certification(
            "rolling",
            "Renewed from expiry, with a window",
            "internal",
            validity_months=6,
            renew_from="expiry",
            renewal_window_days=14,
            courses=(CourseRef("deep"),),
        ),
    ]
    requirements = Requirements((CourseRef("exam", True),), ordered=False)
    proof = Proof(SHA, 1234, "certificate.pdf", completed_on=date(2026, 1, 8))
    facts = [
        Fact("assigned", at(5), by="root", due=date(2026, 2, 1)),
        Fact("cycle_opened", at(5), cycle=1, requirements=requirements, due=date(2026, 2, 1)),
        Fact("started", at(6)),
        Fact("course_started", at(6, 10), course="exam"),
        Fact("course_completed", at(7), course="exam"),
        Fact("proof_submitted", at(8), proof=Proof(SHA, 99, "draft.png")),
        Fact("proof_reviewed", at(9), by="mia", decision="rejected", reason="Blurry scan; please upload again"),
        Fact("proof_submitted", at(10), proof=proof),
        Fact("proof_reviewed", at(11), by="root", decision="approved"),
        Fact("revoked", at(12), by="root", reason="Withdrawn by the issuer"),
        Fact("cycle_opened", at(13), cycle=2, requirements=requirements),
        Fact("requirements_changed", at(14), by="root", requirements=Requirements((CourseRef("exam", True),), True)),
    ]
    return Document(
        org_name="Acme Corp",
        users={u.id: u for u in users},
        courses={c.id: c for c in courses},
        certifications={c.id: c for c in certifications},
        enrollments=[
            Enrollment("ana", "vendor", facts),
            Enrollment("ben", "yearly", [facts[0], Fact("cycle_opened", at(5), cycle=1, requirements=requirements)]),
        ],
    )


def save_through_store(path: Path, doc: Document) -> Store:
    """Create the store without enrollments, then add them in an update, as commands do."""
    store = open_store(path)
    store.create(Document(doc.org_name, dict(doc.users), dict(doc.courses), dict(doc.certifications)))
    with store.update() as stored:
        stored.enrollments.extend(copy.deepcopy(doc.enrollments))
    return store


def content(doc: Document) -> Document:
    """The document without its audit head, which records when and how it was saved."""
    return doc._replace(audit_head=None)


def test_json_and_toml_round_trip_to_the_same_document(tmp_path: Path) -> None:
    expected = full_document()
    from_json = save_through_store(tmp_path / "s.json", expected).read()
    from_toml = save_through_store(tmp_path / "s.toml", expected).read()

    assert content(from_json) == expected
    assert content(from_toml) == expected
    assert document_to_data(content(from_json)) == document_to_data(content(from_toml))


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_a_saved_store_reloads_and_saves_to_the_same_bytes(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"s{ext}"
    save_through_store(path, full_document())
    assert serialize_document(open_store(path).read(), FORMATS[ext]) == path.read_bytes()


NATIVE_DATES_TOML = """
[[users]]
id = "ana"
name = "Ana"

[[courses]]
id = "intro"
title = "Intro"

[[certifications]]
id = "safety"
title = "Safety"
kind = "external"
published = {published}
courses = [{{ id = "intro" }}]

[[enrollments]]
user = "ana"
certification = "safety"

[[enrollments.facts]]
type = "assigned"
at = {assigned_at}
due = {due}

[[enrollments.facts]]
type = "cycle_opened"
at = {assigned_at}
cycle = 1
requirements = {{ ordered = false, courses = [{{ id = "intro", mandatory = true }}] }}

[[enrollments.facts]]
type = "proof_submitted"
at = {assigned_at}
proof = {{ sha256 = "{sha}", size = 10, filename = "p.pdf", completed_on = {due} }}
"""


@pytest.mark.parametrize(
    "assigned_at",
    ["2026-01-05T09:00:00Z", "2026-01-05T10:00:00+01:00", "2026-01-05T09:00:00"],
    ids=["utc", "offset", "local-means-utc"],
)
def test_toml_native_dates_load_like_string_dates(assigned_at: str) -> None:
    native = NATIVE_DATES_TOML.format(published="2026-01-05", assigned_at=assigned_at, due="2026-02-01", sha=SHA)
    strings = NATIVE_DATES_TOML.format(
        published='"2026-01-05"', assigned_at='"2026-01-05T09:00:00Z"', due='"2026-02-01"', sha=SHA
    )
    from_native = parse_document(native.encode(), FORMATS[".toml"], "native.toml")
    from_strings = parse_document(strings.encode(), FORMATS[".toml"], "strings.toml")

    assert from_native == from_strings
    assert from_native.certifications["safety"].published == date(2026, 1, 5)
    facts = from_native.enrollments[0].facts
    assert facts[0].at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert facts[0].due == date(2026, 2, 1)
    assert facts[2].proof is not None and facts[2].proof.completed_on == date(2026, 2, 1)


HAND_WRITTEN_TOML = """\
[[users]]
id = "root"
name = "Rosa"
role = "admin"

[[users]]
id = "ana"
name = "Ana"
manager = "root"

[[courses]]
id = "intro"
title = "Intro"

[[certifications]]
id = "safety"
title = "Safety"
kind = "internal"
courses = [{ id = "intro" }]
"""


def test_a_hand_written_store_with_only_users_courses_and_certifications_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "hand.toml"
    path.write_text(HAND_WRITTEN_TOML, encoding="utf-8")
    doc = open_store(path).read()

    assert sorted(doc.users) == ["ana", "root"]
    assert doc.users["ana"].role == "learner"
    assert doc.certifications["safety"].courses == (CourseRef("intro"),)
    assert doc.certifications["safety"].validity_months is None
    assert doc.enrollments == []

    as_json = tmp_path / "hand.json"
    as_json.write_text(json.dumps(tomllib.loads(HAND_WRITTEN_TOML)), encoding="utf-8")
    assert open_store(as_json).read() == doc


# ---------------------------------------------------------------- malformed input: helpers


def valid_data() -> dict[str, Any]:
    """A small, valid store as parsed data; tests break one thing in it."""
    return {
        "schema": 1,
        "org": {"name": "Acme"},
        "audit": {
            "seq": 3,
            "at": "2026-01-05T09:00:00Z",
            "actor": "root",
            "action": "assign",
            "subject": {"certification": "sec"},
            "details": {"users": ["ana"]},
            "prev": SHA,
            "store_sha256": SHA,
            "sha256": SHA,
        },
        "users": [
            {"id": "root", "name": "Rosa", "role": "admin"},
            {"id": "mia", "name": "Mia", "role": "manager", "manager": "root"},
            {"id": "ana", "name": "Ana", "email": "ana@example.com", "manager": "mia"},
            {"id": "dee", "name": "Dee"},
        ],
        "courses": [{"id": "intro", "title": "Intro", "minutes": 30}, {"id": "deep", "title": "Deep"}],
        "certifications": [
            {
                "id": "safety",
                "title": "Safety",
                "kind": "internal",
                "published": "2026-01-05",
                "courses": [{"id": "intro", "mandatory": True}, {"id": "deep"}],
            },
            {"id": "vendor", "title": "Vendor", "kind": "external", "completion_date": "submitted", "courses": []},
            {
                "id": "yearly",
                "title": "Yearly",
                "kind": "internal",
                "validity_months": 12,
                "renew_from": "enrollment",
                "deadline_days": 30,
                "courses": [{"id": "deep"}],
            },
        ],
        "enrollments": [
            {
                "user": "ana",
                "certification": "safety",
                "facts": [
                    {"type": "assigned", "at": "2026-01-05T09:00:00Z", "by": "root", "due": "2026-02-01"},
                    {
                        "type": "cycle_opened",
                        "at": "2026-01-05T09:00:00Z",
                        "cycle": 1,
                        "requirements": {"ordered": False, "courses": [{"id": "intro", "mandatory": True}]},
                    },
                    {"type": "started", "at": "2026-01-06T09:00:00Z"},
                    {"type": "course_started", "at": "2026-01-06T09:00:00Z", "course": "intro"},
                ],
            },
            {
                "user": "ana",
                "certification": "vendor",
                "facts": [
                    {"type": "assigned", "at": "2026-01-05T09:00:00Z"},
                    {
                        "type": "cycle_opened",
                        "at": "2026-01-05T09:00:00Z",
                        "cycle": 1,
                        "requirements": {"ordered": False, "courses": []},
                    },
                    {
                        "type": "proof_submitted",
                        "at": "2026-01-07T09:00:00Z",
                        "proof": {"sha256": SHA, "size": 10, "filename": "p.pdf", "completed_on": "2026-01-06"},
                    },
                    {
                        "type": "proof_reviewed",
                        "at": "2026-01-08T09:00:00Z",
                        "by": "mia",
                        "decision": "rejected",
                        "reason": "blurry",
                    },
                    {"type": "revoked", "at": "2026-01-09T09:00:00Z", "by": "root", "reason": "withdrawn"},
                    {
                        "type": "requirements_changed",
                        "at": "2026-01-10T09:00:00Z",
                        "by": "root",
                        "requirements": {"ordered": True, "courses": [{"id": "deep", "mandatory": True}]},
                    },
                ],
            },
        ],
    }


KeyPath = tuple[str | int, ...]


def place_of(path: KeyPath) -> str:
    """("certifications", 2, "kind") -> "certifications[2].kind", the way messages name places."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def changed(path: KeyPath, value: Any) -> dict[str, Any]:
    data = valid_data()
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def encode(data: Any, ext: str) -> bytes:
    return json.dumps(data).encode() if ext == ".json" else tomli_w.dumps(data).encode()


def load_error(raw: bytes, ext: str) -> DataError:
    """The DataError loading `raw` gives; any other exception fails the test."""
    with pytest.raises(DataError) as caught:
        parse_document(raw, FORMATS[ext], f"broken{ext}")
    error = caught.value
    assert error.exit_code == 6
    assert error.hint
    return error


def problem_at(error: DataError, ext: str, place: str) -> str:
    """The one line of the message about `place`; it must name the file too."""
    prefix = f"broken{ext}: {place}: "
    lines = [line for line in error.message.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"expected one problem at {place!r} in:\n{error.message}"
    return lines[0]


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_the_base_data_of_these_tests_is_valid(ext: str) -> None:
    doc = parse_document(encode(valid_data(), ext), FORMATS[ext], f"ok{ext}")
    assert len(doc.enrollments) == 2
    assert len(doc.enrollments[1].facts) == 6


# ---------------------------------------------------------------- wrong types and values

WRONG_VALUES: list[tuple[KeyPath, Any, str]] = [
    (("schema",), "1", "expected a whole number ≥ 1"),
    (("schema",), 2, "unsupported schema version 2"),
    (("org",), "Acme", "expected a table, got a string"),
    (("org", "name"), 3, "expected a string, got 3"),
    (("users",), {"id": "x"}, "expected a list"),
    (("users", 3, "id"), 7, "expected an id"),
    (("users", 3, "id"), "has space", "expected an id"),
    (("users", 3, "name"), "", "expected a non-empty string"),
    (("users", 3, "role"), "boss", "expected one of admin, manager, learner, got 'boss'"),
    (("users", 2, "email"), ["a@b"], "expected a string"),
    (("users", 3, "manager"), "dee", "a user cannot manage themselves"),
    (("users", 3), "dee", "expected a table, got a string"),
    (("courses", 0, "minutes"), -5, "expected a whole number ≥ 0, got -5"),
    (("courses", 0, "minutes"), "30", "expected a whole number ≥ 0, got '30'"),
    (("courses", 0, "minutes"), 2.5, "expected a whole number ≥ 0, got 2.5"),
    (("courses", 1, "title"), ["Deep"], "expected a non-empty string"),
    (("certifications", 2, "kind"), "intern", "expected one of internal, external, got 'intern'"),
    (("certifications", 2, "validity_months"), 0, "expected a whole number ≥ 1, got 0"),
    (("certifications", 2, "validity_months"), 1.5, "expected a whole number ≥ 1, got 1.5"),
    (("certifications", 2, "validity_months"), True, "expected a whole number ≥ 1, got True"),
    (("certifications", 2, "validity_months"), "12", "expected a whole number ≥ 1, got '12'"),
    (("certifications", 2, "renew_from"), "start", "expected one of completion, enrollment"),
    (("certifications", 2, "deadline_days"), -1, "expected a whole number ≥ 0"),
    (("certifications", 0, "published"), "2026-13-01", "expected a date YYYY-MM-DD, got '2026-13-01'"),
    (("certifications", 0, "published"), "05/01/2026", "expected a date YYYY-MM-DD"),
    (("certifications", 0, "published"), 20260105, "expected a date YYYY-MM-DD"),
    (("certifications", 0, "self_enroll"), "yes", "expected true or false, got 'yes'"),
    (("certifications", 0, "ordered"), 1, "expected true or false"),
    (("certifications", 0, "title"), "  ", "expected a non-empty string"),
    (("certifications", 0, "courses"), "intro", "expected a list"),
    (("certifications", 0, "courses"), [], "an internal certification needs at least one course"),
    (("certifications", 0, "completion_date"), "submitted", "only external certifications have it"),
    (("certifications", 1, "completion_date"), "never", "expected one of approval, submitted"),
    (("certifications", 0, "courses", 0, "mandatory"), "yes", "expected true or false"),
    (("certifications", 0, "courses", 1), "deep", "expected a table, got a string"),
    (("certifications", 0, "courses", 1, "id"), "intro", "course 'intro' listed twice"),
    (("enrollments", 0, "facts"), {"type": "started"}, "expected a list"),
    (("enrollments", 0, "facts", 0, "type"), "graduated", "expected one of assigned, cycle_opened"),
    (("enrollments", 0, "facts", 0, "at"), "yesterday", "expected a date-time"),
    (("enrollments", 0, "facts", 0, "at"), "2026-01-05T25:00:00Z", "expected a date-time"),
    (("enrollments", 0, "facts", 0, "due"), "2026-02-30", "expected a date YYYY-MM-DD"),
    (("enrollments", 0, "facts", 1, "cycle"), 0, "expected a whole number ≥ 1"),
    (("enrollments", 0, "facts", 1, "requirements"), ["intro"], "expected a table, got a list"),
    (("enrollments", 1, "facts", 2, "proof"), "p.pdf", "expected a table, got a string"),
    (("enrollments", 1, "facts", 2, "proof", "sha256"), "ABC", "expected 64 lowercase hexadecimal digits"),
    (("enrollments", 1, "facts", 2, "proof", "size"), -1, "expected a whole number ≥ 0"),
    (("enrollments", 1, "facts", 2, "proof", "completed_on"), "soon", "expected a date YYYY-MM-DD"),
    (("enrollments", 1, "facts", 3, "decision"), "maybe", "expected one of approved, rejected, got 'maybe'"),
    (("enrollments", 1, "facts", 4, "reason"), 42, "expected a string"),
    (("enrollments", 1, "facts", 5, "requirements", "ordered"), "no", "expected true or false"),
    (("certifications", 2, "renewal_window_days"), -3, "expected a whole number ≥ 0"),
    (("audit",), [3], "expected a table, got a list"),
    (("audit", "seq"), 0, "expected a whole number ≥ 1"),
    (("audit", "sha256"), "abc", "expected 64 lowercase hexadecimal digits"),
]


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize(
    ("path", "value", "what"), WRONG_VALUES, ids=lambda p: place_of(p) if isinstance(p, tuple) else None
)
def test_a_wrong_value_is_reported_at_its_place(ext: str, path: KeyPath, value: Any, what: str) -> None:
    error = load_error(encode(changed(path, value), ext), ext)
    assert what in problem_at(error, ext, place_of(path))


MISSING: list[tuple[KeyPath, str]] = [
    (("users", 3, "id"), "add id"),
    (("users", 3, "name"), "add name"),
    (("courses", 1, "title"), "add title"),
    (("certifications", 1, "kind"), "add kind"),
    (("enrollments", 0, "user"), "add user"),
    (("enrollments", 0, "facts"), "add facts"),
    (("enrollments", 0, "facts", 2, "at"), "add at"),
    (("enrollments", 0, "facts", 3, "course"), "missing from a 'course_started' fact"),
    (("enrollments", 0, "facts", 1, "cycle"), "missing from a 'cycle_opened' fact"),
    (("enrollments", 1, "facts", 2, "proof", "sha256"), "add sha256"),
]


@pytest.mark.parametrize(("path", "what"), MISSING, ids=[place_of(path) for path, _ in MISSING])
def test_a_missing_required_key_is_reported_at_its_place(path: KeyPath, what: str) -> None:
    data = valid_data()
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    error = load_error(encode(data, ".json"), ".json")
    assert what in problem_at(error, ".json", place_of(path))


# ---------------------------------------------------------------- unknown keys, at every level

UNKNOWN_KEYS: list[tuple[KeyPath, str]] = [
    ((), "enrollments"),
    (("org",), "name"),
    (("users", 1), "manager"),
    (("courses", 0), "minutes"),
    (("certifications", 2), "validity_months"),
    (("certifications", 0, "courses", 0), "mandatory"),
    (("enrollments", 1), "certification"),
    (("enrollments", 0, "facts", 0), "due"),
    (("enrollments", 0, "facts", 1, "requirements"), "ordered"),
    (("enrollments", 0, "facts", 1, "requirements", "courses", 0), "mandatory"),
    (("enrollments", 1, "facts", 2, "proof"), "completed_on"),
    (("audit",), "sha256"),
]


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize(("table", "valid_key"), UNKNOWN_KEYS, ids=[place_of(t) or "top" for t, _ in UNKNOWN_KEYS])
def test_an_unknown_key_is_reported_with_the_keys_allowed_there(ext: str, table: KeyPath, valid_key: str) -> None:
    typo = valid_key[:-1] + "z"
    error = load_error(encode(changed((*table, typo), "x"), ext), ext)
    line = problem_at(error, ext, place_of((*table, typo)))
    assert "unknown key" in line
    assert valid_key in line.split(";", 1)[1]


def test_a_key_of_another_fact_type_is_reported() -> None:
    error = load_error(encode(changed(("enrollments", 0, "facts", 2, "course"), "intro"), ".json"), ".json")
    assert "not part of a 'started' fact" in problem_at(error, ".json", "enrollments[0].facts[2].course")


# ---------------------------------------------------------------- duplicates


def with_appended(collection: str, item: dict[str, Any]) -> dict[str, Any]:
    data = valid_data()
    data[collection].append(item)
    return data


DUPLICATES = [
    ("users", {"id": "mia", "name": "Another Mia"}, "users[4].id", "duplicate id 'mia' (also users[1])"),
    ("courses", {"id": "intro", "title": "Intro again"}, "courses[2].id", "duplicate id 'intro' (also courses[0])"),
    (
        "certifications",
        {"id": "vendor", "title": "Vendor again", "kind": "external"},
        "certifications[3].id",
        "duplicate id 'vendor' (also certifications[1])",
    ),
    (
        "enrollments",
        {"user": "ana", "certification": "safety", "facts": []},
        "enrollments[2]",
        "second enrollment of 'ana' in 'safety' (also enrollments[0])",
    ),
]


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize(("collection", "item", "place", "what"), DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_a_duplicate_id_is_reported(ext: str, collection: str, item: dict[str, Any], place: str, what: str) -> None:
    error = load_error(encode(with_appended(collection, item), ext), ext)
    assert what in problem_at(error, ext, place)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"schema": 1, "users": [], "schema": 1}',
        b'{"users": [{"id": "a", "name": "A", "name": "B"}]}',
    ],
    ids=["top", "nested"],
)
def test_duplicate_json_object_keys_are_malformed(raw: bytes) -> None:
    message = load_error(raw, ".json").message
    assert message.startswith("broken.json: malformed JSON")
    assert "duplicate key" in message


def test_duplicate_toml_keys_are_malformed() -> None:
    message = load_error(b'[org]\nname = "A"\nname = "B"\n', ".toml").message
    assert message.startswith("broken.toml: malformed TOML")
    assert "line 3" in message


# ---------------------------------------------------------------- numbers JSON and TOML should not hold


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_rejected(constant: str) -> None:
    raw = json.dumps(valid_data()).replace('"minutes": 30', f'"minutes": {constant}').encode()
    message = load_error(raw, ".json").message
    assert "broken.json: malformed JSON" in message
    assert constant in message


def test_a_json_number_too_large_for_a_float_is_rejected_at_its_place() -> None:
    raw = json.dumps(valid_data()).replace('"minutes": 30', '"minutes": 1e999').encode()
    assert "expected a whole number" in problem_at(load_error(raw, ".json"), ".json", "courses[0].minutes")


@pytest.mark.parametrize("constant", ["nan", "inf", "-inf", "+nan"])
def test_toml_nan_and_inf_are_rejected_at_their_place(constant: str) -> None:
    raw = tomli_w.dumps(valid_data()).replace("minutes = 30", f"minutes = {constant}").encode()
    assert "expected a whole number ≥ 0" in problem_at(load_error(raw, ".toml"), ".toml", "courses[0].minutes")


@pytest.mark.parametrize(
    ("native", "place"),
    [
        ("2026-13-01", None),
        ("09:00:00", "certifications[0].published"),
        ("2026-01-05T09:00:00Z", "certifications[0].published"),
    ],
    ids=["impossible-date", "time-of-day", "date-time"],
)
def test_a_toml_native_value_that_is_not_a_date_is_rejected(native: str, place: str | None) -> None:
    raw = tomli_w.dumps(valid_data()).replace('published = "2026-01-05"', f"published = {native}").encode()
    error = load_error(raw, ".toml")
    if place is None:
        assert error.message.startswith("broken.toml: malformed TOML")
    else:
        assert "expected a date YYYY-MM-DD" in problem_at(error, ".toml", place)


# ---------------------------------------------------------------- references to things that do not exist

UNKNOWN_REFERENCES: list[tuple[KeyPath, str, str]] = [
    (("users", 1, "manager"), "zed", "unknown user 'zed'"),
    (("certifications", 0, "courses", 0, "id"), "nope", "unknown course 'nope'"),
    (("enrollments", 0, "user"), "zed", "unknown user 'zed'"),
    (("enrollments", 0, "certification"), "nope", "unknown certification 'nope'"),
    (("enrollments", 0, "facts", 3, "course"), "nope", "unknown course 'nope'"),
    (("enrollments", 0, "facts", 0, "by"), "zed", "unknown user 'zed'"),
    (("enrollments", 1, "facts", 3, "by"), "zed", "unknown user 'zed'"),
    (("enrollments", 0, "facts", 1, "requirements", "courses", 0, "id"), "nope", "unknown course 'nope'"),
    (("enrollments", 1, "facts", 4, "by"), "zed", "unknown user 'zed'"),
    (("enrollments", 1, "facts", 5, "requirements", "courses", 0, "id"), "nope", "unknown course 'nope'"),
]


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize(
    ("path", "value", "what"), UNKNOWN_REFERENCES, ids=[place_of(p) for p, _, _ in UNKNOWN_REFERENCES]
)
def test_a_reference_to_something_unknown_is_reported(ext: str, path: KeyPath, value: str, what: str) -> None:
    error = load_error(encode(changed(path, value), ext), ext)
    assert what in problem_at(error, ext, place_of(path))


# ---------------------------------------------------------------- bytes, nesting and shape


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_invalid_utf8_is_reported(ext: str) -> None:
    raw = encode(valid_data(), ext).replace(b'"Rosa"', b'"Ros\xe9"')
    message = load_error(raw, ext).message
    assert message.startswith(f"broken{ext}: not UTF-8")


DEPTHS = [10, 100, 300, 450, 500, 600, 750, 900, 990, 1000, 1500, 5000, 100_000]

DEEP_DOCUMENTS = {
    "json-lists-in-users": (".json", lambda d: b'{"users": ' + b"[" * d + b"]" * d + b"}"),
    "json-objects-in-users": (".json", lambda d: b'{"users": [' + b'{"a": ' * d + b"1" + b"}" * d + b"]}"),
    "json-lists-at-top": (".json", lambda d: b"[" * d + b"]" * d),
    "toml-lists-in-users": (".toml", lambda d: b"users = " + b"[" * d + b"]" * d),
    "toml-tables-in-users": (".toml", lambda d: b"users = [" + b"{a = " * d + b"1" + b"}" * d + b"]"),
}


@pytest.mark.parametrize("shape", DEEP_DOCUMENTS)
def test_deep_nesting_is_a_data_error_at_any_depth(shape: str) -> None:
    ext, build = DEEP_DOCUMENTS[shape]
    for depth in DEPTHS:
        try:
            parse_document(build(depth), FORMATS[ext], f"deep{ext}")
        except DataError as error:
            assert error.message.startswith(f"deep{ext}: "), error.message
        except RecursionError:
            pytest.fail(f"{shape} nested {depth} deep escaped as RecursionError instead of DataError")
        else:
            pytest.fail(f"{shape} nested {depth} deep loaded as a store")


@pytest.mark.parametrize("raw", [b"[]", b'[{"schema": 1}]', b'"store"', b"42", b"null"])
def test_a_json_top_level_that_is_not_an_object_is_reported(raw: bytes) -> None:
    message = load_error(raw, ".json").message
    assert message.startswith("broken.json: (top): expected a table")


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = changed(("users", 3, "role"), "boss")
    data["certifications"][2]["self_enroll"] = "yes"
    data["enrollments"][0]["facts"][2]["at"] = "yesterday"
    error = load_error(encode(data, ".toml"), ".toml")

    assert len(error.message.splitlines()) == 3
    assert "got 'boss'" in problem_at(error, ".toml", "users[3].role")
    assert "got 'yes'" in problem_at(error, ".toml", "certifications[2].self_enroll")
    assert "got 'yesterday'" in problem_at(error, ".toml", "enrollments[0].facts[2].at")


@pytest.mark.parametrize(
    "path",
    [("courses", 0, "minutes"), ("users", 1, "email"), ("certifications", 0, "self_enroll")],
    ids=["course", "user", "certification"],
)
def test_one_bad_field_does_not_make_its_item_unknown_to_others(path: KeyPath) -> None:
    """A course with a bad `minutes` is still the course others name: one problem, not a cascade of them."""
    error = load_error(encode(changed(path, 12.5), ".json"), ".json")
    assert error.message.splitlines() == [problem_at(error, ".json", place_of(path))]


# ---------------------------------------------------------------- truncation of the demo store at every byte

FIXTURE_WAIT_SECONDS = 20 * 60
FIXTURE_POLL_SECONDS = 30


def demo_fixture(name: str) -> bytes:
    """The demo store file; it may still be being written, so wait for it a while."""
    path = FIXTURES / name
    deadline = time.monotonic() + FIXTURE_WAIT_SECONDS
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(FIXTURE_POLL_SECONDS)
    return path.read_bytes()


def truncation_failures(raw: bytes, ext: str, offsets: range) -> list[str]:
    """Load each prefix `raw[:offset]`; describe every outcome other than a Document or a proper DataError."""
    failures = []
    for offset in offsets:
        try:
            parse_document(raw[:offset], FORMATS[ext], f"acme{ext}")
        except DataError as error:
            if not error.message.startswith(f"acme{ext}: "):
                failures.append(f"{offset}: message does not name the file: {error.message!r}")
        except Exception as error:  # any other exception is what this test looks for
            failures.append(f"{offset}: {type(error).__name__}: {error}")
        else:
            if ext == ".json" and raw[:offset].rstrip() != raw.rstrip():
                failures.append(f"{offset}: a truncated JSON store loaded")
    return failures


def every_prefix_failures(raw: bytes, ext: str) -> list[str]:
    """`truncation_failures` over every offset, spread over the machine's cores."""
    workers = os.cpu_count() or 1
    chunks = [range(start, len(raw), workers) for start in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = pool.map(truncation_failures, [raw] * workers, [ext] * workers, chunks)
        return sorted(failure for result in results for failure in result)


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_the_demo_store_truncated_at_every_byte_never_escapes_as_another_error(ext: str) -> None:
    raw = demo_fixture(f"acme{ext}")
    assert parse_document(raw, FORMATS[ext], f"acme{ext}").enrollments

    failures = every_prefix_failures(raw, ext)

    assert not failures, f"{len(failures)} bad truncations, first ones:\n" + "\n".join(failures[:10])


# ---------------------------------------------------------------- atomic writes


def add_course(store: Store, course_id: str = "new") -> None:
    with store.update() as doc:
        doc.courses[course_id] = Course(course_id, "New course")


@pytest.fixture(params=EXTENSIONS)
def store_path(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data" / f"store{request.param}"
    open_store(path).create(full_document())
    yield path


def folder_entries(path: Path) -> set[str]:
    """The folder's files, leaving out the lock file (it may stay between runs)."""
    return {entry.name for entry in path.parent.iterdir()} - {f"{path.name}.lock"}


def disk_full(*_args: Any, **_kwargs: Any) -> None:
    raise OSError(28, "No space left on device")


REAL_FSYNC = os.fsync


def fsync_failing_for_new_files(known: Path) -> Callable[[int], None]:
    """An fsync that fails for regular files other than `known`: the temp file of a store write."""
    known_inode = known.stat().st_ino

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_ino != known_inode:
            disk_full()
        REAL_FSYNC(fd)

    return fsync


@pytest.mark.parametrize("failure", ["replace", "fsync-of-the-temp-file", "every-fsync"])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    before, entries = store_path.read_bytes(), folder_entries(store_path)
    audit_log = Path(f"{store_path}.audit.jsonl")
    failing = {  # what fails, and the write it stops
        "replace": ("replace", disk_full, "cannot write store"),
        "fsync-of-the-temp-file": ("fsync", fsync_failing_for_new_files(audit_log), "cannot write store"),
        "every-fsync": ("fsync", disk_full, "cannot write store"),
    }
    name, replacement, what = failing[failure]
    store = open_store(store_path)

    with monkeypatch.context() as patch:
        patch.setattr(os, name, replacement)
        with pytest.raises(DataError) as caught:
            add_course(store)

    assert caught.value.exit_code == 6
    assert caught.value.message.startswith(what)
    assert str(store_path) in caught.value.message
    assert "No space left on device" in caught.value.message
    assert store_path.read_bytes() == before
    assert folder_entries(store_path) == entries
    add_course(store)  # once the disk has room again, the next change goes through
    assert "new" in store.read().courses


def test_a_failed_create_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "new.toml"
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", disk_full)
        with pytest.raises(DataError):
            open_store(path).create(full_document())

    assert folder_entries(path) == set()
    open_store(path).create(full_document())  # once the disk has room again, creating it works
    assert content(open_store(path).read()) == full_document()


def test_an_update_keeps_the_permission_bits(store_path: Path) -> None:
    store_path.chmod(0o640)
    add_course(open_store(store_path))
    assert "new" in open_store(store_path).read().courses
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o640


def test_a_new_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        path = tmp_path / "new.json"
        open_store(path).create(full_document())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_update_whose_block_raises_leaves_the_file_byte_identical(store_path: Path) -> None:
    before = store_path.read_bytes()
    store = open_store(store_path, lock_timeout=0.2)

    with pytest.raises(RuntimeError), store.update() as doc:
        doc.courses["new"] = Course("new", "New course")
        raise RuntimeError("the command failed half-way")

    assert store_path.read_bytes() == before
    add_course(store)  # the lock was released: the next update goes through
    assert "new" in store.read().courses


def test_an_update_that_changes_nothing_does_not_rewrite_the_file(store_path: Path) -> None:
    store = open_store(store_path)
    before = store_path.stat()

    with store.update() as doc:
        assert "intro" in doc.courses

    after = store_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    add_course(store)
    assert store_path.stat().st_ino != before.st_ino  # a real change does replace the file


# ---------------------------------------------------------------- the lock


def assert_busy_quickly(store_path: Path) -> None:
    before = store_path.read_bytes()
    store = open_store(store_path, lock_timeout=0.2)
    started = time.monotonic()

    with pytest.raises(StoreBusy) as caught:
        add_course(store)

    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 3.0  # the wait given, not the default 10 s
    assert caught.value.exit_code == 7
    assert str(store_path) in caught.value.message
    assert caught.value.hint is not None and "retry" in caught.value.hint
    assert store_path.read_bytes() == before


def test_a_lock_held_in_this_process_makes_update_busy(store_path: Path) -> None:
    with FileLock(f"{store_path}.lock"):
        assert_busy_quickly(store_path)
    add_course(open_store(store_path, lock_timeout=0.2))


def test_a_lock_held_by_another_process_makes_update_busy(store_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, str(WORKER_SCRIPT), "hold", str(store_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert_busy_quickly(store_path)
    finally:
        holder.communicate(timeout=30)
    assert holder.returncode == 0
    add_course(open_store(store_path, lock_timeout=0.2))


# ---------------------------------------------------------------- opening a store


@pytest.mark.parametrize("name", ["store.yaml", "store", "store.json.bak"])
def test_an_unknown_extension_is_a_usage_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError) as caught:
        open_store(tmp_path / name)
    assert caught.value.exit_code == 2
    assert name in caught.value.message
    assert caught.value.hint is not None and ".toml" in caught.value.hint


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_a_missing_store_is_a_data_error_with_a_hint(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"missing{ext}"
    store = open_store(path)

    for attempt in (store.read, lambda: add_course(store)):
        with pytest.raises(DataError) as caught:
            attempt()
        assert caught.value.exit_code == 6
        assert str(path) in caught.value.message
        assert "does not exist" in caught.value.message
        assert caught.value.hint is not None and "certcli init" in caught.value.hint
    assert not path.exists()


def test_the_next_writer_sweeps_temp_files_a_killed_writer_left(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    open_store(path).create(full_document())
    leftover = tmp_path / f".{path.name}.abc123.tmp"
    leftover.write_bytes(b'{"half": ')
    unrelated = tmp_path / ".other.json.abc123.tmp"
    unrelated.write_bytes(b"")
    with open_store(path).update() as doc:
        doc.courses["c9"] = Course("c9", "Nine")
    assert not leftover.exists()
    assert unrelated.exists()
