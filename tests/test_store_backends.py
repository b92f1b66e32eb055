"""One contract, every backend: JSON, TOML, SQLite and PostgreSQL stores behave the same.

PostgreSQL cases run against the server named by CERTCLI_TEST_POSTGRES_URL and are
skipped when it is unset.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from backends import copied, in_schema, is_database, postgres_schema, postgres_url, store_state
from typer.testing import CliRunner

from certcli import rules, usecases
from certcli.cli import app
from certcli.model import Course
from certcli.store import Need, Store, open_store, tally
from certcli.store.document import document_to_data
from certcli.store.sql import LAYOUT

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def content(doc: Any) -> dict[str, Any]:
    data = document_to_data(doc)
    data.pop("audit", None)
    return data


@pytest.fixture
def demo(tmp_path: Path) -> Store:
    folder = tmp_path / "demo"
    folder.mkdir()
    shutil.copyfile(ROOT / "fixtures" / "acme.toml", folder / "acme.toml")
    return open_store(folder / "acme.toml")


@pytest.fixture
def store(demo: Store, new_store: str) -> Store:
    """The demo store on each backend."""
    return copied(demo, new_store, "root", NOW)


def cli(location: str, *args: str, actor: str = "root") -> Any:
    return CliRunner().invoke(app, ["--store", location, "--as", actor, "--now", "2026-11-28", *args])


def assert_one_error(result: Any, code: int) -> None:
    assert result.exit_code == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- copies


def test_every_backend_holds_the_demo_store_and_its_history(demo: Store, store: Store) -> None:
    assert content(store.read()) == content(demo.read())
    source_events, _ = demo.read_audit()
    events, problem = store.read_audit()
    assert problem is None
    assert events[: len(source_events)] == source_events
    assert [event["action"] for event in events[len(source_events) :]] == ["migrate"]
    assert usecases.audit_verify(usecases.Context(store, "root", NOW)).data["ok"] is True


def test_json_to_sqlite_to_postgresql_to_json_gives_the_same_document(demo: Store, tmp_path: Path) -> None:
    if postgres_url() is None:
        pytest.skip("CERTCLI_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    as_json = copied(demo, str(tmp_path / "a.json"), "root", NOW)
    as_sqlite = copied(as_json, str(tmp_path / "b.db"), "root", NOW)
    with postgres_schema() as url:
        as_postgres = copied(as_sqlite, url, "root", NOW)
        back = copied(as_postgres, str(tmp_path / "d.json"), "root", NOW)
    assert content(back.read()) == content(as_json.read())
    first, _ = as_json.read_audit()
    last, _ = back.read_audit()
    assert last[: len(first)] == first
    assert [event["action"] for event in last[len(first) :]] == ["migrate"] * 3
    assert usecases.audit_verify(usecases.Context(back, "root", NOW)).data["events"] == len(first) + 3


def test_migrate_goes_a_page_at_a_time_and_never_reads_a_database_whole(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of three rows: the copy is the same document, a database source is only ever read in
    part (the actor) or a page at a time, and progress runs from 0 to its total."""
    import certcli.store.paging as paging
    import certcli.store.sql_paging as sql_paging
    from certcli.usecases.migration import migrate

    monkeypatch.setattr(paging, "PAGE_ROWS", 3)
    monkeypatch.setattr(sql_paging, "PAGE_ROWS", 3)
    needs: list[Any] = []
    read = type(store).read
    monkeypatch.setattr(type(store), "read", lambda self, need=None: needs.append(need) or read(self, need))
    with store.snapshot() as snapshot:
        pages = list(snapshot.pages())
    assert len(pages) > 10 and all(len(page.enrollments) <= 3 for page in pages)
    progress: list[tuple[int, int]] = []
    target = open_store(tmp_path / "copy.db")
    needs.clear()

    migrate(usecases.Context(store, "root", NOW), target, lambda done, total: progress.append((done, total)))
    whole_reads = needs.count(None)

    assert content(target.read()) == content(store.read())
    if is_database(store.location):
        assert whole_reads == 0
    assert progress[0] == (0, progress[0][1]) and progress[-1][0] == progress[-1][1] == progress[0][1]
    assert usecases.audit_verify(usecases.Context(target, "root", NOW)).data["ok"] is True


def test_migrate_refuses_an_existing_store_and_changes_neither(demo: Store, store: Store) -> None:
    before = store_state(store.location), store_state(demo.location)
    result = cli(demo.location, "migrate", "--to", store.location)
    assert_one_error(result, 5)
    assert (store_state(store.location), store_state(demo.location)) == before


