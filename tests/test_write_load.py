"""What a write accepts, a load accepts (docs/stores.md, "Values"): every way in checks a record with
the readers that load it, on every backend, so no command leaves a store certcli cannot read back."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from backends import store_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from certcli.cli import app
from certcli.fields import NAME, one_line, text_problem

NOW = "2026-11-28"
runner = CliRunner()


def cli(store: str, *args: str, actor: str = "root") -> Result:
    result = runner.invoke(app, ["--store", store, "--as", actor, "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def reloads(store: str) -> None:
    """Every table of the store loads: users, the catalogue, the organisation and the whole document."""
    for args in (["user", "list", "--json"], ["catalog", "--json"], ["org", "show", "--json"], ["report", "--json"]):
        result = cli(store, *args)
        assert result.exit_code == 0, (args, result.stderr)


BAD_VALUES = [
    ("user", "add", "e", "--name", ""),
    ("user", "add", "e", "--name", "   "),
    ("user", "add", "e", "--name", "Eve\nEvans"),
    ("user", "add", "e", "--name", "E" * 201),
    ("user", "add", "e", "--name", "Eve", "--email", "eve at acme"),
    ("user", "add", "e", "--name", "Eve", "--email", "eve@acme.example\r\nBcc: x@evil.example"),
    ("user", "add", "e", "--name", "Eve", "--login", "eve evans"),
    ("user", "set", "ana", "--email", "ana@acme.example\nBcc: x@evil.example"),
    ("course", "add", "c2", "--title", ""),
    ("course", "add", "c2", "--title", "Two\nlines"),
    ("define", "x", "--title", "", "--kind", "external"),
    ("define", "x", "--title", " ", "--kind", "external"),
    ("group", "add", "g", "--name", "Site\rNorth"),
    ("org", "set", "--name", "Acme\nCorp"),
    ("org", "set", "--mail-from", "a@b.example\r\nBcc: x@evil.example"),
]


@pytest.mark.parametrize("args", BAD_VALUES, ids=lambda args: " ".join(args[:3]))
def test_a_value_no_load_would_accept_is_refused_and_changes_nothing(demo: str, args: tuple[str, ...]) -> None:
    before = store_state(demo)

    result = cli(demo, *args)

    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and all(line.startswith(("error: ", "hint: ")) for line in lines)
    assert store_state(demo) == before
    reloads(demo)


def test_a_name_on_two_lines_in_an_import_file_is_a_row_problem(demo: str, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text('id,name\nzed,"Zed\nZhou"\nyan,Yan\n', encoding="utf-8")

    result = cli(demo, "import", "users", str(users), "--skip-invalid", "--json")

    assert result.exit_code == 0, result.stderr
    assert "zed" not in cli(demo, "user", "list", "--json").stdout
    assert "yan" in cli(demo, "user", "list", "--json").stdout
    reloads(demo)


def test_an_apply_file_holding_a_blank_title_is_refused(demo: str, tmp_path: Path) -> None:
    definitions = tmp_path / "defs.toml"
    definitions.write_text('[[courses]]\nid = "c9"\ntitle = " "\n', encoding="utf-8")

    result = cli(demo, "apply", "-f", str(definitions))

    assert result.exit_code in (2, 6), result.stderr
    assert "c9" not in cli(demo, "course", "list", "--json").stdout
    reloads(demo)


# Text as people and scripts give it: blanks, line breaks, control characters, long runs, any script.
TEXT = st.text(st.characters(codec="utf-8"), max_size=260) | st.sampled_from(["", " ", "\n", "a\r\nb", "x" * 201])
COMMANDS = st.sampled_from(["user add", "user set", "course add", "define", "group add", "org name", "mail from"])
NUMBERS = itertools.count()


ADDED = ("user add", "course add", "define", "group add")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=COMMANDS, value=TEXT)
def test_whatever_a_command_accepts_the_store_reads_back(demo: str, command: str, value: str) -> None:
    new_id = f"p{next(NUMBERS)}"
    args = {
        "user add": ["user", "add", new_id, "--name", value],
        "user set": ["user", "set", "ana", "--name", value],
        "course add": ["course", "add", new_id, "--title", value],
        "define": ["define", new_id, "--title", value, "--kind", "external"],
        "group add": ["group", "add", new_id, "--name", value],
        "org name": ["org", "set", "--name", value],
        "mail from": ["org", "set", "--mail-from", value],
    }[command]

    result = cli(demo, *args)

    assert result.exit_code in (0, 2), result.stderr
    if command in ADDED:  # a new record is refused exactly when its name breaks the rule
        assert (result.exit_code == 0) == (text_problem(value, NAME) is None), (value, result.stderr)
    reloads(demo)



@pytest.mark.parametrize(
    ("held", "shown"),
    [("Ana\nAnders", "Ana Anders"), ("Ana\r\n Anders\t", "Ana Anders"), ("Ana", "Ana"), ("\x1b[31mAna", "[31mAna")],
)
def test_a_value_an_older_store_holds_is_shown_on_one_line(held: str, shown: str) -> None:
    assert one_line(held) == shown


def test_the_name_rule_names_what_is_wrong() -> None:
    assert text_problem("", NAME) == "is blank"
    assert text_problem("a\nb", NAME) == "holds a line break or another control character"
    assert text_problem("a\nb", NAME, typed=False) is None  # an older store's value still loads
    assert text_problem("x" * 201, NAME) == "is longer than 200 characters"
    assert text_problem("Zoë O'Brien-Ngũgĩ", NAME) is None
