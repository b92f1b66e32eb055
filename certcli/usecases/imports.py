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

Memory
    The file is read a record at a time into a spool on disk (`import_rows`),
    and the store is changed a page of rows at a time (`Store.update_in_parts`),
    loading only what the page names: a page's memory, not the file's nor the
    store's (problems excepted: all are reported).
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from certcli import rules
from certcli.access import ADMIN
from certcli.dates import format_date, midnight, parse_date
from certcli.errors import DataError, UsageError
from certcli.fields import EMAIL, LOGIN, NAME, text_problem
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
    Course,
    Document,
    Enrollment,
    Fact,
    Requirements,
    User,
)
from certcli.store import PAGE_ROWS, Need, Parts
from certcli.store.document import is_identifier
from certcli.usecases.import_rows import Columns, Problem, Row, Spool, UserSpool, read_records
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

COLUMNS = {
    "users": Columns(("id", "name"), ("role", "email", "manager", "groups")),
    "assignments": Columns(("certification", "user"), ("due",)),
    "completions": Columns(("certification", "user", "course", "completed_on")),
}
NOUNS = {"users": "user", "assignments": "assignment", "completions": "completion"}


# ---------------------------------------------------------------- the tally


PROBLEMS_SHOWN = 200  # the rows refused that a report lists; the others are counted


class Tally:
    """What became of each row, reported to `progress` as rows are decided. Of the rows refused it
    keeps the first `PROBLEMS_SHOWN` by line and counts the rest: a file of any size of bad rows
    needs no more memory than a good one."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done = total, 0
        self.imported = self.unchanged = self.enrolled = self.skipped = 0
        self._first_problems: list[tuple[int, str]] = []  # a heap of (-line, reason): the latest line on top
        self.notes: list[str] = []  # what else the rows did: enrollments by the groups users join
        self._progress = progress
        self._step = max(1, total // PROGRESS_STEPS)
        if progress is not None:
            progress(0, total)

    def problem(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self._first_problems) < PROBLEMS_SHOWN:
            heapq.heappush(self._first_problems, (-line, reason))
        elif line < -self._first_problems[0][0]:
            heapq.heapreplace(self._first_problems, (-line, reason))
        self._tick()

    @property
    def problems(self) -> list[Problem]:
        """The first refused rows by line, at most `PROBLEMS_SHOWN`."""
        return sorted(Problem(-line, reason) for line, reason in self._first_problems)

    @property
    def problems_left_out(self) -> int:
        return self.skipped - len(self._first_problems)

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


def _known(known: Collection[str], value: str, what: str, reasons: list[str]) -> bool:
    """Whether `value` is one of the `known` ids; else the reason why not."""
    if not value:
        reasons.append(f"{what} is empty")
    elif value not in known:
        reasons.append(f"unknown {what} {value!r}")
    else:
        return True
    return False


def _day(value: str, column: str, reasons: list[str]) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        reasons.append(f"{column} {value!r} is not a date YYYY-MM-DD" if value else f"{column} is empty")
        return None


# ---------------------------------------------------------------- users


def _import_users(ctx: Context, parts: Parts, path: Path, progress: Progress | None) -> Tally:
    _admin(ctx, parts)
    with UserSpool() as spool:
        with parts.part(Need(all_groups=True, all_users=True)) as doc:
            groups = set(doc.groups)
            login_holders = [found for found in doc.users.values() if found.login]
        _spool_file(parts, path, "users", spool, partial(_user_record, groups, login_holders))
        tally = _checked(spool, progress)
        for page in spool.groups(PAGE_ROWS):
            rows = [row for (row,) in page]  # an id is one row: duplicates are problems
            joined = {group_id for row in rows for group_id in _groups_of(row)}
            with parts.part(Need(groups=joined, all_certifications=True)) as doc:
                _add_users(ctx, doc, rows, tally)
    return tally


def _add_users(ctx: Context, doc: Document, rows: list[Row], tally: Tally) -> None:
    """Add the users of `rows`, which have no problem, and enrol those who join groups by the groups' rules."""
    joining: dict[str, list[User]] = {}
    for row in rows:
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


USER_TEXT_COLUMNS = {"name": NAME, "email": EMAIL, "login": LOGIN}


