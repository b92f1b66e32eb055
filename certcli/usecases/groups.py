"""Groups of users and the certifications they enrol in: `group add`, `group list`, `group show`,
`group members`, `group auto-assign`. A group's rules enrol every current member when a rule is
added, and anyone who joins later at the moment they join; nothing here ever removes an enrollment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from certcli import access
from certcli.access import ADMIN
from certcli.errors import StateError, UsageError
from certcli.model import Document, Group
from certcli.store import Need
from certcli.usecases.kernel import (
    Context,
    Outcome,
    actor,
    certification,
    check_id,
    enroll_by_group_rules,
    group,
    ids,
    listed,
    not_retired,
    note_change,
    user,
)

if TYPE_CHECKING:
    from certcli.usecases.shapes import GroupData


def group_data(found: Group) -> GroupData:
    return {"id": found.id, "name": found.name, "members": list(found.members), "auto_assign": list(found.auto_assign)}


def add_group(ctx: Context, group_id: str, name: str) -> Outcome[GroupData]:
    check_id(group_id, "group")
    if not name.strip():
        raise UsageError("--name is empty", hint="give the group a name people recognise")
    with ctx.store.update(Need(users=ids(ctx.actor_id), groups=ids(group_id))) as doc:
        actor(ctx, doc, ADMIN)
        if group_id in doc.groups:
            raise StateError(f"group {group_id!r} already exists", hint="choose another id")
        added = doc.groups[group_id] = Group(group_id, name)
        note_change(ctx, doc, "group add", {"name": name}, group=group_id)
    return Outcome(group_data(added), [f"Added group {group_id}."])


def list_groups(ctx: Context) -> Outcome[list[GroupData]]:
    """Every group (admin, manager)."""
    doc = ctx.store.read(Need(users=ids(ctx.actor_id), all_groups=True))
    actor(ctx, doc, *access.STAFF)
    return Outcome([group_data(found) for found in doc.groups.values()])


def show_group(ctx: Context, group_id: str) -> Outcome[GroupData]:
    """One group: its members and its rules (admin, manager)."""
    doc = ctx.store.read(Need(users=ids(ctx.actor_id), groups=ids(group_id)))
    actor(ctx, doc, *access.STAFF)
    return Outcome(group_data(group(doc, group_id)))


def change_members(
    ctx: Context, group_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> Outcome[GroupData]:
    """Add and remove members (admin). Those who join are enrolled by the group's rules now;
    those who leave keep their enrollments."""
    if not (add or remove):
        raise UsageError("nothing to change", hint="pass --add USER... and/or --remove USER...")
    both = sorted(set(add) & set(remove))
    if both:
        raise UsageError(f"{both[0]} is both added and removed", hint="name each user once")
    need = Need(
        users=ids(ctx.actor_id, *add, *remove),
        groups=ids(group_id),
        all_certifications=True,
        enrollments_of_users=ids(*add),
    )
    with ctx.store.update(need) as doc:
        actor(ctx, doc, ADMIN)
        found = group(doc, group_id)
        joining = [user(doc, user_id) for user_id in dict.fromkeys(add) if user_id not in found.members]
        leaving = [user(doc, user_id).id for user_id in dict.fromkeys(remove) if user_id in found.members]
        members = tuple(m for m in found.members if m not in leaving) + tuple(u.id for u in joining)
        changed = doc.groups[found.id] = found._replace(members=members)
        messages = _membership_messages(found.id, [u.id for u in joining], leaving)
        messages += enroll_by_group_rules(ctx, doc, changed, joining)
        if joining or leaving:
            details: dict[str, object] = {"added": [u.id for u in joining], "removed": leaving}
            note_change(ctx, doc, "group members", details, group=found.id)
    return Outcome(group_data(changed), messages)


def _membership_messages(group_id: str, joined: list[str], left: list[str]) -> list[str]:
    messages = []
    if joined:
        messages.append(f"Added {listed(joined)} to group {group_id}.")
    if left:
        messages.append(f"Removed {listed(left)} from group {group_id}; their enrollments stay.")
    return messages or [f"Group {group_id} already has these members; nothing to do."]


def auto_assign(ctx: Context, group_id: str, cert_id: str, remove: bool = False) -> Outcome[GroupData]:
    """Add a rule (enrol every current member now, and anyone who joins later) or, with `remove`,
    drop it (nobody is unenrolled)."""
    need = Need(
        users=ids(ctx.actor_id),
        all_users=not remove,
        groups=ids(group_id),
        certifications=ids(cert_id),
        enrollments_of_certifications=() if remove else ids(cert_id),
    )
    with ctx.store.update(need) as doc:
        actor(ctx, doc, ADMIN)
        found = group(doc, group_id)
        cert = certification(doc, cert_id)
        if remove:
            return _drop_rule(ctx, doc, found, cert.id)
        if cert.id in found.auto_assign:
            return Outcome(group_data(found), [f"Group {found.id} already enrols in {cert.id}; nothing to do."])
        not_retired(cert)
        changed = doc.groups[found.id] = found._replace(auto_assign=(*found.auto_assign, cert.id))
        rule_only = changed._replace(auto_assign=(cert.id,))
        messages = [f"Group {found.id} now enrols its members in {cert.id}, and anyone who joins later."]
        messages += enroll_by_group_rules(ctx, doc, rule_only, [doc.users[m] for m in found.members])
        note_change(ctx, doc, "group auto-assign", {"add": True}, group=found.id, certification=cert.id)
    return Outcome(group_data(changed), messages)


def _drop_rule(ctx: Context, doc: Document, found: Group, cert_id: str) -> Outcome[GroupData]:
    if cert_id not in found.auto_assign:
        return Outcome(group_data(found), [f"Group {found.id} does not enrol in {cert_id}; nothing to do."])
    changed = doc.groups[found.id] = found._replace(auto_assign=tuple(c for c in found.auto_assign if c != cert_id))
    note_change(ctx, doc, "group auto-assign", {"add": False}, group=found.id, certification=cert_id)
    message = f"Group {found.id} no longer enrols in {cert_id}; its members stay enrolled."
    return Outcome(group_data(changed), [message])
