"""certcli.dates: the one formatter and the one parser of every date and time certcli writes, over the
whole calendar (years 1 to 9999)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from certcli.dates import DATE, DATE_TIME, format_date, format_time, midnight, parse_date, parse_time

YEARS = range(1, 10000)


def test_every_years_dates_round_trip_with_four_digits() -> None:
    for year in YEARS:
        for day in (date(year, 1, 1), date(year, 2, 28), date(year, 12, 31)):
            text = format_date(day)
            assert DATE.fullmatch(text) and text[:4] == f"{year:04d}", text
            assert parse_date(text) == day


def test_every_years_times_round_trip_with_four_digits() -> None:
    for year in YEARS:
        for moment in (datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC)):
            text = format_time(moment)
            assert DATE_TIME.fullmatch(text) and text.endswith("Z") and text[:4] == f"{year:04d}", text
            assert parse_time(text) == moment
        assert parse_time(format_date(date(year, 6, 15))) == midnight(date(year, 6, 15))


def test_a_time_is_written_in_utc_to_the_second() -> None:
    east = timezone(timedelta(hours=2))
    assert format_time(datetime(1, 1, 1, 2, 30, tzinfo=east)) == "0001-01-01T00:30:00Z"
    assert format_time(datetime(999, 3, 4, 5, 6, 7, 890, tzinfo=UTC)) == "0999-03-04T05:06:07Z"
    assert format_date(None) is None


@pytest.mark.parametrize("text", ["500-01-01T00:00:00Z", "500-01-01", "10000-01-01", "0500-1-01"])
def test_a_year_not_written_with_four_digits_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)