def _user_record(groups: set[str], login_holders: list[User], row: Row, users: set[str]) -> SpoolRecord:
    """A users row as the spool keeps it, with what is wrong with it on its own (its manager may be
    a user further down the file: checked once the whole file is spooled)."""
    reasons: list[str] = []
    user_id, role, manager = row.get("id"), row.get("role"), row.get("manager")
    new_id = None
    if not user_id:
        reasons.append("id is empty")
    elif not is_identifier(user_id):
        reasons.append(
            f"id {user_id!r} is not an id (letters, digits, '.', '_', '@', '-', starting with a letter or digit)"
        )
    elif user_id in users:
        reasons.append(f"user {user_id!r} already exists")
    elif (clash := rules.identity_clash(User(user_id, ""), login_holders)) is not None:
        reasons.append(clash)
    else:
        new_id = user_id
    if not row.get("name"):
        reasons.append("name is empty")
    for column, rule in USER_TEXT_COLUMNS.items():
        value = row.get(column)
        if value and (problem := text_problem(value, rule)) is not None:
            reasons.append(f"{column} {value!r} {problem}")
    if role and role not in ROLES:
        reasons.append(f"role {role!r} is not one of {', '.join(ROLES)}")
    if manager and manager == user_id:
        reasons.append("a user cannot manage themselves")
    reasons += [f"unknown group {group_id!r}" for group_id in _groups_of(row) if group_id not in groups]
    file_manager = manager if manager and manager != user_id and manager not in users else None
    values = tuple(row.get(column) for column in UserSpool.VALUES)
    return row.line, (*values, new_id, file_manager), "; ".join(reasons)


# ---------------------------------------------------------------- assignments


def _import_assignments(ctx: Context, parts: Parts, path: Path, progress: Progress | None) -> Tally:
    admin_id = _admin(ctx, parts).id
    pair = ("certification", "user")
    with Spool((*pair, "due"), key=pair, group=pair) as spool:
        with parts.part(Need(all_certifications=True)) as doc:
            certifications = doc.certifications
        _spool_file(parts, path, "assignments", spool, partial(_assignment_record, certifications))
        tally = _checked(spool, progress)
        for doc, page in _pages(parts, spool):
            enrolled = {(enrollment.certification, enrollment.user) for enrollment in doc.enrollments}
            for (row,) in page:  # a pair is one row: duplicates are problems
                cert, user = doc.certifications[row.values["certification"]], doc.users[row.values["user"]]
                if (cert.id, user.id) in enrolled:
                    tally.unchanged_one()
                    continue
                if (refusal := rules.enrolment_refusal(user)) is not None:
                    tally.problem(row.line, f"{refusal}: not enrolled in {cert.id}")
                    continue
                due = parse_date(row.values["due"]) if row.values["due"] else None
                enroll(ctx, doc, cert, user, by=admin_id, due=due)
                tally.imported_one()
    return tally


def _assignment_record(certifications: dict[str, Certification], row: Row, users: set[str]) -> SpoolRecord:
    reasons: list[str] = []
    cert_id = row.get("certification")
    known_cert = _known(certifications, cert_id, "certification", reasons)
    _known(users, row.get("user"), "user", reasons)
    if row.get("due"):
        _day(row.get("due"), "due", reasons)
    if known_cert and certifications[cert_id].retired:
        reasons.append(f"certification {cert_id!r} is retired")
    return row.line, (row.get("certification"), row.get("user"), row.get("due")), "; ".join(reasons)


# ---------------------------------------------------------------- completions


class Completion(NamedTuple):
    line: int
    course: str
    at: datetime


def _import_completions(ctx: Context, parts: Parts, path: Path, progress: Progress | None) -> Tally:
    admin_id = _admin(ctx, parts).id
    columns = ("certification", "user", "course", "completed_on")
    with Spool(columns, key=columns, group=columns[:2], order=("completed_on",)) as spool:
        with parts.part(Need(all_certifications=True, all_courses=True)) as doc:
            checks = _CompletionChecks(ctx.now, doc.certifications, doc.courses)
        _spool_file(parts, path, "completions", spool, checks.record)
        tally = _checked(spool, progress)
        for doc, page in _pages(parts, spool):
            learners = _LearnerCompletions(ctx, doc, admin_id, tally, checks)
            for group in page:
                learners.apply(group)
    return tally


