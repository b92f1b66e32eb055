"""What every use case shares: its context and result, loading what it needs, knowing who acts,
looking things up, recording facts and naming the change for the audit trail.

A use case loads the store (`Store.read`, or `Store.update` which holds the write lock from the read
to the save), asks `certcli.access` whether the actor may, applies `certcli.rules`, and returns an
`Outcome`; it raises `CertcliError` subclasses and never prints, prompts or exits. Checks run in the
contract's order: arguments, store, acting user and role, lookups, relationships, state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from certcli import access, rules
from certcli.dates import format_time
from certcli.errors import NotFound, PermissionDenied, StateError, UsageError
from certcli.model import (
    ASSIGNED,
    CYCLE_OPENED,
    AuditEntry,
    Certification,
    Course,
    Document,
    Enrollment,
    Fact,
    Group,
    Record,
    User,
)
from certcli.store import Need, Store
from certcli.store.document import ID_RULE, is_identifier

T = TypeVar("T")

DEFAULT_PROOF_MAX_BYTES = 10 * 1024 * 1024


class Context(Record):
    """What every use case needs: where the data is, who acts, and when."""

    __slots__ = ("store", "actor_id", "now", "proof_max_bytes")

    def __init__(
        self, store: Store, actor_id: str | None, now: datetime, proof_max_bytes: int = DEFAULT_PROOF_MAX_BYTES
    ) -> None:
        self.store, self.actor_id, self.now, self.proof_max_bytes = store, actor_id, now, proof_max_bytes


class Outcome(Record, Generic[T]):
    """A command's result: data of a declared shape for scripts, and messages for people."""

    __slots__ = ("data", "messages")

    def __init__(self, data: T, messages: Sequence[str] = ()) -> None:
        self.data, self.messages = data, messages


# ---------------------------------------------------------------- what to load


def ids(*given: str | None) -> frozenset[str]:
    """The ids given, leaving out options not passed."""
    return frozenset(value for value in given if value is not None)


def about(ctx: Context, cert_id: str | None, user_id: str | None, course_id: str | None = None) -> Need:
    """What a command on one learner's certification needs: the acting user, the learner
    (`user_id`, or the actor), the certification and course named, and the learner's enrollments."""
    learner = user_id or ctx.actor_id
    return Need(
        users=ids(ctx.actor_id, user_id),
        certifications=ids(cert_id),
        courses=ids(course_id),
        enrollments_of_users=ids(learner),
    )


def check_id(value: str, what: str) -> None:
    """A new id must be an identifier (exit 2)."""
    if not is_identifier(value):
        raise UsageError(f"invalid {what} id {value!r}", hint=f"use {ID_RULE}")


def read_about(
    ctx: Context, need: Need, about_everyone: bool, everyone: Need | None = None, roles: tuple[str, ...] = ()
) -> tuple[Document, User]:
    """The store as a command about some learners needs it, and the acting user with one of
    `roles`. `need` names the actor, a learner asked about and the actor's direct reports;
    an admin asking `about_everyone` gets `everyone` (None: the whole store) read too,
    where the store reads only what is named."""
    doc = ctx.store.read(need)
    acting = actor(ctx, doc, *roles)
    if about_everyone and access.is_admin(acting) and ctx.store.partial_reads:
        doc = ctx.store.read(everyone)
    return doc, acting


# ---------------------------------------------------------------- who acts, and lookups


def actor(ctx: Context, doc: Document, *roles: str) -> User:
    """The acting user, holding one of `roles` (none given: any role)."""
    if not ctx.actor_id:
        raise PermissionDenied(
            "no acting user",
            hint="pass --as USER or set CERTCLI_USER, or have an admin set your login name: "
            "certcli user set ID --login NAME",
        )
    user = doc.users.get(ctx.actor_id)
    if user is None:
        raise PermissionDenied(f"unknown acting user {ctx.actor_id!r}", hint="pass the id of a user in this store")
    if not user.active:
        raise PermissionDenied(f"{user.id} is deactivated", hint="ask an admin: certcli user reactivate ID")
    access.require_role(user, *roles)
    return user


def user(doc: Document, user_id: str) -> User:
    found = doc.users.get(user_id)
    if found is None:
        raise NotFound(f"unknown user {user_id!r}", hint="see `certcli user list`")
    return found


def certification(doc: Document, cert_id: str) -> Certification:
    cert = doc.certifications.get(cert_id)
    if cert is None:
        raise NotFound(f"unknown certification {cert_id!r}", hint="see `certcli catalog`")
    return cert


def course(doc: Document, course_id: str) -> Course:
    found = doc.courses.get(course_id)
    if found is None:
        raise NotFound(f"unknown course {course_id!r}", hint="see `certcli course list`")
    return found


def group(doc: Document, group_id: str) -> Group:
    found = doc.groups.get(group_id)
    if found is None:
        raise NotFound(f"unknown group {group_id!r}", hint="see `certcli group list`")
    return found


def subject(doc: Document, acting: User, user_id: str | None) -> User:
    """The user whose certifications `acting` asks about: themselves, or with --user whom the
    access policy lets them see (the role is checked before the lookup, the relationship after)."""
    if user_id is None or user_id == acting.id:
        return acting
    access.may_see_others(acting)
    learner = user(doc, user_id)
    access.may_see(acting, learner)
    return learner


