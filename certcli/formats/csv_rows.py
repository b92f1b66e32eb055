"""Report rows and summaries as CSV for spreadsheets: booleans `true`/`false`, nulls empty, nested
counts as dotted columns, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from certcli import rules
from certcli.text import spreadsheet_safe

ROW_FIELDS = (
    "user",
    "name",
    "certification",
    "title",
    "status",
    "overdue",
    "due",
    "completed_on",
    "valid_until",
    "days_left",
    "renewal_open",
    "cycle",
    "active",
)
SUMMARY_CSV_FIELDS = (
    "certification",
    "title",
    "learners",
    *(f"by_status.{status}" for status in rules.STATUSES),
    "completion_rate",
    "overdue",
    "expiring",
)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return spreadsheet_safe(value)  # a name `=1+2` stays text, not a live formula
    return value


def _flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """Nested tables (a summary's `by_status`) become dotted columns: `by_status.completed`."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            flat[key] = value
    return flat


def rows_to_csv(rows: Iterable[Mapping[str, Any]], fields: Sequence[str] | None = None) -> str:
    """Report rows or summaries as CSV with a header row: booleans `true`/`false`, nulls empty, text
    that a spreadsheet would run as a formula prefixed with an apostrophe.

    The columns are `fields`, else those of the first row, else the report row's fields.
    """
    import csv
    import io

    flat = [_flatten(row) for row in rows]
    columns = list(fields) if fields is not None else (list(flat[0]) if flat else list(ROW_FIELDS))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in flat:
        writer.writerow([_csv_value(row.get(column)) for column in columns])
    return out.getvalue()
