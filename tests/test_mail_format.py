"""Reminder e-mails as `certcli.formats.mail` builds them: words, parts and headers, with no server."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from certcli.formats import mail

TODAY = date(2026, 11, 28)


def item(kind: str, on: date, learner: str = "ana", title: str = "Sécurité") -> mail.Item:
    days = (on - TODAY).days * (-1 if kind == "overdue" else 1)
    return mail.Item(learner, "Ana Souza", "sec", title, kind, on, days, "started", ["course a (A)"],
                     "certcli start sec")  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "on", "words"),
    [
        ("due", date(2026, 11, 28), "Due today, on 2026-11-28"),
        ("due", date(2026, 11, 29), "Due tomorrow, on 2026-11-29"),
        ("due", date(2026, 12, 5), "Due in 7 days, on 2026-12-05"),
        ("expiry", date(2026, 12, 28), "Expires in 30 days, on 2026-12-28"),
        ("overdue", date(2026, 11, 27), "Overdue since 2026-11-27 (1 day)"),
        ("overdue", date(2026, 2, 28), "Overdue since 2026-02-28 (273 days)"),
    ],
)
def test_what_falls_on_which_day(kind: str, on: date, words: str) -> None:
    told = item(kind, on)
    assert mail.when(told.kind, told.on.isoformat(), told.days) == words


def test_subjects_name_one_certification_or_count_them() -> None:
    one = [item("due", date(2026, 12, 5))]
    assert mail.subject(one, digest=False) == "Reminder: Sécurité: due in 7 days, on 2026-12-05"
    two = [*one, item("overdue", date(2026, 11, 1))]
    assert mail.subject(two, digest=False) == "Reminder: 2 certifications need your attention"
    team = [*two, item("due", date(2026, 12, 5), learner="ben")]
    assert mail.subject(team, digest=True) == "Certification reminders for your team: 3 for 2 direct reports"


def test_a_message_has_a_text_part_an_html_alternative_and_encoded_headers() -> None:
    items = [item("due", date(2026, 12, 5), title="<Sécurité & Co>")]
    envelope = mail.Envelope("Acme <certcli@acme.example>", "Zoë Ωmega", "zoe@acme.example")
    text = mail.text_body("Zoë Ωmega", items, "Acme", digest=False)
    html = mail.html_body("Zoë Ωmega", items, "Acme", digest=False)
    sent_at = datetime(2026, 11, 28, 7, tzinfo=UTC)
    message = mail.compose(envelope, mail.subject(items, False), text, html, sent_at)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert "&lt;Sécurité &amp; Co&gt;" in html and "<Sécurité & Co>" in text
    head = message.as_bytes().split(b"\n\n", 1)[0]
    assert head.isascii() and b"To: =?utf-8?" in head and b"Subject: Reminder: =?utf-8?" in head  # RFC 2047
    assert message["Date"] == "Sat, 28 Nov 2026 07:00:00 +0000"
    assert message["Message-ID"].endswith("@acme.example>")


def test_a_value_an_older_store_holds_on_two_lines_is_one_header_line() -> None:
    items = [item("due", date(2026, 12, 5), title="Fire\r\nSafety")]
    envelope = mail.Envelope("Acme\n <certcli@acme.example>", "Ana\nBcc: x@evil.example", "ana@acme.example")
    text = mail.text_body("Ana", items, "Acme", digest=False)
    html = mail.html_body("Ana", items, "Acme", digest=False)

    message = mail.compose(envelope, mail.subject(items, False), text, html, datetime(2026, 11, 28, tzinfo=UTC))

    head = message.as_bytes().split(b"\n\n", 1)[0].decode("ascii")
    assert message["To"] == '"Ana Bcc: x@evil.example" <ana@acme.example>'
    assert message["From"] == "Acme <certcli@acme.example>"
    assert "Fire Safety" in message["Subject"]
    assert not any(line.startswith("Bcc") for line in head.splitlines())