@pytest.mark.parametrize(
    ("actor", "target", "code"), [("ana", "other.db", 4), ("root", "SELF", 2), ("root", "other.yaml", 2)]
)
def test_migrate_needs_an_admin_and_another_store(
    demo: Store, tmp_path: Path, actor: str, target: str, code: int
) -> None:
    before = store_state(demo.location)
    destination = demo.location if target == "SELF" else str(tmp_path / target)
    assert_one_error(cli(demo.location, "migrate", "--to", destination, actor=actor), code)
    assert store_state(demo.location) == before
    assert not (tmp_path / target).exists()


def test_migrate_copies_proof_files_into_a_database(tmp_path: Path, new_store: str) -> None:
    source = open_store(tmp_path / "s.toml")
    usecases.init_store(source, "root", None, None, at("2026-01-01"))
    admin = usecases.Context(source, "root", at("2026-01-01"))
    usecases.add_user(admin, "ann", "Ann", "learner", None, None)
    usecases.define(admin, usecases.Definition(id="aws", title="AWS", kind="external"), False)
    usecases.assign(admin, "aws", ["ann"], None)
    proof = tmp_path / "cert.pdf"
    proof.write_bytes(b"%PDF-1.4\n%passed\n%%EOF\n")
    uploaded = usecases.upload_proof(usecases.Context(source, "ann", at("2026-01-02")), "aws", proof)
    sha256 = uploaded.data["proof"]["sha256"]

    target = copied(source, new_store, "root", at("2026-01-03"))

    assert target.proof_content(sha256) == proof.read_bytes()
    if is_database(new_store):
        assert not list(tmp_path.glob("store.proofs*")), "a database keeps proofs in itself"


# ---------------------------------------------------------------- reading and changing


def test_a_database_loads_only_what_a_command_needs(store: Store) -> None:
    whole = store.read()
    part = store.read(Need(users={"ana"}, enrollments_of_users={"ana"}))
    if not store.partial_reads:
        assert content(part) == content(whole)
        return
    anas = {e.certification for e in whole.enrollments if e.user == "ana"}
    assert {e.certification for e in part.enrollments} == anas
    assert {e.user for e in part.enrollments} == {"ana"}
    assert set(part.certifications) == anas
    assert set(part.users) == {"ana"}
    needed_courses = {ref.id for cert_id in anas for ref in whole.certifications[cert_id].courses}
    assert needed_courses <= set(part.courses) < set(whole.courses)


def test_a_failed_change_leaves_the_store_as_it_was(store: Store) -> None:
    before = store_state(store.location)
    with pytest.raises(RuntimeError), store.update(Need(users={"ana"}, enrollments_of_users={"ana"})) as doc:
        doc.users["ana"] = doc.users["ana"]._replace(name="Changed")
        doc.courses["new"] = Course("new", "New")
        raise RuntimeError("the command failed half-way")
    assert store_state(store.location) == before


def test_a_change_is_one_audit_event_and_a_no_op_none(store: Store) -> None:
    events_before, _ = store.read_audit()
    with store.update(Need(courses={"new"})) as doc:
        pass
    assert store.read_audit()[0] == events_before
    with store.update(Need(courses={"new"})) as doc:
        doc.courses["new"] = Course("new", "New course")
    events, _ = store.read_audit()
    assert len(events) == len(events_before) + 1
    assert store.read().courses["new"] == Course("new", "New course")
    assert usecases.audit_verify(usecases.Context(store, "root", NOW)).data["events"] == len(events)


@pytest.mark.parametrize("when", ["2025-06-01", "2026-09-15T12:00:00", "2026-11-28", "2027-06-30", "2031-01-01"])
def test_standings_agree_with_replaying_the_facts(demo: Store, store: Store, when: str) -> None:
    """A database answers reports from its standing columns, replaying only rows with facts after `now`."""
    now = at(when)
    doc = demo.read()
    expected = {
        (e.user, e.certification): rules.standing(view)
        for e in doc.enrollments
        if (view := rules.evaluate(e, doc.certifications[e.certification], now)) is not None
    }
    found = {(user, cert): standing for user, cert, standing in store.standings(store.read(), now, None, None)}
    assert found == expected
    until = now.date().replace(year=now.year + 1)
    counts = store.standing_counts(store.read(), now, None, None, until)
    assert counts == tally(((u, c, s) for (u, c), s in expected.items()), now.date(), until)
    assert sum(counts.values()) == len(expected)


