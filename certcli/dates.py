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
    """`YYYY-MM-DD` (midnight UTC) or an ISO 8601 datetime (no offset means UTC)."""
    if DATE.fullmatch(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if not DATE_TIME.fullmatch(text):
        raise ValueError(text)
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
