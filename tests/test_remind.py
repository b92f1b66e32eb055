"""`certcli remind` against a real SMTP server (aiosmtpd, started by each test on 127.0.0.1), on every backend.

On the demo store at 2026-11-28 seven learners have a reminder due (ana three, ben two) and both managers
a digest: nine messages. The tests read what the server received, run again, move `--now` on, make the
server refuse a recipient or stop it, and race two processes.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from backends import store_state
from typer.testing import CliRunner, Result

from certcli.cli import app
from certcli.errors import UsageError
from certcli.mail import Server, server_from_url

DEMO_NOW = "2026-11-28"
SENDER = "Acme Certifications <certcli@acme.example>"
LEARNERS = {
    "ana.souza@acme.example",
    "ben.carter@acme.example",
    "dev.patel@acme.example",
    "eli.goldberg@acme.example",
    "fatima.benali@acme.example",
    "gustavo.reyes@acme.example",
    "hana.kobayashi@acme.example",
}
MANAGERS = {"mia.lindqvist@acme.example", "omar.haddad@acme.example"}
PASSWORD = "s3cret-Pa55word"


# ---------------------------------------------------------------- the mail server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Handler:
    """Keeps what it receives; refuses the recipients in `refused` with 550; takes `delay` seconds to
    answer each message."""

    def __init__(self, delay: float = 0.0) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refused: set[str] = set()
        self.delay = delay

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        await asyncio.sleep(self.delay)
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} messages came"
            time.sleep(0.02)

    def recipients(self) -> list[str]:
        return [to for rcpt_tos, _ in self.received for to in rcpt_tos]

    def to(self, address: str) -> EmailMessage:
        found = [message for rcpt_tos, message in self.received if address in rcpt_tos]
        assert len(found) == 1, f"{len(found)} messages to {address}"
        return found[0]


class MailServer:
    def __init__(self, port: int, delay: float = 0.0) -> None:
        self.port, self.handler = port, Handler(delay)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


SLOW = 0.6  # seconds the slow server takes to answer each message: a run of the demo's nine takes 5.4 s


@pytest.fixture
def slow_smtp() -> Iterator[MailServer]:
    server = MailServer(free_port(), SLOW)
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------- running certcli

runner = CliRunner()


def cli(store: str, *args: str, url: str | None = None, now: str = DEMO_NOW, actor: str = "root", **env: str) -> Result:
    environment = {"CERTCLI_SMTP_URL": url, "CERTCLI_CACHE_DIR": "", **env}  # no cache beside the store
    result = runner.invoke(app, ["--store", store, "--as", actor, "--now", now, *args], env=environment)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def remind(store: str, url: str | None, now: str = DEMO_NOW, *args: str, code: int = 0, **env: str) -> dict[str, Any]:
    result = cli(store, "remind", "--json", *args, url=url, now=now, **env)
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def store(demo: str) -> str:
    """The demo store, with the sender's address set."""
    assert cli(demo, "org", "set", "--mail-from", SENDER).exit_code == 0
    return demo


def reminders_of(data: dict[str, Any], to: str) -> list[tuple[str, str, str, int]]:
    (message,) = [item for item in data["sent"] if item["to"] == to]
    return [(r["user"], r["certification"], r["kind"], r["threshold"]) for r in message["reminders"]]


def audit(store: str) -> list[dict[str, Any]]:
    result = cli(store, "audit", "--json")
    assert result.exit_code == 0, result.stderr
    return [event for event in json.loads(result.stdout) if event["action"] == "remind"]


# ---------------------------------------------------------------- messages


