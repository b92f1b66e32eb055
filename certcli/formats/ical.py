"""iCalendar (RFC 5545): due and expiry dates as all-day events, for `certcli calendar`.

`calendar_entries` (which dates, from the rules' view) and `render_calendar` (the
feed) are pure; the use case is `certcli.usecases.exports.calendar`. An event's UID names what the date is,
the certification, the learner and the cycle, so a calendar that subscribes to the
feed updates its events instead of duplicating them; DTSTAMP is the evaluation time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from certcli import __version__, rules
from certcli.dates import format_date
from certcli.model import Certification, Record, User

DUE = "due"
EXPIRES = "expires"
REMINDER_DAYS = 7


class CalendarEntry(Record):
    """One dated event: `kind` is DUE (an open cycle's due date) or EXPIRES (a completion's valid-until)."""

    __slots__ = ("kind", "day", "cert", "learner", "cycle", "status", "overdue")

    def __init__(
        self, kind: str, day: date, cert: Certification, learner: User, cycle: int, status: str, overdue: bool
    ) -> None:
        self.kind, self.day, self.cert, self.learner = kind, day, cert, learner
        self.cycle, self.status, self.overdue = cycle, status, overdue


def calendar_entries(cert: Certification, learner: User, view: rules.EnrollmentView) -> list[CalendarEntry]:
    """The enrollment's date worth a calendar event, if any.

    Completed and recurring: its valid-until (a renewal cycle already open is due
    that same day, so it adds no second event). Expired: the same event, now past,
    under the same UID. Otherwise: the open cycle's due date, if it has one.
    """
    if view.status in (rules.COMPLETED, rules.EXPIRED):
        if view.valid_until is None:
            return []
        held_cycle = view.held.cycle.number
        return [CalendarEntry(EXPIRES, view.valid_until, cert, learner, held_cycle, view.status, view.overdue)]
    if view.due is None:
        return []
    return [CalendarEntry(DUE, view.due, cert, learner, view.cycle, view.status, view.overdue)]


def uid_host(org_url: str) -> str:
    return (urlsplit(org_url).hostname or "certcli") if org_url else "certcli"


def event_uid(entry: CalendarEntry, host: str) -> str:
    return f"{entry.kind}-{entry.cert.id}-{entry.learner.id}-{entry.cycle}@{host}"


def _what(entry: CalendarEntry) -> str:
    if entry.kind == DUE:
        return "due"
    return "expired" if entry.status == rules.EXPIRED else "expires"


def event_summary(entry: CalendarEntry, name_learner: bool) -> str:
    who = f" ({entry.learner.name})" if name_learner else ""
    return f"{entry.cert.title} {_what(entry)}{who}"


def event_description(entry: CalendarEntry, today: date) -> str:
    overdue = " (overdue)" if entry.overdue else ""
    lines = [
        f"Certification: {entry.cert.title} ({entry.cert.id})",
        f"Learner: {entry.learner.name} ({entry.learner.id})",
        f"Cycle: {entry.cycle}",
        f"Status on {format_date(today)}: {entry.status}{overdue}",
    ]
    if entry.kind == EXPIRES and entry.status == rules.COMPLETED:
        lines.append(f"Renew before this day: certcli start {entry.cert.id}")
    elif entry.status == rules.EXPIRED:
        lines.append(f"Recertify: certcli start {entry.cert.id}")
    else:
        lines.append(f"Details: certcli show {entry.cert.id}")
    return "\n".join(lines)


def render_calendar(entries: Sequence[CalendarEntry], now: datetime, host: str, name: str, name_learners: bool) -> str:
    """The feed: one all-day event per entry with a display reminder REMINDER_DAYS days before."""
    from icalendar import Alarm, Calendar, Event

    feed = Calendar()
    feed.add("prodid", f"-//certcli//certcli {__version__}//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("method", "PUBLISH")
    feed.add("x-wr-calname", name)
    for entry in entries:
        summary = event_summary(entry, name_learners)
        event = Event()
        event.add("uid", event_uid(entry, host))
        event.add("dtstamp", now)
        event.add("dtstart", entry.day)
        if entry.day < date.max:  # the calendar's last day has no next one: without DTEND, an all-day
            event.add("dtend", entry.day + timedelta(days=1))  # event is that one day (RFC 5545, 3.6.1)
        event.add("summary", summary)
        event.add("description", event_description(entry, now.date()))
        event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(days=-REMINDER_DAYS))
        alarm.add("description", f"{summary} on {format_date(entry.day)}")
        event.add_component(alarm)
        feed.add_component(event)
    return feed.to_ical().decode("utf-8")
