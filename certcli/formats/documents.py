"""JSON and TOML as certcli reads and writes them (stores, definitions files): JSON strictly (no
duplicate keys, no NaN or Infinity), TOML with its native dates as the strings JSON would hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from certcli.dates import format_date, format_time


class FileFormat:
    """A file store's format: its name, how its text is parsed and how a document is written."""

    __slots__ = ("name", "parse", "dump")

    def __init__(self, name: str, parse: Callable[[str], Any], dump: Callable[[dict[str, Any]], str]) -> None:
        self.name, self.parse, self.dump = name, parse, dump


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key, value in pairs:
        if key in table:
            raise ValueError(f"duplicate key {key!r} in one object")
        table[key] = value
    return table


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse_json(text: str) -> Any:
    import json

    return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)


def _dump_json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _parse_toml(text: str) -> Any:
    """TOML, with its native dates and date-times as the strings JSON would hold."""
    import tomllib

    return stringify_dates(tomllib.loads(text))


def _dump_toml(data: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(data)


FORMATS = {
    ".json": FileFormat("JSON", _parse_json, _dump_json),
    ".toml": FileFormat("TOML", _parse_toml, _dump_toml),
}



def stringify_dates(value: Any) -> Any:
    """TOML's native dates and date-times become the strings JSON would hold."""
    if isinstance(value, dict):
        return {key: stringify_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringify_dates(item) for item in value]
    if isinstance(value, datetime):
        try:
            return format_time(value if value.tzinfo else value.replace(tzinfo=UTC))
        except OverflowError:  # past the calendar's edge in UTC: validation reports it at its place
            return value.isoformat()
    if isinstance(value, date):
        return format_date(value)
    return value
