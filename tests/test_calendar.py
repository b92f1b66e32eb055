"""`certcli calendar`: due and expiry dates as an iCalendar feed, read back with `icalendar`.

Dates are worked out by hand from tests/story_store.py: on 2026-02-01 ben's sec expires
2027-01-15 and his aws 2028-01-06; dan's sec was due 2026-01-31; eve's basics is due
2026-03-01 (her sec was revoked, so it has no date).
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import story_store
from icalendar import Calendar
from story_store import NOW
from typer.testing import CliRunner, Result

from certcli import rules
from certcli.cli import app
from certcli.formats import ical
from certcli.store import open_store

runner = CliRunner()

BEN_EVENTS = {
    "expires-sec-ben-1@acme.example": date(2027, 1, 15),
    "expires-aws-ben-1@acme.example": date(2028, 1, 6),
}
DAN_EVENTS = {"due-sec-dan-1@acme.example": date(2026, 1, 31)}
EVE_EVENTS = {"due-basics-eve-1@acme.example": date(2026, 3, 1)}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store.build(tmp_path_factory.mktemp("story"))


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Path:
    return story_store.copy(template, tmp_path)


def cli(store: Path, *args: str, actor: str = "ben", now: str = NOW) -> Result:
    result = runner.invoke(app, ["--store", str(store), "--as", actor, "--now", now, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def feed(store: Path, *args: str, actor: str = "ben", now: str = NOW) -> Calendar:
    result = cli(store, "calendar", *args, actor=actor, now=now)
    assert result.exit_code == 0, result.stderr
    return Calendar.from_ical(result.stdout)


def events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def days(calendar: Calendar) -> dict[str, date]:
    return {uid: event.decoded("dtstart") for uid, event in events(calendar).items()}


def refused(store: Path, *args: str, actor: str = "ben") -> Result:
    result = cli(store, "calendar", *args, actor=actor)
    assert result.exit_code != 0
    assert result.stdout == ""
    assert result.stderr.startswith("error: "), result.stderr
    return result


# ---------------------------------------------------------------- the events


def test_a_learners_feed_has_one_all_day_event_per_date(store: Path) -> None:
    calendar = feed(store)
    assert calendar["version"] == "2.0"
    assert str(calendar["prodid"]).startswith("-//certcli//")
    assert days(calendar) == BEN_EVENTS
    for event in calendar.walk("VEVENT"):
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert type(start) is date  # all day, not a date-time
        assert end == start + timedelta(days=1)


def test_a_date_on_the_calendars_last_day_is_a_one_day_event_without_an_end(demo_store: Path) -> None:
    """DTEND must come after DTSTART, and no day comes after 9999-12-31: that event has none."""
    for args in (["define", "x", "--title", "X", "--kind", "internal", "--course", "phishing"],
                 ["assign", "x", "ana", "--due", "9999-12-31"]):  # fmt: skip
        assert cli(demo_store, *args, actor="root").exit_code == 0
    calendar = feed(demo_store, actor="ana", now="9999-12-31")
    last = events(calendar)["due-x-ana-1@acme.example"]
    assert last.decoded("dtstart") == date(9999, 12, 31) and "dtend" not in last
    for event in calendar.walk("VEVENT"):
        assert "dtend" not in event or event.decoded("dtend") > event.decoded("dtstart")


def test_summaries_name_the_certification_and_what_the_date_is(store: Path) -> None:
    summaries = {uid: str(event["summary"]) for uid, event in events(feed(store, "--all", actor="root")).items()}
    assert summaries["expires-sec-ben-1@acme.example"] == "Security Awareness expires (Ben Carter)"
    assert summaries["due-sec-dan-1@acme.example"] == "Security Awareness due (Dan Brown)"
    own = {str(event["summary"]) for event in feed(store).walk("VEVENT")}
    assert own == {"Security Awareness expires", "AWS Architect expires"}


def test_every_event_has_a_display_reminder_a_week_before(store: Path) -> None:
    for event in feed(store, "--all", actor="root").walk("VEVENT"):
        [alarm] = event.walk("VALARM")
        assert str(alarm["action"]) == "DISPLAY"
        assert alarm.decoded("trigger") == timedelta(days=-7)
        assert str(event["summary"]) in str(alarm["description"])


def test_the_stamp_is_the_evaluation_time(store: Path) -> None:
    for event in feed(store, now="2026-02-01T09:30:00").walk("VEVENT"):
        assert event.decoded("dtstamp") == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def test_the_description_gives_the_status_on_the_day(store: Path) -> None:
    description = str(events(feed(store, actor="dan"))["due-sec-dan-1@acme.example"]["description"])
    assert "Status on 2026-02-01: enrolled (overdue)" in description
    assert "certcli show sec" in description


# ---------------------------------------------------------------- stable identities


def test_the_same_day_gives_the_same_bytes(store: Path) -> None:
    assert cli(store, "calendar", "--all", actor="root").stdout == cli(store, "calendar", "--all", actor="root").stdout


def test_uids_stay_when_time_passes_and_an_expiry_becomes_past(store: Path) -> None:
    later = events(feed(store, now="2027-02-01"))
    assert set(later) == set(BEN_EVENTS)  # the same events, not new ones
    assert str(later["expires-sec-ben-1@acme.example"]["summary"]) == "Security Awareness expired"
    assert str(later["expires-aws-ben-1@acme.example"]["summary"]) == "AWS Architect expires"


def test_an_open_renewal_adds_no_second_event_until_it_completes(store: Path) -> None:
    assert cli(store, "start", "sec", now="2026-12-20").exit_code == 0  # renewal window open: cycle 2
    assert days(feed(store, now="2026-12-20")) == BEN_EVENTS
    assert cli(store, "complete", "sec", "c1", now="2026-12-21").exit_code == 0
    assert days(feed(store, now="2026-12-21")) == {
        "expires-sec-ben-2@acme.example": date(2027, 12, 21),
        "expires-aws-ben-1@acme.example": date(2028, 1, 6),
    }


def test_uids_fall_back_to_certcli_without_an_org_address(tmp_path: Path) -> None:
    path = story_store.build(tmp_path, org_url=None)
    assert set(events(feed(path, actor="dan"))) == {"due-sec-dan-1@certcli"}


# ---------------------------------------------------------------- who sees what


def test_an_admin_sees_everyone_with_all(store: Path) -> None:
    assert days(feed(store, "--all", actor="root")) == BEN_EVENTS | DAN_EVENTS | EVE_EVENTS
    assert days(feed(store, actor="root")) == {}  # without --all: the admin's own dates
    assert days(feed(store, "--user", "dan", actor="root")) == DAN_EVENTS


def test_a_manager_sees_their_direct_reports(store: Path) -> None:
    assert days(feed(store, "--all", actor="mia")) == BEN_EVENTS | EVE_EVENTS
    assert days(feed(store, "--user", "eve", actor="mia")) == EVE_EVENTS


@pytest.mark.parametrize(
    ("actor", "args", "code"),
    [
        ("ben", ("--all",), 4),
        ("ben", ("--user", "dan"), 4),
        ("mia", ("--user", "dan"), 4),
        ("root", ("--user", "nobody"), 3),
        ("nobody", (), 4),
        ("root", ("--all", "--user", "ben"), 2),
    ],
)
def test_feeds_are_refused_to_those_who_may_not_see_them(
    store: Path, actor: str, args: tuple[str, ...], code: int
) -> None:
    assert refused(store, *args, actor=actor).exit_code == code


# ---------------------------------------------------------------- the pure parts


def test_entries_follow_the_status(template: Path) -> None:
    doc = open_store(template).read()

    def entries(cert: str, user: str, now: str) -> list[tuple[str, date, int]]:
        enrollment = doc.enrollment(cert, user)
        assert enrollment is not None
        view = rules.evaluate(enrollment, doc.certifications[cert], story_store.at(now))
        assert view is not None
        found = ical.calendar_entries(doc.certifications[cert], doc.users[user], view)
        return [(entry.kind, entry.day, entry.cycle) for entry in found]

    assert entries("sec", "ben", NOW) == [(ical.EXPIRES, date(2027, 1, 15), 1)]
    assert entries("sec", "ben", "2027-03-01") == [(ical.EXPIRES, date(2027, 1, 15), 1)]  # expired
    assert entries("basics", "ben", NOW) == []  # completed, perpetual
    assert entries("basics", "ben", "2026-01-15") == [(ical.DUE, date(2026, 3, 1), 1)]  # started
    assert entries("sec", "eve", NOW) == []  # revoked
    assert entries("sec", "dan", NOW) == [(ical.DUE, date(2026, 1, 31), 1)]


def test_the_uid_host_is_the_org_addresses_host() -> None:
    assert ical.uid_host("https://learning.acme.example:8443/academy") == "learning.acme.example"
    assert ical.uid_host("") == "certcli"


# ---------------------------------------------------------------- output


def test_output_to_a_file_writes_the_feed(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "ben.ics"
    result = cli(store, "calendar", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "2 event(s)" in result.stderr
    raw = target.read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")  # RFC 5545 line ends
    assert days(Calendar.from_ical(raw)) == BEN_EVENTS


def test_the_installed_command_writes_a_feed_a_calendar_reads(certcli_exe: str, store: Path, tmp_path: Path) -> None:
    target = tmp_path / "team.ics"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"CERTCLI_STORE": str(store), "CERTCLI_USER": "mia", "CERTCLI_NOW": NOW, "NO_COLOR": "1"})
    command = [certcli_exe, "calendar", "--all", "-o", str(target)]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert days(Calendar.from_ical(target.read_bytes())) == BEN_EVENTS | EVE_EVENTS
    again = subprocess.run(command[:-2], capture_output=True, env=environment, timeout=60, check=False)
    assert again.stdout == target.read_bytes()


def test_help_shows_an_example() -> None:
    result = runner.invoke(app, ["calendar", "--help"])
    assert result.exit_code == 0
    assert "Example: certcli calendar" in " ".join(result.stdout.split())
