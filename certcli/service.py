"""Use cases: load the store, check the acting user, apply the rules, save.

Each public function is one command of the contract. They return plain data
(the JSON shapes of §3) and messages for people; they raise `CertcliError`
subclasses and never print, prompt or exit. Checks run in the contract's order:
arguments, store, acting user and role, lookups, relationships, state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from certcli import rules
from certcli.dates import format_date
from certcli.errors import DataError, NotFound, PermissionDenied, StateError, UsageError
from certcli.model import (
    ASSIGNED,
    COURSE_COMPLETED,
    COURSE_STARTED,
    CYCLE_OPENED,
    PROOF_REVIEWED,
    PROOF_SUBMITTED,
    REQUIREMENTS_CHANGED,
    REVOKED,
    SORT_KEYS,
    STARTED,
    AuditEntry,
    Certification,
    Course,
    CourseRef,
    Document,
    Enrollment,
    Fact,
    User,
)
from certcli.store import Need, Store
from certcli.store.document import ID_RULE, is_identifier


class Context(NamedTuple):
    """What every use case needs: where the data is, who acts, and when."""

    store: Store
    actor_id: str | None
    now: datetime
    proof_max_bytes: int = 10 * 1024 * 1024


class Outcome(NamedTuple):
    """A command's result: JSON-shaped data for scripts and messages for people."""

    data: Any
    messages: Sequence[str] = ()


# ---------------------------------------------------------------- checks


def _ids(*ids: str | None) -> frozenset[str]:
    """The ids given, leaving out options not passed."""
    return frozenset(value for value in ids if value is not None)


def _about(ctx: Context, cert_id: str | None, user_id: str | None, course_id: str | None = None) -> Need:
    """What a command on one learner's certification needs: the acting user, the learner
    (`user_id`, or the actor), the certification and course named, and the learner's enrollments."""
    learner = user_id or ctx.actor_id
    return Need(
        users=_ids(ctx.actor_id, user_id),
        certifications=_ids(cert_id),
        courses=_ids(course_id),
        enrollments_of_users=_ids(learner),
    )


def _check_id(value: str, what: str) -> None:
    if not is_identifier(value):
        raise UsageError(f"invalid {what} id {value!r}", hint=f"use {ID_RULE}")


def _actor(ctx: Context, doc: Document, *roles: str) -> User:
    if not ctx.actor_id:
        raise PermissionDenied("no acting user", hint="pass --as USER or set CERTCLI_USER")
    user = doc.users.get(ctx.actor_id)
    if user is None:
        raise PermissionDenied(f"unknown acting user {ctx.actor_id!r}", hint="pass the id of a user in this store")
    if roles and user.role not in roles:
        raise PermissionDenied(
            f"{user.id} is a {user.role}; this needs the {' or '.join(roles)} role",
        )
    return user


def _read_about(
    ctx: Context, need: Need, about_everyone: bool, everyone: Need | None = None, roles: tuple[str, ...] = ()
) -> tuple[Document, User]:
    """The store as a command about some learners needs it, and the acting user with one of
    `roles`. `need` names the actor, a learner asked about and the actor's direct reports;
    an admin asking `about_everyone` gets `everyone` (None: the whole store) read too,
    where the store reads only what is named."""
    doc = ctx.store.read(need)
    actor = _actor(ctx, doc, *roles)
    if about_everyone and actor.role == "admin" and ctx.store.partial_reads:
        doc = ctx.store.read(everyone)
    return doc, actor


def _user(doc: Document, user_id: str) -> User:
    user = doc.users.get(user_id)
    if user is None:
        raise NotFound(f"unknown user {user_id!r}", hint="see `certcli user list`")
    return user


def _certification(doc: Document, cert_id: str) -> Certification:
    cert = doc.certifications.get(cert_id)
    if cert is None:
        raise NotFound(f"unknown certification {cert_id!r}", hint="see `certcli list` or `certcli show`")
    return cert


def _course(doc: Document, course_id: str) -> Course:
    course = doc.courses.get(course_id)
    if course is None:
        raise NotFound(f"unknown course {course_id!r}")
    return course


