"""The rows of an import's CSV file: read a record at a time, and kept on disk while the import runs.

A file of a million rows is never held in memory: it is read as it goes, and its rows wait in a
spool, a private temporary SQLite database that vanishes when closed, which finds the duplicates
and gives the rows back a page at a time in the order they are applied.
"""

from __future__ import annotations

import contextlib
import csv
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Self, TextIO

from certcli.errors import DataError


class Columns(NamedTuple):
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


class Row(NamedTuple):
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


class Problem(NamedTuple):
    line: int
    reason: str


# ---------------------------------------------------------------- reading the file


def read_records(path: Path, columns: Columns) -> Iterator[Row | Problem]:
    """The records of a CSV file with a valid header, in order: a `Row` each, or the `Problem` of a
    malformed one; `DataError` when the file as a whole is unusable (raised before the first record)."""
    _check_utf8(path)
    with _opened(path) as text:
        reader = csv.reader(text, strict=True)
        header, header_line = _header(reader, path)
        _check_header(header, header_line, path, columns)
        yield from _rows(reader, header)


def _rows(reader: Any, header: list[str]) -> Iterator[Row | Problem]:
    for line, fields in _records(reader):
        if isinstance(fields, str):
            yield Problem(line, fields)
        elif not any(field.strip() for field in fields):
            continue
        elif len(fields) != len(header):
            expected = f"{len(header)} values ({','.join(header)})"
            yield Problem(line, f"expected {expected}, got {len(fields)}")
        else:
            yield Row(line, {name: value.strip() for name, value in zip(header, fields, strict=True)})