def test_a_redefined_certification_refreshes_its_standings(store: Store) -> None:
    admin = usecases.Context(store, "root", NOW)
    before = usecases.show(usecases.Context(store, "ana", NOW), "compliance-annual").data
    spec = usecases.Definition(
        id="compliance-annual",
        title="Annual Compliance Attestation",
        kind="internal",
        recurring=36,
        courses=[ref.id for ref in store.read().certifications["compliance-annual"].courses],
    )
    usecases.define(admin, spec, replace=True)
    after = usecases.show(usecases.Context(store, "ana", NOW), "compliance-annual").data
    row = next(
        r for r in service_report(store) if r["user"] == "ana" and r["certification"] == "compliance-annual"
    )
    assert before["status"] == "expired" and after["status"] == "completed"
    assert (row["status"], row["valid_until"]) == (after["status"], after["valid_until"])


def service_report(store: Store) -> list[dict[str, Any]]:
    from certcli.usecases import compliance

    return compliance.report(usecases.Context(store, "root", NOW)).data


@pytest.mark.parametrize("recorded", ["0", None])
def test_standings_from_other_rules_are_worked_out_again_before_a_report(
    demo: Store, store: Store, recorded: str | None
) -> None:
    """As if another certcli's rules had worked out every standing as completed: the first command
    that opens the store works them out again, so `report` and `check` equal a replay of the facts."""
    from backends import raw_database

    if not is_database(store.location):
        pytest.skip("file stores keep no standings: every report replays the facts")
    replayed = cli(str(demo.location), "report", "--format", "json")
    location = store.url if hasattr(store, "url") else str(store.location)
    with raw_database(location) as db:
        db.run("UPDATE standings SET status = 'completed', overdue = 0")
        db.run("DELETE FROM certcli_meta WHERE key = 'rules'")
        if recorded is not None:
            db.run("INSERT INTO certcli_meta (key, value) VALUES ('rules', ?)", (recorded,))

    first = cli(location, "report", "--format", "json")
    again = cli(location, "check", "--json")

    assert first.exit_code == 0, first.stderr
    assert first.stdout == replayed.stdout
    assert "worked out the standings" in first.stderr and "worked out" not in again.stderr
    assert again.exit_code == cli(str(demo.location), "check", "--json").exit_code == 1
    with raw_database(location) as db:
        assert db.run("SELECT value FROM certcli_meta WHERE key = 'rules'") == [(str(rules.RULES_VERSION),)]


# ---------------------------------------------------------------- layouts and connections