def _subject(doc: Document, actor: User, user_id: str | None) -> User:
    """The user whose certifications `actor` asks about: themselves, or with
    --user anyone for an admin and a direct report for a manager."""
    if user_id is None or user_id == actor.id:
        return actor
    if actor.role not in ("admin", "manager"):
        raise PermissionDenied(f"{actor.id} may see only their own certifications", hint="drop --user")
    user = _user(doc, user_id)
    if actor.role == "manager" and user.manager != actor.id:
        raise PermissionDenied(f"{user.id} is not a direct report of {actor.id}")
    return user


def _may_review(actor: User, learner: User) -> None:
    if learner.id == actor.id:
        raise PermissionDenied("nobody reviews their own proof", hint="ask an admin or your manager")
    if actor.role == "manager" and learner.manager != actor.id:
        raise PermissionDenied(f"{learner.id} is not a direct report of {actor.id}")


def _enrollment(doc: Document, cert: Certification, user: User) -> Enrollment:
    enrollment = doc.enrollment(cert.id, user.id)
    if enrollment is None:
        raise StateError(
            f"{user.id} is not assigned to {cert.id}",
            hint="an admin assigns it with `certcli assign`"
            + (", or `certcli start` enrols you" if cert.self_enroll else ""),
        )
    return enrollment


# ---------------------------------------------------------------- facts


def _audit(ctx: Context, doc: Document, action: str, details: dict[str, Any] | None = None, **subject: str) -> None:
    """Name the change this command makes; the store logs it as one audit event when it saves."""
    actor = ctx.actor_id or ""
    doc.pending_audit = AuditEntry(ctx.now, actor, action, subject, details or {})


def _record(ctx: Context, enrollment: Enrollment, fact_type: str, **details: Any) -> None:
    enrollment.facts.append(Fact(type=fact_type, at=ctx.now, **details))


def _enroll(ctx: Context, doc: Document, cert: Certification, user: User, by: str, due: date | None) -> Enrollment:
    enrollment = Enrollment(user=user.id, certification=cert.id)
    _record(ctx, enrollment, ASSIGNED, by=by, due=due)
    first_due = rules.first_due(cert, ctx.now.date(), due)
    _record(ctx, enrollment, CYCLE_OPENED, cycle=1, requirements=rules.effective_requirements(cert), due=first_due)
    doc.enrollments.append(enrollment)
    return enrollment


def _open_next_cycle(ctx: Context, enrollment: Enrollment, cert: Certification, view: rules.EnrollmentView) -> None:
    later = [fact.at for fact in enrollment.facts if fact.type == CYCLE_OPENED and fact.at > ctx.now]
    if later:  # opening one before it would give two cycles the same number
        raise StateError(
            f"{enrollment.user}'s cycle {view.cycle + 1} of {cert.id} was already opened on {min(later).date()}",
            hint="use a --now on or after that day",
        )
    _record(ctx, enrollment, CYCLE_OPENED, cycle=view.cycle + 1, requirements=rules.effective_requirements(cert))


def _view(ctx: Context, enrollment: Enrollment, cert: Certification) -> rules.EnrollmentView:
    view = rules.evaluate(enrollment, cert, ctx.now)
    if view is None:
        raise StateError(
            f"{enrollment.user} was enrolled in {cert.id} after {ctx.now:%Y-%m-%d %H:%M:%S}",
            hint="ask about a later time with --now",
        )
    return view


# ---------------------------------------------------------------- output shapes


def _item(cert: Certification, view: rules.EnrollmentView | None, user: User) -> dict[str, Any]:
    return {
        "id": cert.id,
        "title": cert.title,
        "kind": cert.kind,
        "type": "recurring" if cert.recurring else "perpetual",
        "status": view.status if view else None,
        "overdue": view.overdue if view else False,
        "published": format_date(cert.published),
        "due": format_date(view.due) if view else None,
        "completed_on": format_date(view.completed_on) if view else None,
        "valid_until": format_date(view.valid_until) if view else None,
        "courses_done": view.courses_done if view else 0,
        "courses_required": view.courses_required if view else len(rules.effective_requirements(cert).mandatory_ids),
        "next_course": view.next_course if view else None,
        "renewal_open": view.renewal_open if view else False,
        "cycle": view.cycle if view else None,
        "user": user.id,
    }


def _proof_data(view: rules.EnrollmentView | None) -> dict[str, Any] | None:
    return _proof_data_of(view.proof) if view is not None else None


def _proof_data_of(state: rules.ProofState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "sha256": state.proof.sha256,
        "size": state.proof.size,
        "filename": state.proof.filename,
        "submitted_on": format_date(state.submitted_at.date()),
        "completed_on": format_date(state.proof.completed_on),
        "review": state.review,
        "reason": state.reason,
    }


