"""Defining certifications and assigning them: `define` and `assign` (admin)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from certcli import rules
from certcli.access import ADMIN
from certcli.dates import format_date
from certcli.errors import StateError, UsageError
from certcli.model import REQUIREMENTS_CHANGED, Certification, CourseRef, Document
from certcli.store import Need
from certcli.usecases.kernel import (
    Context,
    Outcome,
    actor,
    certification,
    check_id,
    course,
    enroll,
    ids,
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


def assign(ctx: Context, cert_id: str, user_ids: list[str], due: date | None) -> Outcome[Assigned]:
    need = Need(users=ids(ctx.actor_id, *user_ids), certifications=ids(cert_id), enrollments_of_users=ids(*user_ids))
    with ctx.store.update(need) as doc:
        acting = actor(ctx, doc, ADMIN)
        cert = certification(doc, cert_id)
        learners = [user(doc, user_id) for user_id in dict.fromkeys(user_ids)]
        not_retired(cert)
        assigned: list[str] = []
        messages: list[str] = []
        for learner in learners:
            if doc.enrollment(cert.id, learner.id) is not None:
                messages.append(f"{learner.id} is already assigned to {cert.id}; nothing to do.")
                continue
            enroll(ctx, doc, cert, learner, by=acting.id, due=due)
            assigned.append(learner.id)
            messages.append(f"Assigned {cert.id} to {learner.id}.")
        note_change(ctx, doc, "assign", {"users": assigned, "due": format_date(due)}, certification=cert.id)
    result: Assigned = {"certification": cert.id, "assigned": assigned}
    return Outcome(result, messages)


