"""A database row edited behind certcli's back stays found: the digest each event recorded of each row is
kept beside the trail (audit_rows), a change that rewrites a row reads it back and refuses a row that no
longer matches, and the columns kept beside a row's data are checked against that data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backends import database_dump, is_database, raw_database
from typer.testing import CliRunner, Result

from certcli import audit
from certcli.cli import app
from certcli.errors import DataError
from certcli.store import Need, open_store

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


# ---------------------------------------------------------------- a change refuses a row edited behind its back


def forge_completions(location: str) -> None:
    """Ana's remaining security-awareness courses marked done with SQL."""
    with raw_database(location) as db:
        where = "WHERE user_id = 'ana' AND certification_id = 'security-awareness'"
        facts = json.loads(db.run(f"SELECT facts FROM enrollments {where}")[0][0])
        facts += [{"type": "course_completed", "at": f"2026-10-1{day}T15:00:00Z", "course": course}
                  for day, course in ((2, "phishing"), (3, "passwords"))]  # fmt: skip
        db.run(f"UPDATE enrollments SET facts = ? {where}", (json.dumps(facts),))


def refused(location: str, named: str, *args: str, actor: str = "root") -> None:
    """The command exits 6 naming the row, writes nothing, and `audit verify` still names the row."""
    before = database_dump(location)
    result = cli(location, *args, actor=actor)
    assert result.exit_code == 6, result.stdout
    assert named in result.stderr and "nothing was written" in result.stderr
    assert "audit verify" in result.stderr  # the hint
    assert database_dump(location) == before
    verify = cli(location, "audit", "verify")
    assert verify.exit_code == 6 and named in verify.stderr


def test_forged_completions_are_not_blessed_by_the_next_completion(database: str) -> None:
    forge_completions(database)
    named = "enrollments row 'ana/security-awareness' was edited without an audit event"
    refused(database, named, "complete", "security-awareness", "incident", actor="ana")


def test_a_role_made_admin_with_sql_is_not_blessed_by_user_set(database: str) -> None:
    with raw_database(database) as db:
        db.run("UPDATE users SET data = REPLACE(data, '\"learner\"', '\"admin\"') WHERE id = 'ana'")
    named = "users row 'ana' was edited without an audit event"
    refused(database, named, "user", "set", "ana", "--name", "Ana S.")
    refused(database, named, "user", "set", "ana", "--name", "Ana S.", actor="ana")


def test_a_row_deleted_with_sql_is_not_added_back_by_a_command(database: str) -> None:
    with raw_database(database) as db:
        for table in ("standings", "enrollments"):
            db.run(f"DELETE FROM {table} WHERE user_id = 'ana' AND certification_id = 'workplace-safety'")
    named = "enrollments row 'ana/workplace-safety' was removed without an audit event"
    refused(database, named, "assign", "workplace-safety", "ana")


def test_a_row_added_with_sql_is_not_blessed_by_a_command(database: str) -> None:
    with raw_database(database) as db:
        db.run("INSERT INTO users (id, position, data) VALUES ('zed', 999, '{\"id\":\"zed\",\"name\":\"Zed\"}')")
    refused(database, "users row 'zed' was added without an audit event", "user", "set", "zed", "--name", "Zed Z.")


def test_the_organisation_edited_with_sql_is_not_blessed_by_org_set(database: str) -> None:
    with raw_database(database) as db:
        db.run("UPDATE certcli_meta SET value = '{\"name\":\"Evil\"}' WHERE key = 'org'")
    refused(database, "org row 'org' was edited without an audit event", "org", "set", "--name", "Acme")


def test_an_older_store_with_an_edited_row_refuses_the_change_once_brought_forward(database: str) -> None:
    forge_completions(database)
    with raw_database(database) as db:
        db.drop("audit_rows")
        db.run("UPDATE certcli_meta SET value = '3' WHERE key = 'layout'")
    result = cli(database, "complete", "security-awareness", "incident", actor="ana")
    assert result.exit_code == 6
    assert "enrollments row 'ana/security-awareness' was edited without an audit event" in result.stderr


def test_changes_that_match_the_trail_go_on(database: str) -> None:
    for course in ("phishing", "passwords", "incident"):
        ok(database, "complete", "security-awareness", course, actor="ana")
    ok(database, "user", "set", "ana", "--name", "Ana S.")
    ok(database, "user", "set", "ana", "--name", "Ana Souza")
    ok(database, "audit", "verify")
    assert kept_entries(database) == expected_entries(database)  # no mark of a change left behind


def enrollment_digest(location: str) -> str:
    with raw_database(location) as db:
        where = "WHERE user_id = 'ana' AND certification_id = 'security-awareness'"
        facts = json.loads(db.run(f"SELECT facts FROM enrollments {where}")[0][0])
    return audit.row_digest({"user": "ana", "certification": "security-awareness", "facts": facts})


