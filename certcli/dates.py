"""Dates and times as the store and the command line write them: `YYYY-MM-DD`, and UTC date-times
`YYYY-MM-DDTHH:MM:SSZ`, always with a four-digit year (0001 to 9999). Every date and time certcli
writes goes through `format_date` and `format_time`, and every one it reads through `parse_date` and
`parse_time`, so whatever is written reads back."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import overload

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


@overload
def format_date(value: date) -> str: ...
@overload
def format_date(value: None) -> None: ...
@overload
def format_date(value: date | None) -> str | None: ...
def format_date(value: date | None) -> str | None:
    """`YYYY-MM-DD` (None stays None)."""
    if value is None:
        return None
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def format_time(value: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, to the second (a fraction is dropped)."""
    utc = value.astimezone(UTC)
    return f"{format_date(utc.date())}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def midnight(day: date) -> datetime:
    """00:00 UTC on `day`: the time a date given alone means."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_date(text: str) -> date:
    """A `YYYY-MM-DD` date; ValueError otherwise."""
    if not DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def parse_time(text: str) -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or an ISO 8601 datetime (no offset means UTC); ValueError otherwise,
    also for a time whose offset would carry it past the calendar's first or last day in UTC."""
    problem = f"{text!r} is not YYYY-MM-DD or an ISO 8601 date-time"
    if not (DATE.fullmatch(text) or DATE_TIME.fullmatch(text)):
        raise ValueError(problem)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(problem) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if value.tzinfo is UTC:  # written with Z, as certcli writes every time
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None