class _CompletionChecks:
    """What is wrong with a completion row on its own; the rest is known once its learner's
    enrollment is loaded (`_LearnerCompletions`)."""

    def __init__(self, now: datetime, certifications: dict[str, Certification], courses: dict[str, Course]) -> None:
        self.now, self.certifications, self.courses = now, certifications, courses
        self.times: dict[str, tuple[datetime | None, str | None]] = {}  # a file has few distinct dates

    def record(self, row: Row, users: set[str]) -> SpoolRecord:
        """The row as the spool keeps it: line, values and its problem ('' when none)."""
        values, reasons = row.values, list[str]()
        _known(self.certifications, values["certification"], "certification", reasons)
        _known(users, values["user"], "user", reasons)
        _known(self.courses, values["course"], "course", reasons)
        wrong_date = self.time(values["completed_on"])[1]
        if wrong_date:
            reasons.append(wrong_date)
        kept = (values["certification"], values["user"], values["course"], values["completed_on"])
        return row.line, kept, "; ".join(reasons)

    def time(self, value: str) -> tuple[datetime | None, str | None]:
        """00:00 UTC on the date `value`, or what is wrong with it."""
        if value not in self.times:
            reasons: list[str] = []
            day = _day(value, "completed_on", reasons)
            at = midnight(day) if day is not None else None
            if at is not None and at > self.now:
                reasons.append(f"completed_on {day} is after the evaluation time ({format_date(self.now.date())})")
            self.times[value] = (at, reasons[0] if reasons else None)
        return self.times[value]

    def at(self, row: Row) -> datetime:
        """00:00 UTC on the date of a row these checks passed."""
        at = self.time(row.values["completed_on"])[0]
        assert at is not None, "a row without a problem has a date"
        return at


class _LearnerCompletions:
    """One learner's completion rows in one certification, checked rows in date order: a learner
    not yet enrolled is enrolled first, on the date of their earliest completion."""

    def __init__(self, ctx: Context, doc: Document, admin_id: str, tally: Tally, checks: _CompletionChecks) -> None:
        self.ctx, self.doc, self.admin_id, self.tally, self.checks = ctx, doc, admin_id, tally, checks
        self.enrollments = {(found.certification, found.user): found for found in doc.enrollments}

    def apply(self, rows: list[Row]) -> None:
        cert_id, user_id = rows[0].values["certification"], rows[0].values["user"]
        cert = self.doc.certifications[cert_id]
        completions = [Completion(row.line, row.values["course"], self.checks.at(row)) for row in rows]
        enrollment = self.enrollments.get((cert_id, user_id))
        if enrollment is not None:
            _EnrollmentImport(self.ctx, enrollment, cert, self.tally, enrollment.facts).apply(completions, None)
            return
        completions = self._enrollable(cert, self.doc.users[user_id], completions)
        if not completions:
            return
        first = self.ctx._replace(now=completions[0].at)
        enrollment = enroll(first, self.doc, cert, self.doc.users[user_id], by=self.admin_id, due=None)
        self.tally.enrolled += 1
        standing = _Standing(first.now, 1, rules.effective_requirements(cert))
        _EnrollmentImport(self.ctx, enrollment, cert, self.tally, []).apply(completions, standing)

    def _enrollable(self, cert: Certification, learner: User, completions: list[Completion]) -> list[Completion]:
        """The completions that can enrol the learner: none in a retired certification or of a learner
        who cannot be enrolled, else those of its courses."""
        refusal = rules.enrolment_refusal(learner)
        if cert.retired:
            refusal = f"certification {cert.id!r} is retired: {learner.id} cannot be enrolled in it"
        elif refusal is not None:
            refusal = f"{refusal}: not enrolled in {cert.id}"
        if refusal is not None:
            for completion in completions:
                self.tally.problem(completion.line, refusal)
            return []
        courses = {ref.id for ref in cert.courses}
        for completion in completions:
            if completion.course not in courses:
                self.tally.problem(completion.line, f"course {completion.course!r} is not part of {cert.id}")
        return [completion for completion in completions if completion.course in courses]


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
        enrolled = min(fact.at for fact in self.enrollment.facts if fact.type == ASSIGNED)
        for completion in completions:
            completion = completion._replace(at=rules.dated_completion_at(completion.at.date(), enrolled))
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


# ---------------------------------------------------------------- reading a page at a time


def _admin(ctx: Context, parts: Parts) -> User:
    with parts.part(Need(users=[ctx.actor_id] if ctx.actor_id else [])) as doc:
        return actor(ctx, doc, ADMIN)


SpoolRecord = tuple[int, tuple[str | None, ...], str]  # line, the values the spool keeps, the problem ('' when none)


def _spool_file(
    parts: Parts, path: Path, kind: str, spool: Spool, record: Callable[[Row, set[str]], SpoolRecord]
) -> None:
    """Every record of the file into the spool, a page at a time, checked on its own by `record`
    (given the users of the store among those the page names)."""
    for batch in _batches(read_records(path, COLUMNS[kind])):
        rows = [item for item in batch if isinstance(item, Row)]
        for malformed in (item for item in batch if isinstance(item, Problem)):
            spool.add_malformed(malformed)
        users = _known_users(parts, rows)
        spool.add([record(row, users) for row in rows])


