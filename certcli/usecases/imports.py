"""Bulk import from CSV: users, assignments and course completions (`certcli import KIND FILE.csv`).

The file
    UTF-8 text (a leading byte-order mark is accepted), comma-separated, with
    double quotes around values that hold commas, quotes or line breaks. The
    first line is a header naming the columns, in any order; optional columns
    may be left out. Values are trimmed of surrounding spaces; blank lines (and
    lines of empty values only) are skipped. Line numbers in reports are the
    physical lines of the file (a row spanning several lines is reported at its
    first).

Columns
    users        id, name, role, email, manager, groups
                 role (optional): admin | manager | learner, empty means learner;
                 email (optional); manager (optional): a user in the store or in
                 the same file; groups (optional): ids of groups of the store,
                 separated by `;`, which the user joins (and is enrolled by their
                 rules, as `group members --add` does).
    assignments  certification, user, due
                 due (optional): YYYY-MM-DD. A learner already assigned is left
                 as is (counted as unchanged), as `assign` does.
    completions  certification, user, course, completed_on
                 course: one of the certification's courses (internal or
                 external; an external certification still needs its proof
                 approved); completed_on: YYYY-MM-DD, not after the evaluation
                 time.

Completions carry their date, so history can be backfilled: each is recorded
as a course completion stamped at 00:00 UTC on `completed_on`, so status,
`completed_on` and `valid_until` follow from the rules as if the learner had
completed the course that day. A learner not yet enrolled is enrolled first,
assigned by the importing admin on the date of their earliest completion in the
file. Rows of one learner and certification apply in date order: a completion
after a recurring certification expired (or was revoked) opens its next cycle
that day, as `complete` does; a course already completed in that cycle is left
as is (unchanged), so importing the same file twice changes nothing the second
time. The `ordered` rule governs taking courses in certcli and is not checked
for history recorded elsewhere.

Row problems
    unknown certification, user or course ids; a malformed id, date or role; a
    course not in the certification (for an enrolled learner: not in the
    requirements of the cycle the date falls in); a completion dated after the
    evaluation time, before the learner's enrolment, or after a lapse that a
    later cycle already follows; a user id that already exists; a retired
    certification for a new enrolment; the same row twice in the file (users by
    id, assignments by certification and user, completions by all four
    columns); a line with the wrong number of values or malformed quoting.
    By default any row problem refuses the whole file: nothing is written and
    every problem is listed as FILE:LINE: reason (exit 6). With `skip_invalid`
    the good rows are imported in one write and the bad ones reported; with
    `dry_run` nothing is written either way. A header with an unknown, missing
    or repeated column refuses the file whole.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from certcli import rules
from certcli.access import ADMIN
from certcli.dates import parse_date
from certcli.errors import DataError, UsageError
from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    CYCLE_OPENED,
    LEARNER,
    PROOF_REVIEWED,
    REQUIREMENTS_CHANGED,
    REVOKED,
    ROLES,
    Certification,
    Document,
    Enrollment,
    Fact,
    Requirements,
    User,
)
from certcli.store.document import is_identifier
from certcli.usecases.kernel import (
    Context,
    Outcome,
    actor,
    enroll,
    enroll_by_group_rules,
    note_change,
    open_next_cycle,
)

if TYPE_CHECKING:
    from certcli.usecases.shapes import ImportReport


Progress = Callable[[int, int], None]
PROGRESS_STEPS = 200  # at most this many progress calls (plus the first), however long the file


class Columns(NamedTuple):
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


COLUMNS = {
    "users": Columns(("id", "name"), ("role", "email", "manager", "groups")),
    "assignments": Columns(("certification", "user"), ("due",)),
    "completions": Columns(("certification", "user", "course", "completed_on")),
}
NOUNS = {"users": "user", "assignments": "assignment", "completions": "completion"}


class Row(NamedTuple):
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


class Problem(NamedTuple):
    line: int
    reason: str


class Sheet(NamedTuple):
    """A parsed CSV file: its well-formed rows, and the lines that are not."""

    rows: list[Row]
    problems: list[Problem]


# ---------------------------------------------------------------- reading the file


def read_sheet(path: Path, columns: Columns) -> Sheet:
    """The rows of a CSV file with a valid header; `DataError` when the file as a whole is unusable."""
    reader = csv.reader(io.StringIO(_text(path), newline=""), strict=True)
    header, header_line = _header(reader, path)
    _check_header(header, header_line, path, columns)
    rows: list[Row] = []
    problems: list[Problem] = []
    for line, fields in _records(reader):
        if isinstance(fields, str):
            problems.append(Problem(line, fields))
        elif not any(field.strip() for field in fields):
            continue
        elif len(fields) != len(header):
            expected = f"{len(header)} values ({','.join(header)})"
            problems.append(Problem(line, f"expected {expected}, got {len(fields)}"))
        else:
            rows.append(Row(line, {name: value.strip() for name, value in zip(header, fields, strict=True)}))
    return Sheet(rows, problems)


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}", hint="check the file's path and permissions") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8 (CSV UTF-8)"
        ) from None


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


# ---------------------------------------------------------------- the tally


class Tally:
    """What became of each row, reported to `progress` as rows are decided."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done = total, 0
        self.imported = self.unchanged = self.enrolled = 0
        self.problems: list[Problem] = []
        self.notes: list[str] = []  # what else the rows did: enrollments by the groups users join
        self._progress = progress
        self._step = max(1, total // PROGRESS_STEPS)
        if progress is not None:
            progress(0, total)

    def problem(self, line: int, reason: str) -> None:
        self.problems.append(Problem(line, reason))
        self._tick()

    def imported_one(self) -> None:
        self.imported += 1
        self._tick()

    def unchanged_one(self) -> None:
        self.unchanged += 1
        self._tick()

    def _tick(self) -> None:
        self.done += 1
        if self._progress is not None and (self.done % self._step == 0 or self.done == self.total):
            self._progress(self.done, self.total)


# ---------------------------------------------------------------- checks shared by the kinds


def _known(table: dict[str, Any], value: str, what: str, reasons: list[str]) -> Any:
    if not value:
        reasons.append(f"{what} is empty")
        return None
    item = table.get(value)
    if item is None:
        reasons.append(f"unknown {what} {value!r}")
    return item


def _day(value: str, column: str, reasons: list[str]) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        reasons.append(f"{column} {value!r} is not a date YYYY-MM-DD" if value else f"{column} is empty")
        return None


def _first_time(seen: dict[Any, int], key: Any, line: int, reasons: list[str]) -> None:
    """Note `key` as seen at `line`; a reason when an earlier line has it."""
    earlier = seen.setdefault(key, line)
    if earlier != line:
        reasons.append(f"duplicate of line {earlier}")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# ---------------------------------------------------------------- users


def _import_users(ctx: Context, doc: Document, admin: User, rows: list[Row], tally: Tally) -> None:
    first_line: dict[str, int] = {}
    reasons = {row.line: _user_reasons(doc, row, first_line) for row in rows}
    _refuse_reports_of_refused_managers(rows, reasons, first_line, doc)
    joining: dict[str, list[User]] = {}
    for row in rows:
        if reasons[row.line]:
            tally.problem(row.line, "; ".join(reasons[row.line]))
            continue
        user_id, manager = row.get("id"), row.get("manager") or None
        added = doc.users[user_id] = User(
            user_id, row.get("name"), row.get("role") or LEARNER, row.get("email") or None, manager
        )
        for group_id in _groups_of(row):
            joining.setdefault(group_id, []).append(added)
        tally.imported_one()
    for group_id, members in joining.items():
        found = doc.groups[group_id]
        doc.groups[group_id] = found._replace(members=(*found.members, *(u.id for u in members)))
        tally.notes += enroll_by_group_rules(ctx, doc, doc.groups[group_id], members)


def _groups_of(row: Row) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in row.get("groups").split(";") if part.strip()))


