"""Who may do what: the one access policy. Pure: users in, a decision out.

Every permission decision of certcli is a call to this module, and no other module compares role
names. An admin may do everything; a manager oversees their direct reports (sees them, reviews their
proofs, reports on them); everyone acts for themselves; nobody reviews their own proof. A refusal is
`PermissionDenied` (exit 4) with the message the user sees.
"""

from __future__ import annotations

from certcli.errors import PermissionDenied
from certcli.model import ADMIN, MANAGER, User
from certcli.model import LEARNER as LEARNER  # the roles are the model's; every decision about them is here
from certcli.model import ROLES as ROLES

STAFF = (ADMIN, MANAGER)  # those who oversee others: the whole organisation, or their direct reports


def require_role(actor: User, *roles: str) -> None:
    """The actor holds one of `roles` (none given: any role will do)."""
    if roles and actor.role not in roles:
        raise PermissionDenied(f"{actor.id} is a {actor.role}; this needs the {' or '.join(roles)} role")


def is_admin(actor: User) -> bool:
    return actor.role == ADMIN


def is_staff(actor: User) -> bool:
    return actor.role in STAFF


def manages(actor: User, learner: User) -> bool:
    """`learner` is a direct report of `actor`, who is a manager."""
    return actor.role == MANAGER and learner.manager == actor.id


def oversees(actor: User, learner: User) -> bool:
    """The actor may see `learner`'s certifications: their own, anyone's for an admin, a direct report's
    for a manager. Lists and reports keep exactly the learners this allows."""
    return learner.id == actor.id or is_admin(actor) or manages(actor, learner)


def in_report_of(actor: User, learner: User) -> bool:
    """Whether `learner`'s rows are in the actor's reports (`report`, `check`, `export-xapi`, `calendar
    --all`): everyone's for an admin, a manager's direct reports, a learner's own."""
    if is_admin(actor):
        return True
    if actor.role == MANAGER:
        return manages(actor, learner)
    return learner.id == actor.id


def may_see_others(actor: User) -> None:
    """`--user` naming someone else on a reading command: staff only (checked before the user is looked up)."""
    if not is_staff(actor):
        raise PermissionDenied(f"{actor.id} may see only their own certifications", hint="drop --user")


def may_see(actor: User, learner: User) -> None:
    """`--user LEARNER` on a reading command (list, show, history, explain, badge, calendar)."""
    if learner.id == actor.id:
        return
    may_see_others(actor)
    if not oversees(actor, learner):
        raise PermissionDenied(f"{learner.id} is not a direct report of {actor.id}")


# What a learner is told when naming someone else, by command (checked before the user is looked up).
OWN_ONLY = {"check": "check only their own certifications", "export-xapi": "export only their own records"}


def may_report_on_others(actor: User, command: str) -> None:
    """`--user` naming someone else on `check` or `export-xapi`: staff only."""
    if not is_staff(actor):
        raise PermissionDenied(f"{actor.id} may {OWN_ONLY[command]}", hint="drop --user")


def may_name_in_report(actor: User, learner: User) -> None:
    """`--user LEARNER` on `report`, `check` or `export-xapi`, for a manager: themselves or a direct report."""
    if actor.role == MANAGER and learner.id != actor.id and not manages(actor, learner):
        raise PermissionDenied(f"{learner.id} is not a direct report of {actor.id}", hint="drop --user")


def may_record_for(actor: User, learner_id: str) -> None:
    """`complete --user LEARNER`: a learner records their own progress; only an admin records another's
    (checked before the learner is looked up)."""
    if learner_id != actor.id and not is_admin(actor):
        raise PermissionDenied("only an admin records completions for someone else", hint="drop --user")


def may_review(actor: User, learner: User) -> None:
    """Approving or rejecting `learner`'s proof (the actor already holds a staff role)."""
    if learner.id == actor.id:
        raise PermissionDenied("nobody reviews their own proof", hint="ask an admin or your manager")
    if actor.role == MANAGER and not manages(actor, learner):
        raise PermissionDenied(f"{learner.id} is not a direct report of {actor.id}")


def reviews(actor: User, learner: User) -> bool:
    """Whether `learner`'s proofs are in the actor's review queue."""
    return learner.id != actor.id and (is_admin(actor) or manages(actor, learner))


def may_see_everyone(actor: User) -> None:
    """`calendar --all`: the learners one oversees, which a learner has none of."""
    if not is_staff(actor):
        raise PermissionDenied(f"{actor.id} is a learner; --all needs the admin or manager role", hint="drop --all")


def may_send_reminders(actor: User) -> None:
    """`remind`: it writes to everyone, so only an admin runs it."""
    if not is_admin(actor):
        raise PermissionDenied(f"{actor.id} is a {actor.role}; remind needs the admin role", hint="ask an admin")
