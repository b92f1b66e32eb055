"""Certifications as code: `apply` a definitions file to the store, `export` the store as one.

A definitions file (TOML or JSON) holds any of `users`, `courses` and
`certifications`, with the fields the store gives them, and `assignments`
(`{certification, users, due}`), and the organisation's reminder schedule
(`org.reminders`, as the store holds it; left out, the store's stays). Each record in it is that record's whole
definition: a field left out takes its default, so applying a file makes the
store hold exactly what it says, and applying it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from certcli import rules
from certcli.access import ADMIN
from certcli.dates import format_date
from certcli.errors import DataError, UsageError
from certcli.formats.documents import FORMATS
from certcli.model import ASSIGNED, Certification, Course, Document, Enrollment, Group, ReminderSchedule, User
from certcli.store.document import (
    SCHEDULE_KEYS,
    Problems,
    Reader,
    References,
    document_to_data,
    is_identifier,
    named_ids,
    read_all,
    read_certification,
    read_course,
    read_group,
    read_schedule,
    read_user,
    schedule_data,
)
from certcli.usecases.kernel import Context, Outcome, actor, enroll, enroll_by_group_rules, note_change

if TYPE_CHECKING:
    from certcli.usecases.shapes import ApplyPlan, SectionChanges


SECTIONS = ("users", "courses", "certifications", "groups")
PRUNABLE = ("courses", "certifications")
FILE_KEYS = (*SECTIONS, "assignments", "org")
ASSIGNMENT_KEYS = ("certification", "users", "due")
EXPORT_FORMATS = ("toml", "json")
NOUNS = {"users": "user", "courses": "course", "certifications": "certification", "groups": "group"}

Definable = User | Course | Certification | Group


class Assignment(NamedTuple):
    certification: str
    user: str
    due: date | None


class Definitions(NamedTuple):
    """A validated definitions file."""

    users: list[User]
    courses: list[Course]
    certifications: list[Certification]
    groups: list[Group]
    assignments: list[Assignment]
    reminders: ReminderSchedule | None = None  # None: the file leaves the schedule as it is










class Changes:
    """What applying one section of the file does to the store's records of that kind."""

    def __init__(self) -> None:
        self.created: list[Definable] = []
        self.updated: list[tuple[Definable, list[str]]] = []  # the new record and the fields that change
        self.unchanged: list[str] = []
        self.retired: list[Definable] = []  # the retired copies

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)

    def data(self, prunable: bool) -> SectionChanges:
        data: SectionChanges = {
            "created": [record.id for record in self.created],
            "updated": {record.id: fields for record, fields in self.updated},
            "unchanged": list(self.unchanged),
        }
        if prunable:
            data["retired"] = [record.id for record in self.retired]
        return data