def _user_reasons(doc: Document, row: Row, first_line: dict[str, int]) -> list[str]:
    """What is wrong with one row on its own (its manager may be a user further down the file)."""
    reasons: list[str] = []
    user_id, role, manager = row.get("id"), row.get("role"), row.get("manager")
    if not user_id:
        reasons.append("id is empty")
    elif not is_identifier(user_id):
        reasons.append(
            f"id {user_id!r} is not an id (letters, digits, '.', '_', '@', '-', starting with a letter or digit)"
        )
    elif user_id in doc.users:
        reasons.append(f"user {user_id!r} already exists")
    else:
        _first_time(first_line, user_id, row.line, reasons)
    if not row.get("name"):
        reasons.append("name is empty")
    if role and role not in ROLES:
        reasons.append(f"role {role!r} is not one of {', '.join(ROLES)}")
    if manager and manager == user_id:
        reasons.append("a user cannot manage themselves")
    reasons += [f"unknown group {group_id!r}" for group_id in _groups_of(row) if group_id not in doc.groups]
    return reasons


def _refuse_reports_of_refused_managers(
    rows: list[Row], reasons: dict[int, list[str]], first_line: dict[str, int], doc: Document
) -> None:
    """A manager must exist or be imported: unknown ones are reasons, and so are managers whose own row is refused."""
    reports: dict[str, list[Row]] = {}
    for row in rows:
        manager = row.get("manager")
        if not manager or manager in doc.users or manager == row.get("id"):
            continue
        if manager not in first_line:
            reasons[row.line].append(f"unknown manager {manager!r} (neither in the store nor in the file)")
        else:
            reports.setdefault(manager, []).append(row)
    refused = [line for line, why in reasons.items() if why]
    line_ids = {line: user_id for user_id, line in first_line.items()}
    while refused:
        user_id = line_ids.get(refused.pop(), "")
        for report in reports.pop(user_id, []):
            if not reasons[report.line]:
                refused.append(report.line)
            reasons[report.line].append(f"manager {user_id!r} is not imported (line {first_line[user_id]})")


