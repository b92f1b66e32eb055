"""Wiring of apply, export, import, report and check on the command line, on a copy of the demo store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from certcli.cli import app

NOW = "2026-11-28"


@pytest.fixture
def run(demo_store: Path):
    runner = CliRunner()

    def invoke(actor: str, *args: str):
        return runner.invoke(app, ["--store", str(demo_store), "--as", actor, "--now", NOW, *args])

    return invoke


def test_export_then_apply_changes_nothing_and_says_so(run, tmp_path: Path) -> None:
    exported = tmp_path / "defs.toml"
    assert run("root", "export", "-o", str(exported)).exit_code == 0
    result = run("root", "apply", "-f", str(exported))
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr.startswith("No changes: the store already matches")


def test_export_prints_json_to_stdout_when_asked(run) -> None:
    result = run("root", "export", "--format", "json")
    assert result.exit_code == 0
    assert {"users", "courses", "certifications", "assignments"} <= set(json.loads(result.stdout))


def test_apply_prints_the_plan_and_dry_run_writes_nothing(run, demo_store: Path, tmp_path: Path) -> None:
    defs = tmp_path / "defs.toml"
    defs.write_text('[[courses]]\nid = "ethics-101"\ntitle = "Ethics in practice"\n')
    before = demo_store.read_bytes()
    planned = run("root", "apply", "-f", str(defs), "--dry-run")
    assert planned.exit_code == 0
    assert "+ course ethics-101" in planned.stdout and "Dry run: nothing written" in planned.stderr
    assert demo_store.read_bytes() == before
    applied = run("root", "apply", "-f", str(defs), "--json")
    assert applied.exit_code == 0
    assert json.loads(applied.stdout)["courses"]["created"] == ["ethics-101"]
    assert demo_store.read_bytes() != before


def test_apply_refuses_an_invalid_file_whole(run, demo_store: Path, tmp_path: Path) -> None:
    defs = tmp_path / "defs.toml"
    defs.write_text('[[courses]]\nid = "x"\n\n[[certifications]]\nid = "y"\ntitle = "Y"\nkind = "intern"\n')
    before = demo_store.read_bytes()
    result = run("root", "apply", "-f", str(defs))
    assert result.exit_code == 6
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any("courses[0].title" in line for line in errors)
    assert any("certifications[0].kind" in line for line in errors)
    assert demo_store.read_bytes() == before


def test_apply_and_export_are_for_admins(run, tmp_path: Path) -> None:
    defs = tmp_path / "defs.toml"
    defs.write_text("")
    assert run("ana", "apply", "-f", str(defs)).exit_code == 4
    assert run("mia", "export").exit_code == 4


def test_import_users_all_or_nothing_then_skip_invalid(run, demo_store: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "users.csv"
    sheet.write_text("id,name,role,email,manager\nzoe,Zoe Z,learner,,mia\nana,Ana Again,learner,,mia\n")
    before = demo_store.read_bytes()
    refused = run("root", "import", "users", str(sheet))
    assert refused.exit_code == 6
    assert f"{sheet}:3" in refused.stderr
    assert demo_store.read_bytes() == before
    partial = run("root", "import", "users", str(sheet), "--skip-invalid", "--json")
    assert partial.exit_code == 0
    assert json.loads(partial.stdout)["imported"] == 1
    assert "zoe" in run("root", "user", "list", "--json").stdout


def test_import_shows_no_progress_bar_when_piped(run, tmp_path: Path) -> None:
    sheet = tmp_path / "assignments.csv"
    sheet.write_text("certification,user,due\npmp,dev,2027-01-31\n")
    result = run("root", "import", "assignments", str(sheet))
    assert result.exit_code == 0
    assert "\r" not in result.stderr and "━" not in result.stderr


def test_report_formats(run) -> None:
    table = run("root", "report", "--cert", "security-awareness")
    assert table.exit_code == 0 and "DAYS LEFT" in table.stdout
    rows = json.loads(run("root", "report", "--cert", "security-awareness", "--format", "json").stdout)
    assert {row["user"] for row in rows} == {"ana", "ben", "chloe", "dev", "eli", "fatima", "hana"}
    csv_text = run("root", "report", "--summary", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("certification,title,learners")


def test_report_is_denied_to_learners(run) -> None:
    assert run("ana", "report").exit_code == 4


def test_check_exits_1_with_findings_and_0_when_compliant(run) -> None:
    failing = run("root", "check", "--cert", "security-awareness", "--json")
    assert failing.exit_code == 1
    assert json.loads(failing.stdout)["compliant"] is False
    passing = run("root", "check", "--cert", "pmp", "--fail-on", "overdue")
    assert passing.exit_code == 0


def test_check_with_a_bad_kind_is_a_usage_error(run) -> None:
    assert run("root", "check", "--fail-on", "late").exit_code == 2
    assert run("root", "check", "--fail-on", "").exit_code == 2
