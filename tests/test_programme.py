"""Running a programme on every backend: the catalogue, proofs reviewers can open, user changes and
offboarding, groups that enrol now and later. Through the command line (CliRunner for the wiring, the
installed `certcli` where bytes and terminals matter), on the demo store as of 2026-11-28.

The demo: managers mia (ana, ben, chloe, dev) and omar (eli, fatima, gus, hana); ana's First Aid proof
and ben's CKAD proof wait for review; workplace-safety gives 14 days, compliance-annual 60.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import pytest
from backends import is_database, raw_database, store_state
from typer.testing import CliRunner, Result

from certcli.cli import app

NOW = "2026-11-28"
PDF = b"%PDF-1.4\n%" + bytes(range(256)) + b"\n%%EOF\n"


def cli(store: str, actor: str, *args: str, now: str = NOW) -> Result:
    result = CliRunner().invoke(app, ["--store", store, "--as", actor, "--now", now, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def ok(store: str, actor: str, *args: str, now: str = NOW) -> Any:
    """The JSON a command prints with --json (it must succeed), else None."""
    result = cli(store, actor, *args, now=now)
    assert result.exit_code == 0, result.stderr
    wants_json = "--json" in args or ("--format" in args and "json" in args)
    return json.loads(result.stdout) if wants_json else None


def refused(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    return result.stderr


def statuses(store: str, actor: str, now: str = NOW) -> dict[str, str]:
    return {item["id"]: item["status"] for item in ok(store, actor, "list", "--json", now=now)}


# ---------------------------------------------------------------- the catalogue


def test_a_learner_sees_theirs_and_what_they_may_enrol_in_with_their_status(demo: str) -> None:
    items = {item["id"]: item for item in ok(demo, "ana", "catalog", "--json")}

    assert set(items) == set(statuses(demo, "ana")) | {"cloud-foundations", "ckad", "pmp"}
    assert items["cloud-foundations"]["status"] is None and items["cloud-foundations"]["self_enroll"] is True
    assert items["first-aid-at-work"]["status"] == "pending_approval"
    assert all(item["enrolled"] is None for item in items.values())
    fields = {"id", "title", "kind", "type", "published", "self_enroll", "retired", "courses_required", "status",
              "enrolled"}  # fmt: skip
    assert all(fields <= set(item) for item in items.values())


def test_staff_see_every_certification_and_how_many_of_theirs_are_enrolled(demo: str) -> None:
    everything = {item["id"]: item for item in ok(demo, "root", "catalog", "--json")}
    mine = {item["id"]: item for item in ok(demo, "mia", "catalog", "--json")}

    assert len(everything) == len(mine) == 9
    assert everything["security-awareness"]["enrolled"] == 7  # everyone but gus
    assert mine["security-awareness"]["enrolled"] == 4  # ana, ben, chloe, dev
    assert everything["pmp"]["enrolled"] == 2 and mine["pmp"]["enrolled"] == 1


def test_the_catalogue_sorts_and_shows_retired_ones_only_when_asked(demo: str, tmp_path: Path) -> None:
    by_name = [item["title"] for item in ok(demo, "root", "catalog", "--sort", "name", "--json")]
    assert by_name == sorted(by_name, key=str.casefold)
    by_date = [item["published"] for item in ok(demo, "root", "catalog", "--sort", "published", "--json")]
    assert by_date == sorted(by_date, reverse=True)
    relevance = [item["status"] for item in ok(demo, "ana", "catalog", "--json")]
    assert relevance.index(None) > max(i for i, status in enumerate(relevance) if status is not None)

    definitions = tmp_path / "retire.toml"
    exported = cli(demo, "root", "export")
    definitions.write_text(exported.stdout.replace('id = "pmp"\n', 'id = "pmp"\nretired = true\n', 1))
    assert cli(demo, "root", "apply", "-f", str(definitions)).exit_code == 0
    assert "pmp" not in {item["id"] for item in ok(demo, "root", "catalog", "--json")}
    assert "pmp" in {item["id"] for item in ok(demo, "root", "catalog", "--all", "--json")}
    assert "pmp" in {item["id"] for item in ok(demo, "hana", "catalog", "--json")}  # her own enrollment stays


def test_course_list_names_the_certifications_using_each_course(demo: str) -> None:
    courses = {course["id"]: course for course in ok(demo, "mia", "course", "list", "--json")}
    assert courses["phishing"]["used_by"] == ["security-awareness"]
    assert set(courses["phishing"]) == {"id", "title", "minutes", "retired", "used_by"}
    refused(cli(demo, "ana", "course", "list"), 4)


def test_unknown_ids_point_to_the_catalogue_and_the_course_list(demo: str) -> None:
    assert "hint: see `certcli catalog`" in refused(cli(demo, "ana", "show", "nope"), 3)
    assert "hint: see `certcli course list`" in refused(cli(demo, "ana", "complete", "security-awareness", "nope"), 3)


# ---------------------------------------------------------------- proofs reviewers can open


def _run(exe: str, store: str, actor: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    environment.update({"CERTCLI_STORE": store, "CERTCLI_USER": actor, "CERTCLI_NOW": NOW, "NO_COLOR": "1"})
    return subprocess.run([exe, *args], capture_output=True, env=environment, timeout=60, check=False)


@pytest.fixture
def uploaded(demo: str, tmp_path: Path) -> str:
    """ana's AWS proof uploaded again (the demo ships records of proofs, not their files)."""
    source = tmp_path / "aws.pdf"
    source.write_bytes(PDF)
    ok(demo, "ana", "upload-proof", "aws-cloud-practitioner", str(source))
    return demo


