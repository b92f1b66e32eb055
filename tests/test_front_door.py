"""The front door: global options anywhere, help grouped by audience, one way to fail, `--json`
everywhere, NEXT steps in `list`, and ids offered by shell completion. On the demo store as of
2026-11-28 (ana: an expired, a rejected and a pending certification; mia manages ana, ben, chloe, dev)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from certcli.cli import app

NOW = "2026-11-28"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def test_global_options_after_the_command_mean_the_same(demo_store: Path) -> None:
    before = run("--store", str(demo_store), "--as", "ana", "--now", NOW, "list", "--json")
    after = run("list", "--json", "--as", "ana", f"--store={demo_store}", "--now", NOW)
    assert before.exit_code == after.exit_code == 0, after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert {item["user"] for item in json.loads(after.stdout)} == {"ana"}


def test_a_value_that_looks_like_a_global_option_stays_a_value(demo_store: Path) -> None:
    result = run("reject", "first-aid-at-work", "ana", "--reason", "--as", "--as", "mia", "--store", str(demo_store),
                 "--now", NOW, "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["proof"]["reason"] == "--as"


def test_global_options_after_a_group_command(demo_store: Path) -> None:
    result = run("user", "list", "--json", "--as", "root", "--store", str(demo_store))
    assert result.exit_code == 0, result.stderr
    assert "ana" in {user["id"] for user in json.loads(result.stdout)}


def test_help_groups_the_commands_by_audience_and_cuts_no_summary() -> None:
    result = run("--help")
    assert result.exit_code == 0
    sections = [line for line in result.stdout.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert sections[-5:] == ["Learning:", "Review:", "Administration:", "Reports and exports:", "The store:"]
    summaries = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert not [line for line in summaries if line.endswith("...")]
    learning = result.stdout.split("Learning:")[1].split("Review:")[0]
    assert "upload-proof" in learning and "approve" not in learning


def test_every_command_help_names_the_global_options() -> None:
    for command in (["list"], ["user", "add"], ["audit", "verify"], ["report"], ["group"]):
        result = run(*command, "--help")
        assert result.exit_code == 0, command
        flat = " ".join(result.stdout.split())
        assert "before or after the command: --store STORE, --as USER, --now WHEN" in flat, command


def test_usage_errors_are_one_error_line_and_a_hint_with_exit_2() -> None:
    result = run("list", "--bogus")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("error: no such option: --bogus")
    assert lines[1] == "hint: see `certcli list --help`"
    missing = run("show")
    assert missing.exit_code == 2
    assert missing.stderr.splitlines()[0] == "error: missing argument CERT"
    assert "Usage:" not in missing.stderr and "Traceback" not in missing.stderr


def test_a_bad_now_names_where_it_came_from(demo_store: Path) -> None:
    flag = run("--store", str(demo_store), "--as", "ana", "list", "--now", "2027-13-01")
    assert flag.exit_code == 2
    assert flag.stderr.startswith("error: invalid value for --now: '2027-13-01'")
    assert "CERTCLI_NOW" not in flag.stderr
    env = run("--store", str(demo_store), "--as", "ana", "list", env={"CERTCLI_NOW": "2027-13-01"})
    assert env.exit_code == 2
    assert env.stderr.startswith("error: invalid value for the environment variable CERTCLI_NOW: '2027-13-01'")
    assert "hint: fix or unset CERTCLI_NOW, or give --now on the command line" in env.stderr


def test_report_json_is_format_json_and_the_old_spelling_still_works(demo_store: Path) -> None:
    common = ("--store", str(demo_store), "--as", "root", "--now", NOW, "report")
    for extra in ((), ("--summary",)):
        new, old = run(*common, *extra, "--json"), run(*common, *extra, "--format", "json")
        assert new.exit_code == old.exit_code == 0
        assert json.loads(new.stdout) == json.loads(old.stdout) != []
    both = run(*common, "--json", "--format", "csv")
    assert both.exit_code == 2
    assert both.stderr.startswith("error: --json and --format csv ask for two formats")


def test_init_json(tmp_path: Path) -> None:
    store = tmp_path / "new.toml"
    result = run("--store", str(store), "init", "--admin", "root", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"store": str(store), "admin": "root"}


def test_next_says_what_to_do_for_every_status(demo_store: Path) -> None:
    result = run("--store", str(demo_store), "--as", "ana", "--now", NOW, "list", "--json")
    steps = {item["id"]: (item["status"], item["next_step"]) for item in json.loads(result.stdout)}
    assert steps["compliance-annual"] == ("expired", "start")
    assert steps["aws-cloud-practitioner"] == ("rejected", "upload-proof")
    assert steps["first-aid-at-work"] == ("pending_approval", "review")
    assert steps["security-awareness"] == ("started", "course")
    table = run("--store", str(demo_store), "--as", "ana", "--now", NOW, "list").stdout
    row = {line.split()[0]: line for line in table.splitlines()[2:]}
    assert row["compliance-annual"].endswith(" start")
    assert row["aws-cloud-practitioner"].endswith(" upload-proof")
    assert row["first-aid-at-work"].endswith(" wait for review")
    assert row["security-awareness"].endswith(" phishing")


def test_sorting_by_publication_shows_the_column(demo_store: Path) -> None:
    result = run("--store", str(demo_store), "--as", "ana", "--now", NOW, "sort", "published")
    header = result.stdout.splitlines()[0].split()
    assert "PUBLISHED" in header
    column = result.stdout.splitlines()[0].index("PUBLISHED")
    dates = [line[column : column + 10] for line in result.stdout.splitlines()[2:]]
    assert dates == sorted(dates, reverse=True)
    assert "PUBLISHED" not in run("--store", str(demo_store), "--as", "ana", "--now", NOW, "list").stdout


# ---------------------------------------------------------------- completion, through the installed command


def complete(certcli_exe: str, words: str, **env: str) -> list[str]:
    """What bash completion offers for the last word of `words` (a trailing space: a new word)."""
    count = len(words.split()) - (0 if words.endswith(" ") else 1)
    variables = dict(os.environ, _CERTCLI_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(count), **env)
    result = subprocess.run([certcli_exe], env=variables, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.split()


@pytest.fixture
def acme(demo_store: Path) -> dict[str, str]:
    return {"CERTCLI_STORE": str(demo_store), "CERTCLI_NOW": NOW}


def test_certification_ids_complete_from_the_store(certcli_exe: str, acme: dict[str, str]) -> None:
    assert complete(certcli_exe, "certcli --as ana show s", **acme) == ["security-awareness"]
    defined = run("--store", acme["CERTCLI_STORE"], "--as", "root", "define", "forklift", "--title", "Forklift",
                  "--kind", "internal", "--course", "fire-safety")  # fmt: skip
    assert defined.exit_code == 0, defined.stderr
    learner = complete(certcli_exe, "certcli --as ana show ", **acme)
    admin = complete(certcli_exe, "certcli --as root show ", **acme)
    assert "aws-cloud-practitioner" in learner and "forklift" not in learner  # ana's catalogue only
    assert set(learner) < set(admin) and "forklift" in admin


def test_user_ids_complete_to_whom_the_actor_oversees(certcli_exe: str, acme: dict[str, str]) -> None:
    manager = complete(certcli_exe, "certcli --as mia approve first-aid-at-work ", **acme)
    assert manager == ["ana", "ben", "chloe", "dev", "mia"]
    assert complete(certcli_exe, "certcli --as ana history ckad --user ", **acme) == ["ana"]
    assert "omar" in complete(certcli_exe, "certcli --as root list --user ", **acme)


def test_course_ids_complete(certcli_exe: str, acme: dict[str, str]) -> None:
    assert complete(certcli_exe, "certcli --as ana complete security-awareness p", **acme) == ["passwords", "phishing"]


def test_nothing_is_offered_when_the_store_cannot_be_read(certcli_exe: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.toml")
    assert complete(certcli_exe, f"certcli --store {missing} --as ana show ") == []
    assert not Path(missing).exists()