def _page(doc: Document, cert: Certification, view: rules.EnrollmentView | None, user: User) -> dict[str, Any]:
    """The certification page of `show`: the list item plus the details."""
    if view is not None:
        courses = [(c.id, c.mandatory, c.status, c.completed_on) for c in view.courses]
    else:
        courses = [(r.id, r.mandatory, rules.NOT_STARTED, None) for r in rules.effective_requirements(cert).courses]
    page = _item(cert, view, user)
    page.update(
        {
            "overview": cert.overview,
            "issuer": cert.issuer,
            "badge": cert.badge,
            "validity_months": cert.validity_months,
            "renew_from": cert.renew_from if cert.recurring else None,
            "renewal_window_days": cert.renewal_window_days,
            "deadline_days": cert.deadline_days,
            "ordered": cert.ordered,
            "self_enroll": cert.self_enroll,
            "completion_date": cert.completion_date if cert.kind == "external" else None,
            "retired": cert.retired,
            "enrolled_on": format_date(view.enrolled_on) if view else None,
            "courses": [
                {
                    "id": course_id,
                    "title": doc.courses[course_id].title if course_id in doc.courses else course_id,
                    "mandatory": mandatory,
                    "status": status,
                    "completed_on": format_date(done_on),
                }
                for course_id, mandatory, status, done_on in courses
            ],
            "queue": list(view.queue) if view else [],
            "proof": _proof_data(view),
        }
    )
    return page


def _progress(cert: Certification, view: rules.EnrollmentView, user: User) -> dict[str, Any]:
    """What `start`, `complete`, `upload-proof` and the reviews print: the item, its queue and proof."""
    data = _item(cert, view, user)
    data["queue"] = list(view.queue)
    data["proof"] = _proof_data(view)
    return data


# ---------------------------------------------------------------- setup: init, users, courses


def init_store(
    store: Store, admin_id: str, admin_name: str | None, org: str | None, now: datetime, org_url: str | None = None
) -> Outcome:
    from certcli.org import checked_org_url

    _check_id(admin_id, "user")
    url = checked_org_url(org_url, "--org-url") if org_url is not None else ""
    doc = Document(org_name=org or "", users={admin_id: User(admin_id, admin_name or admin_id, "admin")}, org_url=url)
    details = {"org": org or "", **({"url": url} if url else {})}
    doc.pending_audit = AuditEntry(now, admin_id, "init", {"user": admin_id}, details)
    store.create(doc)
    return Outcome({"store": store.location, "admin": admin_id}, [f"Created {store.location} with admin {admin_id}."])


def add_user(ctx: Context, user_id: str, name: str, role: str, email: str | None, manager: str | None) -> Outcome:
    _check_id(user_id, "user")
    with ctx.store.update(Need(users=_ids(ctx.actor_id, user_id, manager))) as doc:
        _actor(ctx, doc, "admin")
        if manager is not None:
            _user(doc, manager)
        if user_id in doc.users:
            raise StateError(f"user {user_id!r} already exists", hint="choose another id")
        user = User(user_id, name, role, email, manager)
        doc.users[user_id] = user
        _audit(ctx, doc, "user add", {"role": role, "manager": manager}, user=user_id)
    return Outcome(_user_data(user), [f"Added {role} {user_id}."])


def _user_data(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role, "email": user.email, "manager": user.manager}


def list_users(ctx: Context) -> Outcome:
    doc = ctx.store.read(Need(all_users=True))
    _actor(ctx, doc, "admin", "manager")
    return Outcome([_user_data(user) for user in doc.users.values()])


def add_course(ctx: Context, course_id: str, title: str, minutes: int | None) -> Outcome:
    _check_id(course_id, "course")
    with ctx.store.update(Need(users=_ids(ctx.actor_id), courses=_ids(course_id))) as doc:
        _actor(ctx, doc, "admin")
        if course_id in doc.courses:
            raise StateError(f"course {course_id!r} already exists", hint="choose another id")
        doc.courses[course_id] = Course(course_id, title, minutes)
        _audit(ctx, doc, "course add", {"title": title}, course=course_id)
    return Outcome({"id": course_id, "title": title, "minutes": minutes}, [f"Added course {course_id}."])


