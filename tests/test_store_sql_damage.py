"""Damaged database stores, as tests/test_reliability_inputs.py damages file stores, and how a database
store comes to be: exclusively, whole or not at all, and readable on a read-only file system.

Damaged stores go through the command line in process (the click command built once, so that thousands
of commands take seconds): every command exits 0 or 6, shows no traceback, fails with `error:` lines and
at most one `hint:`, and a command that failed left every table as it was. Creation races, killed
creations and the read-only file system go through the installed `certcli`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import typer
from backends import (
    POSTGRES_URL_VARIABLE,
    RawDatabase,
    database_dump,
    mounted_tmpfs,
    postgres_schema,
    postgres_url,
    raw_database,
)
from click.testing import CliRunner, Result

from certcli.cli import app
from certcli.store.sql import OWN_TABLES

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-28"
LEARNER, CERT, COURSE = "ana", "security-awareness", "phishing"
COMMAND = typer.main.get_command(app)  # built once: typer.testing builds it again for every command

READING = (
    (LEARNER, "list", "--json"),
    (LEARNER, "show", CERT),
    ("root", "report", "--summary", "--format", "json"),
    ("root", "report", "--format", "json"),
    ("root", "review", "--json"),
    ("root", "audit"),
    ("root", "audit", "verify"),
    ("root", "doctor", "--json"),
    ("root", "export"),
)
WRITING = ((LEARNER, "complete", CERT, COURSE), ("root", "assign", "pmp", "ben"))
COMMANDS = READING + WRITING


def cli(location: str, actor: str, *args: str) -> Result:
    return CliRunner().invoke(COMMAND, ["--store", location, "--as", actor, "--now", NOW, *args])


def run(exe: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"NO_COLOR": "1", "CERTCLI_NOW": NOW})
    return subprocess.run([exe, *args], capture_output=True, text=True, env=environment, timeout=timeout, check=False)


def wrong_with(result: Result, codes: tuple[int, ...] = (0, 6)) -> str | None:
    """What in one command's run breaks the contract: an exception, an exit code not in `codes`, or
    stderr that is not `error:` lines and at most one `hint:` after them when it failed."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "".join(traceback.format_exception(result.exception))[-1500:]
    if "Traceback" in result.stderr or result.exit_code not in codes:
        return f"exit {result.exit_code}: {result.stderr[-800:]}"
    lines = result.stderr.strip().splitlines()
    if result.exit_code == 0:
        return next((f"exit 0 with {line!r}" for line in lines if line.startswith("error:")), None)
    errors = lines[:-1] if lines and lines[-1].startswith("hint: ") else lines
    if not errors or not all(line.startswith("error: ") for line in errors):
        return f"exit {result.exit_code} without one error line per problem: {result.stderr[-800:]}"
    return None


class Tally:
    """What commands against damaged stores did, and every way one broke the contract. `codes`: the exit
    codes allowed (a flipped byte may leave a store that validates with another id or role in it, which
    a command then answers like any other: not found, not allowed, or not in that state)."""

    def __init__(self, codes: tuple[int, ...] = (0, 6)) -> None:
        self.allowed = codes
        self.stores = 0
        self.codes: Counter[int] = Counter()
        self.wrong: list[str] = []

    def commands(self, label: str, location: str, state: Callable[[], Any]) -> dict[str, Result]:
        """Run every command against the store at `location`; `state` is what a failed one must leave as it was."""
        self.stores += 1
        results, before = {}, state()
        for actor, *args in COMMANDS:
            before = state() if before is None else before
            result = cli(location, actor, *args)
            self.codes[result.exit_code] += 1
            problem = wrong_with(result, self.allowed)
            if result.exit_code == 0:
                before = None  # it may have changed the store: the next command starts from what it left
            elif problem is None and state() != before:
                problem = "failed, and changed the store"
            if problem is not None:
                self.wrong.append(f"{label}: certcli {' '.join(args)}: {problem}")
            results[" ".join(args)] = result
        return results

    def summary(self, what: str) -> str:
        exits = ", ".join(f"{count} exit {code}" for code, count in sorted(self.codes.items()))
        return (
            f"{what}: {self.stores} stores, {sum(self.codes.values())} commands: {exits}; {len(self.wrong)} not as "
            "expected (a traceback, another exit code, stderr not in error:/hint: lines, a failed command that "
            "changed the store)"
        )


