"""The documented promises (docs/security.md) held against an adversary, through the installed `certcli`,
on every backend
where they apply: outputs never land on the store, links and kills never split or tear it, nothing a
user typed commands the terminal or a spreadsheet, secrets are never shown, odd input is one error line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from backends import copied, postgres_schema, postgres_url, store_state

from certcli.store import open_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = "2026-11-28"
PDF = b"%PDF-1.4\n%" + b"p" * 64 + b"\n%%EOF\n"


def run(
    exe: str, store: str | Path, *args: str | bytes, actor: str | None = "ana", now: str | None = NOW
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"NO_COLOR": "1", "CERTCLI_STORE": str(store)})
    if now is not None:
        environment["CERTCLI_NOW"] = now
    if actor is not None:
        environment["CERTCLI_USER"] = actor
    result = subprocess.run(
        [exe, *args], capture_output=True, text=True, errors="replace", env=environment, timeout=120, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def refused(result: subprocess.CompletedProcess[str], code: int) -> str:
    """Exit `code`, `error:` lines and at most a `hint:`; returns stderr."""
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), result.stderr
    return result.stderr


# ---------------------------------------------------------------- outputs never land on the store


def _output_targets(location: str, tmp_path: Path) -> dict[str, Path]:
    if location.startswith("postgresql://"):
        return {}
    store = Path(location)
    if store.suffix == ".db":
        return {"the database": store, "its WAL journal": Path(f"{store}-wal"), "a link to it": tmp_path / "x.ics"}
    return {
        "the store": store,
        "its log": Path(f"{store}.audit.jsonl"),
        "its lock": Path(f"{store}.lock"),
        "a file in its proofs folder": store.with_name(store.stem + ".proofs") / "x.pdf",
        "the store through '..'": store.parent / "sub" / ".." / store.name,
        "a link to the store": tmp_path / "x.ics",
    }


@pytest.mark.parametrize(
    ("actor", "command"),
    [("ana", ["calendar"]), ("root", ["export"]), ("root", ["export-xapi"]), ("ana", ["badge", "security-awareness"])],
)
def test_an_output_is_never_one_of_the_stores_own_files(
    certcli_exe: str, demo: str, tmp_path: Path, actor: str, command: list[str]
) -> None:
    targets = _output_targets(demo, tmp_path)
    if not targets:
        pytest.skip("a database on a server has no files here")
    (tmp_path / "x.ics").symlink_to(Path(demo).resolve())
    (Path(demo).parent / "sub").mkdir(exist_ok=True)
    before = store_state(demo)
    for what, target in targets.items():
        result = run(certcli_exe, demo, *command, "-o", str(target), actor=actor, now="2027-01-10")
        assert "part of the store" in refused(result, 2), what
        assert store_state(demo) == before, what
    assert (tmp_path / "x.ics").is_symlink()


def test_an_output_beside_the_store_is_written_atomically(certcli_exe: str, demo_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "ana.ics"
    result = run(certcli_exe, demo_store, "calendar", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text().startswith("BEGIN:VCALENDAR")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_migrate_killed_after_writing_its_log_is_run_again_after_the_source_changed(
    certcli_exe: str, demo_store: Path, tmp_path: Path
) -> None:
    """A copy's log is written before its store file: a migrate killed between the two leaves the source's
    history there, which the next migrate takes over, even when the source has had changes since."""
    assert run(certcli_exe, demo_store, "user", "add", "yan", "--name", "Yan", actor="root").returncode == 0
    target = tmp_path / "copy" / "acme.json"
    target.parent.mkdir()
    Path(f"{target}.audit.jsonl").write_bytes(Path(f"{demo_store}.audit.jsonl").read_bytes())  # the kill's leftover
    assert run(certcli_exe, demo_store, "user", "add", "zed", "--name", "Zed", actor="root").returncode == 0

    moved = run(certcli_exe, demo_store, "migrate", "--to", str(target), actor="root")

    assert moved.returncode == 0, moved.stderr
    assert run(certcli_exe, target, "audit", "verify", actor="root").returncode == 0
    other = tmp_path / "other" / "acme.json"
    other.parent.mkdir()
    Path(f"{other}.audit.jsonl").write_bytes(b'{"seq": 1}\n')  # a log that is not this store's history
    assert "holds the audit log of an earlier store" in refused(
        run(certcli_exe, demo_store, "migrate", "--to", str(other), actor="root"), 5
    )


def test_migrate_never_copies_a_store_onto_itself_through_a_link(certcli_exe: str, demo_store: Path) -> None:
    link = demo_store.with_name("same.toml")
    link.symlink_to(demo_store)
    before = demo_store.read_bytes()
    assert "names the store being copied" in refused(run(certcli_exe, demo_store, "migrate", "--to", str(link),
                                                         actor="root"), 2)  # fmt: skip
    assert demo_store.read_bytes() == before


# ---------------------------------------------------------------- a store reached through a link


@pytest.mark.parametrize("ext", ["toml", "json", "db"])
def test_a_store_reached_through_a_link_is_changed_where_it_lives(certcli_exe: str, tmp_path: Path, ext: str) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir(), elsewhere.mkdir()
    real = home / f"acme.{ext}"
    if ext == "db":
        copied(open_store(FIXTURES / "acme.toml"), str(real), "root", datetime(2026, 11, 28, tzinfo=UTC))
    else:
        shutil.copyfile(FIXTURES / f"acme.{ext}", real)
    link = elsewhere / real.name
    link.symlink_to(real)

    result = run(certcli_exe, link, "complete", "security-awareness", "phishing")

    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert sorted(p.name for p in elsewhere.iterdir()) == [real.name], "every file of the store lives beside it"
    shown = json.loads(run(certcli_exe, real, "show", "security-awareness", "--json").stdout)
    assert next(c for c in shown["courses"] if c["id"] == "phishing")["status"] == "completed"
    for location in (link, real):
        assert run(certcli_exe, location, "audit", "verify", actor="root").returncode == 0


# ---------------------------------------------------------------- proofs appear only when whole


def test_an_upload_killed_at_any_moment_never_leaves_a_proof_cut_short(certcli_exe: str, tmp_path: Path) -> None:
    rng = random.Random(13)
    store = tmp_path / "acme.toml"
    shutil.copyfile(FIXTURES / "acme.toml", store)
    source = tmp_path / "big.pdf"
    source.write_bytes(b"%PDF-1.4\n%" + bytes(rng.randrange(256) for _ in range(4096)) * 2000 + b"\n%%EOF\n")
    import hashlib

    name = hashlib.sha256(source.read_bytes()).hexdigest()
    proofs = tmp_path / "acme.proofs"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"CERTCLI_STORE": str(store), "CERTCLI_USER": "ana", "CERTCLI_NOW": NOW})
    killed = 0
    for _ in range(12):
        process = subprocess.Popen(
            [certcli_exe, "upload-proof", "aws-cloud-practitioner", str(source)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.02, 0.3))
        process.send_signal(signal.SIGKILL)
        killed += process.wait() == -signal.SIGKILL
        kept = proofs / name
        assert not kept.exists() or kept.read_bytes() == source.read_bytes(), "a proof appeared before it was whole"
        if kept.exists():
            kept.unlink()  # the next trial starts without it, so every kill is tried against a fresh write
    print(f"killed uploads: 12 tried, {killed} killed mid-command; never a proof cut short under its name")
    result = run(certcli_exe, store, "upload-proof", "aws-cloud-practitioner", str(source))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in proofs.iterdir()] == [name], "the next upload swept what the killed ones left"


def test_doctor_finds_a_damaged_unreferenced_proof_and_an_upload_repairs_it(
    certcli_exe: str, demo_store: Path, tmp_path: Path
) -> None:
    import hashlib

    proofs = tmp_path / "acme.proofs"
    proofs.mkdir(mode=0o700)
    name = hashlib.sha256(PDF).hexdigest()
    (proofs / name).write_bytes(PDF[:20])
    (proofs / name).chmod(0o600)
    (proofs / ".x1y2.tmp").write_bytes(PDF[:10])
    (proofs / ".x1y2.tmp").chmod(0o600)
    report = json.loads(run(certcli_exe, demo_store, "doctor", "--json", actor="root").stdout)
    details = " ".join(check["detail"] for check in report["checks"] if not check["ok"])
    assert f"{name} does not hold the file its name promises" in details
    assert "left by a killed upload" in details
    source = tmp_path / "cert.pdf"
    source.write_bytes(PDF)
    assert run(certcli_exe, demo_store, "upload-proof", "aws-cloud-practitioner", str(source)).returncode == 0
    assert (proofs / name).read_bytes() == PDF and not (proofs / ".x1y2.tmp").exists()


# ---------------------------------------------------------------- what users typed, shown and exported safely

HOSTILE_TEXT = "Mallory \x1b]52;c;aGFja2Vk\x07\x1b[2J\x9b31m\u202e"


def test_text_from_users_never_commands_the_terminal(certcli_exe: str, demo: str) -> None:
    before = store_state(demo)
    added = run(certcli_exe, demo, "user", "add", "mal", "--name", HOSTILE_TEXT, "--manager", "mia", actor="root")
    refused(added, 2)  # a name is one line of text: control characters never enter (docs/stores.md, "Values")
    assert store_state(demo) == before
    reason = f"blurry {HOSTILE_TEXT}\nerror: forged"  # a reason is free text: kept as given, shown safely
    assert run(certcli_exe, demo, "reject", "first-aid-at-work", "ana", "--reason", reason, actor="mia").returncode == 0
    outputs = [
        run(certcli_exe, demo, "show", "first-aid-at-work"),
        run(certcli_exe, demo, "explain", "first-aid-at-work"),
        run(certcli_exe, demo, "history", "first-aid-at-work"),
        run(certcli_exe, demo, "list"),
        run(certcli_exe, demo, "user", "list", actor="root"),
        run(certcli_exe, demo, "report", actor="root"),
        run(certcli_exe, demo, "report", "--format", "json", actor="root"),
        run(certcli_exe, demo, "show", "first-aid-at-work", "--json"),
        run(certcli_exe, demo, "user", "list", "--json", actor="root"),
        run(certcli_exe, demo, "audit", actor="root"),
    ]
    for result in outputs:
        assert result.returncode == 0, result.stderr
        for text in (result.stdout, result.stderr):
            assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), text
            assert not any(line.startswith("error: forged") for line in text.splitlines()), text
    page = json.loads(run(certcli_exe, demo, "show", "first-aid-at-work", "--json").stdout)
    assert page["proof"]["reason"] == reason, "JSON escapes, never alters"


def test_a_report_as_csv_never_hands_a_spreadsheet_a_formula(certcli_exe: str, demo: str) -> None:
    names = ["=1+2", "+SUM(A1:A9)", "-2+3", "@cmd", '=HYPERLINK("http://x")']  # a tab never enters a name
    for index, name in enumerate(names):
        assert run(certcli_exe, demo, "user", "add", f"f{index}", "--name", name, actor="root").returncode == 0
    assigned = run(certcli_exe, demo, "assign", "workplace-safety", *[f"f{i}" for i in range(len(names))], actor="root")
    assert assigned.returncode == 0, assigned.stderr
    result = run(certcli_exe, demo, "report", "--format", "csv", "--cert", "workplace-safety", actor="root")
    assert result.returncode == 0, result.stderr
    rows = {row["user"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    for index, name in enumerate(names):
        cell = rows[f"f{index}"]["name"]
        assert cell == "'" + name and not cell.startswith(("=", "+", "-", "@", "\t")), cell
    assert rows["ana"]["name"] == "Ana Souza", "plain text is left as it is"


# ---------------------------------------------------------------- ids are identifiers, arguments are text


@pytest.mark.parametrize("bad", ["ana\n", "ana ", " ana", "an\ta", "ana\x1b", "ana/../root", ""])
def test_an_id_with_whitespace_or_control_characters_is_refused_everywhere_it_enters(
    certcli_exe: str, demo: str, bad: str
) -> None:
    before = store_state(demo)
    refused(run(certcli_exe, demo, "user", "add", bad, "--name", "Twin", "--role", "admin", actor="root"), 2)
    refused(run(certcli_exe, demo, "course", "add", bad, "--title", "T", actor="root"), 2)
    refused(run(certcli_exe, demo, "define", bad, "--title", "T", "--kind", "external", actor="root"), 2)
    assert store_state(demo) == before


def test_an_id_with_a_newline_in_a_store_file_apply_or_csv_is_refused(
    certcli_exe: str, demo_store: Path, tmp_path: Path
) -> None:
    text = demo_store.read_text()
    damaged = tmp_path / "damaged.toml"
    damaged.write_text(text.replace('id = "ana"', 'id = "ana\\n"', 1))
    assert "users[" in refused(run(certcli_exe, damaged, "list"), 6)
    definitions = tmp_path / "users.json"
    definitions.write_text(json.dumps({"users": [{"id": "ana\n", "name": "Twin", "role": "admin"}]}))
    before = demo_store.read_bytes()
    refused(run(certcli_exe, demo_store, "apply", "-f", str(definitions), actor="root"), 6)
    sheet = tmp_path / "users.csv"
    sheet.write_text('id,name,role\n"ben\x07",Twin,admin\n')
    refused(run(certcli_exe, demo_store, "import", "users", str(sheet), actor="root"), 6)
    assert demo_store.read_bytes() == before


def test_arguments_that_are_not_utf8_are_one_error_and_change_nothing(
    certcli_exe: str, demo: str, tmp_path: Path
) -> None:
    source = Path(os.fsdecode(bytes(tmp_path) + b"/cert-\xff.pdf"))
    source.write_bytes(PDF)
    before = store_state(demo)
    files_before = sorted(tmp_path.rglob("*"))
    cases = [
        ["upload-proof", "aws-cloud-practitioner", os.fsencode(source)],
        ["user", "add", "zed", "--name", b"Z\xffd"],
        ["reject", "first-aid-at-work", "ana", "--reason", b"bad \xfe scan"],
    ]
    for args in cases:
        result = run(certcli_exe, demo, *args, actor="root")
        assert "not UTF-8 text" in refused(result, 2)
    assert store_state(demo) == before
    assert sorted(tmp_path.rglob("*")) == files_before, "no orphan proof file left behind"


# ---------------------------------------------------------------- date arithmetic is total

READING = [["list", "--json"], ["show", "security-awareness", "--json"], ["history", "security-awareness"],
           ["explain", "security-awareness"], ["calendar"], ["report", "--summary", "--format", "json"], ["check"],
           ["review", "--json"], ["badge", "security-awareness"], ["export-xapi"]]  # fmt: skip


def test_every_reading_command_answers_at_the_calendars_edges(certcli_exe: str, demo: str) -> None:
    for now, expected in (("0001-01-01T00:00:00+01:00", {2}), ("9999-12-31T23:59:59-05:00", {2}),
                          ("0001-01-01", {0, 1, 5}), ("9999-12-31T23:59:59Z", {0, 1, 5})):  # fmt: skip
        for command in READING:
            actor = "mia" if command[0] in ("review", "report", "check") else "ana"
            result = run(certcli_exe, demo, *command, actor=actor, now=now)
            assert result.returncode in expected, (now, command, result.stderr)
            if result.returncode == 2:
                assert "outside the years 1 to 9999" in result.stderr, result.stderr


@pytest.mark.parametrize("written", ["9999-12-31T23:59:59-05:00", '"9999-12-31T23:59:59-05:00"'])
def test_a_fact_at_the_calendars_edge_in_a_store_file_is_named_not_a_crash(
    certcli_exe: str, demo_store: Path, written: str
) -> None:
    import re

    text = re.sub(r"at = \d{4}-\d\d-\d\dT[\d:]+Z", f"at = {written}", demo_store.read_text(), count=1)
    demo_store.write_text(text)
    assert "enrollments[" in refused(run(certcli_exe, demo_store, "list"), 6)


# ---------------------------------------------------------------- audit logs that are not what they seem


@pytest.mark.parametrize(("key", "value"), [("actor", ["root"]), ("subject", ["x"]), ("seq", "1"), ("details", 3)])
def test_an_audit_line_of_the_wrong_types_is_named_not_a_crash(
    certcli_exe: str, demo_store: Path, key: str, value: object
) -> None:
    assert run(certcli_exe, demo_store, "complete", "security-awareness", "phishing").returncode == 0
    log = Path(f"{demo_store}.audit.jsonl")
    event = json.loads(log.read_text().splitlines()[0])
    event[key] = value
    log.write_text(json.dumps(event) + "\n")
    listed = run(certcli_exe, demo_store, "audit", actor="root")
    assert listed.returncode == 0 and "line 1" in listed.stderr, listed.stderr
    assert "line 1" in refused(run(certcli_exe, demo_store, "audit", "verify", actor="root"), 6)


# ---------------------------------------------------------------- credentials are never shown or recorded


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://certcli:se/cr3t@127.0.0.1:1/db",
        "postgresql://certcli:se%2Fcr3t@127.0.0.1:1/db",
        "postgresql://127.0.0.1:1/db?user=certcli&password=se/cr3t",
        "postgres://certcli@127.0.0.1:1/db?sslpassword=se%2Fcr3t&password=se/cr3t",
    ],
)
def test_a_password_in_any_form_libpq_takes_is_never_printed(certcli_exe: str, url: str) -> None:
    result = run(certcli_exe, url, "list", now=NOW)
    text = refused(result, 6)
    assert "se/cr3t" not in text and "se%2Fcr3t" not in text and "***" in text, text


def test_a_password_given_as_a_parameter_is_not_recorded_by_migrate_or_shown_by_doctor(
    certcli_exe: str, tmp_path: Path
) -> None:
    if postgres_url() is None:
        pytest.skip("no PostgreSQL server to test against")
    source = tmp_path / "acme.toml"
    shutil.copyfile(FIXTURES / "acme.toml", source)
    with postgres_schema() as schema_url:
        url = f"{schema_url}&password=hunter2-secret"
        moved = run(certcli_exe, source, "migrate", "--to", url, actor="root")
        assert moved.returncode == 0, moved.stderr
        back = tmp_path / "back.json"
        outputs = [
            moved,
            run(certcli_exe, url, "doctor", actor="root"),
            run(certcli_exe, url, "audit", "--json", actor="root"),
            run(certcli_exe, url, "migrate", "--to", str(back), actor="root"),
        ]
        for result in outputs:
            assert "hunter2" not in result.stdout + result.stderr
        assert "hunter2" not in Path(f"{back}.audit.jsonl").read_text() + back.read_text()
        assert "password=***" in Path(f"{back}.audit.jsonl").read_text()


# ---------------------------------------------------------------- no false alarms while others write


def test_audit_verify_and_doctor_raise_no_false_alarm_while_writers_work(certcli_exe: str, demo: str) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"NO_COLOR": "1", "CERTCLI_STORE": demo, "CERTCLI_NOW": NOW, "CERTCLI_LOCK_TIMEOUT": "60"})
    learners = ["ana", "ben", "chloe", "dev"]
    writers = [
        subprocess.Popen(
            [
                "bash",
                "-c",
                f'for i in $(seq 20); do {certcli_exe} --as root org set --name "Acme {who} $i" || exit 1; done',
            ],  # fmt: skip
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in learners
    ]
    checks = alarms = 0
    details: list[str] = []
    while any(writer.poll() is None for writer in writers):
        verify = run(certcli_exe, demo, "audit", "verify", actor="root", now=NOW)
        health = run(certcli_exe, demo, "doctor", "--json", actor="root", now=NOW)
        audit_check = next(c for c in json.loads(health.stdout)["checks"] if c["check"] == "audit")
        checks += 2
        if verify.returncode != 0 or not audit_check["ok"]:
            alarms += 1
            details.append(verify.stderr + audit_check["detail"])
    for writer in writers:
        assert writer.wait() == 0, writer.stderr.read() if writer.stderr else ""
    print(f"false alarms: {checks} checks (audit verify, doctor) while {len(learners)} writers ran: {alarms} alarms")
    assert alarms == 0, details
    assert checks >= 2


# ---------------------------------------------------------------- damaged rows met by remind and completion

ROW_DAMAGE = {
    "malformed facts": "UPDATE enrollments SET facts = '{not json' WHERE user_id = 'ana'",
    "a user that is a list": "UPDATE users SET data = '[1, 2]' WHERE id = 'ana'",
    "a user deleted under their enrollments": "DELETE FROM users WHERE id = 'ana'",
    "a course that is a number": "UPDATE courses SET data = '7'",
}


@pytest.mark.parametrize("damage", ROW_DAMAGE)
def test_remind_and_shell_completion_meet_damaged_rows_without_a_traceback(
    certcli_exe: str, demo_store: Path, tmp_path: Path, damage: str
) -> None:
    import sqlite3

    store = tmp_path / "acme.db"
    assert run(certcli_exe, demo_store, "migrate", "--to", str(store), actor="root").returncode == 0
    with contextlib.closing(sqlite3.connect(store)) as conn, conn:
        conn.execute(ROW_DAMAGE[damage])
    before = store.read_bytes()

    reminded = run(certcli_exe, store, "remind", "--dry-run", actor="root")
    assert "is damaged" in refused(reminded, 6)
    words = f"certcli --store {store} --as ana show "
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"_CERTCLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "4"})
    completed = subprocess.run([certcli_exe], capture_output=True, text=True, env=environment, timeout=60, check=False)
    assert (completed.returncode, completed.stderr) == (0, "")  # offers what it can read, else nothing
    assert store.read_bytes() == before