def test_an_older_sqlite_layout_is_brought_forward(demo: Store, tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    copied(demo, str(path), "root", NOW)
    with sqlite3.connect(path) as conn:  # as the first layout left it
        conn.execute("DROP INDEX enrollments_awaiting_review")
        conn.execute("DROP INDEX enrollments_by_last_fact")
        conn.execute("DROP TABLE groups")
        conn.execute("DROP INDEX users_inactive")
        conn.execute("ALTER TABLE users DROP COLUMN active")
        conn.execute("DROP TABLE audit_rows")
        conn.execute("UPDATE certcli_meta SET value = '1' WHERE key = 'layout'")
    result = cli(str(path), "review", "--json")
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM certcli_meta WHERE key = 'layout'").fetchone() == (str(LAYOUT),)
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        active = [row[0] for row in conn.execute("SELECT active FROM users")]
    assert {"enrollments_awaiting_review", "enrollments_by_last_fact", "users_inactive"} <= indexes
    assert "groups" in tables and "audit_rows" in tables and active and set(active) == {1}


def test_a_newer_layout_is_refused_with_a_hint(demo: Store, tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    copied(demo, str(path), "root", NOW)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE certcli_meta SET value = '99' WHERE key = 'layout'")
    result = cli(str(path), "list")
    assert_one_error(result, 6)
    assert "upgrade certcli" in result.stderr


@pytest.mark.parametrize(
    "location",
    [
        "postgresql://certcli:secret-word@127.0.0.1:1/certcli",
        "sqlite:///{tmp}/absent.db",
        "{tmp}/absent.db",
    ],
    ids=["unreachable-server", "missing-sqlite-url", "missing-sqlite-file"],
)
def test_a_store_that_cannot_be_reached_is_one_error(tmp_path: Path, location: str) -> None:
    result = cli(location.format(tmp=tmp_path), "list")
    assert_one_error(result, 6)
    assert "secret-word" not in result.stderr
    assert not (tmp_path / "absent.db").exists()


def test_a_postgresql_store_without_its_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if psycopg2 were not installed
    result = cli("postgresql://127.0.0.1:1/certcli", "list")
    assert_one_error(result, 6)
    assert "psycopg2" in result.stderr and "certcli[postgresql]" in result.stderr


def test_an_unknown_url_scheme_is_a_usage_error() -> None:
    assert_one_error(cli("mysql://127.0.0.1/certcli", "list"), 2)


def test_a_postgresql_store_in_a_schema_of_its_own(demo: Store) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip("CERTCLI_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    with postgres_schema() as first, postgres_schema() as second:
        copied(demo, first, "root", NOW)
        assert open_store(first).exists() and not open_store(second).exists()
        assert in_schema(url, "x") != url


# ---------------------------------------------------------------- file stores past their size


def test_a_large_file_store_warns_and_suggests_migrate(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("certcli.store.files.FILE_STORE_ADVISED_ENROLLMENTS", 30)
    result = cli(demo.location, "list", "--json", actor="ana")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: ")
    assert "31 enrollments" in result.stderr and "certcli migrate --to" in result.stderr
    monkeypatch.setattr("certcli.store.files.FILE_STORE_ADVISED_ENROLLMENTS", 31)
    assert cli(demo.location, "list", "--json", actor="ana").stderr == ""


# ---------------------------------------------------------------- every command, the same answers

READING_COMMANDS = [
    ("ana", "list", "--json"),
    ("ana", "list", "--pending", "--sort", "due", "--json"),
    ("ana", "show", "compliance-annual", "--json"),
    ("mia", "show", "first-aid-at-work", "--user", "ana", "--json"),
    ("ana", "history", "compliance-annual", "--json"),
    ("ana", "explain", "security-awareness", "--json"),
    ("root", "review", "--json"),
    ("mia", "review", "--json"),
    ("root", "user", "list", "--json"),
    ("root", "report", "--format", "json"),
    ("mia", "report", "--format", "json"),
    ("root", "report", "--summary", "--format", "json"),
    ("root", "report", "--cert", "first-aid-at-work", "--expiring-within", "400", "--format", "csv"),
    ("mia", "check", "--json"),
    ("root", "check", "--fail-on", "expiring:60", "--json"),
    ("ana", "badge", "leadership-essentials"),
    ("root", "calendar", "--all"),
    ("ana", "calendar"),
    ("root", "export-xapi"),
    ("mia", "export-xapi", "--cert", "first-aid-at-work"),
    ("ana", "org", "show", "--json"),
    ("root", "export", "--format", "json"),
]


@pytest.mark.parametrize("args", READING_COMMANDS, ids=[" ".join(args) for args in READING_COMMANDS])
def test_every_reading_command_answers_the_same_on_every_backend(
    demo: Store, store: Store, args: tuple[str, ...]
) -> None:
    actor, *command = args
    expected = cli(demo.location, *command, actor=actor)
    found = cli(store.location, *command, actor=actor)
    assert expected.exit_code in (0, 1), expected.stderr  # check exits 1 with findings
    assert (found.exit_code, found.stdout) == (expected.exit_code, expected.stdout)


# ---------------------------------------------------------------- the calendar's whole range


@pytest.mark.parametrize("year", [1, 999, 1000, 9999])
def test_a_change_at_any_year_reads_back_on_every_backend(store: Store, year: int) -> None:
    """Times a change records are written with four-digit years, so the store reads them back."""
    when = datetime(year, 6, 15, 8, 30, tzinfo=UTC)
    now = ["--now", f"{year:04d}-06-15T08:30:00Z"]
    for command in (["start", "cloud-foundations"], ["complete", "cloud-foundations", "cloud-intro"]):
        result = CliRunner().invoke(app, ["--store", store.location, "--as", "ana", *now, *command])
        assert result.exit_code == 0, result.stderr
    enrollment = open_store(store.location).read().enrollment("cloud-foundations", "ana")
    assert enrollment is not None and enrollment.facts[-1].at == when
    history = CliRunner().invoke(app, ["--store", store.location, "--as", "ana", *now, "history", "cloud-foundations"])
    assert history.exit_code == 0 and f"1        {year:04d}-06-15" in history.stdout, history.stdout
    for actor, command in [("ana", ["list", "--json"]), ("root", ["report", "--format", "json"]),
                           ("root", ["audit", "verify"])]:  # fmt: skip
        for evaluated in (now, ["--now", "2026-11-28"]):
            result = CliRunner().invoke(app, ["--store", store.location, "--as", actor, *evaluated, *command])
            assert result.exit_code == 0, (command, evaluated, result.stderr)