# ---------------------------------------------------------------- define and assign


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
    _check_id(spec.id, "certification")
    if len(set(spec.courses)) != len(spec.courses):
        raise UsageError("a course is given twice with --course", hint="list each course once")
    stray = [course for course in spec.mandatory if course not in spec.courses]
    if stray:
        raise UsageError(f"--mandatory {stray[0]} is not one of the --course options", hint="add it with --course too")
    if spec.kind == "internal" and not spec.courses:
        raise UsageError("an internal certification needs at least one --course")
    if spec.kind == "internal" and spec.completion_date is not None:
        raise UsageError("--completion-date applies to external certifications only")
    if spec.renewal_window is not None and spec.recurring is None:
        raise UsageError("--renewal-window applies to recurring certifications only", hint="add --recurring MONTHS")


def define(ctx: Context, spec: Definition, replace: bool, apply_to_open: bool = False) -> Outcome:
    _check_definition(spec)
    if apply_to_open and not replace:
        raise UsageError("--apply-to-open goes with --replace")
    need = Need(
        users=_ids(ctx.actor_id),
        certifications=_ids(spec.id),
        courses=frozenset(spec.courses),
        enrollments_of_certifications=_ids(spec.id) if apply_to_open else (),
    )
    with ctx.store.update(need) as doc:
        _actor(ctx, doc, "admin")
        for course_id in spec.courses:
            _course(doc, course_id)
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
        details = {"replace": existed, "courses": spec.courses, "mandatory": spec.mandatory, "moved_open_cycles": moved}
        _audit(ctx, doc, "define", details, certification=spec.id)
    if not existed:
        note = ""
    elif apply_to_open:
        note = f" Moved {moved} open cycle(s) onto the new requirements, keeping completed courses."
    else:
        note = " Open cycles keep the requirements they began with (--apply-to-open moves them)."
    verb = "Redefined" if existed else "Defined"
    return Outcome(_page(doc, cert, None, doc.users[ctx.actor_id or ""]), [f"{verb} {spec.id}.{note}"])


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
        _record(ctx, enrollment, REQUIREMENTS_CHANGED, by=ctx.actor_id, requirements=requirements)
        moved += 1
    return moved


def _not_retired(cert: Certification) -> None:
    if cert.retired:
        raise StateError(f"certification {cert.id!r} is retired", hint="its history stays; nothing new can start")


def assign(ctx: Context, cert_id: str, user_ids: list[str], due: date | None) -> Outcome:
    need = Need(users=_ids(ctx.actor_id, *user_ids), certifications=_ids(cert_id), enrollments_of_users=_ids(*user_ids))
    with ctx.store.update(need) as doc:
        actor = _actor(ctx, doc, "admin")
        cert = _certification(doc, cert_id)
        users = [_user(doc, user_id) for user_id in dict.fromkeys(user_ids)]
        _not_retired(cert)
        assigned, messages = [], []
        for user in users:
            if doc.enrollment(cert.id, user.id) is not None:
                messages.append(f"{user.id} is already assigned to {cert.id}; nothing to do.")
                continue
            _enroll(ctx, doc, cert, user, by=actor.id, due=due)
            assigned.append(user.id)
            messages.append(f"Assigned {cert.id} to {user.id}.")
        _audit(ctx, doc, "assign", {"users": assigned, "due": format_date(due)}, certification=cert.id)
    return Outcome({"certification": cert.id, "assigned": assigned}, messages)


# ---------------------------------------------------------------- list, sort, show


def list_certifications(
    ctx: Context, user_id: str | None = None, pending: bool = False, sort: str = "relevance"
) -> Outcome:
    if sort not in SORT_KEYS:
        raise UsageError(f"unknown sort key {sort!r}", hint=f"use one of: {', '.join(SORT_KEYS)}")
    doc = ctx.store.read(_about(ctx, None, user_id))
    actor = _actor(ctx, doc)
    user = _subject(doc, actor, user_id)
    rows: list[tuple[rules.SortableItem, dict[str, Any]]] = []
    for enrollment in doc.enrollments:
        if enrollment.user != user.id:
            continue
        cert = doc.certifications[enrollment.certification]
        view = rules.evaluate(enrollment, cert, ctx.now)
        if view is None or (pending and view.status == rules.COMPLETED and not view.renewal_open):
            continue
        key = rules.SortableItem(cert.id, cert.title, cert.published, view.status, view.overdue, view.due, user.id)
        rows.append((key, _item(cert, view, user)))
    rows.sort(key=lambda row: rules.sort_key(sort, row[0]))
    return Outcome([item for _, item in rows])


