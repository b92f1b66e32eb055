"""A database row edited behind certcli's back stays found: the digest each event recorded of each row is
kept beside the trail (audit_rows), a change that rewrites a row reads it back and refuses a row that no
longer matches, and the columns kept beside a row's data are checked against that data."""

from __future__ import annotations

import pytest
from backends import is_database, raw_database
from typer.testing import CliRunner, Result

from certcli import audit
from certcli.cli import app
from certcli.store import open_store

NOW = "2026-11-28"
runner = CliRunner()


def cli(store: str, *args: str, actor: str = "root") -> Result:
    result = runner.invoke(app, ["--store", store, "--as", actor, "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def ok(store: str, *args: str, actor: str = "root") -> Result:
    result = cli(store, *args, actor=actor)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def database(demo: str) -> str:
    if not is_database(demo):
        pytest.skip("a file store holds no rows: its whole content is hashed into each event")
    return demo


def kept_entries(location: str) -> set[tuple[int, str, str, str | None]]:
    with raw_database(location) as db:
        return {tuple(row) for row in db.run("SELECT seq, tbl, row_key, digest FROM audit_rows")}  # type: ignore[misc]


def expected_entries(location: str) -> set[tuple[int, str, str, str | None]]:
    events, problem = open_store(location).read_audit()
    assert problem is None
    return {row for event in events for row in audit.kept_rows(event)}


# ---------------------------------------------------------------- the digests kept beside the trail


def test_every_event_keeps_its_row_digests(database: str) -> None:
    ok(database, "assign", "workplace-safety", "eli")
    ok(database, "complete", "security-awareness", "phishing", actor="ana")
    kept = kept_entries(database)
    assert kept == expected_entries(database)
    assert any(table == "enrollments" and key == "ana/security-awareness" for _, table, key, _ in kept)


def test_an_older_store_is_given_the_digests_its_events_recorded(database: str) -> None:
    ok(database, "assign", "workplace-safety", "eli")
    with raw_database(database) as db:  # as layout 3 left it
        db.drop("audit_rows")
        db.run("UPDATE certcli_meta SET value = '3' WHERE key = 'layout'")
    ok(database, "list", actor="ana")
    with raw_database(database) as db:
        assert db.run("SELECT value FROM certcli_meta WHERE key = 'layout'") == [("4",)]
    assert kept_entries(database) == expected_entries(database)
    ok(database, "audit", "verify")


@pytest.mark.parametrize(
    "edit, named",
    [
        ("UPDATE audit_rows SET digest = '" + "0" * 64 + "' WHERE tbl = 'users' AND row_key = 'ana'",
         "audit_rows entry of event 1 for users row 'ana' was edited"),
        ("DELETE FROM audit_rows WHERE tbl = 'users' AND row_key = 'ana'",
         "audit_rows entry of event 1 for users row 'ana' is missing"),
        ("INSERT INTO audit_rows (seq, tbl, row_key, digest) VALUES (1, 'users', 'zed', NULL)",
         "audit_rows entry of event 1 for users row 'zed' was added"),
    ],
)  # fmt: skip
def test_an_edited_audit_rows_table_is_named_by_verify_and_doctor(database: str, edit: str, named: str) -> None:
    with raw_database(database) as db:
        db.run(edit)
    result = cli(database, "audit", "verify")
    assert result.exit_code == 6
    assert named in result.stderr
    assert named in cli(database, "doctor").stderr