def test_a_manager_opens_a_reports_proof_byte_for_byte_and_no_one_elses(
    certcli_exe: str, uploaded: str, tmp_path: Path
) -> None:
    piped = _run(certcli_exe, uploaded, "mia", "proof", "get", "aws-cloud-practitioner", "ana")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == PDF and b"SHA-256 checked" in piped.stderr

    target = tmp_path / "opened.pdf"
    assert ok(uploaded, "root", "proof", "get", "aws-cloud-practitioner", "ana", "-o", str(target)) is None
    assert target.read_bytes() == PDF
    ok(uploaded, "ana", "proof", "get", "aws-cloud-practitioner", "ana", "-o", str(tmp_path / "mine.pdf"))

    assert "not a direct report of omar" in refused(cli(uploaded, "omar", "proof", "get", "aws-cloud-practitioner",
                                                        "ana", "-o", str(tmp_path / "x.pdf")), 4)  # fmt: skip
    refused(cli(uploaded, "ben", "proof", "get", "aws-cloud-practitioner", "ana", "-o", str(tmp_path / "x.pdf")), 4)
    assert not (tmp_path / "x.pdf").exists()


def test_an_existing_file_is_kept_unless_forced_and_a_terminal_gets_no_bytes(
    certcli_exe: str, uploaded: str, tmp_path: Path
) -> None:
    target = tmp_path / "there.pdf"
    target.write_bytes(b"mine")
    args = ("proof", "get", "aws-cloud-practitioner", "ana", "-o", str(target))
    assert "already exists" in refused(cli(uploaded, "mia", *args), 5) and target.read_bytes() == b"mine"
    ok(uploaded, "mia", *args, "--force")
    assert target.read_bytes() == PDF

    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    environment.update({"CERTCLI_STORE": uploaded, "CERTCLI_USER": "mia", "CERTCLI_NOW": NOW})
    on_terminal = subprocess.run([certcli_exe, "proof", "get", "aws-cloud-practitioner", "ana"], stdout=follower,
                                 stderr=subprocess.PIPE, env=environment, timeout=60, check=False)  # fmt: skip
    os.close(follower)
    os.close(leader)
    assert on_terminal.returncode == 2 and b"hint: pass -o FILE" in on_terminal.stderr


def test_a_tampered_proof_is_refused_and_nothing_is_written(uploaded: str, tmp_path: Path) -> None:
    sha = hashlib.sha256(PDF).hexdigest()
    if is_database(uploaded):
        with raw_database(uploaded) as db:
            db.run("UPDATE proofs SET content = ? WHERE sha256 = ?", (b"%PDF forged", sha))
    else:
        kept = Path(uploaded).with_suffix(".proofs") / sha
        kept.chmod(0o600)
        kept.write_bytes(b"%PDF forged")
    target = tmp_path / "out.pdf"
    assert "no longer matches its SHA-256" in refused(
        cli(uploaded, "mia", "proof", "get", "aws-cloud-practitioner", "ana", "-o", str(target)), 6
    )
    assert not target.exists()


def test_no_proof_is_exit_5_and_an_old_cycle_can_be_asked_for(uploaded: str, tmp_path: Path) -> None:
    refused(cli(uploaded, "mia", "proof", "get", "workplace-safety", "ana", "-o", str(tmp_path / "a")), 5)
    refused(cli(uploaded, "mia", "proof", "get", "aws-cloud-practitioner", "ana", "--cycle", "7", "-o",
                str(tmp_path / "b")), 3)  # fmt: skip
    ok(uploaded, "mia", "proof", "get", "aws-cloud-practitioner", "ana", "--cycle", "1", "-o", str(tmp_path / "c"))
    assert (tmp_path / "c").read_bytes() == PDF


def test_review_says_how_to_open_a_proof(uploaded: str) -> None:
    result = cli(uploaded, "mia", "review")
    assert result.exit_code == 0 and "certcli proof get CERTIFICATION USER -o FILE" in result.stderr


