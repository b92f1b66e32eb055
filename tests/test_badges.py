"""`certcli badge`: Open Badges 3.0 credentials for completed certifications.

Every credential these tests produce is validated against 1EdTech's JSON Schema for
AchievementCredential, read from the shared reference data beside the repository
(offline: any `$ref` outside the schema, and any network connection, fails the test).
Dates are worked out by hand from tests/story_store.py, never copied from a run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import story_store
from jsonschema import Draft201909Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from story_store import NOW, ORG_URL
from typer.testing import CliRunner, Result

from certcli import rules, usecases
from certcli.cli import app
from certcli.formats import badges
from certcli.store import open_store

OPEN_BADGES_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "openbadges-v3p0"
SCHEMA_FILE = OPEN_BADGES_DATA / "achievementcredential.schema.json"
CONTEXT_FILE = OPEN_BADGES_DATA / "context-3.0.3.json"

runner = CliRunner()


# ---------------------------------------------------------------- validation against the 1EdTech schema


def _offline(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)


FORMATS = FormatChecker(formats=())
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 with a time zone, as the schema's DateTimeZ requires."""
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with a zone")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@functools.cache
def _validator() -> Draft201909Validator | None:
    if not SCHEMA_FILE.is_file():
        return None
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    registry = Registry(retrieve=_offline).with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft201909Validator(schema, registry=registry, format_checker=FORMATS)


def schema_errors(credential: dict[str, Any]) -> list[str]:
    validator = _validator()
    if validator is None:
        pytest.skip(f"the Open Badges 3.0 JSON Schema is not at {SCHEMA_FILE} (shared reference data absent)")
    errors = validator.iter_errors(credential)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors]


def assert_valid(credential: dict[str, Any]) -> dict[str, Any]:
    assert schema_errors(credential) == []
    return credential


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# ---------------------------------------------------------------- stores and running


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store.build(tmp_path_factory.mktemp("story"))


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Path:
    return story_store.copy(template, tmp_path)


