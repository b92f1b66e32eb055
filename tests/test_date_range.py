"""Every command at the calendar's edges: with `--now` on its first day (0001-01-01), its last second
(9999-12-31T23:59:59) and, for reports, a February whose twelve coming months leave it (9999-02-01),
each exits 0 or with one `error:` line and its exit code, never a traceback, and every store it wrote
reads back afterwards (docs/rules.md, "The calendar's range").

The commands come from the command line itself: a command added to certcli and not to `steps` below
fails `test_every_command_is_tried_at_the_edges`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import typer.main
from test_remind import MailServer, free_port
from typer.testing import CliRunner, Result

from certcli.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIRST_DAY, LAST_SECOND, LAST_FEBRUARY = "0001-01-01", "9999-12-31T23:59:59", "9999-02-01"
EDGES = (FIRST_DAY, LAST_SECOND)
PDF = b"%PDF-1.4\n%" + b"p" * 64 + b"\n%%EOF\n"
DEMO = "demo"  # a step's store: the demo store's copy, unless it names another file in the test's folder


class Step(NamedTuple):
    """`certcli --as ACTOR ARGS` on `store`; it must exit with one of `codes`."""

    actor: str
    args: list[str]
    codes: frozenset[int] = frozenset({0})
    store: str = DEMO


def command_names() -> list[str]:
    """Every command the command line has, as typed: `list`, `user add`, `audit` (a group that runs alone)."""

    def walk(command: Any, path: list[str]) -> Iterator[str]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None or (path and getattr(command, "invoke_without_command", False)):
            yield " ".join(path)
        for name, subcommand in (subcommands or {}).items():
            yield from walk(subcommand, [*path, name])

    return sorted(walk(typer.main.get_command(app), []))


def inputs(folder: Path, day: str) -> None:
    """The files the steps read: a proof, CSV files and a definitions file dated `day`."""
    (folder / "proof.pdf").write_bytes(PDF)
    (folder / "users.csv").write_text("id,name,role,manager\nzoe,Zoe Ng,learner,mia\n")
    (folder / "assignments.csv").write_text(f"certification,user,due\nworkplace-safety,zoe,{day}\n")
    completions = f"certification,user,course,completed_on\ncloud-foundations,hana,cloud-intro,{day}\n"
    (folder / "completions.csv").write_text(completions)
    (folder / "definitions.toml").write_text(
        '[[courses]]\nid = "c9"\ntitle = "C9"\n\n'
        '[[certifications]]\nid = "x9"\ntitle = "X9"\nkind = "internal"\ncourses = [{ id = "c9" }]\n'
        "validity_months = 1200\nrenewal_window_days = 36500\ndeadline_days = 36500\n\n"
        f'[[assignments]]\ncertification = "x9"\nusers = ["ana"]\ndue = "{day}"\n'
    )


def steps(folder: Path, day: str) -> dict[str, list[Step]]:
    """Each command's steps at the evaluation day `day`: the command itself, after what it needs made on
    that day (an enrolment, a proof, a key, a group), so the write paths run at the edge too."""
    key, fresh = str(folder / "key.json"), "fresh.toml"
    keygen = Step("root", ["org", "keygen", "-o", key])
    started = [Step("ana", ["start", "cloud-foundations"])]
    completed = [*started, *(Step("ana", ["complete", "cloud-foundations", c]) for c in ("cloud-intro", "k8s-basics"))]
    proved = [Step("ana", ["start", "ckad"]), Step("ana", ["upload-proof", "ckad", str(folder / "proof.pdf")])]
    lasting = ["--recurring", "1200", "--renewal-window", "36500", "--deadline-days", "36500"]
    defined = [Step("root", ["define", "x1", "--title", "X1", "--kind", "internal", "--course", "phishing", *lasting])]
    grouped = [Step("root", ["group", "add", "g1", "--name", "G1"])]
    built = [
        Step("boss", ["init", "--admin", "boss"], store=fresh),
        Step("boss", ["course", "add", "c1", "--title", "C1"], store=fresh),
        Step("boss", ["define", "x", "--title", "X", "--kind", "internal", "--course", "c1", "--recurring", "1200",
                      "--deadline-days", "36500", "--self-enroll"], store=fresh),  # fmt: skip
        Step("boss", ["start", "x"], store=fresh),
        Step("boss", ["complete", "x", "c1"], store=fresh),
    ]
    return {
        "init": built,
        "catalog": [*started, Step("ana", ["catalog"])],
        "define": defined,
        "assign": [*defined, Step("root", ["assign", "x1", "ben", "--due", day])],
        "list": [*started, Step("ana", ["list"]), Step("ana", ["list", "--pending", "--json"])],
        "sort": [*started, Step("ana", ["sort", "due"])],
        "show": [*started, Step("ana", ["show", "cloud-foundations"])],
        "start": started,
        "complete": completed,
        "upload-proof": proved,
        "review": [*proved, Step("mia", ["review"])],
        "approve": [*proved, Step("mia", ["approve", "ckad", "ana"])],
        "reject": [*proved, Step("mia", ["reject", "ckad", "ana", "--reason", "blurred"])],
        "revoke": [*completed, Step("root", ["revoke", "cloud-foundations", "ana", "--reason", "left"])],
        "history": [*proved, Step("mia", ["approve", "ckad", "ana"]), Step("ana", ["history", "ckad"])],
        "explain": [*proved, Step("mia", ["approve", "ckad", "ana"]), Step("ana", ["explain", "ckad"])],
        "apply": [Step("root", ["apply", "-f", str(folder / "definitions.toml")])],
        "export": [Step("root", ["apply", "-f", str(folder / "definitions.toml")]), Step("root", ["export"])],
        "import": [
            Step("root", ["import", "users", str(folder / "users.csv")]),
            Step("root", ["import", "assignments", str(folder / "assignments.csv")]),
            Step("root", ["import", "completions", str(folder / "completions.csv")]),
        ],
        "report": [
            *completed,
            Step("root", ["report"]),
            Step("root", ["report", "--summary", "--format", "json"]),
            Step("root", ["report", "--expiring-within", "36500", "--format", "csv"]),
            Step("root", ["report", "--format", "html", "-o", str(folder / "report.html")]),
        ],
        "check": [*completed, Step("root", ["check"], frozenset({0, 1}))],  # 1: the demo's findings
        "export-xapi": [*completed, Step("root", ["export-xapi", "--since", day])],
        "remind": [
            Step("root", ["org", "set", "--mail-from", "certs@acme.example"]),
            *defined,
            Step("root", ["assign", "x1", "ben", "--due", day]),
            Step("root", ["remind", "--dry-run"]),
            Step("root", ["remind", "--json"]),
        ],
        "doctor": [*built, Step("boss", ["doctor"], store=fresh)],
        "migrate": [*completed, Step("root", ["migrate", "--to", str(folder / "copy.db")])],
        "badge": [*completed, keygen, Step("ana", ["badge", "cloud-foundations", "--sign", key])],
        "calendar": [*defined, Step("root", ["assign", "x1", "ana", "--due", day]), Step("ana", ["calendar"])],
        "user add": [Step("root", ["user", "add", "zed", "--name", "Zed"])],
        "user list": [Step("root", ["user", "list"])],
        "user set": [Step("root", ["user", "set", "ben", "--name", "Ben C"])],
        "user deactivate": [Step("root", ["user", "deactivate", "ben", "--reason", "left"])],
        "user reactivate": [Step("root", ["user", "deactivate", "ben", "--reason", "left"]),
                            Step("root", ["user", "reactivate", "ben"])],  # fmt: skip
        "course add": [Step("root", ["course", "add", "c8", "--title", "C8"])],
        "course list": [Step("root", ["course", "list"])],
        "group add": grouped,
        "group list": [*grouped, Step("root", ["group", "list"])],
        "group show": [*grouped, Step("root", ["group", "show", "g1"])],
        "group members": [*grouped, Step("root", ["group", "members", "g1", "--add", "ben"])],
        "group auto-assign": [*grouped, Step("root", ["group", "members", "g1", "--add", "ben"]),
                              Step("root", ["group", "auto-assign", "g1", "cloud-foundations"])],  # fmt: skip
        "proof get": [*proved, Step("mia", ["proof", "get", "ckad", "ana", "-o", str(folder / "got.pdf")])],
        "org show": [Step("root", ["org", "show"])],
        "org set": [Step("root", ["org", "set", "--name", "Acme"])],
        "org keygen": [keygen],
        "audit": [*completed, Step("root", ["audit", "--since", day])],
        "audit verify": [*completed, Step("root", ["audit", "verify"])],
        "audit checkpoint": [*completed, keygen, Step("root", ["audit", "checkpoint", "--key", key]),
                             Step("root", ["audit", "verify", "--key", key])],  # fmt: skip
    }


@pytest.fixture(scope="module")
def mail_server() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


def certcli(store: str, actor: str, now: str, args: list[str], mail_url: str) -> Result:
    environment = {"CERTCLI_SMTP_URL": mail_url, "CERTCLI_CACHE_DIR": ""}
    result = CliRunner().invoke(app, ["--store", store, "--as", actor, "--now", now, *args], env=environment)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_outcome(result: Result, step: Step) -> None:
    """Exit 0 (or a code the step allows), or an `error:` line, at most a `hint:`, and its exit code."""
    assert result.exit_code in step.codes, (step.args, result.exit_code, result.stderr)
    if result.exit_code > 1:
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("error: ") and all(line.startswith(("error: ", "hint: ")) for line in lines)


def assert_reads_back(store: str, actor: str, now: str, mail_url: str) -> None:
    """The store loads at the edge and at an ordinary day, and its audit trail verifies."""
    for when in (now, "2026-11-28"):
        listed = certcli(store, actor, when, ["list", "--json"], mail_url)
        assert listed.exit_code == 0, (when, listed.stderr)
    verified = certcli(store, actor, now, ["audit", "verify"], mail_url)
    assert verified.exit_code == 0, verified.stderr


def test_every_command_is_tried_at_the_edges(tmp_path: Path) -> None:
    assert sorted(steps(tmp_path, FIRST_DAY)) == command_names()


CASES = [(name, now) for name in command_names() for now in EDGES] + [("report", LAST_FEBRUARY)]


@pytest.mark.parametrize(("command", "now"), CASES, ids=[f"{name}@{now}" for name, now in CASES])
def test_every_command_at_the_calendars_edges(
    tmp_path: Path, mail_server: MailServer, command: str, now: str
) -> None:
    demo = tmp_path / "acme.toml"
    shutil.copyfile(FIXTURES / "acme.toml", demo)
    inputs(tmp_path, now[:10])
    written = {str(demo): "root"}
    for step in steps(tmp_path, now[:10])[command]:
        store = str(demo) if step.store == DEMO else str(tmp_path / step.store)
        assert_outcome(certcli(store, step.actor, now, step.args, mail_server.url), step)
        written.setdefault(store, step.actor)
    if (tmp_path / "copy.db").exists():
        written[str(tmp_path / "copy.db")] = "root"
    for store, actor in written.items():
        assert_reads_back(store, actor, now, mail_server.url)


@pytest.mark.parametrize("now", [*EDGES, LAST_FEBRUARY])
def test_changes_and_reports_at_the_calendars_edges_on_every_backend(
    demo: str, tmp_path: Path, mail_server: MailServer, now: str
) -> None:
    """Start, complete, upload, approve, remind and report at the edge, on every backend."""
    inputs(tmp_path, now[:10])
    planned = steps(tmp_path, now[:10])
    for step in [*planned["approve"], *planned["remind"], *planned["report"], planned["check"][-1]]:
        assert_outcome(certcli(demo, step.actor, now, step.args, mail_server.url), step)
    assert "Completions ending in the next" in (tmp_path / "report.html").read_text()
    assert_reads_back(demo, "root", now, mail_server.url)