# ---------------------------------------------------------------- user changes and offboarding


def test_an_admin_changes_a_users_name_email_manager_and_role(demo: str) -> None:
    changed = ok(demo, "root", "user", "set", "ben", "--name", "Ben C.", "--email", "ben@acme.example",
                 "--manager", "omar", "--role", "manager", "--json")  # fmt: skip
    assert changed == {"id": "ben", "name": "Ben C.", "role": "manager", "email": "ben@acme.example",
                       "manager": "omar", "active": True, "login": None}  # fmt: skip
    assert ok(demo, "root", "user", "set", "ben", "--no-manager", "--email", "", "--json")["manager"] is None
    events = ok(demo, "root", "audit", "--user", "ben", "--json")
    assert [event["action"] for event in events][-2:] == ["user set", "user set"]
    refused(cli(demo, "mia", "user", "set", "ben", "--name", "x"), 4)


def test_a_manager_circle_and_losing_the_last_admin_are_refused(demo: str) -> None:
    before = store_state(demo)
    assert "would be a circle" in refused(cli(demo, "root", "user", "set", "mia", "--manager", "ana"), 5)
    assert "would be a circle" in refused(cli(demo, "root", "user", "set", "root", "--manager", "mia"), 5)
    assert "only active admin" in refused(cli(demo, "root", "user", "set", "root", "--role", "learner"), 5)
    assert "cannot deactivate themselves" in refused(cli(demo, "root", "user", "deactivate", "root",
                                                         "--reason", "x"), 5)  # fmt: skip
    assert store_state(demo) == before


def test_a_deactivated_user_cannot_act_or_be_assigned_and_leaves_reports_until_reactivated(demo: str) -> None:
    check_before = cli(demo, "root", "check", "--json", now="2026-12-10")  # dev is overdue by then
    summary_before = ok(demo, "root", "report", "--summary", "--format", "json")
    history_before = ok(demo, "root", "history", "security-awareness", "--user", "dev", "--json")

    ok(demo, "root", "user", "deactivate", "dev", "--reason", "left on 2026-11-27")

    assert "dev is deactivated" in refused(cli(demo, "dev", "list"), 4)
    assigned = ok(demo, "root", "assign", "cloud-foundations", "dev", "gus", "--json")
    assert (assigned["assigned"], assigned["inactive"]) == ([], ["dev"])
    assert assigned["unchanged"] == ["gus"]
    findings = json.loads(cli(demo, "root", "check", "--json", now="2026-12-10").stdout)["findings"]
    assert "dev" not in {f["user"] for f in findings}
    assert "dev" in {f["user"] for f in json.loads(check_before.stdout)["findings"]}
    summary = {s["certification"]: s["learners"] for s in ok(demo, "root", "report", "--summary", "--format", "json")}
    assert summary["security-awareness"] == 6 and summary["pmp"] == 1
    rows = ok(demo, "root", "report", "--format", "json")
    assert "dev" not in {row["user"] for row in rows}
    marked = ok(demo, "root", "report", "--include-inactive", "--format", "json")
    assert {row["active"] for row in marked if row["user"] == "dev"} == {False}
    calendar = cli(demo, "mia", "calendar", "--all")
    assert calendar.exit_code == 0 and "(Dev Patel)" not in calendar.stdout
    assert {u["id"]: u["active"] for u in ok(demo, "root", "user", "list", "--json")}["dev"] is False

    ok(demo, "root", "user", "reactivate", "dev")

    assert ok(demo, "root", "report", "--summary", "--format", "json") == summary_before
    assert ok(demo, "root", "history", "security-awareness", "--user", "dev", "--json") == history_before
    assert statuses(demo, "dev")["security-awareness"] == "enrolled"
    actions = [event["action"] for event in ok(demo, "root", "audit", "--user", "dev", "--json")]
    assert actions[-2:] == ["user deactivate", "user reactivate"]


def test_a_deactivated_learners_proof_leaves_the_review_queue(demo: str) -> None:
    assert {item["user"] for item in ok(demo, "mia", "review", "--json")} >= {"ana", "ben"}
    ok(demo, "root", "user", "deactivate", "ben", "--reason", "left")
    assert "ben" not in {item["user"] for item in ok(demo, "mia", "review", "--json")}


# ---------------------------------------------------------------- groups that enrol


