"""Dates and times as the store and the command line write them: `YYYY-MM-DD`, and UTC date-times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def format_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
