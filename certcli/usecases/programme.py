"""Defining certifications and assigning them: `define` and `assign` (admin)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from certcli import rules
from certcli.access import ADMIN
from certcli.dates import format_date
from certcli.errors import StateError, UsageError
from certcli.model import REQUIREMENTS_CHANGED, Certification, CourseRef, Document, User
from certcli.store import Need
from certcli.usecases.kernel import (
    Assignment,
    Context,
    Outcome,
    actor,
    assign_learners,
    certification,
    check_id,
    course,
    group,
    ids,
    listed,
    not_retired,
    note_change,
    record,
    user,
)
from certcli.usecases.views import page

if TYPE_CHECKING:
    from certcli.usecases.shapes import Assigned, Page





class Definition(NamedTuple):
    """The arguments of `define`, as given."""

    id: str
    title: str
    kind: str
    overview: str = ""
    issuer: str = ""
    badge: str = ""
    published: date | None = None
    recurring: int | None = None
    renew_from: str = "completion"
    renewal_window: int | None = None
    deadline_days: int | None = None
    courses: Sequence[str] = ()
    mandatory: Sequence[str] = ()
    ordered: bool = False
    self_enroll: bool = False
    completion_date: str | None = None


def _check_definition(spec: Definition) -> None:
    check_id(spec.id, "certification")
    if len(set(spec.courses)) != len(spec.courses):
        raise UsageError("a course is given twice with --course", hint="list each course once")
    stray = [course_id for course_id in spec.mandatory if course_id not in spec.courses]
    if stray:
        raise UsageError(f"--mandatory {stray[0]} is not one of the --course options", hint="add it with --course too")
    if spec.kind == "internal" and not spec.courses:
        raise UsageError("an internal certification needs at least one --course")
    if spec.kind == "internal" and spec.completion_date is not None:
        raise UsageError("--completion-date applies to external certifications only")
    if spec.renewal_window is not None and spec.recurring is None:
        raise UsageError("--renewal-window applies to recurring certifications only", hint="add --recurring MONTHS")


def define(ctx: Context, spec: Definition, replace: bool, apply_to_open: bool = False) -> Outcome[Page]:
    _check_definition(spec)
    if apply_to_open and not replace:
        raise UsageError("--apply-to-open goes with --replace")
    need = Need(
        users=ids(ctx.actor_id),
        certifications=ids(spec.id),
        courses=frozenset(spec.courses),
        enrollments_of_certifications=ids(spec.id) if apply_to_open else (),
    )
    with ctx.store.update(need) as doc:
        actor(ctx, doc, ADMIN)
        for course_id in spec.courses:
            course(doc, course_id)
        existed = spec.id in doc.certifications
        if existed and not replace:
            raise StateError(f"certification {spec.id!r} already exists", hint="pass --replace to redefine it")
        cert = Certification(
            id=spec.id,
            title=spec.title,
            kind=spec.kind,
            overview=spec.overview,
            issuer=spec.issuer,
            badge=spec.badge,
            published=spec.published or ctx.now.date(),
            self_enroll=spec.self_enroll,
            validity_months=spec.recurring,
            renew_from=spec.renew_from,
            renewal_window_days=spec.renewal_window,
            deadline_days=spec.deadline_days,
            courses=tuple(CourseRef(c, c in spec.mandatory) for c in spec.courses),
            ordered=spec.ordered,
            completion_date=spec.completion_date or "approval",
        )
        doc.certifications[spec.id] = cert
        moved = _apply_to_open_cycles(ctx, doc, cert) if apply_to_open else 0
        details: dict[str, object] = {
            "replace": existed,
            "courses": spec.courses,
            "mandatory": spec.mandatory,
            "moved_open_cycles": moved,
        }
        note_change(ctx, doc, "define", details, certification=spec.id)
    if not existed:
        note = ""
    elif apply_to_open:
        note = f" Moved {moved} open cycle(s) onto the new requirements, keeping completed courses."
    else:
        note = " Open cycles keep the requirements they began with (--apply-to-open moves them)."
    verb = "Redefined" if existed else "Defined"
    return Outcome(page(doc, cert, None, doc.users[ctx.actor_id or ""]), [f"{verb} {spec.id}.{note}"])


def _apply_to_open_cycles(ctx: Context, doc: Document, cert: Certification) -> int:
    """Move every open cycle of `cert` onto its current requirements; returns how many moved."""
    requirements = rules.effective_requirements(cert)
    moved = 0
    for enrollment in doc.enrollments:
        if enrollment.certification != cert.id:
            continue
        view = rules.evaluate(enrollment, cert, ctx.now)
        if view is None or view.cycles[-1].outcome != rules.OPEN or view.requirements == requirements:
            continue
        record(ctx, enrollment, REQUIREMENTS_CHANGED, by=ctx.actor_id, requirements=requirements)
        moved += 1
    return moved


def assign(
    ctx: Context,
    cert_id: str,
    user_ids: Sequence[str],
    due: date | None,
    group_ids: Sequence[str] = (),
    managers: Sequence[str] = (),
) -> Outcome[Assigned]:
    """Enrol the named users, every member of each group and every direct report of each manager;
    those already enrolled are left as they are, deactivated ones are skipped and named."""
    if not (user_ids or group_ids or managers):
        raise UsageError("nobody to assign", hint="name users, or --group GROUP, or --team MANAGER")
    crowd = bool(group_ids or managers)
    need = Need(
        users=ids(ctx.actor_id, *user_ids, *managers),
        all_users=crowd,
        certifications=ids(cert_id),
        groups=ids(*group_ids),
        enrollments_of_users=() if crowd else ids(*user_ids),
        enrollments_of_certifications=ids(cert_id) if crowd else (),
    )
    with ctx.store.update(need) as doc:
        acting = actor(ctx, doc, ADMIN)
        cert = certification(doc, cert_id)
        learners = _learners(doc, user_ids, group_ids, managers)
        not_retired(cert)
        done = assign_learners(ctx, doc, cert, learners, by=acting.id, due=due)
        details: dict[str, object] = {"users": done.assigned, "due": format_date(due)}
        if group_ids or managers:
            details.update(groups=list(group_ids), teams=list(managers))
        note_change(ctx, doc, "assign", details, certification=cert.id)
    result: Assigned = {
        "certification": cert.id,
        "assigned": done.assigned,
        "unchanged": done.unchanged,
        "inactive": done.inactive,
    }
    return Outcome(result, _assign_messages(cert.id, done))


def _learners(doc: Document, user_ids: Sequence[str], group_ids: Sequence[str], managers: Sequence[str]) -> list[User]:
    """The named users, then each group's members, then each manager's direct reports, each once
    (lookups first: an unknown id is exit 3)."""
    wanted = [user(doc, user_id).id for user_id in user_ids]
    for group_id in group_ids:
        wanted += group(doc, group_id).members
    for manager_id in managers:
        manager = user(doc, manager_id)
        wanted += [found.id for found in doc.users.values() if found.manager == manager.id]
    return [doc.users[user_id] for user_id in dict.fromkeys(wanted)]


def _assign_messages(cert_id: str, done: Assignment) -> list[str]:
    if len(done.assigned) + len(done.unchanged) + len(done.inactive) > MESSAGES_BY_NAME:
        counts = [
            (done.assigned, f"Assigned {cert_id} to {{}}."),
            (done.unchanged, f"Already assigned to {cert_id}, nothing to do: {{}}."),
            (done.inactive, f"Not assigned {cert_id}, deactivated: {{}}."),
        ]
        return [text.format(listed(names)) for names, text in counts if names]
    return (
        [f"Assigned {cert_id} to {learner}." for learner in done.assigned]
        + [f"{learner} is already assigned to {cert_id}; nothing to do." for learner in done.unchanged]
        + [f"{learner} is deactivated: not assigned {cert_id}." for learner in done.inactive]
    )


MESSAGES_BY_NAME = 20  # beyond this many learners, a line per outcome rather than per learner