# ---------------------------------------------------------------- assignments


def _import_assignments(ctx: Context, doc: Document, admin: User, rows: list[Row], tally: Tally) -> None:
    enrolled = {(enrollment.certification, enrollment.user) for enrollment in doc.enrollments}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        reasons: list[str] = []
        cert = _known(doc.certifications, row.get("certification"), "certification", reasons)
        user = _known(doc.users, row.get("user"), "user", reasons)
        due = _day(row.get("due"), "due", reasons) if row.get("due") else None
        if cert is not None and cert.retired:
            reasons.append(f"certification {cert.id!r} is retired")
        _first_time(seen, (row.get("certification"), row.get("user")), row.line, reasons)
        if reasons:
            tally.problem(row.line, "; ".join(reasons))
        elif (cert.id, user.id) in enrolled:
            tally.unchanged_one()
        else:
            enroll(ctx, doc, cert, user, by=admin.id, due=due)
            enrolled.add((cert.id, user.id))
            tally.imported_one()


# ---------------------------------------------------------------- completions


class Completion(NamedTuple):
    line: int
    course: str
    at: datetime


def _import_completions(ctx: Context, doc: Document, admin: User, rows: list[Row], tally: Tally) -> None:
    enrollments = {(enrollment.certification, enrollment.user): enrollment for enrollment in doc.enrollments}
    checks = _CompletionChecks(ctx, doc, enrollments)
    groups: dict[tuple[str, str], list[Completion]] = {}
    for row in rows:
        at, reasons = checks.check(row)
        if reasons or at is None:
            tally.problem(row.line, "; ".join(reasons))
        else:
            pair = (row.values["certification"], row.values["user"])
            groups.setdefault(pair, []).append(Completion(row.line, row.values["course"], at))
    for (cert_id, user_id), completions in groups.items():
        completions.sort(key=lambda completion: (completion.at, completion.line))
        cert = doc.certifications[cert_id]
        enrollment = enrollments.get((cert_id, user_id))
        if enrollment is None:
            first = ctx._replace(now=completions[0].at)
            enrollment = enroll(first, doc, cert, doc.users[user_id], by=admin.id, due=None)
            tally.enrolled += 1
            standing = _Standing(first.now, 1, rules.effective_requirements(cert))
            _EnrollmentImport(ctx, enrollment, cert, tally, []).apply(completions, standing)
        else:
            _EnrollmentImport(ctx, enrollment, cert, tally, enrollment.facts).apply(completions, None)


class _CompletionChecks:
    """What is wrong with a completion row on its own; an enrolled learner's rows are checked
    against their cycle later, when they are applied."""

    def __init__(self, ctx: Context, doc: Document, enrollments: dict[tuple[str, str], Enrollment]) -> None:
        self.now, self.doc, self.enrollments = ctx.now, doc, enrollments
        self.seen: dict[tuple[str, str, str, str], int] = {}
        self.times: dict[str, tuple[datetime | None, str | None]] = {}  # a file has few distinct dates
        self.courses_of = {cert.id: {ref.id for ref in cert.courses} for cert in doc.certifications.values()}

    def check(self, row: Row) -> tuple[datetime | None, list[str]]:
        values, reasons = row.values, list[str]()
        cert = _known(self.doc.certifications, values["certification"], "certification", reasons)
        user = _known(self.doc.users, values["user"], "user", reasons)
        course = _known(self.doc.courses, values["course"], "course", reasons)
        at, wrong_date = self._time(values["completed_on"])
        if wrong_date:
            reasons.append(wrong_date)
        if cert is not None and user is not None and (cert.id, user.id) not in self.enrollments:
            if cert.retired:
                reasons.append(f"certification {cert.id!r} is retired: {user.id} cannot be enrolled in it")
            if course is not None and course.id not in self.courses_of[cert.id]:
                reasons.append(f"course {course.id!r} is not part of {cert.id}")
        key = (values["certification"], values["user"], values["course"], values["completed_on"])
        _first_time(self.seen, key, row.line, reasons)
        return at, reasons

    def _time(self, value: str) -> tuple[datetime | None, str | None]:
        """00:00 UTC on the date `value`, or what is wrong with it."""
        if value not in self.times:
            reasons: list[str] = []
            day = _day(value, "completed_on", reasons)
            at = _midnight(day) if day is not None else None
            if at is not None and at > self.now:
                reasons.append(f"completed_on {day} is after the evaluation time ({self.now:%Y-%m-%d})")
            self.times[value] = (at, reasons[0] if reasons else None)
        return self.times[value]


