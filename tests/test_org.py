"""The organisation's settings: `init --org-url`, `org show`, `org set`."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from certcli.cli import app
from certcli.errors import UsageError
from certcli.usecases.directory import checked_org_url

NOW = "2026-02-01"
runner = CliRunner()


def cli(store: Path, *args: str, actor: str | None = "root") -> Result:
    options = ["--store", str(store), "--now", NOW] + (["--as", actor] if actor else [])
    result = runner.invoke(app, [*options, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def ok(store: Path, *args: str, actor: str | None = "root") -> Result:
    result = cli(store, *args, actor=actor)
    assert result.exit_code == 0, result.stderr
    return result


def shown(store: Path, actor: str = "root") -> Any:
    """The name and address `org show --json` gives (its reminder schedule: tests/test_remind.py)."""
    data = json.loads(ok(store, "org", "show", "--json", actor=actor).stdout)
    return {key: data[key] for key in ("name", "url")}


def assert_one_error(result: Result, code: int) -> None:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, result.stderr
    assert len(lines) == 1 or lines[1].startswith("hint: ")


def audit_actions(store: Path) -> list[str]:
    return [json.loads(line)["action"] for line in Path(f"{store}.audit.jsonl").read_text().splitlines()]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """root (admin) and ann (learner), org "Acme" without an address."""
    path = tmp_path / "store.toml"
    ok(path, "init", "--admin", "root", "--org", "Acme", actor=None)
    ok(path, "user", "add", "ann", "--name", "Ann")
    return path


# ---------------------------------------------------------------- the address as stored


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://acme.example", "https://acme.example"),
        ("https://acme.example/", "https://acme.example"),
        ("https://learn.acme.example:8443/lms/", "https://learn.acme.example:8443/lms"),
        ("", ""),
    ],
)
def test_an_https_address_is_kept_without_its_trailing_slash(given: str, stored: str) -> None:
    assert checked_org_url(given) == stored


@pytest.mark.parametrize("given", ["http://acme.example", "acme.example", "https://acme example", "https://a.b/?q=1"])
def test_anything_else_is_a_usage_error_naming_the_option(given: str) -> None:
    with pytest.raises(UsageError) as caught:
        checked_org_url(given, "--org-url")
    assert "--org-url" in caught.value.message
    assert caught.value.hint and "https://" in caught.value.hint


# ---------------------------------------------------------------- init


def test_init_keeps_the_org_address(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    ok(path, "init", "--admin", "root", "--org", "Acme", "--org-url", "https://acme.example/", actor=None)
    assert tomllib.loads(path.read_text())["org"] == {"name": "Acme", "url": "https://acme.example"}
    assert shown(path) == {"name": "Acme", "url": "https://acme.example"}


def test_init_refuses_a_bad_address_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    result = cli(path, "init", "--admin", "root", "--org-url", "http://acme.example", actor=None)
    assert_one_error(result, 2)
    assert not path.exists()


# ---------------------------------------------------------------- show and set


def test_anyone_may_see_the_settings(store: Path) -> None:
    assert shown(store, "ann") == {"name": "Acme", "url": None}
    assert ok(store, "org", "show", actor="ann").stdout.startswith("Name: Acme\nURL:  -\n")


def test_show_needs_a_known_user(store: Path) -> None:
    assert_one_error(cli(store, "org", "show", actor="nobody"), 4)


def test_an_admin_sets_the_address_and_the_name_in_one_audit_event(store: Path) -> None:
    result = ok(store, "org", "set", "--url", "https://acme.example/", "--name", "Acme Corp", "--json")
    assert json.loads(result.stdout)["url"] == "https://acme.example"
    assert shown(store, "ann") == {"name": "Acme Corp", "url": "https://acme.example"}
    events = [json.loads(line) for line in Path(f"{store}.audit.jsonl").read_text().splitlines()]
    assert events[-1]["action"] == "org-set"
    assert events[-1]["details"] == {"name": "Acme Corp", "url": "https://acme.example"}


def test_setting_what_is_already_there_records_nothing(store: Path) -> None:
    ok(store, "org", "set", "--url", "https://acme.example")
    before, actions = store.read_bytes(), audit_actions(store)
    result = ok(store, "org", "set", "--url", "https://acme.example/", "--name", "Acme")
    assert "Nothing to change" in result.stderr
    assert store.read_bytes() == before
    assert audit_actions(store) == actions


def test_an_empty_url_clears_the_address(store: Path) -> None:
    ok(store, "org", "set", "--url", "https://acme.example")
    ok(store, "org", "set", "--url", "")
    assert shown(store)["url"] is None
    assert "url" not in tomllib.loads(store.read_text())["org"]


@pytest.mark.parametrize(
    ("args", "actor", "code"),
    [
        (("--url", "https://acme.example"), "ann", 4),
        (("--url", "ftp://acme.example"), "root", 2),
        ((), "root", 2),
    ],
    ids=["not-an-admin", "not-https", "nothing-to-set"],
)
def test_refused_changes_leave_the_store_as_it_was(store: Path, args: tuple[str, ...], actor: str, code: int) -> None:
    before = store.read_bytes()
    assert_one_error(cli(store, "org", "set", *args, actor=actor), code)
    assert store.read_bytes() == before


@pytest.mark.parametrize("command", [("org", "show"), ("org", "set"), ("init",)], ids=" ".join)
def test_help_shows_an_example(command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    match = re.search(r"Example: (certcli .*?)(?: Arguments:| Options:| Commands:|$)", " ".join(result.stdout.split()))
    assert match, result.stdout
    assert all(word in match.group(1).split() for word in command)