@pytest.mark.parametrize(
    "kept, named",
    [
        ("UPDATE audit_rows SET digest = ? WHERE tbl = 'enrollments' AND row_key = 'ana/security-awareness'",
         "the audit_rows entry of event 1 for enrollments row 'ana/security-awareness' is not what that event records"),
        ("INSERT INTO audit_rows (seq, tbl, row_key, digest) VALUES (99, 'enrollments', 'ana/security-awareness', ?)",
         "enrollments row 'ana/security-awareness' was edited without an audit event (event 1 wrote it)"),
        ("INSERT INTO audit_rows (seq, tbl, row_key, digest) VALUES (1, 'enrollments', '*', NULL) -- ?",
         "the audit_rows entry of event 1 for enrollments row '*' is not what that event records"),
    ],
)  # fmt: skip
def test_audit_rows_edited_to_match_a_forged_row_is_not_believed(database: str, kept: str, named: str) -> None:
    forge_completions(database)
    forged = enrollment_digest(database)
    with raw_database(database) as db:
        db.run(kept.replace(" -- ?", ""), () if " -- ?" in kept else (forged,))
    before = database_dump(database)
    result = cli(database, "complete", "security-awareness", "incident", actor="ana")
    assert result.exit_code == 6 and named in result.stderr
    assert database_dump(database) == before


def test_a_forged_row_is_not_blessed_by_a_migrate_to_another_store(database: str, tmp_path: Path) -> None:
    forge_completions(database)
    target = str(tmp_path / "copy.db")
    result = cli(database, "migrate", "--to", target)
    assert result.exit_code == 6
    assert "enrollments row 'ana/security-awareness' was edited without an audit event" in result.stderr
    assert not Path(target).exists()


def test_a_change_in_parts_rewrites_its_own_rows_and_refuses_an_edited_one(database: str) -> None:
    store = open_store(database)
    with store.update_in_parts() as parts:
        for name in ("Ana One", "Ana Two"):
            with parts.part(Need(users=["ana"])) as doc:
                doc.users["ana"] = doc.users["ana"]._replace(name=name)
    assert store.read(Need(users=["ana"])).users["ana"].name == "Ana Two"
    ok(database, "audit", "verify")
    assert kept_entries(database) == expected_entries(database)
    with raw_database(database) as db:
        db.run("UPDATE users SET data = REPLACE(data, '\"learner\"', '\"admin\"') WHERE id = 'eli'")
    refusal = pytest.raises(DataError, match="users row 'eli' was edited without an audit event")
    with refusal, store.update_in_parts() as parts:
        with parts.part(Need(users=["ana"])) as doc:
            doc.users["ana"] = doc.users["ana"]._replace(name="Ana Three")
        with parts.part(Need(users=["eli"])) as doc:
            doc.users["eli"] = doc.users["eli"]._replace(name="Eli Two")
    assert store.read(Need(users=["ana"])).users["ana"].name == "Ana Two"


# ---------------------------------------------------------------- the columns kept beside a row's data


def awaiting_review(location: str) -> tuple[str, str]:
    with raw_database(location) as db:
        rows = db.run("SELECT user_id, certification_id FROM enrollments WHERE awaiting_review = 1 ORDER BY user_id")
    return rows[0][0], rows[0][1]


@pytest.mark.parametrize("column", ["active", "manager", "awaiting_review", "last_fact_at"])
def test_an_edited_column_is_named_refused_by_a_change_of_its_row_and_repaired(database: str, column: str) -> None:
    user, cert = awaiting_review(database)
    edits = {
        "active": ("UPDATE users SET active = 0 WHERE id = 'ana'", "users row 'ana' column active holds 0 where "
                   "its data gives 1", ("user", "set", "ana", "--name", "Ana S.")),
        "manager": ("UPDATE users SET manager = NULL WHERE id = 'ana'", "users row 'ana' column manager holds "
                    "NULL where its data gives 'mia'", ("user", "set", "ana", "--name", "Ana S.")),
        "awaiting_review": (f"UPDATE enrollments SET awaiting_review = 0 WHERE user_id = '{user}' AND "
                            f"certification_id = '{cert}'", f"enrollments row '{user}/{cert}' column awaiting_review "
                            "holds 0 where its data gives 1", ("approve", cert, user)),
        "last_fact_at": ("UPDATE enrollments SET last_fact_at = '2020-01-01T00:00:00Z' WHERE user_id = 'ana' AND "
                         "certification_id = 'security-awareness'", "enrollments row 'ana/security-awareness' column "
                         "last_fact_at holds '2020-01-01T00:00:00Z' where its data gives",
                         ("complete", "security-awareness", "phishing")),
    }  # fmt: skip
    edit, named, change = edits[column]
    with raw_database(database) as db:
        db.run(edit)
    verify = cli(database, "audit", "verify")
    assert verify.exit_code == 6 and named in verify.stderr
    found = json.loads(cli(database, "doctor", "--json").stdout)
    columns = [check for check in found["checks"] if check["check"] == "columns"]
    assert [check["ok"] for check in columns] == [False] and named in columns[0]["detail"]
    before = database_dump(database)
    actor = "ana" if change[0] == "complete" else "root"
    result = cli(database, *change, actor=actor)
    assert result.exit_code == 6 and named in result.stderr and "doctor --repair" in result.stderr
    assert database_dump(database) == before
    repaired = json.loads(cli(database, "doctor", "--repair", "--json").stdout)
    checks = {check["check"]: check["ok"] for check in repaired["checks"]}
    assert checks["repair"] and checks["columns"] and checks["audit"] and checks["standings"], repaired
    ok(database, "audit", "verify")
    ok(database, *change, actor=actor)


def test_a_deactivated_column_drops_no_learner_once_repaired(database: str) -> None:
    ours = json.loads(cli(database, "check", "--json").stdout)
    with raw_database(database) as db:
        db.run("UPDATE users SET active = 0 WHERE id = 'ana'")
    assert json.loads(cli(database, "check", "--json").stdout) != ours  # what the column does to a report
    cli(database, "doctor", "--repair")
    assert json.loads(cli(database, "check", "--json").stdout) == ours