def _check_utf8(path: Path) -> None:
    """`DataError` at the first line that is not UTF-8 (a line at a time: no character spans lines)."""
    offset = 0
    try:
        with path.open("rb") as raw:
            for number, line in enumerate(raw, 1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataError(
                        f"{path}:{number}: not UTF-8 text (byte {offset + exc.start})",
                        hint="save the file as UTF-8 (CSV UTF-8)",
                    ) from None
                offset += len(line)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _opened(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8-sig", newline="")  # a leading byte-order mark is dropped
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: OSError) -> DataError:
    return DataError(f"cannot read {path}: {exc.strerror}", hint="check the file's path and permissions")


def _records(reader: Any) -> Iterator[tuple[int, list[str] | str]]:
    """(first physical line, values) per record; the values are a reason instead when the record is malformed."""
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, f"malformed CSV: {exc}"
            continue
        yield line, fields


def _header(reader: Any, path: Path) -> tuple[list[str], int]:
    for line, fields in _records(reader):
        if isinstance(fields, str):
            raise DataError(f"{path}:{line}: header: {fields}", hint="the first line names the columns")
        if any(field.strip() for field in fields):
            return [field.strip() for field in fields], line
    raise DataError(f"{path}: empty: no header row", hint="the first line names the columns")


def _check_header(header: list[str], line: int, path: Path, columns: Columns) -> None:
    problems = [f"unknown column {name!r}" for name in header if name not in columns.all]
    problems += [f"column {name!r} appears twice" for name in dict.fromkeys(header) if header.count(name) > 1]
    problems += [f"missing column {name!r}" for name in columns.required if name not in header]
    if problems:
        optional = f"; optional: {', '.join(columns.optional)}" if columns.optional else ""
        raise DataError(
            "\n".join(f"{path}:{line}: header: {problem}" for problem in problems),
            hint=f"the header names the columns, in any order: {', '.join(columns.required)}{optional}",
        )


# ---------------------------------------------------------------- the spool


def _quoted(columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(f'"{column}"' for column in columns)


class _SpoolDatabase:
    """The spool's private temporary SQLite database, deleted when closed; its errors (a full disk
    where temporary files go) are the import's `DataError`, and the store is left as it was."""

    def __init__(self) -> None:
        with self._converted():
            self._conn = sqlite3.connect("")  # "": a private temporary file, deleted when closed
            self._conn.execute("PRAGMA journal_mode = OFF")  # scratch data: nothing to recover
            self._conn.execute("PRAGMA synchronous = OFF")

    def run(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._converted():
            return self._conn.execute(text, params).fetchall()

    def run_many(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._converted():
            self._conn.executemany(text, rows)

    def stream(self, text: str) -> Iterator[Any]:
        with self._converted():
            cursor = self._conn.execute(text)
            while rows := cursor.fetchmany(1_000):
                yield from rows

    def close(self) -> None:
        self._conn.close()

    @staticmethod
    @contextlib.contextmanager
    def _converted() -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise DataError(
                f"cannot keep the file's rows in a temporary file while importing: {exc}",
                hint="free some space where temporary files go, or point TMPDIR elsewhere; nothing was imported",
            ) from None


_SEPARATOR = "CASE problem WHEN '' THEN '' ELSE '; ' END"  # between the reasons of one record


class Spool:
    """An import's records on disk, each with its problem ('' when it has none so far).

    `columns` are the values kept of each row; `key` those that make two rows the same one (a
    malformed record keeps no values and is never the same as another); `group` those whose rows
    are applied together, and `order` how within a group.
    """

    def __init__(
        self, columns: Sequence[str], key: Sequence[str], group: Sequence[str], order: Sequence[str] = ()
    ) -> None:
        self.columns, self._key, self._group, self._order = tuple(columns), tuple(key), tuple(group), tuple(order)
        self._db = _SpoolDatabase()
        self._db.run(
            f"CREATE TABLE records (line INTEGER PRIMARY KEY, {', '.join(_quoted(columns))}, problem TEXT NOT NULL)"
        )
        self.records = 0

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, records: list[tuple[int, Sequence[str | None], str]]) -> None:
        """Keep (line, values in `columns` order, problem) of each record."""
        marks = ", ".join("?" * (len(self.columns) + 2))
        self._db.run_many(
            f"INSERT INTO records VALUES ({marks})", [(line, *values, problem) for line, values, problem in records]
        )
        self.records += len(records)

    def add_malformed(self, problem: Problem) -> None:
        self.add([(problem.line, [None] * len(self.columns), problem.reason)])

    def check_across_rows(self) -> None:
        """Add the problems only the whole file shows, once every record is spooled: a row with the
        same key as an earlier line is a duplicate of it (reasons of its own kept)."""
        key = _quoted(self._key)
        same = " AND ".join(f"o.{column} = records.{column}" for column in key)
        self._db.run(f"CREATE INDEX records_key ON records ({', '.join(key)}, line)")
        first = f"(SELECT MIN(o.line) FROM records o WHERE {same})"
        self._add_reason(f"'duplicate of line ' || {first}", f"records.{key[0]} IS NOT NULL AND {first} < line")

    def _add_reason(self, reason: str, where: str) -> None:
        """Add the SQL expression `reason` to the problem of the records `where` holds, in the spool
        itself: a file of any number of bad rows is not held in memory."""
        self._db.run(f"UPDATE records SET problem = problem || {_SEPARATOR} || {reason} WHERE {where}")

    def add_problems(self, problems: list[Problem]) -> None:
        """Add a reason to each of these records' problem."""
        self._db.run_many(
            f"UPDATE records SET problem = problem || {_SEPARATOR} || ? WHERE line = ?",
            [(reason, line) for line, reason in problems],
        )

    def problems(self) -> Iterator[Problem]:
        """The records with a problem, by line."""
        for line, reason in self._db.stream("SELECT line, problem FROM records WHERE problem != '' ORDER BY line"):
            yield Problem(line, reason)

    def groups(self, page_rows: int) -> Iterator[list[list[Row]]]:
        """The rows without a problem, grouped by `group` and in `order` within a group, the groups
        in the order of their first line, a page of at least `page_rows` rows (whole groups) at a time."""
        group = ", ".join(_quoted(self._group))
        order = ", ".join(["f.first", *(f"r.{column}" for column in _quoted(self._order)), "r.line"])
        joined = " AND ".join(f"f.{column} = r.{column}" for column in _quoted(self._group))
        records = self._db.stream(
            f"WITH firsts AS (SELECT {group}, MIN(line) AS first FROM records WHERE problem = '' GROUP BY {group})"
            f" SELECT r.line, {', '.join(f'r.{column}' for column in _quoted(self.columns))}"
            f" FROM records r JOIN firsts f ON {joined} WHERE r.problem = '' ORDER BY {order}"
        )
        page: list[list[Row]] = []
        rows_in_page, current, key = 0, list[Row](), None
        for line, *values in records:
            row = Row(line, dict(zip(self.columns, values, strict=True)))
            row_key = tuple(row.values[column] for column in self._group)
            if row_key != key and current:
                page.append(current)
                if rows_in_page >= page_rows:
                    yield page
                    page, rows_in_page = [], 0
                current = []
            key = row_key
            current.append(row)
            rows_in_page += 1
        if current:
            page.append(current)
        if page:
            yield page


class UserSpool(Spool):
    """The spool of a users file, where a user's manager may come further down the file.

    Its records keep, beside their values, `new_id` (the id when it is well-formed and not in the
    store: the ids the file may add, duplicates named by it) and `file_manager` (the manager when it
    is not in the store, so must be in the file).
    """

    VALUES = ("id", "name", "role", "email", "manager", "groups")

    def __init__(self) -> None:
        super().__init__((*self.VALUES, "new_id", "file_manager"), key=("new_id",), group=("id",))

    def check_across_rows(self) -> None:
        """Duplicates; then a manager must be in the store or imported: an unknown one is a problem, and
        so is a manager whose own row is refused, and then theirs in turn."""
        super().check_across_rows()
        self._db.run("CREATE INDEX records_file_manager ON records (file_manager)")
        self._add_reason(
            "'unknown manager ' || quote(file_manager) || ' (neither in the store nor in the file)'",
            "file_manager IS NOT NULL AND file_manager NOT IN (SELECT new_id FROM records WHERE new_id IS NOT NULL)",
        )
        self._db.run("CREATE TEMP TABLE firsts (id TEXT PRIMARY KEY, line INTEGER NOT NULL)")
        self._db.run(
            "INSERT INTO firsts SELECT new_id, MIN(line) FROM records WHERE new_id IS NOT NULL GROUP BY new_id"
        )
        refused = self._db.run(
            "SELECT f.id, f.line FROM firsts f JOIN records r ON r.line = f.line WHERE r.problem != ''"
        )
        while refused:
            manager, manager_line = refused.pop()
            reports = self._db.run(
                "SELECT r.line, r.problem = '', f.id FROM records r LEFT JOIN firsts f ON f.line = r.line"
                " WHERE r.file_manager = ?",
                (manager,),
            )
            self.add_problems(
                [Problem(line, f"manager {manager!r} is not imported (line {manager_line})") for line, _, _ in reports]
            )
            refused += [(user_id, line) for line, was_good, user_id in reports if was_good and user_id is not None]