def cli(store: Path, *args: str, actor: str = "ben", now: str = NOW) -> Result:
    result = runner.invoke(app, ["--store", str(store), "--as", actor, "--now", now, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def badge(store: Path, cert: str, *args: str, actor: str = "ben", now: str = NOW) -> dict[str, Any]:
    """`certcli badge CERT ARGS` that must succeed; its credential, checked against the schema."""
    result = cli(store, "badge", cert, *args, actor=actor, now=now)
    assert result.exit_code == 0, result.stderr
    return assert_valid(json.loads(result.stdout))


def refused(store: Path, *args: str, actor: str = "ben", now: str = NOW) -> Result:
    """A command that must fail with one `error:` line, an optional `hint:`, and change nothing."""
    before = store.read_bytes()
    result = cli(store, *args, actor=actor, now=now)
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) in (1, 2) and lines[0].startswith("error: "), result.stderr
    assert len(lines) == 1 or lines[1].startswith("hint: "), result.stderr
    assert store.read_bytes() == before
    return result


def salted(identity: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- the reference data itself


def test_the_credential_names_the_contexts_the_reference_data_expects() -> None:
    if not CONTEXT_FILE.is_file():
        pytest.skip(f"the Open Badges 3.0 context is not at {CONTEXT_FILE}")
    context = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]
    assert "OpenBadgeCredential" in context and "Achievement" in context
    assert badges.CONTEXTS[1].endswith("/" + CONTEXT_FILE.name)


def test_the_schema_check_catches_a_broken_credential(store: Path) -> None:
    """The validation is real: a credential without an issuer, or with a bad date, fails it."""
    credential = badge(store, "basics")
    without_issuer = {key: value for key, value in credential.items() if key != "issuer"}
    assert any("issuer" in error for error in schema_errors(without_issuer))
    assert schema_errors({**credential, "validFrom": "2026-01-20"})


# ---------------------------------------------------------------- internal certifications


def test_an_internal_perpetual_badge_has_no_end_and_lists_the_mandatory_courses(store: Path) -> None:
    credential = badge(store, "basics")
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["issuer"] == {"id": ORG_URL, "type": ["Profile"], "name": "Acme Corp"}
    assert credential["validFrom"] == "2026-01-20T00:00:00Z"  # c2, the last mandatory course
    assert "validUntil" not in credential
    assert "proof" not in credential  # unsigned: the payload an issuing service signs
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["id"] == "https://acme.example/certcli/certifications/basics"
    assert achievement["type"] == ["Achievement"]
    assert achievement["achievementType"] == "Certification"
    assert achievement["name"] == "Basics"
    assert achievement["description"] == "The basics of working here."
    narrative = achievement["criteria"]["narrative"]
    assert "Course C1 (c1)" in narrative and "Course C2 (c2)" in narrative
    assert "c3" not in narrative  # optional
    assert [item["narrative"] for item in credential["evidence"]] == [
        "Completed Course C1 (c1) on 2026-01-10.",
        "Completed Course C2 (c2) on 2026-01-20.",
    ]


def test_an_internal_recurring_badge_is_valid_until_the_validity_ends(store: Path) -> None:
    credential = badge(store, "sec")
    assert credential["validFrom"] == "2026-01-15T00:00:00Z"
    assert credential["validUntil"] == "2027-01-15T00:00:00Z"  # 12 months; expired from that day on
    assert "Valid for 12 months" in credential["credentialSubject"]["achievement"]["criteria"]["narrative"]


# ---------------------------------------------------------------- external certifications


def test_an_external_recurring_badge_carries_the_approved_proof(store: Path) -> None:
    credential = badge(store, "aws")
    assert credential["validFrom"] == "2026-01-06T00:00:00Z"  # the approval
    assert credential["validUntil"] == "2028-01-06T00:00:00Z"  # 24 months
    achievement = credential["credentialSubject"]["achievement"]
    assert "Amazon Web Services" in achievement["description"]  # no overview: the fallback names the issuer
    assert "approves" in achievement["criteria"]["narrative"]
    digest = hashlib.sha256(story_store.PROOF_BYTES).hexdigest()
    [proof] = credential["evidence"]
    assert proof["name"] == "certificate.pdf"
    assert digest in proof["description"]
    assert proof["id"].startswith("ni:///sha-256;")
    assert "approved on 2026-01-06" in proof["narrative"]


def test_an_external_perpetual_badge_with_a_course_lists_both_and_shows_its_image(store: Path) -> None:
    credential = badge(store, "cpr", actor="dan")
    assert credential["validFrom"] == "2026-01-08T00:00:00Z"
    assert "validUntil" not in credential
    genres = [item["genre"] for item in credential["evidence"]]
    assert genres == ["Course completion", "Approved proof"]
    image = credential["credentialSubject"]["achievement"]["image"]
    assert image == {"id": "https://acme.example/badges/cpr.png", "type": "Image", "caption": "CPR"}


# ---------------------------------------------------------------- the learner's privacy


def test_the_learner_is_a_salted_hash_of_their_normalised_email(store: Path) -> None:
    credential = badge(store, "basics")
    [identity] = credential["credentialSubject"]["identifier"]
    assert identity["type"] == "IdentityObject"
    assert identity["identityType"] == "emailAddress"
    assert identity["hashed"] is True
    assert identity["identityHash"] == salted("ben.carter@acme.example", identity["salt"])
    text = json.dumps(credential).lower()
    assert "ben.carter" not in text and "ben carter" not in text


def test_a_learner_without_email_is_a_salted_hash_of_their_user_id(store: Path) -> None:
    [identity] = badge(store, "cpr", actor="dan")["credentialSubject"]["identifier"]
    assert identity["identityType"] == "userName"
    assert identity["identityHash"] == salted("dan", identity["salt"])


def test_two_badges_of_one_learner_do_not_share_a_hash(store: Path) -> None:
    hashes = {badge(store, cert)["credentialSubject"]["identifier"][0]["identityHash"] for cert in ("basics", "sec")}
    assert len(hashes) == 2


# ---------------------------------------------------------------- determinism and cycles


def test_the_same_badge_is_the_same_bytes_on_any_later_day(store: Path) -> None:
    first = cli(store, "badge", "sec").stdout
    assert cli(store, "badge", "sec").stdout == first
    assert cli(store, "badge", "sec", now="2026-06-30").stdout == first


def test_a_renewal_keeps_the_held_badge_until_it_completes_and_then_gets_a_new_id(store: Path) -> None:
    first = badge(store, "sec")
    window_open = "2026-12-20"  # 30 days before 2027-01-15
    assert cli(store, "start", "sec", actor="ben", now=window_open).exit_code == 0  # opens cycle 2
    assert badge(store, "sec", now=window_open) == first  # cycle 1 still holds while cycle 2 renews it
    assert cli(store, "complete", "sec", "c1", actor="ben", now="2026-12-21").exit_code == 0
    renewed = badge(store, "sec", now="2026-12-21")
    assert renewed["id"] != first["id"]
    assert renewed["validFrom"] == "2026-12-21T00:00:00Z"
    assert renewed["validUntil"] == "2027-12-21T00:00:00Z"


def test_credential_ids_depend_on_org_learner_certification_and_cycle() -> None:
    ids = {
        badges.credential_id(ORG_URL, "ben", "sec", 1),
        badges.credential_id(ORG_URL, "ben", "sec", 2),
        badges.credential_id(ORG_URL, "dan", "sec", 1),
        badges.credential_id(ORG_URL, "ben", "aws", 1),
        badges.credential_id("https://other.example", "ben", "sec", 1),
    }
    assert len(ids) == 5
    assert badges.credential_id(ORG_URL + "/", "ben", "sec", 1) == badges.credential_id(ORG_URL, "ben", "sec", 1)


# ---------------------------------------------------------------- the pure builder


def test_the_builder_turns_a_held_cycle_into_a_valid_credential(template: Path) -> None:
    doc = open_store(template).read()
    cert, learner = doc.certifications["sec"], doc.users["ben"]
    enrollment = doc.enrollment("sec", "ben")
    assert enrollment is not None
    view = rules.evaluate(enrollment, cert, story_store.at(NOW))
    assert view is not None
    credential = assert_valid(badges.build_credential(doc, cert, learner, view.cycles[-1]))
    assert credential["id"] == badges.credential_id(ORG_URL, "ben", "sec", 1)
    assert credential["validUntil"] == "2027-01-15T00:00:00Z"


def test_the_description_falls_back_when_there_is_no_overview(template: Path) -> None:
    doc = open_store(template).read()
    internal = doc.certifications["sec"]
    assert badges.achievement(doc, internal)["description"] == (
        "Security Awareness: earned by completing its courses at Acme Corp."
    )


# ---------------------------------------------------------------- refusals: state


@pytest.mark.parametrize(
    ("cert", "actor", "now", "status"),
    [
        ("sec", "dan", NOW, "enrolled"),
        ("sec", "ben", "2027-02-01", "expired"),
        ("sec", "eve", NOW, "revoked"),
        ("basics", "ben", "2026-01-15", "started"),
    ],
)
def test_no_badge_for_a_certification_that_is_not_completed(
    store: Path, cert: str, actor: str, now: str, status: str
) -> None:
    result = refused(store, "badge", cert, actor=actor, now=now)
    assert result.exit_code == 5
    assert f"is {status}, not completed" in result.stderr
    assert "hint: " in result.stderr


def test_the_hint_for_a_lapsed_badge_says_how_to_recertify(store: Path) -> None:
    result = refused(store, "badge", "sec", now="2027-02-01")
    assert "certcli start sec" in result.stderr


def test_no_badge_for_a_certification_not_assigned(store: Path) -> None:
    assert refused(store, "badge", "aws", actor="dan").exit_code == 5


def test_no_badge_without_the_organisations_web_address(tmp_path: Path) -> None:
    path = story_store.build(tmp_path, org_url=None)
    result = refused(path, "badge", "basics")
    assert result.exit_code == 5
    assert "web address" in result.stderr
    assert "certcli org set --url URL" in result.stderr


# ---------------------------------------------------------------- refusals: who may ask


def test_an_admin_and_the_learners_manager_may_export_a_badge(store: Path) -> None:
    own = badge(store, "basics")
    assert badge(store, "basics", "--user", "ben", actor="root") == own
    assert badge(store, "basics", "--user", "ben", actor="mia") == own


@pytest.mark.parametrize(
    ("actor", "args", "code"),
    [
        ("dan", ("basics", "--user", "ben"), 4),  # a learner: only themselves
        ("mia", ("cpr", "--user", "dan"), 4),  # dan does not report to mia
        ("nobody", ("basics",), 4),  # unknown acting user
        ("root", ("basics", "--user", "nobody"), 3),
        ("ben", ("no-such-cert",), 3),
    ],
)
def test_badges_are_refused_to_those_who_may_not_see_them(
    store: Path, actor: str, args: tuple[str, ...], code: int
) -> None:
    assert refused(store, "badge", *args, actor=actor).exit_code == code


# ---------------------------------------------------------------- output to a file


def test_output_to_a_file_writes_the_same_credential(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "basics.json"
    result = cli(store, "badge", "basics", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert str(target) in result.stderr
    written = assert_valid(json.loads(target.read_text(encoding="utf-8")))
    assert written == badge(store, "basics")
    assert list(tmp_path.glob(".basics.json.*")) == []  # no temp file left behind


def test_an_unwritable_output_is_one_error(store: Path, tmp_path: Path) -> None:
    result = refused(store, "badge", "basics", "-o", str(tmp_path / "missing" / "basics.json"))
    assert result.exit_code == 6


def test_the_use_case_returns_the_credential_without_printing(template: Path, capsys: pytest.CaptureFixture) -> None:
    ctx = usecases.Context(store=open_store(template), actor_id="ben", now=story_store.at(NOW))
    outcome = usecases.badge(ctx, "aws")
    assert_valid(outcome.data)
    assert capsys.readouterr() == ("", "")


def test_help_shows_an_example() -> None:
    result = runner.invoke(app, ["badge", "--help"])
    assert result.exit_code == 0
    assert "Example: certcli badge" in " ".join(result.stdout.split())