class Plan:
    """Everything `apply` does to the store, worked out before anything changes."""

    def __init__(
        self,
        sections: dict[str, Changes],
        assigned: list[Assignment],
        enrolled: list[Assignment],
        reminders: tuple[ReminderSchedule, list[str]] | None = None,
    ) -> None:
        self.sections, self.assigned, self.enrolled = sections, assigned, enrolled
        self.reminders = reminders  # the new reminder schedule and the settings it changes; None: unchanged

    @property
    def changed(self) -> bool:
        changed = bool(self.assigned) or self.reminders is not None
        return changed or any(changes.changed for changes in self.sections.values())

    def counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for section, changes in self.sections.items():
            counts[section] = {"created": len(changes.created), "updated": len(changes.updated)}
            if section in PRUNABLE:
                counts[section]["retired"] = len(changes.retired)
        counts["assignments"] = {"created": len(self.assigned)}
        return counts

    def concerned_users(self) -> list[str]:
        """The users this plan creates, updates or enrols, so `audit --user` finds the event."""
        users = self.sections["users"]
        ids = [u.id for u in users.created] + [u.id for u, _ in users.updated]
        return list(dict.fromkeys(ids + [a.user for a in self.assigned]))

    def data(self, dry_run: bool) -> ApplyPlan:
        sections = {section: changes.data(section in PRUNABLE) for section, changes in self.sections.items()}
        return {
            "dry_run": dry_run,
            "changed": self.changed,
            "users": sections["users"],
            "courses": sections["courses"],
            "certifications": sections["certifications"],
            "groups": sections["groups"],
            "assignments": {
                "created": [{"certification": a.certification, "user": a.user} for a in self.assigned],
                "unchanged": [{"certification": a.certification, "user": a.user} for a in self.enrolled],
            },
            "plan": self.lines(),
        }

    def lines(self) -> list[str]:
        """One line per change, in the order they are made."""
        lines: list[str] = []
        for section, changes in self.sections.items():
            noun = NOUNS[section]
            lines += [f"+ {noun} {record.id}" for record in changes.created]
            lines += [f"~ {noun} {record.id}: {', '.join(fields)}" for record, fields in changes.updated]
            lines += [f"- retire {noun} {record.id}" for record in changes.retired]
        for a in self.assigned:
            due = f" (due {a.due})" if a.due else ""
            lines.append(f"+ assign {a.certification} to {a.user}{due}")
        if self.reminders is not None:
            lines.append(f"~ org reminders: {', '.join(self.reminders[1])}")
        return lines

    def summary(self, past: bool) -> str:
        sections = self.sections.values()
        figures = (
            (sum(len(c.created) for c in sections), "created" if past else "to create"),
            (sum(len(c.updated) for c in sections) + (self.reminders is not None), "updated" if past else "to update"),
            (sum(len(c.retired) for c in sections), "retired" if past else "to retire"),
            (len(self.assigned), "assigned" if past else "to assign"),
            (sum(len(c.unchanged) for c in sections) + len(self.enrolled), "unchanged"),
        )
        return ", ".join(f"{count} {what}" for count, what in figures)

    def message(self, source: str, dry_run: bool) -> str:
        if not self.changed:
            return f"No changes: the store already matches {source} ({self.summary(past=True)})."
        if dry_run:
            return f"Plan: {self.summary(past=False)}. Dry run: nothing written."
        return f"Applied {source}: {self.summary(past=True)}."


# ---------------------------------------------------------------- apply


def apply_file(ctx: Context, path: Path, dry_run: bool = False, prune: bool = False) -> Outcome[ApplyPlan]:
    """Make the store hold what the definitions file at `path` says, in one atomic write.

    With `prune`, courses and certifications the file leaves out are retired;
    with `dry_run`, the plan is worked out and nothing is written.
    """
    _check_extension(path)
    enrolled_by_groups: list[str] = []
    if dry_run:
        plan = _prepare(ctx, ctx.store.read(), path, prune)
    else:
        with ctx.store.update() as doc:
            plan = _prepare(ctx, doc, path, prune)
            if plan.changed:
                enrolled_by_groups = _carry_out(ctx, doc, plan, str(path))
    return Outcome(plan.data(dry_run), [*enrolled_by_groups, plan.message(str(path), dry_run)])


def _check_extension(path: Path) -> None:
    if path.suffix.lower() not in FORMATS:
        raise UsageError(
            f"unsupported definitions file {str(path)!r}: the name must end in .toml or .json",
            hint="write the definitions as TOML or JSON, named accordingly",
        )


def _prepare(ctx: Context, doc: Document, path: Path, prune: bool) -> Plan:
    actor(ctx, doc, ADMIN)
    definitions = _read_definitions(_load(path), str(path), doc, prune)
    return _plan(doc, definitions, prune)


def _load(path: Path) -> Any:
    """The parsed file, TOML dates as `YYYY-MM-DD` strings; `DataError` when it cannot be read or parsed."""
    fmt = FORMATS[path.suffix.lower()]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file", hint="check the path given to apply -f") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return fmt.parse(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8") from None
    except RecursionError:
        raise DataError(f"{path}: nested too deeply to be a definitions file") from None
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        raise DataError(f"{path}: malformed {fmt.name}: {exc}", hint=f"correct the {fmt.name} syntax there") from None