class _Standing:
    """The current cycle of an enrollment at one time, as the rules last said, kept up to date as
    completions are recorded, so that the rules run again only when their answer may change."""

    def __init__(
        self,
        at: datetime,
        cycle: int,
        requirements: Requirements,
        completed: set[str] | None = None,
        valid_until: date | None = None,
    ) -> None:
        self.at, self.cycle, self.requirements = at, cycle, requirements
        self.completed = completed or set()
        self.courses = {ref.id for ref in requirements.courses}
        self.recheck_on = valid_until  # a recurring completion expires that day
        self.just_completed = False

    @classmethod
    def of(cls, view: rules.EnrollmentView, at: datetime) -> _Standing:
        completed = {course.id for course in view.courses if course.status == rules.COMPLETED}
        return cls(at, view.cycle, view.requirements, completed, view.valid_until)

    def record(self, course: str) -> None:
        before = rules.mandatory_done(self.requirements, self.completed)
        self.completed.add(course)
        self.just_completed = self.just_completed or (
            not before and rules.mandatory_done(self.requirements, self.completed)
        )


class _EnrollmentImport:
    """Applies one learner's completions in one certification, oldest first.

    The rules are asked where the enrollment stands at the first completion, and again only when
    their answer may have changed: a recurring cycle was completed (its validity may end), its
    validity ended, or a fact recorded before this import that changes cycles, requirements or
    reviews lies between. Earlier course completions in between are simply noted.
    """

    def __init__(
        self, ctx: Context, enrollment: Enrollment, cert: Certification, tally: Tally, earlier: list[Fact]
    ) -> None:
        self.ctx, self.enrollment, self.cert, self.tally = ctx, enrollment, cert, tally
        self.earlier = sorted(earlier, key=lambda fact: fact.at)  # stable: ties keep recording order
        self.earlier_times = [fact.at for fact in self.earlier]
        self.next_earlier = 0  # the first earlier fact not yet reflected in the standing

    def apply(self, completions: list[Completion], standing: _Standing | None) -> None:
        for completion in completions:
            if standing is None or self._stale(standing, completion.at):
                standing = self._standing(completion)
                if standing is None:
                    continue
            if completion.course not in standing.courses:
                cycle = f" (cycle {standing.cycle})" if standing.cycle > 1 else ""
                self.tally.problem(
                    completion.line, f"course {completion.course!r} is not part of {self.cert.id}{cycle}"
                )
            elif completion.course in standing.completed:
                self.tally.unchanged_one()
            else:
                self.enrollment.facts.append(Fact(COURSE_COMPLETED, completion.at, course=completion.course))
                standing.record(completion.course)
                self.tally.imported_one()

    def _stale(self, standing: _Standing, at: datetime) -> bool:
        while self.next_earlier < len(self.earlier) and self.earlier[self.next_earlier].at <= at:
            fact = self.earlier[self.next_earlier]
            if fact.type in CHANGES_STANDING:
                return True
            if fact.type == COURSE_COMPLETED and fact.course is not None:
                standing.record(fact.course)
            self.next_earlier += 1
        if standing.just_completed and self.cert.recurring:
            return True
        return standing.recheck_on is not None and at.date() >= standing.recheck_on

    def _standing(self, completion: Completion) -> _Standing | None:
        """Where the enrollment stands at the completion's time, opening the next cycle when
        the last one expired or was revoked; None (and a problem) when it cannot take it."""
        at = completion.at
        self.next_earlier = bisect_right(self.earlier_times, at)
        view = rules.evaluate(self.enrollment, self.cert, at)
        if view is None:
            enrolled = min(fact.at for fact in self.enrollment.facts if fact.type == ASSIGNED)
            who = f"{self.enrollment.user} was enrolled in {self.cert.id}"
            self.tally.problem(completion.line, f"completed_on {at.date()} is before {who} ({enrolled.date()})")
            return None
        if rules.next_cycle_opens(view, early=False) is not None:
            later = [fact.at for fact in self.enrollment.facts if fact.type == CYCLE_OPENED and fact.at > at]
            if later:
                self.tally.problem(
                    completion.line,
                    f"{self.cert.id} was {view.status} for {self.enrollment.user} on {at.date()} and its next cycle "
                    f"opened on {min(later).date()}: a completion cannot go between two cycles",
                )
                return None
            open_next_cycle(self.ctx._replace(now=at), self.enrollment, self.cert, view)
            view = rules.evaluate(self.enrollment, self.cert, at)
            assert view is not None
        return _Standing.of(view, at)