def enrollment(doc: Document, cert: Certification, learner: User) -> Enrollment:
    found = doc.enrollment(cert.id, learner.id)
    if found is None:
        raise StateError(
            f"{learner.id} is not assigned to {cert.id}",
            hint="an admin assigns it with `certcli assign`"
            + (", or `certcli start` enrols you" if cert.self_enroll else ""),
        )
    return found


def view(ctx: Context, found: Enrollment, cert: Certification) -> rules.EnrollmentView:
    """The enrollment as the rules see it at the evaluation time (exit 5 before it existed)."""
    result = rules.evaluate(found, cert, ctx.now)
    if result is None:
        raise StateError(
            f"{found.user} was enrolled in {cert.id} after {format_time(ctx.now)}",
            hint="ask about a later time with --now",
        )
    return result


# ---------------------------------------------------------------- recording


def note_change(
    ctx: Context, doc: Document, action: str, details: dict[str, object] | None = None, **about_ids: str
) -> None:
    """Name the change this command makes; the store logs it as one audit event when it saves."""
    doc.pending_audit = AuditEntry(ctx.now, ctx.actor_id or "", action, about_ids, details or {})


def record(ctx: Context, found: Enrollment, fact_type: str, **details: Any) -> None:
    """Add a fact stamped with the evaluation time."""
    found.facts.append(Fact(type=fact_type, at=ctx.now, **details))


def enroll(ctx: Context, doc: Document, cert: Certification, learner: User, by: str, due: date | None) -> Enrollment:
    """Enrol `learner` now: assigned, and the first cycle opened on the certification's requirements.
    Every way in checks `rules.enrolment_refusal` first, to skip or report the learner; this refuses."""
    refusal = rules.enrolment_refusal(learner)
    if refusal is not None:
        raise StateError(f"{refusal}: not enrolled in {cert.id}", hint="ask an admin: certcli user reactivate ID")
    new = Enrollment(user=learner.id, certification=cert.id)
    record(ctx, new, ASSIGNED, by=by, due=due)
    first_due = rules.first_due(cert, ctx.now.date(), due)
    record(ctx, new, CYCLE_OPENED, cycle=1, requirements=rules.effective_requirements(cert), due=first_due)
    doc.enrollments.append(new)
    return new


def open_next_cycle(ctx: Context, found: Enrollment, cert: Certification, current: rules.EnrollmentView) -> None:
    """Open the cycle after `current`'s, on the certification's requirements as they are now."""
    later = [fact.at for fact in found.facts if fact.type == CYCLE_OPENED and fact.at > ctx.now]
    if later:  # opening one before it would give two cycles the same number
        raise StateError(
            f"{found.user}'s cycle {current.cycle + 1} of {cert.id} was already opened on {min(later).date()}",
            hint="use a --now on or after that day",
        )
    record(ctx, found, CYCLE_OPENED, cycle=current.cycle + 1, requirements=rules.effective_requirements(cert))


class Assignment(Record):
    """What assigning a certification to some learners did: whom it enrolled, who already were,
    and who were left out because they are deactivated."""

    __slots__ = ("assigned", "unchanged", "inactive")

    def __init__(self, assigned: list[str], unchanged: list[str], inactive: list[str]) -> None:
        self.assigned, self.unchanged, self.inactive = assigned, unchanged, inactive


def assign_learners(
    ctx: Context, doc: Document, cert: Certification, learners: Iterable[User], by: str, due: date | None
) -> Assignment:
    """Enrol each learner not yet enrolled in `cert` (the certification's deadline counted from now)."""
    done = Assignment([], [], [])
    for learner in learners:
        if rules.enrolment_refusal(learner) is not None:
            done.inactive.append(learner.id)
        elif doc.enrollment(cert.id, learner.id) is not None:
            done.unchanged.append(learner.id)
        else:
            enroll(ctx, doc, cert, learner, by=by, due=due)
            done.assigned.append(learner.id)
    return done


def enroll_by_group_rules(ctx: Context, doc: Document, group: Group, joining: Iterable[User]) -> list[str]:
    """Enrol learners who join `group` (or all its members, when a rule is new) in every certification
    its rules name; returns what was done, in words. A retired certification enrols nobody."""
    joining = list(joining)
    told = []
    for cert_id in group.auto_assign:
        cert = doc.certifications[cert_id]
        if cert.retired:
            told.append(f"{cert.id} is retired: group {group.id} enrols nobody in it")
            continue
        done = assign_learners(ctx, doc, cert, joining, by=ctx.actor_id or "", due=None)
        if done.assigned:
            told.append(f"Assigned {cert.id} to {listed(done.assigned)} (group {group.id}).")
        if done.inactive:
            told.append(f"Not assigned {cert.id} to {listed(done.inactive)}: deactivated.")
    return told


def listed(ids: Sequence[str], most: int = 10) -> str:
    """Ids for a message: all of a few, the first `most` of many and how many more."""
    shown = ", ".join(ids[:most])
    return shown if len(ids) <= most else f"{shown} and {len(ids) - most} more"


def not_retired(cert: Certification) -> None:
    if cert.retired:
        raise StateError(f"certification {cert.id!r} is retired", hint="its history stays; nothing new can start")