def _read_definitions(data: Any, source: str, doc: Document, prune: bool) -> Definitions:
    """Validate the whole file against itself and the store; one `DataError` lists every problem."""
    problems = Problems(source, typed=True)
    top = Reader(problems, data, "", FILE_KEYS)
    users = read_all(problems, top.array("users"), "users", read_user)
    future_users = {**doc.users, **{found.id: found for _, found in users}}  # as they will be once applied
    for index, found in users:
        if (clash := rules.identity_clash(found, future_users.values())) is not None:
            problems.add(f"users[{index}]", clash, "one name, one person: choose another id or login name")
    courses = read_all(problems, top.array("courses"), "courses", read_course)
    certs = read_all(problems, top.array("certifications"), "certifications", read_certification)
    # Ids named in the file count as known even when their table has a problem,
    # so that problem is reported once and not again at each reference to it.
    named = {section: named_ids(top.table.get(section)) for section in SECTIONS}
    known_users = named["users"] | doc.users.keys()
    _check_references(problems, top.table, known_users, named["courses"], doc, prune)
    file_certs = {cert.id: cert for _, cert in certs}

    def why_retired(cert_id: str) -> str | None:
        """Why the certification will be retired once the file is applied; None when it will not be."""
        if cert_id in file_certs:
            return "is retired (retired = true in the file)" if file_certs[cert_id].retired else None
        if cert_id in named["certifications"]:
            return None  # its table has a problem, reported already
        if doc.certifications[cert_id].retired:
            return "is retired"
        return "is not in the file, so --prune would retire it" if prune else None

    known_certs = named["certifications"] | doc.certifications.keys()
    references = References(known_users, set(), known_certs)
    groups = read_all(problems, top.array("groups"), "groups", lambda r: read_group(r, references))
    enrolled = {(e.certification, e.user) for e in doc.enrollments}
    refusals = {user_id: rules.enrolment_refusal(found) for user_id, found in future_users.items()}
    checks = _AssignmentChecks(known_users, known_certs, enrolled, why_retired, refusals)
    assignments = _read_assignments(problems, top.array("assignments"), checks)
    reminders = _read_org(problems, top.table["org"]) if "org" in top.table else None
    if problems.items:
        raise DataError(
            "\n".join(problems.items),
            hint="correct the file (every problem is listed above); nothing was applied",
        )
    return Definitions(
        users=[user for _, user in users],
        courses=[course for _, course in courses],
        certifications=[cert for _, cert in certs],
        groups=[found for _, found in groups],
        assignments=assignments,
        reminders=reminders,
    )


def _read_org(problems: Problems, table: Any) -> ReminderSchedule | None:
    """The reminder schedule of the file's `org` table (its only key), when it has one."""
    org = Reader(problems, table, "org", {"reminders"})
    if "reminders" not in org.table:
        return None
    return read_schedule(Reader(problems, org.table["reminders"], "org.reminders", SCHEDULE_KEYS))


def _check_references(
    problems: Problems, top: dict[str, Any], known_users: set[str], file_courses: set[str], doc: Document, prune: bool
) -> None:
    """Managers and courses named by users and certifications, checked as written, so a
    table with another problem has its references checked too."""
    for index, table in _tables(top.get("users")):
        manager = _written_id(table, "manager")
        if manager is not None and manager not in known_users:
            problems.add(
                f"users[{index}].manager",
                f"unknown user {manager!r}",
                "add the user to users, or name a user of the store",
            )
    for index, table in _tables(top.get("certifications")):
        _check_course_refs(problems, f"certifications[{index}]", table, file_courses, doc, prune)