# Earlier facts after which the rules must be asked again: they open cycles, change requirements,
# end completions or complete external certifications.
CHANGES_STANDING = frozenset({CYCLE_OPENED, REVOKED, REQUIREMENTS_CHANGED, PROOF_REVIEWED})


# ---------------------------------------------------------------- the use case

Importer = Callable[[Context, Document, User, list[Row], Tally], None]
IMPORTERS: dict[str, Importer] = {
    "users": _import_users,
    "assignments": _import_assignments,
    "completions": _import_completions,
}


def import_csv(
    ctx: Context,
    kind: str,
    path: Path,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> Outcome[ImportReport]:
    """Import a CSV file of `kind` (users, assignments or completions) in one write; admin only.

    `progress(done, total)` is called as rows are decided: first with 0, last with the total.
    """
    if kind not in IMPORTERS:
        raise UsageError(f"unknown import kind {kind!r}", hint=f"use one of: {', '.join(IMPORTERS)}")
    if dry_run:
        tally = _run(ctx, ctx.store.read(), kind, path, progress)
        _refuse_if_any(tally, path, skip_invalid, dry_run)
    else:
        with ctx.store.update() as doc:
            tally = _run(ctx, doc, kind, path, progress)
            _refuse_if_any(tally, path, skip_invalid, dry_run)
            details = {
                "kind": kind,
                "file": path.name,
                "imported": tally.imported,
                "skipped": len(tally.problems),
                "unchanged": tally.unchanged,
                "enrolled": tally.enrolled if kind == "completions" else None,
            }
            note_change(ctx, doc, "import", details)
    return Outcome(_report(kind, path, dry_run, tally), _messages(kind, path, dry_run, tally))


def _run(ctx: Context, doc: Document, kind: str, path: Path, progress: Progress | None) -> Tally:
    admin = actor(ctx, doc, ADMIN)
    sheet = read_sheet(path, COLUMNS[kind])
    tally = Tally(len(sheet.rows) + len(sheet.problems), progress)
    for problem in sheet.problems:
        tally.problem(*problem)
    IMPORTERS[kind](ctx, doc, admin, sheet.rows, tally)
    tally.problems.sort()
    return tally


def _refuse_if_any(tally: Tally, path: Path, skip_invalid: bool, dry_run: bool) -> None:
    if tally.problems and not skip_invalid:
        outcome = "nothing would be imported" if dry_run else "nothing was imported"
        raise DataError(
            "\n".join(f"{path}:{line}: {reason}" for line, reason in tally.problems),
            hint=f"{outcome}; correct those rows, or pass --skip-invalid to import the others",
        )






def _report(kind: str, path: Path, dry_run: bool, tally: Tally) -> ImportReport:
    report: ImportReport = {
        "kind": kind,
        "file": str(path),
        "dry_run": dry_run,
        "imported": tally.imported,
        "skipped": len(tally.problems),
        "unchanged": tally.unchanged,
        "problems": [{"line": line, "reason": reason} for line, reason in tally.problems],
    }
    if kind == "completions":
        report["enrolled"] = tally.enrolled
    return report


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _messages(kind: str, path: Path, dry_run: bool, tally: Tally) -> list[str]:
    messages = [f"{path}:{line}: {reason}" for line, reason in tally.problems] + tally.notes
    verb = "Would import" if dry_run else "Imported"
    summary = f"{verb} {_count(tally.imported, NOUNS[kind])}"
    if tally.enrolled:
        summary += f", enrolling {_count(tally.enrolled, 'learner')} first"
    summary += f"; {_count(len(tally.problems), 'row')} skipped, {tally.unchanged} unchanged."
    messages.append(summary + (" Dry run: nothing written." if dry_run else ""))
    return messages