def test_groups_are_made_listed_shown_and_audited(demo: str) -> None:
    ok(demo, "root", "group", "add", "eng", "--name", "Engineers")
    ok(demo, "root", "group", "members", "eng", "--add", "ben", "--add", "chloe")
    assert ok(demo, "mia", "group", "list", "--json") == [
        {"id": "eng", "name": "Engineers", "members": ["ben", "chloe"], "auto_assign": []}
    ]
    assert ok(demo, "root", "group", "show", "eng", "--json")["members"] == ["ben", "chloe"]
    assert "already exists" in refused(cli(demo, "root", "group", "add", "eng", "--name", "again"), 5)
    refused(cli(demo, "root", "group", "show", "nope"), 3)
    refused(cli(demo, "ana", "group", "add", "x", "--name", "X"), 4)
    refused(cli(demo, "root", "group", "add", "bad id", "--name", "X"), 2)
    actions = [event["action"] for event in ok(demo, "root", "audit", "--json")][-2:]
    assert actions == ["group add", "group members"]


def test_an_auto_assign_rule_enrols_members_now_and_a_later_joiner_when_they_join(demo: str) -> None:
    ok(demo, "root", "group", "add", "ops", "--name", "Operations")
    ok(demo, "root", "group", "members", "ops", "--add", "eli", "--add", "ana")
    ok(demo, "root", "group", "auto-assign", "ops", "workplace-safety")  # ana has it already
    shown = ok(demo, "eli", "show", "workplace-safety", "--json")
    assert (shown["status"], shown["enrolled_on"], shown["due"]) == ("enrolled", "2026-11-28", "2026-12-12")

    ok(demo, "root", "group", "members", "ops", "--add", "fatima", now="2026-12-10")

    later = ok(demo, "fatima", "show", "workplace-safety", "--json", now="2026-12-10")
    assert (later["enrolled_on"], later["due"]) == ("2026-12-10", "2026-12-24")  # 14 days from joining
    assert ok(demo, "fatima", "show", "workplace-safety", "--json", now="2026-12-09")["status"] is None


def test_removing_a_rule_or_a_member_never_removes_an_enrollment(demo: str) -> None:
    ok(demo, "root", "group", "add", "ops", "--name", "Operations")
    ok(demo, "root", "group", "members", "ops", "--add", "eli")
    ok(demo, "root", "group", "auto-assign", "ops", "workplace-safety")
    ok(demo, "root", "group", "members", "ops", "--remove", "eli")
    ok(demo, "root", "group", "auto-assign", "ops", "workplace-safety", "--remove")
    assert statuses(demo, "eli")["workplace-safety"] == "enrolled"
    ok(demo, "root", "group", "members", "ops", "--add", "gus")
    assert ok(demo, "root", "group", "show", "ops", "--json")["auto_assign"] == []


def test_assign_takes_users_groups_and_teams_and_says_what_became_of_each(demo: str) -> None:
    ok(demo, "root", "group", "add", "ops", "--name", "Operations")
    ok(demo, "root", "group", "members", "ops", "--add", "eli", "--add", "dev")
    ok(demo, "root", "user", "deactivate", "dev", "--reason", "left")

    done = ok(demo, "root", "assign", "pmp", "ana", "--group", "ops", "--team", "omar", "--json")

    assert done["assigned"] == ["ana", "eli", "fatima", "gus"]
    assert (done["unchanged"], done["inactive"]) == (["hana"], ["dev"])
    refused(cli(demo, "root", "assign", "pmp"), 2)
    refused(cli(demo, "root", "assign", "pmp", "--group", "nope"), 3)
    refused(cli(demo, "root", "assign", "pmp", "--team", "nope"), 3)


def test_groups_travel_through_export_apply_and_import(demo: str, tmp_path: Path) -> None:
    ok(demo, "root", "group", "add", "ops", "--name", "Operations")
    ok(demo, "root", "group", "members", "ops", "--add", "eli")
    ok(demo, "root", "group", "auto-assign", "ops", "cloud-foundations")
    exported = cli(demo, "root", "export", "--format", "json").stdout
    assert json.loads(exported)["groups"] == [
        {"id": "ops", "name": "Operations", "members": ["eli"], "auto_assign": ["cloud-foundations"]}
    ]
    definitions = tmp_path / "defs.json"
    data = json.loads(exported)
    data["groups"][0]["members"].append("hana")
    definitions.write_text(json.dumps(data))
    applied = cli(demo, "root", "apply", "-f", str(definitions), "--json")
    assert json.loads(applied.stdout)["groups"]["updated"] == {"ops": ["members"]}
    assert statuses(demo, "hana")["cloud-foundations"] == "enrolled"

    sheet = tmp_path / "people.csv"
    sheet.write_text("id,name,groups\nzoe,Zoe Z,ops\nyan,Yan Y,nope\n")
    refused(cli(demo, "root", "import", "users", str(sheet)), 6)
    sheet.write_text("id,name,groups\nzoe,Zoe Z,ops\n")
    ok(demo, "root", "import", "users", str(sheet), "--json")
    assert statuses(demo, "zoe") == {"cloud-foundations": "enrolled"}
    assert "zoe" in ok(demo, "root", "group", "show", "ops", "--json")["members"]