def show(ctx: Context, cert_id: str, user_id: str | None = None) -> Outcome:
    doc = ctx.store.read(_about(ctx, cert_id, user_id))
    actor = _actor(ctx, doc)
    user = _subject(doc, actor, user_id)
    cert = _certification(doc, cert_id)
    enrollment = doc.enrollment(cert.id, user.id)
    view = rules.evaluate(enrollment, cert, ctx.now) if enrollment else None
    return Outcome(_page(doc, cert, view, user))


# ---------------------------------------------------------------- learning: start, complete


def _reopen(
    ctx: Context,
    enrollment: Enrollment,
    cert: Certification,
    view: rules.EnrollmentView,
    messages: list[str],
    early: bool,
) -> rules.EnrollmentView:
    """Open the next cycle when the enrollment has expired or was revoked, or
    (with `early`) when its renewal window is open; otherwise change nothing."""
    reason = rules.next_cycle_opens(view, early)
    if reason is None:
        return view
    why = {
        rules.LAPSED: f"{cert.id} expired on {view.valid_until}",
        rules.REVOKED_HELD: f"{cert.id} was revoked",
        rules.RENEWAL: f"the renewal window of {cert.id} is open (valid until {view.valid_until})",
    }[reason]
    _open_next_cycle(ctx, enrollment, cert, view)
    messages.append(f"{why}; opened cycle {view.cycle + 1}.")
    return _view(ctx, enrollment, cert)


def start(ctx: Context, cert_id: str, course_id: str | None = None) -> Outcome:
    messages: list[str] = []
    with ctx.store.update(_about(ctx, cert_id, None, course_id)) as doc:
        actor = _actor(ctx, doc)
        cert = _certification(doc, cert_id)
        if course_id is not None:
            _course(doc, course_id)
        enrollment = doc.enrollment(cert.id, actor.id)
        _not_retired(cert)
        if enrollment is None:
            if not cert.self_enroll:
                _enrollment(doc, cert, actor)  # raises "not assigned"
            enrollment = _enroll(ctx, doc, cert, actor, by=actor.id, due=None)
            messages.append(f"Enrolled in {cert.id}.")
        _audit(ctx, doc, "start", {"course": course_id}, certification=cert.id, user=actor.id)
        view = _reopen(ctx, enrollment, cert, _view(ctx, enrollment, cert), messages, early=True)
        if view.status == rules.COMPLETED and not view.renewing:
            until = f", valid until {view.valid_until}" if view.valid_until else ""
            messages.append(f"{cert.id} is already completed (on {view.completed_on}{until}).")
            return Outcome(_progress(cert, _view(ctx, enrollment, cert), actor), messages)
        if _awaiting_review(view):
            messages.append(f"Your proof for {cert.id} is waiting for review.")
            return Outcome(_progress(cert, _view(ctx, enrollment, cert), actor), messages)
        if course_id is not None:
            _check_course_action(view, cert, course_id, "start")
        target = course_id or view.next_course
        if target is not None and _course_status(view, target) != rules.COMPLETED:
            _record(ctx, enrollment, COURSE_STARTED, course=target)
            messages.append(f"Now taking {target}.")
        elif target is not None:
            messages.append(f"Course {target} is already completed.")
        elif view.cycles[-1].cycle.started_at is None:
            _record(ctx, enrollment, STARTED)
        if cert.kind == "external":
            messages.append(_upload_hint(cert, view))
        return Outcome(_progress(cert, _view(ctx, enrollment, cert), actor), messages)


def _awaiting_review(view: rules.EnrollmentView) -> bool:
    return view.proof is not None and view.proof.review == rules.PENDING


def _upload_hint(cert: Certification, view: rules.EnrollmentView) -> str:
    if view.courses_done < view.courses_required:
        return f"Complete the mandatory courses, then upload your proof: certcli upload-proof {cert.id} FILE"
    return f"Upload your proof of {cert.title}: certcli upload-proof {cert.id} FILE (PDF, PNG or JPEG)"


def _course_status(view: rules.EnrollmentView, course_id: str) -> str:
    return next((c.status for c in view.courses if c.id == course_id), rules.NOT_STARTED)


