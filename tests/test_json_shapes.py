"""The documented JSON output (docs/json.md) and the declared result shapes (`certcli.usecases.shapes`) say the same:
every shape in the table, with exactly its fields (a row may say it has another shape's fields)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from certcli.usecases import shapes

JSON_PAGE = Path(__file__).resolve().parent.parent / "docs" / "json.md"


def documented() -> dict[str, set[str]]:
    """Shape name → the fields its table row names, with the fields of a shape it says it extends."""
    section = JSON_PAGE.read_text().split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[A-Z]\w+", cells[0]):
            rows[cells[0]] = (cells[1], cells[2])
    fields: dict[str, set[str]] = {}
    for name, (_, described) in rows.items():
        names = set(re.findall(r"`(\w+)`", described))
        extended = re.match(r"the (\w+)'s", described)
        fields[name] = names | (fields[extended.group(1)] if extended else set())
    return fields


def declared() -> dict[str, set[str]]:
    return {
        name: set(value.__annotations__)
        for name, value in vars(shapes).items()
        if isinstance(value, type) and typing.is_typeddict(value)
    }


def test_every_declared_shape_is_documented_with_exactly_its_fields() -> None:
    assert documented() == declared()