def _batches(records: Iterable[Row | Problem]) -> Iterator[list[Row | Problem]]:
    batch: list[Row | Problem] = []
    for item in records:
        batch.append(item)
        if len(batch) == PAGE_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _pages(parts: Parts, spool: Spool) -> Iterator[tuple[Document, list[list[Row]]]]:
    """The spool's rows without a problem, a page at a time, with the part of the store they
    name: their learners, certifications and the learners' enrollments."""
    for page in spool.groups(PAGE_ROWS):
        learners = {group[0].values["user"] for group in page}
        certifications = {group[0].values["certification"] for group in page}
        with parts.part(Need(users=learners, certifications=certifications, enrollments_of_users=learners)) as doc:
            yield doc, page


def _known_users(parts: Parts, rows: list[Row]) -> set[str]:
    """The users of the store among those the rows name (as user, id or manager)."""
    named = {row.get(column) for row in rows for column in ("user", "id", "manager")} - {""}
    with parts.part(Need(users=named)) as doc:
        return {user_id for user_id in named if user_id in doc.users}


def _checked(spool: Spool, progress: Progress | None) -> Tally:
    """The tally of the spooled records, their duplicates found and their problems so far decided."""
    spool.check_across_rows()
    tally = Tally(spool.records, progress)
    for problem in spool.problems():
        tally.problem(*problem)
    return tally


# ---------------------------------------------------------------- the use case

Importer = Callable[[Context, Parts, Path, "Progress | None"], Tally]
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

    The store is changed a page of rows at a time, all in one change (a database's transaction),
    which a refused file does not save; a dry run reads the store without its write lock.
    `progress(done, total)` is called as rows are decided: first with 0, last with the total.
    """
    if kind not in IMPORTERS:
        raise UsageError(f"unknown import kind {kind!r}", hint=f"use one of: {', '.join(IMPORTERS)}")
    with ctx.store.update_in_parts(dry_run) as parts:
        tally = IMPORTERS[kind](ctx, parts, path, progress)
        _refuse_if_any(tally, path, skip_invalid, dry_run)
        if not dry_run:
            with parts.part(Need()) as doc:
                note_change(ctx, doc, "import", _details(kind, path, tally))
    return Outcome(_report(kind, path, dry_run, tally), _messages(kind, path, dry_run, tally))


def _details(kind: str, path: Path, tally: Tally) -> dict[str, object]:
    """What the import's audit event says it did."""
    return {
        "kind": kind,
        "file": path.name,
        "imported": tally.imported,
        "skipped": tally.skipped,
        "unchanged": tally.unchanged,
        "enrolled": tally.enrolled if kind == "completions" else None,
    }


def _refuse_if_any(tally: Tally, path: Path, skip_invalid: bool, dry_run: bool) -> None:
    if tally.skipped and not skip_invalid:
        outcome = "nothing would be imported" if dry_run else "nothing was imported"
        raise DataError(
            "\n".join(_problem_lines(path, tally)),
            hint=f"{outcome}; correct those rows, or pass --skip-invalid to import the others",
        )


def _problem_lines(path: Path, tally: Tally) -> list[str]:
    lines = [f"{path}:{line}: {reason}" for line, reason in tally.problems]
    if tally.problems_left_out:
        lines.append(f"{path}: and {_count(tally.problems_left_out, 'more row')} refused")
    return lines


def _report(kind: str, path: Path, dry_run: bool, tally: Tally) -> ImportReport:
    report: ImportReport = {
        "kind": kind,
        "file": str(path),
        "dry_run": dry_run,
        "imported": tally.imported,
        "skipped": tally.skipped,
        "unchanged": tally.unchanged,
        "problems": [{"line": line, "reason": reason} for line, reason in tally.problems],
        "problems_left_out": tally.problems_left_out,
    }
    if kind == "completions":
        report["enrolled"] = tally.enrolled
    return report


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _messages(kind: str, path: Path, dry_run: bool, tally: Tally) -> list[str]:
    messages = _problem_lines(path, tally) + tally.notes
    verb = "Would import" if dry_run else "Imported"
    summary = f"{verb} {_count(tally.imported, NOUNS[kind])}"
    if tally.enrolled:
        summary += f", enrolling {_count(tally.enrolled, 'learner')} first"
    summary += f"; {_count(tally.skipped, 'row')} skipped, {tally.unchanged} unchanged."
    messages.append(summary + (" Dry run: nothing written." if dry_run else ""))
    return messages
