"""xAPI export: the statements built from enrollments (pure), and `certcli export-xapi` (CLI and process).

Every statement is checked with ralph's xAPI model of a generic statement, which
refuses unknown properties, empty values, malformed IRIs, UUIDs and e-mail addresses.
(tests/test_lrs.py sends them to a real LRS.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ralph.models.xapi.base.statements import BaseXapiStatement
from typer.testing import CliRunner, Result

from certcli import rules
from certcli.cli import app
from certcli.formats import xapi
from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    CYCLE_OPENED,
    PROOF_REVIEWED,
    PROOF_SUBMITTED,
    REVOKED,
    Certification,
    Course,
    CourseRef,
    Document,
    Enrollment,
    Fact,
    Proof,
    User,
)

ORG_URL = "https://learn.acme-corp.com"
REGISTERED = "http://adlnet.gov/expapi/verbs/registered"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
SUBMITTED = "http://activitystrea.ms/schema/1.0/submit"
APPROVED = "http://activitystrea.ms/schema/1.0/approve"
REJECTED = "http://activitystrea.ms/schema/1.0/reject"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
DEMO_NOW = "2026-11-28"


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def validate(statements: list[dict[str, Any]]) -> None:
    for item in statements:
        BaseXapiStatement.model_validate(item)


def verbs(statements: list[dict[str, Any]]) -> list[str]:
    return [item["verb"]["id"] for item in statements]


def email(user: str) -> str:
    return f"{user}@acme-corp.com"


def mbox(user: str) -> str:
    return f"mailto:{email(user)}"


def account(user: str, home: str = ORG_URL) -> dict[str, str]:
    return {"homePage": home, "name": user}


# ---------------------------------------------------------------- a hand-built document with every kind of statement


SEC = Certification(
    "sec", "Security", "internal", overview="Yearly basics", validity_months=12,
    courses=(CourseRef("c1", True), CourseRef("c2", True), CourseRef("c3", False)),
)
AWS = Certification("aws", "AWS Architect", "external")


def opened(cert: Certification, when: str, cycle: int) -> Fact:
    return Fact(CYCLE_OPENED, at(when), cycle=cycle, requirements=rules.effective_requirements(cert))


def proof(name: str) -> Proof:
    return Proof("ab" * 32, 10, name)


def security_enrollment(user: str = "ann") -> Enrollment:
    """Cycle 1 completed (c1, then c2) and revoked; cycle 2 opened, c1 done again."""
    return Enrollment(user, "sec", [
        Fact(ASSIGNED, at("2026-01-05T09:00"), by="root"),
        opened(SEC, "2026-01-05T09:00", 1),
        Fact(COURSE_COMPLETED, at("2026-01-10T10:00"), course="c1"),
        Fact(COURSE_COMPLETED, at("2026-01-12T11:00"), course="c2"),
        Fact(REVOKED, at("2026-02-01T08:00"), by="root", reason="exam leaked", cycle=1),
        opened(SEC, "2026-02-02T08:00", 2),
        Fact(COURSE_COMPLETED, at("2026-02-03T08:00"), course="c1"),
    ])


def aws_enrollment(user: str = "ann") -> Enrollment:
    """A proof rejected, a second one approved."""
    return Enrollment(user, "aws", [
        Fact(ASSIGNED, at("2026-01-05T09:00"), by="root"),
        opened(AWS, "2026-01-05T09:00", 1),
        Fact(PROOF_SUBMITTED, at("2026-01-06T09:00"), proof=proof("blurred.png")),
        Fact(PROOF_REVIEWED, at("2026-01-07T09:00"), by="mia", decision="rejected", reason="unreadable"),
        Fact(PROOF_SUBMITTED, at("2026-01-08T09:00"), proof=proof("scan.pdf")),
        Fact(PROOF_REVIEWED, at("2026-01-09T09:00"), by="mia", decision="approved"),
    ])


def document(**emails: str | None) -> Document:
    users = {
        "root": User("root", "Root Admin", "admin", email("root")),
        "mia": User("mia", "Mia", "manager", email("mia")),
        "ann": User("ann", "Ann", "learner", email("ann"), "mia"),
        "bo": User("bo", "Bo", "learner", email("bo"), "mia"),
    }
    for user_id, address in emails.items():
        users[user_id] = users[user_id]._replace(email=address)
    return Document(
        org_name="Acme",
        org_url=ORG_URL,
        users=users,
        courses={c: Course(c, f"Course {c}") for c in ("c1", "c2", "c3")},
        certifications={"sec": SEC, "aws": AWS},
        enrollments=[security_enrollment(), aws_enrollment()],
    )


def export(doc: Document, now: str = "2026-06-01", since: date | None = None) -> list[dict[str, Any]]:
    return xapi.statements(doc, doc.enrollments, at(now), since)


def by_verb(statements: list[dict[str, Any]], verb: str) -> list[dict[str, Any]]:
    return [item for item in statements if item["verb"]["id"] == verb]


def test_every_statement_kind_is_a_valid_xapi_statement() -> None:
    statements = export(document())
    validate(statements)
    assert sorted(verbs(statements)) == sorted(
        [REGISTERED, COMPLETED, COMPLETED, COMPLETED, VOIDED, REGISTERED, COMPLETED]  # sec: 2 cycles
        + [REGISTERED, SUBMITTED, REJECTED, SUBMITTED, APPROVED, COMPLETED]  # aws
    )
    assert {item["version"] for item in statements} == {"1.0.0"}


def test_statements_are_sorted_by_timestamp_then_id() -> None:
    statements = export(document())
    keys = [(item["timestamp"], item["id"]) for item in statements]
    assert keys == sorted(keys)
    assert statements[0]["timestamp"] == "2026-01-05T09:00:00Z"


def test_a_course_completion_names_the_learner_the_course_and_its_certification() -> None:
    first = next(item for item in export(document()) if item["timestamp"] == "2026-01-10T10:00:00Z")
    assert first["actor"] == {"objectType": "Agent", "name": "Ann", "mbox": mbox("ann")}
    assert first["verb"] == {"id": COMPLETED, "display": {"en-US": "completed"}}
    assert first["object"]["id"] == f"{ORG_URL}/certcli/courses/c1"
    assert first["object"]["definition"]["name"] == {"und": "Course c1"}
    assert first["result"] == {"completion": True}
    parent = first["context"]["contextActivities"]["parent"]
    assert [activity["id"] for activity in parent] == [f"{ORG_URL}/certcli/certifications/sec"]


def test_the_certification_completes_when_its_last_mandatory_course_does() -> None:
    statements = export(document())
    done = [item for item in by_verb(statements, COMPLETED) if item["object"]["id"].endswith("/certifications/sec")]
    assert [item["timestamp"] for item in done] == ["2026-01-12T11:00:00Z"]
    assert done[0]["result"] == {"completion": True, "success": True}


def test_the_revocation_voids_that_cycles_completed_statement() -> None:
    statements = export(document())
    (void,) = by_verb(statements, VOIDED)
    completed = next(
        item for item in by_verb(statements, COMPLETED) if item["object"]["id"].endswith("/certifications/sec")
    )
    assert void["object"] == {"objectType": "StatementRef", "id": completed["id"]}
    assert void["actor"]["mbox"] == mbox("root")
    assert void["result"] == {"response": "exam leaked"}
    assert void["context"]["registration"] == completed["context"]["registration"]
    assert void["timestamp"] == "2026-02-01T08:00:00Z"


def test_a_proof_submitted_is_the_learners_statement_about_the_certification() -> None:
    submitted = by_verb(export(document()), SUBMITTED)
    assert [item["timestamp"] for item in submitted] == ["2026-01-06T09:00:00Z", "2026-01-08T09:00:00Z"]
    for item in submitted:
        assert item["actor"] == {"objectType": "Agent", "name": "Ann", "mbox": mbox("ann")}
        assert item["verb"] == {"id": SUBMITTED, "display": {"en-US": "submitted"}}
        assert item["object"]["id"] == f"{ORG_URL}/certcli/certifications/aws"
        assert item["context"]["registration"] == xapi.registration(ORG_URL, "ann", "aws", 1)


def test_reviews_are_by_the_reviewer_of_the_submission_they_decide_with_the_reason() -> None:
    statements = export(document())
    (rejected,) = by_verb(statements, REJECTED)
    (approved,) = by_verb(statements, APPROVED)
    first, second = by_verb(statements, SUBMITTED)
    # The learner is reached through the submission: an Agent as the object is refused by strict LRSs.
    assert rejected["object"] == {"objectType": "StatementRef", "id": first["id"]}
    assert approved["object"] == {"objectType": "StatementRef", "id": second["id"]}
    for review in (rejected, approved):
        assert review["actor"]["mbox"] == mbox("mia")
        assert review["context"]["registration"] == first["context"]["registration"]
        grouping = review["context"]["contextActivities"]["grouping"]
        assert [activity["id"] for activity in grouping] == [f"{ORG_URL}/certcli/certifications/aws"]
    assert rejected["result"] == {"response": "unreadable"}
    assert "result" not in approved
    external_done = [item for item in by_verb(statements, COMPLETED) if item["object"]["id"].endswith("/aws")]
    assert [item["timestamp"] for item in external_done] == [approved["timestamp"]]


def registrations(statements: list[dict[str, Any]], cert: str) -> list[str]:
    return [
        item["context"]["registration"]
        for item in statements
        if item["verb"]["id"] == REGISTERED and item["object"]["id"].endswith(f"/certifications/{cert}")
    ]


def test_each_cycle_has_its_own_registration_shared_by_its_statements() -> None:
    statements = export(document())
    first, second = registrations(statements, "sec")
    assert first != second
    assert first == xapi.registration(ORG_URL, "ann", "sec", 1)
    cycle_two = [item for item in statements if item["timestamp"] >= "2026-02-02"]
    assert {item["context"]["registration"] for item in cycle_two} == {second}
    assert registrations(statements, "aws") != [first]


def test_ids_and_registrations_are_the_same_on_every_export_and_differ_between_orgs() -> None:
    once, again = export(document()), export(document())
    assert once == again
    assert len({item["id"] for item in once}) == len(once)
    other = document()
    other.org_url = "https://other.example"
    assert not {item["id"] for item in once} & {item["id"] for item in export(other)}


def test_a_later_fact_adds_statements_without_changing_earlier_ids() -> None:
    early = export(document(), now="2026-01-20")
    later = export(document())
    assert {item["id"] for item in early} < {item["id"] for item in later}


def test_facts_after_the_evaluation_time_are_left_out() -> None:
    statements = export(document(), now="2026-01-07T09:00")  # the rejection's very time
    assert sorted(verbs(statements)) == sorted([REGISTERED, REGISTERED, SUBMITTED, REJECTED])
    assert statements[-1]["timestamp"] == "2026-01-07T09:00:00Z"


def test_since_keeps_the_statements_from_that_day_on() -> None:
    everything = export(document())
    since = export(document(), since=date(2026, 1, 9))
    assert since == [item for item in everything if item["timestamp"] >= "2026-01-09"]
    assert since and len(since) < len(everything)


def test_identical_reviews_in_the_same_second_get_different_ids() -> None:
    doc = document()
    facts = doc.enrollments[1].facts
    same_second = at("2026-01-07T09:00")
    facts[4:4] = [
        Fact(PROOF_SUBMITTED, same_second, proof=proof("again.pdf")),
        Fact(PROOF_REVIEWED, same_second, by="mia", decision="rejected", reason="unreadable"),
    ]
    statements = export(doc)
    rejected = by_verb(statements, REJECTED)
    assert len(rejected) == 2
    assert rejected[0]["id"] != rejected[1]["id"]
    submissions = {item["id"] for item in by_verb(statements, SUBMITTED)}
    assert len(submissions) == 3
    assert {item["object"]["id"] for item in rejected} < submissions  # each its own submission


def test_a_learner_without_an_email_address_is_identified_by_their_account() -> None:
    statements = export(document(ann=None))
    validate(statements)
    learner = {"objectType": "Agent", "name": "Ann", "account": account("ann")}
    for item in statements:
        if item["verb"]["id"] in (REGISTERED, COMPLETED, SUBMITTED):
            assert item["actor"] == learner
    assert "ann@" not in json.dumps(statements)


def test_a_reviewer_and_an_admin_without_email_addresses_are_identified_by_their_accounts() -> None:
    statements = export(document(mia=None, root=None))
    validate(statements)
    for verb, staff in ((REJECTED, "mia"), (APPROVED, "mia"), (VOIDED, "root")):
        (item,) = by_verb(statements, verb)
        assert "mbox" not in item["actor"] and item["actor"]["account"] == account(staff)


def test_the_account_home_page_is_the_organisations_address_without_a_trailing_slash() -> None:
    doc = document(ann=None)
    doc.org_url = ORG_URL + "/"
    assert {item["actor"]["account"]["homePage"] for item in by_verb(export(doc), REGISTERED)} == {ORG_URL}


def test_ids_do_not_depend_on_how_people_are_identified() -> None:
    with_email, without = export(document()), export(document(ann=None, mia=None))
    assert [item["id"] for item in with_email] == [item["id"] for item in without]


# ---------------------------------------------------------------- the command line on the demo store


runner = CliRunner()


def cli(store: Path, actor: str, *args: str, now: str = DEMO_NOW) -> Result:
    result = runner.invoke(app, ["--store", str(store), "--as", actor, "--now", now, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def lines(store: Path, actor: str, *args: str, now: str = DEMO_NOW) -> list[dict[str, Any]]:
    result = cli(store, actor, "export-xapi", *args, now=now)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_one_error(result: Result, code: int) -> None:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    errors = result.stderr.strip().splitlines()
    assert errors[0].startswith("error: ") and len(errors) <= 2, result.stderr
    assert len(errors) == 1 or errors[1].startswith("hint: ")


def named_people(item: dict[str, Any], statements: list[dict[str, Any]] | None = None) -> set[str]:
    """The mboxes of the statement's actor and object, and of the actor of a statement it points at
    (a review points at the learner's submission) when that one is among `statements`."""
    agents = [item["actor"], item["object"]]
    if item["object"].get("objectType") == "StatementRef":
        agents += [other["actor"] for other in statements or [] if other["id"] == item["object"]["id"]]
    return {agent["mbox"] for agent in agents if agent.get("objectType") == "Agent"}


def demo_emails(store: Path) -> dict[str, str]:
    result = cli(store, "root", "user", "list", "--json")
    return {user["id"]: f"mailto:{user['email']}" for user in json.loads(result.stdout)}


def test_every_statement_of_the_demo_store_is_valid_and_every_kind_occurs(demo_store: Path) -> None:
    statements = lines(demo_store, "root")
    validate(statements)
    assert set(verbs(statements)) == {REGISTERED, COMPLETED, SUBMITTED, APPROVED, REJECTED, VOIDED}
    ids = {item["id"] for item in statements}
    assert len(ids) == len(statements)
    for pointing in by_verb(statements, VOIDED) + by_verb(statements, APPROVED) + by_verb(statements, REJECTED):
        assert pointing["object"]["id"] in ids
    assert all(item["object"]["id"].startswith("https://acme.example/certcli/")
               for item in statements if item["object"].get("objectType") == "Activity")


def test_two_exports_are_byte_identical(demo_store: Path) -> None:
    first = cli(demo_store, "root", "export-xapi")
    second = cli(demo_store, "root", "export-xapi")
    assert first.exit_code == 0
    assert first.stdout == second.stdout
    assert first.stdout.count("\n") == len(first.stdout.splitlines()) > 50


def test_output_file_holds_the_same_lines(demo_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "statements.jsonl"
    result = cli(demo_store, "root", "export-xapi", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    written = target.read_text(encoding="utf-8")
    assert written == cli(demo_store, "root", "export-xapi").stdout
    assert f"Wrote {len(written.splitlines())} xAPI statement(s) to {target}." in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_output_into_a_missing_folder_is_one_error(demo_store: Path, tmp_path: Path) -> None:
    result = cli(demo_store, "root", "export-xapi", "-o", str(tmp_path / "missing" / "out.jsonl"))
    assert_one_error(result, 6)


def test_a_learner_exports_only_their_own_records(demo_store: Path) -> None:
    ana = demo_emails(demo_store)["ana"]
    statements = lines(demo_store, "ana")
    assert statements
    assert all(ana in named_people(item, statements) for item in statements)


def test_a_learner_naming_someone_else_is_denied(demo_store: Path) -> None:
    assert_one_error(cli(demo_store, "ana", "export-xapi", "--user", "ben"), 4)
    assert_one_error(cli(demo_store, "ana", "export-xapi", "--user", "nobody"), 4)


def test_a_manager_exports_their_direct_reports(demo_store: Path) -> None:
    emails = demo_emails(demo_store)
    reports = {emails[user] for user in ("ana", "ben", "chloe", "dev")}
    statements = lines(demo_store, "mia")
    assert {mbox for item in statements for mbox in named_people(item, statements)} & reports == reports
    learners = {item["actor"]["mbox"] for item in statements if item["verb"]["id"] in (REGISTERED, COMPLETED)}
    assert learners == reports
    assert_one_error(cli(demo_store, "mia", "export-xapi", "--user", "eli"), 4)


def test_user_and_cert_filters(demo_store: Path) -> None:
    ben = demo_emails(demo_store)["ben"]
    only_ben = lines(demo_store, "root", "--user", "ben")
    assert only_ben and all(ben in named_people(item, only_ben) for item in only_ben)
    only_sec = lines(demo_store, "root", "--cert", "security-awareness")
    assert only_sec
    for item in only_sec:
        text = json.dumps(item)
        assert "/certcli/certifications/security-awareness" in text
        assert text.count("/certcli/certifications/") == text.count("/certcli/certifications/security-awareness")


def test_unknown_ids_are_not_found(demo_store: Path) -> None:
    assert_one_error(cli(demo_store, "root", "export-xapi", "--cert", "nope"), 3)
    assert_one_error(cli(demo_store, "root", "export-xapi", "--user", "nobody"), 3)


def test_since_and_now_bound_the_timestamps(demo_store: Path) -> None:
    everything = lines(demo_store, "root")
    since = lines(demo_store, "root", "--since", "2026-11-01")
    assert since == [item for item in everything if item["timestamp"] >= "2026-11-01"]
    assert 0 < len(since) < len(everything)
    earlier = lines(demo_store, "root", now="2026-06-01")
    assert earlier and all(item["timestamp"] <= "2026-06-01T00:00:00Z" for item in earlier)


def test_a_malformed_since_is_a_usage_error(demo_store: Path) -> None:
    result = cli(demo_store, "root", "export-xapi", "--since", "November")
    assert result.exit_code == 2


def test_without_an_org_address_the_export_says_how_to_set_it(demo_store: Path) -> None:
    assert cli(demo_store, "root", "org", "set", "--url", "").exit_code == 0
    result = cli(demo_store, "root", "export-xapi")
    assert_one_error(result, 5)
    assert "certcli org set --url" in result.stderr


def test_a_user_without_email_is_exported_with_their_account(demo_store: Path) -> None:
    assert cli(demo_store, "root", "user", "add", "zed", "--name", "Zed", "--manager", "mia").exit_code == 0
    assert cli(demo_store, "root", "assign", "workplace-safety", "zed").exit_code == 0
    assert cli(demo_store, "zed", "complete", "workplace-safety", "fire-safety").exit_code == 0
    statements = lines(demo_store, "root", "--user", "zed")
    validate(statements)
    assert sorted(verbs(statements)) == [COMPLETED, REGISTERED]
    zed = {"objectType": "Agent", "name": "Zed", "account": {"homePage": "https://acme.example", "name": "zed"}}
    assert all(item["actor"] == zed for item in statements)
    everyone = lines(demo_store, "root")  # a user without e-mail no longer stops the whole export
    assert [item for item in everyone if item["actor"] == zed] == statements


def test_help_shows_an_example() -> None:
    result = runner.invoke(app, ["export-xapi", "--help"])
    assert result.exit_code == 0
    assert "Example: certcli export-xapi" in " ".join(result.stdout.split())


# ---------------------------------------------------------------- the installed program


def test_end_to_end_export_to_a_file(certcli_exe: str, tmp_path: Path) -> None:
    store = tmp_path / "acme.toml"
    shutil.copyfile(Path(__file__).resolve().parent.parent / "fixtures" / "acme.toml", store)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    env.update({"CERTCLI_STORE": str(store), "CERTCLI_USER": "root", "CERTCLI_NOW": DEMO_NOW, "NO_COLOR": "1"})
    target = tmp_path / "statements.jsonl"
    done = subprocess.run(
        [certcli_exe, "export-xapi", "--cert", "first-aid-at-work", "-o", str(target)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    statements = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    validate(statements)
    assert {SUBMITTED, APPROVED, REJECTED, VOIDED, COMPLETED, REGISTERED} == set(verbs(statements))
    assert f"Wrote {len(statements)} xAPI statement(s)" in done.stderr