def _tables(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The tables of a list as written, with their positions (the readers report anything else)."""
    return [(i, table) for i, table in enumerate(value) if isinstance(table, dict)] if isinstance(value, list) else []


def _written_id(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    return value if is_identifier(value) else None


def _check_course_refs(
    problems: Problems, where: str, cert: dict[str, Any], file_courses: set[str], doc: Document, prune: bool
) -> None:
    for position, ref in _tables(cert.get("courses")):
        course_id = _written_id(ref, "id")
        place = f"{where}.courses[{position}].id"
        if course_id is None:
            continue
        if course_id not in file_courses and course_id not in doc.courses:
            problems.add(
                place, f"unknown course {course_id!r}", "add the course to courses, or name a course of the store"
            )
        elif prune and cert.get("retired") is not True and course_id not in file_courses:
            problems.add(
                place,
                f"course {course_id!r} is not in the file, so --prune would retire it",
                "add the course to courses, or apply without --prune",
            )


class _AssignmentChecks(NamedTuple):
    users: set[str]
    certifications: set[str]
    enrolled: set[tuple[str, str]]
    why_retired: Callable[[str], str | None]
    refusals: dict[str, str | None]  # why each user cannot be enrolled (`rules.enrolment_refusal`)


def _read_assignments(problems: Problems, items: list[Any], checks: _AssignmentChecks) -> list[Assignment]:
    result: list[Assignment] = []
    seen: dict[tuple[str, str], str] = {}
    for index, table in enumerate(items):
        r = Reader(problems, table, f"assignments[{index}]", ASSIGNMENT_KEYS)
        if not r.ok:
            continue
        cert_id = r.ident("certification")
        due = r.day("due")
        if cert_id is not None and cert_id not in checks.certifications:
            problems.add(
                r.place("certification"),
                f"unknown certification {cert_id!r}",
                "add it to certifications, or name a certification of the store",
            )
            cert_id = None
        user_ids = r.array("users", required=True)
        if isinstance(r.table.get("users"), list) and not user_ids:
            problems.add(r.place("users"), "an assignment needs at least one user", "list the users to enrol")
        newcomers: list[str] = []
        for position, user_id in enumerate(user_ids):
            place = f"{r.where}.users[{position}]"
            if not is_identifier(user_id):
                problems.add(place, f"expected a user id, got {user_id!r}", "write each user as an id string")
            elif user_id not in checks.users:
                problems.add(place, f"unknown user {user_id!r}", "add the user to users, or name a user of the store")
            elif cert_id is not None and (cert_id, user_id) in seen:
                problems.add(
                    place,
                    f"{user_id!r} is assigned to {cert_id!r} twice (also {seen[cert_id, user_id]})",
                    "list each user once per certification",
                )
            elif cert_id is not None and (cert_id, user_id) not in checks.enrolled and checks.refusals.get(user_id):
                problems.add(place, f"{checks.refusals[user_id]}: cannot be enrolled in {cert_id!r}",
                             "reactivate the user first, or remove them from the assignment")  # fmt: skip
            elif cert_id is not None:
                seen[cert_id, user_id] = place
                result.append(Assignment(cert_id, user_id, due))
                if (cert_id, user_id) not in checks.enrolled:
                    newcomers.append(user_id)
        why = checks.why_retired(cert_id) if cert_id is not None and newcomers else None
        if why is not None:
            problems.add(
                r.place("certification"),
                f"certification {cert_id!r} {why}: a retired certification cannot be assigned "
                f"({', '.join(newcomers)} not enrolled yet)",
                "list the certification in the file (without retired = true), or remove these users",
            )
    return result


def _plan(doc: Document, definitions: Definitions, prune: bool) -> Plan:
    sections = {
        "users": _diff(doc.users, definitions.users, prune=False),
        "courses": _diff(doc.courses, definitions.courses, prune),
        "certifications": _diff(doc.certifications, definitions.certifications, prune),
        "groups": _diff(doc.groups, definitions.groups, prune=False),
    }
    enrolled = {(e.certification, e.user) for e in doc.enrollments}
    assigned = [a for a in definitions.assignments if (a.certification, a.user) not in enrolled]
    already = [a for a in definitions.assignments if (a.certification, a.user) in enrolled]
    wanted = definitions.reminders or doc.reminders
    changed = [key for key in SCHEDULE_KEYS if getattr(wanted, key) != getattr(doc.reminders, key)]
    return Plan(sections, assigned, already, (wanted, changed) if changed else None)


def _diff(existing: dict[str, Any], wanted: Iterable[Definable], prune: bool) -> Changes:
    changes = Changes()
    wanted_ids: set[str] = set()
    for record in wanted:
        wanted_ids.add(record.id)
        old = existing.get(record.id)
        if old is None:
            changes.created.append(record)
            continue
        # Written as the store has it, or as it means it (as `export` writes it): unchanged either way.
        meant = as_meant(old)
        fields = [
            name
            for name in record._field_names()
            if getattr(record, name) not in (getattr(old, name), getattr(meant, name))
        ]
        if fields:
            changes.updated.append((record, fields))
        else:
            changes.unchanged.append(record.id)
    if prune:
        for old in existing.values():
            if old.id in wanted_ids:
                continue
            if old.retired:
                changes.unchanged.append(old.id)
            else:
                changes.retired.append(old._replace(retired=True))
    return changes


def _carry_out(ctx: Context, doc: Document, plan: Plan, source: str) -> list[str]:
    """Make every change of the plan on `doc`; the store saves them together with one audit event.
    Returns what groups' rules did: new members and new rules enrol, as `group` commands do."""
    groups_before = dict(doc.groups)
    for section, changes in plan.sections.items():
        table: dict[str, Any] = getattr(doc, section)
        for record in [*changes.created, *(record for record, _ in changes.updated), *changes.retired]:
            table[record.id] = record
    for a in plan.assigned:
        # Enrolled after the definitions change, so each cycle opens on the new requirements.
        enroll(ctx, doc, doc.certifications[a.certification], doc.users[a.user], by=ctx.actor_id or "", due=a.due)
    enrolled_by_groups = _enroll_by_changed_groups(ctx, doc, plan.sections["groups"], groups_before)
    details: dict[str, object] = {"file": source, "counts": plan.counts(), "users": plan.concerned_users()}
    if plan.reminders is not None:
        doc.reminders = plan.reminders[0]
        details["reminders"] = schedule_data(doc.reminders)
    note_change(ctx, doc, "apply", details)
    return enrolled_by_groups


def _enroll_by_changed_groups(ctx: Context, doc: Document, changes: Changes, before: dict[str, Group]) -> list[str]:
    """A group's new rules enrol all its members; its old rules enrol the members who joined."""
    told: list[str] = []
    for record in [*changes.created, *(record for record, _ in changes.updated)]:
        now = doc.groups[record.id]
        old = before.get(record.id, Group(record.id, now.name))
        new_rules = tuple(cert_id for cert_id in now.auto_assign if cert_id not in old.auto_assign)
        kept_rules = tuple(cert_id for cert_id in now.auto_assign if cert_id in old.auto_assign)
        joined = [doc.users[m] for m in now.members if m not in old.members]
        members = [doc.users[m] for m in now.members]
        told += enroll_by_group_rules(ctx, doc, now._replace(auto_assign=new_rules), members)
        told += enroll_by_group_rules(ctx, doc, now._replace(auto_assign=kept_rules), joined)
    return told


# ---------------------------------------------------------------- export


def export_definitions(ctx: Context, fmt: str) -> Outcome[str]:
    """The store's users, courses, certifications and assignments as the text of a file `apply` accepts."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint=f"use one of: {', '.join(EXPORT_FORMATS)}")
    doc = ctx.store.read()
    actor(ctx, doc, ADMIN)
    data = definitions_data(doc)
    text = FORMATS[f".{fmt}"].dump(data)
    assigned = sum(len(item["users"]) for item in data.get("assignments", []))
    message = (
        f"Exported {len(doc.users)} users, {len(doc.courses)} courses, {len(doc.certifications)} certifications "
        f"and {assigned} assignments."
    )
    return Outcome(text, [message])


def definitions_data(doc: Document) -> dict[str, Any]:
    """The definitions of `doc` in store order; empty sections are left out."""
    certifications = {cert_id: _effective(cert) for cert_id, cert in doc.certifications.items()}
    records = Document(users=doc.users, courses=doc.courses, certifications=certifications, groups=doc.groups)
    full = document_to_data(records)
    data = {section: full[section] for section in SECTIONS if full.get(section)}
    assignments = _assignments_data(doc)
    if assignments:
        data["assignments"] = assignments
    reminders = schedule_data(doc.reminders)
    if reminders:  # the default schedule is left out, as the store leaves it out
        data["org"] = {"reminders": reminders}
    return data


def as_meant(record: Definable) -> Definable:
    """A certification with every course's effective `mandatory` flag (none marked means all are, as
    `show` lists them); any other record as it is. `export` writes these flags, and `apply` takes a
    record that spells out what the store's means as unchanged, so applying an exported file changes nothing."""
    return _effective(record) if isinstance(record, Certification) else record


def _effective(cert: Certification) -> Certification:
    return cert._replace(courses=rules.effective_requirements(cert).courses)


def _assignments_data(doc: Document) -> list[dict[str, Any]]:
    """Current enrollments, one item per certification and first-cycle `--due`.

    A retired certification's enrollments are left out: they cannot be made
    again, and its history is not part of the definitions.
    """
    groups: dict[str, dict[date | None, list[str]]] = {
        cert.id: {} for cert in doc.certifications.values() if not cert.retired
    }
    for enrollment in doc.enrollments:
        by_due = groups.get(enrollment.certification)
        if by_due is not None:
            by_due.setdefault(_assigned_due(enrollment), []).append(enrollment.user)
    items: list[dict[str, Any]] = []
    for cert_id, by_due in groups.items():
        for due, users in by_due.items():
            item: dict[str, Any] = {"certification": cert_id, "users": users}
            if due is not None:
                item["due"] = format_date(due)
            items.append(item)
    return items


def _assigned_due(enrollment: Enrollment) -> date | None:
    return next((fact.due for fact in enrollment.facts if fact.type == ASSIGNED), None)
