"""Reminder e-mails (`remind`): their subject, plain text and HTML, and the message itself. Pure: the
sending is `certcli.mail`'s.

A learner's message lists each reminder of theirs: the certification, what falls on which day, the
status, what is left and the command to run. A manager's digest lists their direct reports' reminders
of the same run. Built with the standard library's `email` package (headers encoded as RFC 2047 and
RFC 2231 ask, a text/plain part and a text/html alternative).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple

from certcli.dates import format_date
from certcli.fields import one_line
from certcli.rules import DUE_REMINDER, EXPIRY_REMINDER

if TYPE_CHECKING:
    from email.message import EmailMessage


class Item(NamedTuple):
    """One reminder as a message tells it."""

    learner: str
    learner_name: str
    certification: str
    title: str
    kind: str
    on: date  # the due date, or the day the validity ends
    days: int  # `rules.reminder_days`: left until `on`, or past it when overdue
    status: str
    left: Sequence[str]  # what the learner still has to do, in words
    command: str


def when(kind: str, on: str, days: int) -> str:
    """What falls on which day, in words: "Due in 7 days, on 2026-12-05"; every text of a reminder (subject,
    body, the run's output) says it with these words, from the one count `days`."""
    if kind == DUE_REMINDER:
        return f"Due {_in_days(days)}, on {on}"
    if kind == EXPIRY_REMINDER:
        return f"Expires {_in_days(days)}, on {on}"
    return f"Overdue since {on} ({days} day{_s(days)})"


def _when(item: Item) -> str:
    return when(item.kind, format_date(item.on) or "", item.days)


def _in_days(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def subject(items: Sequence[Item], digest: bool) -> str:
    if digest:
        people = len({item.learner for item in items})
        return f"Certification reminders for your team: {len(items)} for {people} direct report{_s(people)}"
    if len(items) == 1:
        return f"Reminder: {items[0].title}: {_when(items[0]).lower()}"
    return f"Reminder: {len(items)} certifications need your attention"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _heading(item: Item, digest: bool) -> str:
    about = f"{item.title} ({item.certification})"
    return f"{item.learner_name} ({item.learner}): {about}" if digest else about


def _lines(item: Item) -> list[str]:
    lines = [f"{_when(item)}. Status: {item.status.replace('_', ' ')}."]
    if item.left:
        lines.append(f"Left: {'; '.join(item.left)}.")
    lines.append(f"Run: {item.command}")
    return lines


def _opening(items: Sequence[Item], org: str, digest: bool) -> str:
    if digest:
        return f"{org}: reminders sent today to your direct reports ({len(items)})."
    return f"{org}: {len(items)} certification{_s(len(items))} need{'s' if len(items) == 1 else ''} your attention."


def text_body(name: str, items: Sequence[Item], org: str, digest: bool) -> str:
    parts = [f"Hello {name},", "", _opening(items, org, digest), ""]
    for item in items:
        parts.append(f"* {_heading(item, digest)}")
        parts += [f"  {line}" for line in _lines(item)]
        parts.append("")
    parts.append(f"Sent by certcli for {org}.")
    return "\n".join(parts) + "\n"


def html_body(name: str, items: Sequence[Item], org: str, digest: bool) -> str:
    from html import escape

    entries = []
    for item in items:
        details = "<br>".join(escape(line) for line in _lines(item))
        entries.append(f"<li><strong>{escape(_heading(item, digest))}</strong><br>{details}</li>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        f"<p>Hello {escape(name)},</p>\n<p>{escape(_opening(items, org, digest))}</p>\n"
        f"<ul>\n{chr(10).join(entries)}\n</ul>\n<p>Sent by certcli for {escape(org)}.</p>\n</body></html>\n"
    )


def usable_address(address: str) -> bool:
    """Whether the `email` package takes `address` as a recipient's: a local part in ASCII and a domain."""
    from email.errors import MessageError
    from email.headerregistry import Address

    try:
        Address(addr_spec=address)
    except (ValueError, IndexError, MessageError):
        return False
    return True


class Envelope(NamedTuple):
    """Who sends a message to whom: the sender's address and the recipient's name and address."""

    sender: str
    name: str
    address: str


def compose(envelope: Envelope, title: str, text: str, html: str, now: datetime) -> EmailMessage:
    """The message: From, To (the name encoded when it is not ASCII), Subject, Date, a Message-ID in the
    sender's domain, the plain text and the HTML alternative. Every header value is on one line
    (`certcli.fields.one_line`): a name an older store holds on two lines cannot block sending."""
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["From"] = one_line(envelope.sender)
    message["To"] = Address(display_name=one_line(envelope.name), addr_spec=envelope.address)
    message["Subject"] = one_line(title)
    message["Date"] = format_datetime(now)
    domain = envelope.sender.rpartition("@")[2].strip(" >") or "certcli.invalid"
    message["Message-ID"] = make_msgid("certcli", domain=domain)  # the domain given: no look-up of this host's name
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