def test_each_learner_gets_one_message_and_each_manager_a_digest(store: str, smtp: MailServer) -> None:
    data = remind(store, smtp.url)
    assert sorted(smtp.handler.recipients()) == sorted(LEARNERS | MANAGERS)
    assert {item["to"] for item in data["sent"]} == LEARNERS | MANAGERS
    assert (data["failed"], data["skipped"], data["dry_run"]) == ([], [], False)
    message = smtp.handler.to("ana.souza@acme.example")
    assert message["Subject"] == "Reminder: 3 certifications need your attention"
    assert message["From"] == SENDER
    assert message["To"] == "Ana Souza <ana.souza@acme.example>"
    assert message["Message-ID"].endswith("@acme.example>") and message["Date"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Security Awareness (security-awareness)" in part
        assert "Workplace Health and Safety (workplace-safety)" in part
        assert "Run: certcli start workplace-safety" in part
        assert "Due in 6 days, on 2026-12-04" in part
    assert "Left: course fire-safety (Fire Safety and Evacuation); course manual-handling" in text
    assert reminders_of(data, "ana.souza@acme.example") == [
        ("ana", "security-awareness", "overdue", 22),
        ("ana", "compliance-annual", "overdue", 85),
        ("ana", "workplace-safety", "due", 7),
    ]


def test_subject_body_and_output_tell_the_same_days(store: str, smtp: MailServer) -> None:
    result = cli(store, "remind", url=smtp.url)
    assert result.exit_code == 0, result.stderr
    told = {}
    for rcpt_tos, message in smtp.handler.received:
        subject, text = message["Subject"], message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        if not subject.startswith("Reminder: ") or "need your attention" in subject:
            continue  # digests and messages of several reminders name no day in their subject
        words = subject.split(": ", 2)[2]
        assert words[0].upper() + words[1:] in text and words[0].upper() + words[1:] in html
        assert f"Sent to {rcpt_tos[0]}: {subject}" in result.stdout
        assert f"): {words}\n" in result.stdout
        told[rcpt_tos[0]] = words
    assert told["eli.goldberg@acme.example"] == "overdue since 2026-04-28 (214 days)"
    assert told["dev.patel@acme.example"] == "due in 4 days, on 2026-12-02"
    assert "  dev security-awareness (cycle 1): due in 4 days, on 2026-12-02" in result.stdout
    data = remind(store, None, "2026-12-05", "--dry-run")  # the 218-day mark reached 221 days late
    (eli,) = [item["reminders"] for item in data["sent"] if item["to"] == "eli.goldberg@acme.example"]
    assert [(r["kind"], r["threshold"], r["days"], r["date"]) for r in eli] == [("overdue", 218, 221, "2026-04-28")]


def test_a_manager_digest_lists_the_direct_reports_reminders(store: str, smtp: MailServer) -> None:
    data = remind(store, smtp.url)
    digest = smtp.handler.to("mia.lindqvist@acme.example")
    assert digest["Subject"] == "Certification reminders for your team: 6 for 3 direct reports"
    text = digest.get_body(("plain",)).get_content()
    for line in ("Ana Souza (ana): Security Awareness", "Ben Carter (ben): Annual Compliance", "Dev Patel (dev)"):
        assert line in text
    assert {user for user, *_ in reminders_of(data, "mia.lindqvist@acme.example")} == {"ana", "ben", "dev"}


def test_a_run_again_sends_nothing_and_each_message_is_one_audit_event(store: str, smtp: MailServer) -> None:
    first = remind(store, smtp.url)
    again = remind(store, smtp.url)
    assert again["sent"] == [] and again["failed"] == []
    assert len(smtp.handler.received) == 9
    events = audit(store)
    assert len(events) == 9
    by_recipient = {event["subject"]["user"]: event["details"] for event in events}
    assert by_recipient["ana"]["to"] == "ana.souza@acme.example"
    sent = {item["to"]: item["reminders"] for item in first["sent"]}
    assert by_recipient["ana"]["reminders"] == sent["ana.souza@acme.example"]
    assert cli(store, "audit", "verify").exit_code == 0


def test_the_next_threshold_goes_days_later(store: str, smtp: MailServer) -> None:
    remind(store, smtp.url)
    later = remind(store, smtp.url, "2026-12-02")
    assert reminders_of(later, "hana.kobayashi@acme.example") == [("hana", "security-awareness", "due", 7)]
    assert ("hana", "security-awareness", "due", 7) in reminders_of(later, "omar.haddad@acme.example")
    # Ana: her two overdue ones a week on, and a new one 14 days out; workplace-safety's 7-day reminder went already.
    assert reminders_of(later, "ana.souza@acme.example") == [
        ("ana", "security-awareness", "overdue", 29),
        ("ana", "compliance-annual", "overdue", 92),
        ("ana", "aws-cloud-practitioner", "due", 14),
    ]
    assert remind(store, smtp.url, "2026-12-02")["sent"] == []


def test_thresholds_missed_over_a_long_gap_give_one_message(store: str, smtp: MailServer) -> None:
    # Nobody ran remind before 1 December: dev's security-awareness (due 2 December) passed 14 and 7.
    data = remind(store, smtp.url, "2026-12-01")
    assert reminders_of(data, "dev.patel@acme.example") == [("dev", "security-awareness", "due", 1)]
    assert len(smtp.handler.received) == len(data["sent"]) == len({item["to"] for item in data["sent"]})
    # The due date itself: the 1-day reminder went already.
    assert "dev.patel@acme.example" not in {item["to"] for item in remind(store, smtp.url, "2026-12-02")["sent"]}


# ---------------------------------------------------------------- failures


def test_a_refused_recipient_is_named_and_only_that_message_goes_next_run(store: str, smtp: MailServer) -> None:
    smtp.handler.refused.add("ben.carter@acme.example")
    result = cli(store, "remind", "--json", url=smtp.url)
    assert result.exit_code == 6, result.stderr
    data = json.loads(result.stdout)
    assert [item["to"] for item in data["failed"]] == ["ben.carter@acme.example"]
    assert "550" in data["failed"][0]["error"] and "mailbox unavailable" in data["failed"][0]["error"]
    assert "error: 1 of 9 message(s) were not sent" in result.stderr
    assert "to ben.carter@acme.example: the mail server refused it" in result.stderr
    assert "hint:" in result.stderr
    assert len(data["sent"]) == 8
    smtp.handler.refused.clear()
    again = remind(store, smtp.url)
    assert [item["to"] for item in again["sent"]] == ["ben.carter@acme.example"]
    assert remind(store, smtp.url)["sent"] == []


def test_a_server_that_is_down_records_nothing_and_everything_goes_once_it_is_up(store: str) -> None:
    down = MailServer(free_port())
    before = store_state(store)
    data = remind(store, down.url, code=6)
    assert data["sent"] == [] and len(data["failed"]) == 9
    assert all("cannot" in item["error"] or "not sent" in item["error"] for item in data["failed"])
    assert store_state(store) == before
    down.start()
    try:
        assert len(remind(store, down.url)["sent"]) == 9
        assert sorted(down.handler.recipients()) == sorted(LEARNERS | MANAGERS)
    finally:
        down.stop()


def test_without_a_mail_server_remind_is_a_usage_error(store: str) -> None:
    before = store_state(store)
    result = cli(store, "remind")
    assert result.exit_code == 2
    assert "error: no mail server: CERTCLI_SMTP_URL is not set" in result.stderr
    assert "hint: set CERTCLI_SMTP_URL=smtp://HOST[:PORT]" in result.stderr
    assert store_state(store) == before


def test_without_a_sender_address_nothing_is_sent(demo: str, smtp: MailServer) -> None:
    result = cli(demo, "remind", url=smtp.url)
    assert result.exit_code == 5
    assert "org set --mail-from" in result.stderr
    assert smtp.handler.received == []


def test_only_an_admin_sends_reminders(store: str, smtp: MailServer) -> None:
    assert cli(store, "remind", url=smtp.url, actor="mia").exit_code == 4
    assert smtp.handler.received == []


def test_the_password_is_never_shown(store: str, smtp: MailServer) -> None:
    # aiosmtpd offers no AUTH without TLS: logging in fails, and the failure must not carry the password.
    url = f"smtp://certcli%40acme.example@127.0.0.1:{smtp.port}"
    result = cli(store, "remind", "--json", url=url, CERTCLI_SMTP_PASSWORD=PASSWORD)
    assert result.exit_code == 6
    assert PASSWORD not in result.stdout + result.stderr
    with_password = cli(store, "remind", url=f"smtp://user:{PASSWORD}@127.0.0.1:{smtp.port}")
    assert with_password.exit_code == 2
    assert PASSWORD not in with_password.stdout + with_password.stderr
    assert "CERTCLI_SMTP_PASSWORD" in with_password.stderr


class EchoingAuth(SMTP):
    """A careless server: refuses every login with 535 and the AUTH line it got, the password's line of
    AUTH LOGIN too."""

    async def smtp_AUTH(self, arg: str) -> None:
        if arg.upper().startswith("LOGIN"):
            answer = await self.challenge_auth("Password:")
            arg += " " + base64.b64encode(answer if isinstance(answer, bytes) else b"").decode("ascii")
        await self.push(f"535 5.7.8 AUTH {arg} is not accepted")


class EchoingController(Controller):
    def factory(self) -> SMTP:
        return EchoingAuth(self.handler, **self.SMTP_kwargs)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_server_echoing_the_login_gets_no_form_of_the_password_shown(store: str, mechanism: str) -> None:
    user, port = "certcli@acme.example", free_port()
    excluded = [other for other in ("PLAIN", "LOGIN") if other != mechanism]
    server = EchoingController(Handler(), hostname="127.0.0.1", port=port, auth_require_tls=False,
                               auth_exclude_mechanism=excluded)  # fmt: skip
    server.start()
    try:
        before = store_state(store)
        url = f"smtp://certcli%40acme.example@127.0.0.1:{port}"
        result = cli(store, "remind", "--json", url=url, CERTCLI_SMTP_PASSWORD=PASSWORD)
    finally:
        server.stop()
    assert result.exit_code == 6, result.stderr
    shown = result.stdout + result.stderr
    assert f"535 5.7.8 AUTH {mechanism} ***" in shown  # the echo is there, the secret is not
    forms = [PASSWORD, b64(f"\0{user}\0{PASSWORD}"), b64(PASSWORD), b64(user)]
    for form in forms:
        assert form.rstrip("=") not in shown
    assert store_state(store) == before


def test_a_password_smtp_cannot_send_is_a_failure_naming_no_character_of_it(store: str) -> None:
    port = free_port()
    server = EchoingController(Handler(), hostname="127.0.0.1", port=port, auth_require_tls=False)
    server.start()
    try:
        url = f"smtp://bot@127.0.0.1:{port}"
        result = cli(store, "remind", url=url, CERTCLI_SMTP_PASSWORD="pässwörd")
    finally:
        server.stop()
    assert result.exit_code == 6, result.stderr
    assert "the user name and password must be ASCII" in result.stderr
    assert "ä" not in result.stderr and "\\xe4" not in result.stderr


# ---------------------------------------------------------------- dry run, skipped users


def test_a_dry_run_prints_the_messages_and_sends_and_records_nothing(store: str, smtp: MailServer) -> None:
    before = store_state(store)
    text = cli(store, "remind", "--dry-run")
    assert text.exit_code == 0, text.stderr
    assert "Would send to ana.souza@acme.example: Reminder: 3 certifications need your attention" in text.stdout
    assert "  ana workplace-safety (cycle 1): due in 6 days, on 2026-12-04" in text.stdout
    data = remind(store, None, DEMO_NOW, "--dry-run")
    assert data["dry_run"] is True and len(data["sent"]) == 9
    assert store_state(store) == before
    assert smtp.handler.received == []


def test_deactivated_users_and_users_without_an_address_get_nothing_and_are_listed(
    store: str, smtp: MailServer
) -> None:
    assert cli(store, "user", "set", "ben", "--email", "").exit_code == 0
    assert cli(store, "user", "deactivate", "eli", "--reason", "left").exit_code == 0
    data = remind(store, smtp.url)
    assert {"user": "ben", "reason": "no e-mail address"} in data["skipped"]
    assert {"user": "eli", "reason": "deactivated"} in data["skipped"]
    assert "ben.carter@acme.example" not in smtp.handler.recipients()
    assert "eli.goldberg@acme.example" not in smtp.handler.recipients()
    # Ben's manager still hears of him; Eli has left every report, digests included.
    assert "ben" in {user for user, *_ in reminders_of(data, "mia.lindqvist@acme.example")}
    assert "eli" not in {user for user, *_ in reminders_of(data, "omar.haddad@acme.example")}


def test_an_address_the_mail_standards_refuse_is_skipped_not_failed(store: str, smtp: MailServer) -> None:
    assert cli(store, "user", "set", "dev", "--email", "dev at acme").exit_code == 2  # not an address: refused
    assert cli(store, "user", "set", "dev", "--email", "dév@acme.example").exit_code == 0  # SMTP carries no such one
    data = remind(store, smtp.url)
    assert {"user": "dev", "reason": "e-mail address 'dév@acme.example' not usable"} in data["skipped"]
    assert data["failed"] == [] and len(data["sent"]) == 8


def test_names_and_subjects_in_any_script_travel_as_utf8(store: str, smtp: MailServer) -> None:
    assert cli(store, "user", "set", "ana", "--name", "Ána Žáková 安娜").exit_code == 0
    assert cli(store, "org", "set", "--name", "Acme Société").exit_code == 0
    remind(store, smtp.url)
    message = smtp.handler.to("ana.souza@acme.example")
    assert message["To"] == "Ána Žáková 安娜 <ana.souza@acme.example>"
    assert "Hello Ána Žáková 安娜," in message.get_body(("plain",)).get_content()
    assert "Acme Société" in message.get_body(("html",)).get_content()


# ---------------------------------------------------------------- two runs at once


def test_two_runs_at_once_send_each_reminder_once(store: str, smtp: MailServer, certcli_exe: str) -> None:
    env = {**os.environ, "CERTCLI_SMTP_URL": smtp.url, "CERTCLI_LOCK_TIMEOUT": "60"}
    command = [certcli_exe, "--store", store, "--as", "root", "--now", DEMO_NOW, "remind", "--json"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in results]
    sent = [item["to"] for out, _ in results for item in json.loads(out)["sent"]]
    assert sorted(sent) == sorted(LEARNERS | MANAGERS)
    assert sorted(smtp.handler.recipients()) == sorted(LEARNERS | MANAGERS)
    assert len(audit(store)) == 9


# ---------------------------------------------------------------- a run and the changes made meanwhile


def start_remind(store: str, server: MailServer, certcli_exe: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CERTCLI_SMTP_URL": server.url, "CERTCLI_CACHE_DIR": ""}
    command = [certcli_exe, "--store", store, "--as", "root", "--now", DEMO_NOW, "remind", "--json"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(run: subprocess.Popen[bytes]) -> dict[str, Any]:
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_run_holds_other_writers_out_for_one_message_at_most(
    store: str, slow_smtp: MailServer, certcli_exe: str
) -> None:
    run = start_remind(store, slow_smtp, certcli_exe)
    slow_smtp.handler.wait_for(1)
    env = {**os.environ, "CERTCLI_CACHE_DIR": "", "CERTCLI_LOCK_TIMEOUT": "30"}
    command = [certcli_exe, "--store", store, "--as", "ana", "--now", DEMO_NOW, "complete", "workplace-safety",
               "fire-safety"]  # fmt: skip
    started = time.monotonic()
    learner = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    waited = time.monotonic() - started
    assert learner.returncode == 0, learner.stderr
    assert run.poll() is None, "the learner's change waited for the whole run"
    assert waited < 5 * SLOW, f"the learner's change waited {waited:.1f} s"
    assert len(slow_smtp.handler.received) < 9
    assert len(finished(run)["sent"]) == 9
    assert sorted(slow_smtp.handler.recipients()) == sorted(LEARNERS | MANAGERS)
    assert len(audit(store)) == 9


def test_a_run_mails_users_as_they_are_when_their_message_goes(
    store: str, slow_smtp: MailServer, certcli_exe: str
) -> None:
    # The run sends hana's message seventh, mia's digest eighth, omar's (listing hana) ninth.
    run = start_remind(store, slow_smtp, certcli_exe)
    slow_smtp.handler.wait_for(1)
    assert cli(store, "user", "deactivate", "hana", "--reason", "left").exit_code == 0
    assert cli(store, "user", "set", "mia", "--email", "mia@new.example").exit_code == 0
    assert len(slow_smtp.handler.received) < 7, "the changes came too late to tell"
    data = finished(run)
    recipients = slow_smtp.handler.recipients()
    assert "hana.kobayashi@acme.example" not in recipients
    assert "mia.lindqvist@acme.example" not in recipients
    assert recipients.count("mia@new.example") == 1
    assert {"user": "hana", "reason": "deactivated"} in data["skipped"]
    assert "hana" not in {user for user, *_ in reminders_of(data, "omar.haddad@acme.example")}
    assert "Hana" not in slow_smtp.handler.to("omar.haddad@acme.example").get_body(("plain",)).get_content()
    assert {event["details"]["to"] for event in audit(store)} == (LEARNERS | MANAGERS) - {
        "hana.kobayashi@acme.example", "mia.lindqvist@acme.example"} | {"mia@new.example"}  # fmt: skip


# ---------------------------------------------------------------- the schedule


def test_the_schedule_is_shown_set_exported_and_applied(store: str, tmp_path: Path) -> None:
    shown = json.loads(cli(store, "org", "show", "--json", actor="ana").stdout)["reminders"]
    assert shown == {"before_due": [14, 7, 1], "before_expiry": [30, 7], "overdue_every": 7, "mail_from": SENDER}
    changed = cli(store, "org", "set", "--remind-before-due", "3,10", "--remind-before-expiry", "",
                  "--remind-overdue-every", "0", "--json")  # fmt: skip
    assert changed.exit_code == 0, changed.stderr
    assert json.loads(changed.stdout)["reminders"] == {
        "before_due": [10, 3], "before_expiry": [], "overdue_every": 0, "mail_from": SENDER
    }  # fmt: skip
    exported = tmp_path / "defs.toml"
    assert cli(store, "export", "-o", str(exported)).exit_code == 0
    assert "[org.reminders]" in exported.read_text()
    assert cli(store, "org", "set", "--remind-before-due", "14,7,1").exit_code == 0
    applied = cli(store, "apply", "-f", str(exported))
    assert applied.exit_code == 0 and "~ org reminders: before_due" in applied.stdout + applied.stderr
    assert json.loads(cli(store, "org", "show", "--json").stdout)["reminders"]["before_due"] == [10, 3]
    assert "No changes" in cli(store, "apply", "-f", str(exported)).stderr


def test_a_schedule_switched_off_sends_no_overdue_reminders(store: str) -> None:
    assert cli(store, "org", "set", "--remind-overdue-every", "0").exit_code == 0
    data = remind(store, None, DEMO_NOW, "--dry-run")
    kinds = {r["kind"] for item in data["sent"] for r in item["reminders"]}
    assert kinds == {"due"}


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--remind-before-due", "7,x"),
        ("--remind-before-due", "-1"),
        ("--remind-before-expiry", "7,,1"),
        ("--remind-overdue-every", "-3"),
        ("--mail-from", "not an address"),
    ],
)
def test_a_bad_schedule_is_a_usage_error_and_changes_nothing(store: str, option: str, value: str) -> None:
    before = store_state(store)
    result = cli(store, "org", "set", option, value)
    assert result.exit_code == 2, result.stderr
    assert store_state(store) == before


# ---------------------------------------------------------------- the server's address


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", Server("smtp", "mail.example", 25, None)),
        ("smtp+starttls://certcli%40acme.example@mail.example", Server("smtp+starttls", "mail.example", 587,
                                                                        "certcli@acme.example")),
        ("smtps://bot@mail.example:2465", Server("smtps", "mail.example", 2465, "bot")),
    ],
)  # fmt: skip
def test_the_server_comes_from_a_url(url: str, expected: Server) -> None:
    assert server_from_url(url) == expected


@pytest.mark.parametrize(
    "url", ["http://mail.example", "smtp://", "smtp://mail.example:99999", "smtp://mail.example/x", "mail.example"]
)
def test_anything_else_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError):
        server_from_url(url)