def _check_course_action(view: rules.EnrollmentView, cert: Certification, course_id: str, verb: str) -> None:
    if not view.requirements.has_course(course_id):
        raise StateError(
            f"course {course_id!r} is not part of {cert.id} (cycle {view.cycle})",
            hint=f"see its courses with `certcli show {cert.id}`",
        )
    statuses = {course.id: course.status for course in view.courses}
    blocker = rules.blocking_course(view.requirements, statuses, course_id)
    if blocker is not None:
        raise StateError(
            f"{cert.id} is ordered: cannot {verb} {course_id} before completing {blocker}",
            hint=f"complete {blocker} first",
        )


def complete(ctx: Context, cert_id: str, course_id: str, user_id: str | None = None) -> Outcome:
    messages: list[str] = []
    with ctx.store.update(_about(ctx, cert_id, user_id, course_id)) as doc:
        actor = _actor(ctx, doc)
        if user_id is not None and user_id != actor.id and actor.role != "admin":
            raise PermissionDenied("only an admin records completions for someone else", hint="drop --user")
        learner = _user(doc, user_id) if user_id is not None else actor
        cert = _certification(doc, cert_id)
        _course(doc, course_id)
        enrollment = _enrollment(doc, cert, learner)
        _audit(ctx, doc, "complete", {"course": course_id}, certification=cert.id, user=learner.id)
        view = _reopen(ctx, enrollment, cert, _view(ctx, enrollment, cert), messages, early=False)
        _check_course_action(view, cert, course_id, "complete")
        if _course_status(view, course_id) == rules.COMPLETED:
            messages.append(f"{course_id} is already completed; nothing to do.")
        else:
            _record(ctx, enrollment, COURSE_COMPLETED, course=course_id)
            messages.append(f"Completed {course_id}.")
        after = _view(ctx, enrollment, cert)
    if after.cycles[-1].completed_on is not None and view.cycles[-1].completed_on is None:
        until = f", valid until {after.valid_until}" if after.valid_until else ""
        messages.append(f"{cert.id} is complete{until}.")
    elif cert.kind == "external" and after.courses_done == after.courses_required and not _awaiting_review(after):
        messages.append(f"Mandatory courses done; upload your proof: certcli upload-proof {cert.id} FILE")
    return Outcome(_progress(cert, after, learner), messages)


# ---------------------------------------------------------------- proofs and reviews


def upload_proof(ctx: Context, cert_id: str, source: Path, completed_on: date | None = None) -> Outcome:
    from certcli.proofs import checked_proof

    if completed_on is not None and completed_on > ctx.now.date():
        raise UsageError(f"--completed-on {completed_on} is after today ({ctx.now.date()})")
    with ctx.store.update(_about(ctx, cert_id, None)) as doc:
        actor = _actor(ctx, doc)
        cert = _certification(doc, cert_id)
        if cert.kind != "external":
            raise StateError(f"{cert.id} is internal: it is earned by its courses, not by proof")
        enrollment = _enrollment(doc, cert, actor)
        view = _view(ctx, enrollment, cert)
        if view.cycles[-1].outcome != rules.OPEN:
            recertify = view.status in (rules.EXPIRED, rules.REVOKED_STATUS) or view.renewal_open
            hint = f"run `certcli start {cert.id}` to recertify" if recertify else None
            raise StateError(f"{cert.id} is {view.status}; no proof is needed now", hint=hint)
        if view.courses_done < view.courses_required:
            raise StateError(
                f"{cert.id} needs its mandatory courses first ({view.courses_done} of {view.courses_required} done)",
                hint=f"next: {view.next_course}" if view.next_course else None,
            )
        proof, content = checked_proof(source, ctx.proof_max_bytes)
        ctx.store.put_proof(proof.sha256, content)
        if cert.completion_date == "submitted":
            proof = proof._replace(completed_on=completed_on or ctx.now.date())
        _record(ctx, enrollment, PROOF_SUBMITTED, proof=proof)
        details = {"sha256": proof.sha256, "size": proof.size, "filename": proof.filename}
        _audit(ctx, doc, "upload-proof", details, certification=cert.id, user=actor.id)
        replaced = " (replacing the one waiting)" if _awaiting_review(view) else ""
        result = _progress(cert, _view(ctx, enrollment, cert), actor)
    return Outcome(result, [f"Uploaded {source.name}{replaced}; waiting for review."])