@pytest.fixture(autouse=True)
def no_settling_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken audit trail is believed after pauses that let a writer in another process finish; none runs
    here, and hundreds of damaged trails would wait a second each."""
    monkeypatch.setattr("certcli.usecases.audit_trail.SETTLING_PAUSES", (), raising=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store copied into SQLite by `migrate`, with one change more: two audit events."""
    folder = tmp_path_factory.mktemp("demo-db")
    shutil.copyfile(ROOT / "fixtures" / "acme.toml", folder / "acme.toml")
    made = cli(str(folder / "acme.toml"), "root", "migrate", "--to", str(folder / "acme.db"))
    assert made.exit_code == 0, made.stderr
    assigned = cli(str(folder / "acme.db"), "root", "assign", "ckad", LEARNER)
    assert assigned.exit_code == 0, assigned.stderr
    return folder / "acme.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and postgres_url() is None:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server to test against")
    return str(request.param)


@contextlib.contextmanager
def demo_copy(database: str, demo_db: Path, folder: Path, name: str) -> Iterator[str]:
    """A copy of the demo database store to damage: a file, or a PostgreSQL schema of its own."""
    if database == "sqlite":
        path = folder / f"{name}.db"
        shutil.copyfile(demo_db, path)
        yield str(path)
        return
    with postgres_schema() as url:
        made = cli(str(demo_db), "root", "migrate", "--to", url)
        assert made.exit_code == 0, made.stderr
        yield url


# ---------------------------------------------------------------- bytes of a SQLite file


def file_state(path: Path) -> tuple[bytes, ...]:
    return tuple(part.read_bytes() for part in (path, Path(f"{path}-wal")) if part.exists())


def flipped(raw: bytes, rng: random.Random, count: int) -> bytes:
    changed = bytearray(raw)
    for _ in range(count):
        changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
    return bytes(changed)


def damaged_files(tmp_path: Path, name: str, contents: list[bytes]) -> Tally:
    """Every command against each of `contents` as the store's file."""
    tally = Tally(codes=(0, 3, 4, 5, 6))
    for number, raw in enumerate(contents):
        path = tmp_path / f"{name}{number}.db"
        path.write_bytes(raw)
        tally.commands(f"{name} {number}", str(path), lambda path=path: file_state(path))
    return tally


def flip_trials(demo_db: Path, tmp_path: Path, trials: int, seed: int, most: int) -> None:
    rng, raw = random.Random(seed), demo_db.read_bytes()
    tally = damaged_files(tmp_path, "flipped", [flipped(raw, rng, rng.randint(1, most)) for _ in range(trials)])
    print(tally.summary(f"\n1-{most} random bit flips in the demo SQLite store ({len(raw):,} bytes)"))
    assert not tally.wrong, "\n".join(tally.wrong[:10])
    assert tally.codes[6] > 0 and tally.codes[0] > 0


def test_random_bit_flips_in_a_sqlite_store_are_refused_or_harmless(demo_db: Path, tmp_path: Path) -> None:
    flip_trials(demo_db, tmp_path, trials=150, seed=61, most=4)


@pytest.mark.slow
def test_many_random_bit_flips_in_a_sqlite_store_are_refused_or_harmless(demo_db: Path, tmp_path: Path) -> None:
    flip_trials(demo_db, tmp_path, trials=1000, seed=62, most=8)