def _reviewable(
    ctx: Context, doc: Document, actor: User
) -> Iterable[tuple[Enrollment, Certification, rules.EnrollmentView]]:
    for enrollment in doc.enrollments:
        learner = doc.users[enrollment.user]
        if actor.role == "manager" and learner.manager != actor.id:
            continue
        cert = doc.certifications[enrollment.certification]
        view = rules.evaluate(enrollment, cert, ctx.now)
        if view is not None and _awaiting_review(view) and learner.id != actor.id:
            yield enrollment, cert, view


def review_queue(ctx: Context) -> Outcome:
    doc = ctx.store.read(Need(users=_ids(ctx.actor_id), awaiting_review_as_of=ctx.now))
    actor = _actor(ctx, doc, "admin", "manager")
    items = []
    for enrollment, cert, view in _reviewable(ctx, doc, actor):
        assert view.proof is not None
        items.append(
            {
                "user": enrollment.user,
                "certification": cert.id,
                "filename": view.proof.proof.filename,
                "size": view.proof.proof.size,
                "sha256": view.proof.proof.sha256,
                "submitted_on": format_date(view.proof.submitted_at.date()),
            }
        )
    items.sort(key=lambda item: (item["submitted_on"], item["certification"], item["user"]))
    return Outcome(items)


def review(ctx: Context, cert_id: str, user_id: str, decision: str, reason: str | None = None) -> Outcome:
    """Approve or reject the proof waiting in `cert_id` for `user_id`."""
    if decision == "rejected" and not (reason and reason.strip()):
        raise UsageError("a rejection needs a reason", hint="pass --reason TEXT; the learner sees it")
    with ctx.store.update(_about(ctx, cert_id, user_id)) as doc:
        actor = _actor(ctx, doc, "admin", "manager")
        cert = _certification(doc, cert_id)
        learner = _user(doc, user_id)
        _may_review(actor, learner)
        enrollment = _enrollment(doc, cert, learner)
        view = _view(ctx, enrollment, cert)
        if not _awaiting_review(view):
            raise StateError(f"no proof from {learner.id} is waiting for review in {cert.id} (status {view.status})")
        _record(ctx, enrollment, PROOF_REVIEWED, by=actor.id, decision=decision, reason=reason)
        action = "approve" if decision == "approved" else "reject"
        _audit(ctx, doc, action, {"reason": reason}, certification=cert.id, user=learner.id)
        result = _progress(cert, _view(ctx, enrollment, cert), learner)
    if decision == "approved":
        until = f", valid until {result['valid_until']}" if result["valid_until"] else ""
        message = f"Approved {learner.id}'s proof: {cert.id} completed on {result['completed_on']}{until}."
    else:
        message = f"Rejected {learner.id}'s proof for {cert.id}: {reason}"
    return Outcome(result, [message])


# ---------------------------------------------------------------- recertification: revoke, history, explain


def revoke(ctx: Context, cert_id: str, user_id: str, reason: str) -> Outcome:
    if not reason.strip():
        raise UsageError("a revocation needs a reason", hint="pass --reason TEXT")
    with ctx.store.update(_about(ctx, cert_id, user_id)) as doc:
        actor = _actor(ctx, doc, "admin")
        cert = _certification(doc, cert_id)
        learner = _user(doc, user_id)
        enrollment = _enrollment(doc, cert, learner)
        view = _view(ctx, enrollment, cert)
        if view.status != rules.COMPLETED:
            raise StateError(f"{learner.id} holds no completion of {cert.id} to revoke (status {view.status})")
        held_cycle = view.cycle - 1 if view.renewing else view.cycle
        _record(ctx, enrollment, REVOKED, by=actor.id, reason=reason, cycle=held_cycle)
        _audit(ctx, doc, "revoke", {"reason": reason, "cycle": held_cycle}, certification=cert.id, user=learner.id)
        result = _progress(cert, _view(ctx, enrollment, cert), learner)
    messages = [f"Revoked {learner.id}'s {cert.id} completion (cycle {held_cycle}): {reason}"]
    if view.renewing:
        messages.append(f"The renewal cycle {view.cycle} already open continues.")
    return Outcome(result, messages)