def test_a_truncated_sqlite_store_is_refused_and_left_alone(demo_db: Path, tmp_path: Path) -> None:
    raw = demo_db.read_bytes()
    page = 4096
    offsets = {0, 1, 15, 16, 50, 99, 100, 101, 1000, page - 1, page, page + 1, len(raw) // 2, len(raw) - 1}
    offsets |= {number * page + delta for number in range(2, len(raw) // page, 3) for delta in (-1, 0)}
    tally = damaged_files(tmp_path, "truncated", [raw[:offset] for offset in sorted(offsets)])
    print(tally.summary(f"\nthe demo SQLite store truncated at {len(offsets)} offsets (header, page edges)"))
    assert not tally.wrong, "\n".join(tally.wrong[:10])
    assert tally.codes[6] > 0


def test_a_page_that_fails_while_its_rows_are_fetched_is_one_error(
    certcli_exe: str, demo_db: Path, tmp_path: Path
) -> None:
    """A leaf page of the enrollments table overwritten: the query starts well and fails on a later row."""
    path = tmp_path / "malformed.db"
    shutil.copyfile(demo_db, path)
    with raw_database(str(path)) as db:
        leaves = [
            page for (page,) in db.run("SELECT pageno FROM dbstat WHERE name = 'enrollments' AND pagetype = 'leaf'")
        ]
        page_size = db.run("PRAGMA page_size")[0][0]
    assert len(leaves) > 2
    with path.open("r+b") as handle:
        handle.seek((leaves[len(leaves) // 2] - 1) * page_size)
        handle.write(b"\xff" * page_size)
    before = path.read_bytes()
    copy = tmp_path / "copy.db"
    for actor, *args in (("root", "export"), ("root", "doctor"), ("root", "migrate", "--to", str(copy))):
        result = run(certcli_exe, "--store", str(path), "--as", actor, *args)
        assert result.returncode == 6, result.stderr
        assert result.stderr.startswith(f"error: store {path} is not a readable SQLite store: database disk image")
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 2
    assert path.read_bytes() == before and not copy.exists()


# ---------------------------------------------------------------- rows and meta values


class Damage(NamedTuple):
    apply: Callable[[RawDatabase], Any]
    sqlite_only: bool = False  # a value PostgreSQL's column types refuse


def set_value(table: str, column: str, value: Any, where: str, sqlite_only: bool = False) -> Damage:
    return Damage(lambda db: db.run(f"UPDATE {table} SET {column} = ? WHERE {where}", (value,)), sqlite_only)


def edit_first_event(key: str, value: Any) -> Damage:
    def apply(db: RawDatabase) -> None:
        event = json.loads(db.run("SELECT event FROM audit_events WHERE seq = 1")[0][0])
        db.run("UPDATE audit_events SET event = ? WHERE seq = 1", (json.dumps({**event, key: value}),))

    return Damage(apply)


def delete(table: str, where: str) -> Damage:
    return Damage(lambda db: db.run(f"DELETE FROM {table} WHERE {where}"))


def enrollment_of(user: str) -> Damage:
    return Damage(
        lambda db: db.run(
            "INSERT INTO enrollments SELECT ?, certification_id, position + 1000, facts, last_fact_at, awaiting_review"
            " FROM enrollments WHERE user_id = ? AND certification_id = ?",
            (user, LEARNER, CERT),
        )
    )


def standing_of(user: str, cert: str) -> Damage:
    columns = "last_fact_at, first_day, until_day, status, overdue, due, completed_on, valid_until, renewal_open, cycle"
    return Damage(
        lambda db: db.run(
            f"INSERT INTO standings SELECT ?, ?, {columns} FROM standings WHERE user_id = ? AND certification_id = ?",
            (user, cert, LEARNER, CERT),
        )
    )


ANA = f"user_id = '{LEARNER}' AND certification_id = '{CERT}'"
DAMAGES = {
    "users.data not JSON": set_value("users", "data", "{", "id = 'ben'"),
    "users.data a list": set_value("users", "data", "[1]", f"id = '{LEARNER}'"),
    "users.data of the wrong types": set_value(
        "users", "data", '{"id": "ana", "name": 5, "role": ["admin"]}', "id = 'ana'"
    ),
    "users.data another user's": set_value(
        "users", "data", '{"id": "root", "name": "R", "role": "admin"}', "id = 'ana'"
    ),
    "users.data binary": set_value("users", "data", b"\x00\xff", f"id = '{LEARNER}'", sqlite_only=True),
    "courses.data not JSON": set_value("courses", "data", "{", f"id = '{COURSE}'"),
    "certifications.data not JSON": set_value("certifications", "data", "{", f"id = '{CERT}'"),
    "certifications.data courses a string": set_value(
        "certifications",
        "data",
        f'{{"id": "{CERT}", "title": "S", "kind": "internal", "courses": "x"}}',
        f"id = '{CERT}'",
    ),
    "certifications.data a course of the wrong type": set_value(
        "certifications",
        "data",
        f'{{"id": "{CERT}", "title": "S", "kind": "internal", "courses": [{{"id": 5}}]}}',
        f"id = '{CERT}'",
    ),
    "enrollments.facts not JSON": set_value("enrollments", "facts", "nope", ANA),
    "enrollments.facts of the wrong types": set_value("enrollments", "facts", '[{"type": "assigned", "at": 5}]', ANA),
    "enrollments.facts an object": set_value("enrollments", "facts", "{}", ANA),
    "enrollments.facts nested 100,000 deep": set_value("enrollments", "facts", "[" * 100_000 + "]" * 100_000, ANA),
    "audit_events.event not JSON": set_value("audit_events", "event", "{", "seq = 1"),
    "audit_events.event a list for its actor": edit_first_event("actor", ["root"]),
    "audit_events.event a list for its subject": edit_first_event("subject", [LEARNER]),
    "audit_events.event binary": set_value("audit_events", "event", b"\x00", "seq = 2", sqlite_only=True),
    "certcli_meta layout 'x'": set_value("certcli_meta", "value", "x", "key = 'layout'"),
    "certcli_meta layout missing": delete("certcli_meta", "key = 'layout'"),
    "certcli_meta layout '99'": set_value("certcli_meta", "value", "99", "key = 'layout'"),
    "certcli_meta layout '0'": set_value("certcli_meta", "value", "0", "key = 'layout'"),
    "certcli_meta schema 'x'": set_value("certcli_meta", "value", "x", "key = 'schema'"),
    "certcli_meta head '{'": set_value("certcli_meta", "value", "{", "key = 'head'"),
    "certcli_meta head of the wrong types": set_value("certcli_meta", "value", '{"seq": "1"}', "key = 'head'"),
    "certcli_meta org '[1]'": set_value("certcli_meta", "value", "[1]", "key = 'org'"),
    "users row ben deleted": delete("users", "id = 'ben'"),
    "certifications row compliance-annual deleted": delete("certifications", "id = 'compliance-annual'"),
    f"courses row {COURSE} deleted": delete("courses", f"id = '{COURSE}'"),
    "an enrollment of a user with no row": enrollment_of("ghost"),
    "standings status bogus": set_value("standings", "status", "bogus", "1 = 1"),
    "standings due not a date": set_value("standings", "due", "not-a-date", "due IS NOT NULL"),
    "standings valid_until not a date": set_value("standings", "valid_until", "2026-13-45", "valid_until IS NOT NULL"),
    "standings cycle 0": set_value("standings", "cycle", 0, "1 = 1"),
    "standings cycle text": set_value("standings", "cycle", "x", "1 = 1", sqlite_only=True),
    "standings overdue 7": set_value("standings", "overdue", 7, "1 = 1"),
    "a standings row of a user with no row": standing_of("ghost", CERT),
    "a standings row of a certification with no row": standing_of(LEARNER, "ghost-cert"),
    **{f"table {table} dropped": Damage(lambda db, table=table: db.drop(table)) for table in OWN_TABLES},
}


def test_edited_deleted_and_dropped_rows_and_meta_values_are_refused_naming_the_store(
    database: str, demo_db: Path, tmp_path: Path
) -> None:
    tally, unnoticed, tried = Tally(), [], 0
    for number, (name, damage) in enumerate(DAMAGES.items()):
        if damage.sqlite_only and database != "sqlite":
            continue
        tried += 1
        with demo_copy(database, demo_db, tmp_path, f"damaged{number}") as location:
            with raw_database(location) as db:
                damage.apply(db)
            results = tally.commands(name, location, lambda location=location: database_dump(location))
        errors = [
            line for result in results.values() for line in result.stderr.splitlines() if line.startswith("error:")
        ]
        if all(line.startswith("error: proofs:") for line in errors):  # the demo ships no proof files: doctor says so
            unnoticed.append(name)
    print(tally.summary(f"\n{tried} kinds of damage to the demo {database} store"))
    assert not tally.wrong, "\n".join(tally.wrong[:10])
    assert not unnoticed, f"no command noticed: {unnoticed}"


@pytest.mark.parametrize(
    ("damage", "command", "expected"),
    [
        ("enrollments.facts not JSON", "list", f"enrollments row ('ana', '{CERT}') holds malformed JSON"),
        (
            "users row ben deleted",
            "review",
            "enrollments row ('ben', 'ckad') names user 'ben', which has no row in users",
        ),
        ("certcli_meta layout 'x'", "list", "certcli_meta 'layout' holds malformed JSON"),
        ("standings status bogus", "report", "hold status 'bogus', not a status certcli knows"),
        (
            "a standings row of a certification with no row",
            "report",
            "names certification 'ghost-cert', which has no row",
        ),
    ],
)
def test_a_damaged_row_is_named_with_the_fix(
    database: str, demo_db: Path, tmp_path: Path, damage: str, command: str, expected: str
) -> None:
    actor, *args = {
        "list": (LEARNER, "list", "--json"),
        "review": ("root", "review", "--json"),
        "report": ("root", "report", "--summary", "--format", "json"),
    }[command]
    with demo_copy(database, demo_db, tmp_path, "damaged") as location:
        with raw_database(location) as db:
            DAMAGES[damage].apply(db)
        result = cli(location, actor, *args)
    assert result.exit_code == 6, result.stderr
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith(f"error: store {location} is damaged: ") and expected in error, error
    assert hint == "hint: restore it from a backup"


def test_an_audit_row_that_is_no_event_is_a_broken_trail_not_a_crash(
    certcli_exe: str, demo_db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "audit.db"
    shutil.copyfile(demo_db, path)
    with raw_database(str(path)) as db:
        DAMAGES["audit_events.event a list for its actor"].apply(db)
    listed = run(certcli_exe, "--store", str(path), "--as", "root", "audit", "--json")
    verified = run(certcli_exe, "--store", str(path), "--as", "root", "audit", "verify")
    doctor = run(certcli_exe, "--store", str(path), "--as", "root", "doctor", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr  # the events before the bad row
    assert "warning: " in listed.stderr and "audit_events row 1 (after event 0): its actor is not text" in listed.stderr
    assert verified.returncode == 6 and verified.stderr.startswith("error: audit trail broken: audit_events row 1")
    audit_check = next(check for check in json.loads(doctor.stdout)["checks"] if check["check"] == "audit")
    assert doctor.returncode == 6 and not audit_check["ok"] and "its actor is not text" in audit_check["detail"]
    assert all("Traceback" not in result.stderr for result in (listed, verified, doctor))


def test_a_damaged_postgresql_store_is_named_without_its_password() -> None:
    if postgres_url() is None:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server to test against")
    with postgres_schema() as location:
        with_password = location.replace("postgresql://", "postgresql://root:s3cret-w0rd@", 1)
        assert cli(with_password, "root", "init", "--admin", "root").exit_code == 0
        with raw_database(location) as db:
            db.drop("users")
        result = cli(with_password, "root", "list")
    assert result.exit_code == 6 and "s3cret-w0rd" not in result.stderr
    error, hint = result.stderr.strip().splitlines()
    assert (
        error
        == f'error: store {location.replace("://", "://root:***@", 1)} is damaged: relation "users" does not exist'
    )
    assert hint == "hint: restore it from a backup"


def test_a_driver_message_never_shows_the_password() -> None:
    url = postgres_url()
    if url is None or "@" in url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set (or names a user): no URL to put a password in")
    secret = "s3cret-w0rd"
    location = url.replace("://", f"://certcli:{secret}@", 1) + ("&" if "?" in url else "?") + f"sslmode={secret}"
    result = cli(location, "root", "list")  # libpq's message repeats the bad value, which is the password
    assert result.exit_code == 6, result.stderr
    assert 'invalid sslmode value: "***"' in result.stderr and f"certcli:{secret}@" not in result.stderr


# ---------------------------------------------------------------- creation: exclusive, whole or nothing


def creation_leftovers(path: Path) -> list[str]:
    return sorted(entry.name for entry in path.parent.iterdir() if entry.name.startswith(f".{path.name}."))


def race(exe: str, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """The commands started together, each in its own certcli process."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"NO_COLOR": "1", "CERTCLI_NOW": NOW})
    processes = [
        subprocess.Popen([exe, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
        for command in commands
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    return [
        subprocess.CompletedProcess(p.args, p.returncode, *output) for p, output in zip(processes, outputs, strict=True)
    ]


def one_winner(results: list[subprocess.CompletedProcess[str]]) -> str | None:
    """What is wrong with a race's outcome: it must be one exit 0 and, for the other, 5 "already exists"."""
    codes = sorted(result.returncode for result in results)
    loser = max(results, key=lambda result: result.returncode)
    if codes != [0, 5] or "already exists" not in loser.stderr or "Traceback" in loser.stderr:
        return f"exits {codes}: {loser.stderr[-500:]}"
    return None


def test_two_inits_racing_on_one_sqlite_path_make_one_store(certcli_exe: str, tmp_path: Path) -> None:
    wrong = []
    for attempt in range(20):
        path = tmp_path / f"race{attempt}.db"
        init = ["--store", str(path), "init", "--admin", "root"]
        problem = one_winner(race(certcli_exe, init, init))
        verified = run(certcli_exe, "--store", str(path), "--as", "root", "audit", "verify")
        if problem or verified.returncode != 0 or creation_leftovers(path):
            wrong.append(f"attempt {attempt}: {problem} / verify {verified.returncode} / {creation_leftovers(path)}")
    print(f"\ntwo `init` racing on one SQLite path: 20 races, {20 - len(wrong)} ended with one store (exit 0 and 5)")
    assert not wrong, "\n".join(wrong)


def test_two_migrations_racing_to_one_sqlite_path_make_one_store(
    certcli_exe: str, demo_db: Path, tmp_path: Path
) -> None:
    for attempt in range(3):
        target = tmp_path / f"copy{attempt}.db"
        migrate = ["--store", str(demo_db), "--as", "root", "migrate", "--to", str(target)]
        assert one_winner(race(certcli_exe, migrate, migrate)) is None
        assert run(certcli_exe, "--store", str(target), "--as", "root", "audit", "verify").returncode == 0
        assert creation_leftovers(target) == []


def test_two_inits_racing_on_one_postgresql_schema_make_one_store(certcli_exe: str) -> None:
    if postgres_url() is None:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server to test against")
    wrong = []
    for attempt in range(20):
        with postgres_schema() as url:
            init = ["--store", url, "init", "--admin", "root"]
            problem = one_winner(race(certcli_exe, init, init))
            verified = run(certcli_exe, "--store", url, "--as", "root", "audit", "verify")
            if problem or verified.returncode != 0:
                wrong.append(f"attempt {attempt}: {problem} / verify {verified.returncode}: {verified.stderr}")
    print(f"\ntwo `init` racing on one new PostgreSQL schema: 20 races, {20 - len(wrong)} ended with one store")
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def larger_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("larger") / "org.json"
    generate = [sys.executable, str(ROOT / "bench" / "generate_org.py"), "--enrollments", "1000", "-o", str(path)]
    subprocess.run(generate, check=True, capture_output=True)
    return path


def test_a_migration_killed_at_any_moment_leaves_a_whole_store_or_none(
    certcli_exe: str, larger_store: Path, tmp_path: Path
) -> None:
    migrate = ["--store", str(larger_store), "--as", "admin", "migrate", "--to"]
    started = time.monotonic()
    assert run(certcli_exe, *migrate, str(tmp_path / "timed.db")).returncode == 0
    span = time.monotonic() - started
    rng, outcomes, wrong = random.Random(11), Counter[str](), []
    for trial in range(10):
        target = tmp_path / f"killed{trial}.db"
        process = subprocess.Popen(
            [certcli_exe, *migrate, str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(rng.uniform(0.05, span))
        process.send_signal(signal.SIGKILL)
        finished = process.wait() == 0
        left = creation_leftovers(target)
        if target.exists():  # linked in place: whole, and it must verify
            outcomes["a whole store"] += 1
            after = run(certcli_exe, "--store", str(target), "--as", "admin", "audit", "verify")
            again = run(certcli_exe, "--store", str(target), "init", "--admin", "root")
            ok = after.returncode == 0 and again.returncode == 5 and "already exists" in again.stderr
        else:
            outcomes["nothing at the path"] += 1
            outcomes["a file being built left"] += bool(left)
            retry = migrate + [str(target)] if trial % 2 else ["--store", str(target), "init", "--admin", "admin"]
            again = run(certcli_exe, *retry)
            after = run(certcli_exe, "--store", str(target), "--as", "admin", "audit", "verify")
            ok = again.returncode == 0 and after.returncode == 0
        outcomes["completed before the kill"] += finished
        if not ok or creation_leftovers(target):
            wrong.append(f"trial {trial}: left {left}: {again.returncode} {again.stderr} / {after.stderr}")
    print(
        f"\nmigrate --to X.db killed at a random moment: 10 trials ({span:.1f} s each): "
        + ", ".join(f"{count} {what}" for what, count in sorted(outcomes.items()))
        + f"; the next init or migrate on the path worked every time, leftovers swept; {len(wrong)} not as expected"
    )
    assert not wrong, "\n".join(wrong)


def test_a_leftover_of_a_killed_creation_is_swept_and_one_being_built_is_not(certcli_exe: str, tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    killed = tmp_path / ".new.db.killed.creating"
    killed.write_bytes(b"SQLite format 3\x00 and half a database")
    Path(f"{killed}-wal").write_bytes(b"a journal")
    building = tmp_path / ".new.db.alive.creating"
    building.write_bytes(b"")
    with building.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the process building it holds it
        result = run(certcli_exe, "--store", str(path), "init", "--admin", "root")
        assert result.returncode == 0, result.stderr
        assert creation_leftovers(path) == [building.name]
    result = run(certcli_exe, "--store", str(path), "init", "--admin", "root")
    assert result.returncode == 5 and "already exists" in result.stderr
    assert creation_leftovers(path) == []  # the builder is gone: its file is swept


def test_a_new_sqlite_store_is_owner_only_in_wal_mode_with_nothing_beside_it(certcli_exe: str, tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    assert run(certcli_exe, "--store", str(path), "init", "--admin", "root").returncode == 0
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["fresh.db"]
    assert path.stat().st_mode & 0o777 == 0o600
    with raw_database(str(path)) as db:
        assert db.run("PRAGMA journal_mode") == [("wal",)]


# ---------------------------------------------------------------- what is not a store


@contextlib.contextmanager
def other_application(database: str, tmp_path: Path) -> Iterator[str]:
    """A database holding another application's table named like one of certcli's."""
    if database == "sqlite":
        location = str(tmp_path / "other.db")
        with raw_database(location) as db:
            db.run("CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)")
            db.run("INSERT INTO users (id, login) VALUES (1, 'someone')")
        yield location
        return
    with postgres_schema() as location:
        with raw_database(location) as db:
            db.run(f'CREATE SCHEMA "{db.run("SHOW search_path")[0][0]}"')
            db.run("CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)")
            db.run("INSERT INTO users (id, login) VALUES (1, 'someone')")
        yield location


def test_another_applications_tables_are_not_a_store_to_any_command(
    database: str, demo_db: Path, tmp_path: Path
) -> None:
    with other_application(database, tmp_path) as location:
        before = database_dump(location)
        using = [cli(location, actor, *args) for actor, *args in COMMANDS]
        creating = [
            cli(location, "root", "init", "--admin", "root"),
            cli(str(demo_db), "root", "migrate", "--to", location),
        ]
        assert database_dump(location) == before
    for result, code in [(result, 6) for result in using] + [(result, 5) for result in creating]:
        assert result.exit_code == code, result.stderr
        error, hint = result.stderr.strip().splitlines()
        assert error == f"error: store {location} is not a certcli store: it holds " + (
            "tables (users) but no certcli_meta" if database == "sqlite"
            else "tables named like certcli's (users) but no certcli_meta"
        )  # fmt: skip
        assert hint.startswith("hint: ") and (
            "schema of its own" in hint if database == "postgresql" else "--store" in hint
        )


@pytest.mark.parametrize(
    ("content", "using", "creating", "words"),
    [
        (b"name,role\nana,learner\n", 6, 6, "is not a readable SQLite store: file is not a database"),
        (b"", 6, 5, "is not a certcli store: it holds no tables (an empty database)"),
    ],
    ids=["not-sqlite", "empty-file"],
)
def test_a_file_that_is_no_store_gets_the_same_answer_from_every_command(
    demo_db: Path, tmp_path: Path, content: bytes, using: int, creating: int, words: str
) -> None:
    path = tmp_path / "other.db"
    path.write_bytes(content)
    for actor, *args in COMMANDS:
        result = cli(str(path), actor, *args)
        assert (result.exit_code, result.stderr.splitlines()[0]) == (using, f"error: store {path} {words}")
    for result in (
        cli(str(path), "root", "init", "--admin", "root"),
        cli(str(demo_db), "root", "migrate", "--to", str(path)),
    ):
        assert (result.exit_code, result.stderr.splitlines()[0]) == (creating, f"error: store {path} {words}")
    assert path.read_bytes() == content and sorted(entry.name for entry in tmp_path.iterdir()) == ["other.db"]


# ---------------------------------------------------------------- a read-only file system


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "tmpfs", "4m") as folder:
        yield folder


def test_a_sqlite_store_on_a_read_only_file_system_is_read_and_never_changed(
    certcli_exe: str, demo_db: Path, tmpfs: Path
) -> None:
    path = tmpfs / "acme.db"
    shutil.copyfile(demo_db, path)
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True)
    assert remounted.returncode == 0, remounted.stderr
    before = path.read_bytes()

    listed = run(certcli_exe, "--store", str(path), "--as", LEARNER, "list", "--json")
    verified = run(certcli_exe, "--store", str(path), "--as", "root", "audit", "verify")
    doctor = run(certcli_exe, "--store", str(path), "--as", "root", "doctor", "--json")
    changed = run(certcli_exe, "--store", str(path), "--as", LEARNER, "complete", CERT, COURSE)
    created = run(certcli_exe, "--store", str(tmpfs / "new.db"), "init", "--admin", "root")

    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 7, listed.stderr
    assert verified.returncode == 0, verified.stderr
    failing = {check["check"] for check in json.loads(doctor.stdout)["checks"] if not check["ok"]}
    assert failing == {"proofs"}, doctor.stdout  # the demo ships no proof files; everything else checks out
    assert changed.returncode == 6
    assert changed.stderr.startswith(f"error: cannot change store {path}: it is on a read-only file system")
    assert created.returncode == 6 and "Read-only file system" in created.stderr
    assert path.read_bytes() == before and sorted(entry.name for entry in tmpfs.iterdir()) == ["acme.db"]


def test_changes_still_in_the_wal_file_are_read_on_a_read_only_file_system_or_refused(
    certcli_exe: str, demo_db: Path, tmpfs: Path, tmp_path: Path
) -> None:
    """A copy taken while a change was still in the WAL file: read as immutable, the database file alone
    would be an older store, so the WAL is read, or the store refused when it cannot be."""
    live = tmp_path / "live.db"
    shutil.copyfile(demo_db, live)
    holder = sqlite3.connect(live)  # another reader keeps the store open: the change stays in the WAL file
    try:
        holder.execute("SELECT COUNT(*) FROM users").fetchall()
        assert cli(str(live), "root", "assign", "pmp", LEARNER).exit_code == 0
        for folder, suffixes in (("whole", ("", "-wal", "-shm")), ("no-shm", ("", "-wal"))):
            (tmpfs / folder).mkdir()
            for suffix in suffixes:
                shutil.copyfile(f"{live}{suffix}", tmpfs / folder / f"acme.db{suffix}")
    finally:
        holder.close()
    assert (tmpfs / "whole" / "acme.db-wal").stat().st_size > 0
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True)
    assert remounted.returncode == 0, remounted.stderr

    whole = run(certcli_exe, "--store", str(tmpfs / "whole" / "acme.db"), "--as", LEARNER, "list", "--json")
    cut = run(certcli_exe, "--store", str(tmpfs / "no-shm" / "acme.db"), "--as", LEARNER, "list", "--json")

    assert whole.returncode == 0, whole.stderr
    assert "pmp" in {row["id"] for row in json.loads(whole.stdout)}  # the change in the WAL file is there
    assert cut.returncode == 6 and "acme.db-wal holds changes not yet in it" in cut.stderr, cut.stderr