def _enrollment_for_reading(ctx: Context, cert_id: str, user_id: str | None) -> tuple[Certification, Enrollment, User]:
    doc = ctx.store.read(_about(ctx, cert_id, user_id))
    actor = _actor(ctx, doc)
    user = _subject(doc, actor, user_id)
    cert = _certification(doc, cert_id)
    return cert, _enrollment(doc, cert, user), user


def _cycle_data(result: rules.CycleResult) -> dict[str, Any]:
    cycle = result.cycle
    requirements = cycle.requirements
    proof = _proof_data_of(cycle.proof)
    return {
        "cycle": cycle.number,
        "opened_on": format_date(cycle.opened_at.date()),
        "due": format_date(result.due),
        "requirements": {
            "ordered": requirements.ordered,
            "courses": [{"id": ref.id, "mandatory": ref.mandatory} for ref in requirements.courses],
        },
        "courses": [
            {
                "id": ref.id,
                "status": cycle.course(ref.id).status,
                "completed_on": format_date(cycle.course(ref.id).completed_on),
            }
            for ref in requirements.courses
        ],
        "proof": proof,
        "completed_on": format_date(result.completed_on),
        "valid_until": format_date(result.valid_until),
        "outcome": result.outcome,
        "revoked": None
        if cycle.revoked_at is None
        else {"on": format_date(cycle.revoked_at.date()), "by": cycle.revoked_by, "reason": cycle.revoke_reason},
    }


def history(ctx: Context, cert_id: str, user_id: str | None = None) -> Outcome:
    cert, enrollment, user = _enrollment_for_reading(ctx, cert_id, user_id)
    view = _view(ctx, enrollment, cert)
    return Outcome({"id": cert.id, "user": user.id, "cycles": [_cycle_data(result) for result in view.cycles]})


def explain(ctx: Context, cert_id: str, user_id: str | None = None) -> Outcome:
    cert, enrollment, user = _enrollment_for_reading(ctx, cert_id, user_id)
    view = _view(ctx, enrollment, cert)
    return Outcome(
        {
            "id": cert.id,
            "user": user.id,
            "now": ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": view.status,
            "overdue": view.overdue,
            "renewal_open": view.renewal_open,
            "cycle": view.cycle,
            "reasons": list(view.reasons),
        }
    )


# ---------------------------------------------------------------- the audit trail


class Trail(NamedTuple):
    """A store's document and audit events read at one moment, and what is wrong with the events
    as the document's trail (None: they verify)."""

    doc: Document
    events: list[dict[str, Any]]
    problem: str | None
    content_hash: str | None  # what the latest event must carry for the document; None for databases


# A writer saves the store and then appends to the log: one seen between the two looks, for a moment,
# like a change cut short. A problem is believed once it is still there after these pauses (seconds).
SETTLING_PAUSES = (0.02, 0.1, 0.3, 0.6)


def _checked_audit_trail(store: Store, need: Need | None = None) -> Trail:
    import time

    from certcli import audit

    for pause in (*SETTLING_PAUSES, None):
        doc, events, problem = store.read_with_audit(need)
        content_hash = store.content_hash(doc)
        problem = problem or audit.verify(events, doc.audit_head, content_hash)
        if problem is None or pause is None:
            break
        time.sleep(pause)
    return Trail(doc, events, problem, content_hash)


def audit_events(ctx: Context, user: str | None = None, cert: str | None = None, since: date | None = None) -> Outcome:
    from certcli import audit

    doc = ctx.store.read(Need(users=_ids(ctx.actor_id)))
    _actor(ctx, doc, "admin")
    events, problem = ctx.store.read_audit()
    warning = [f"warning: the audit log holds only the events listed: {problem}"] if problem else []
    return Outcome([event for event in events if audit.matches(event, user, cert, since)], warning)


def audit_verify(ctx: Context) -> Outcome:
    trail = _checked_audit_trail(ctx.store, Need(users=_ids(ctx.actor_id)))
    _actor(ctx, trail.doc, "admin")
    if trail.problem is not None:
        raise DataError(f"audit trail broken: {trail.problem}", hint="restore the store and its log from a backup")
    events = trail.events
    last = events[-1] if events else None
    data = {"ok": True, "events": len(events), "head": last["sha256"] if last else None}
    note = f"through event {last['seq']} ({last['at']})" if last else "no events recorded yet"
    matched = "the store matches it" if trail.content_hash else "the database wrote each event with its change"
    return Outcome(data, [f"Audit trail intact: {len(events)} events, {note}; {matched}."])
