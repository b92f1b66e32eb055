"""Ids for shell completion: what the acting user could name on the command line, read from the
store as cheaply as its backend allows (a database loads only the table asked for)."""

from __future__ import annotations

from certcli import access
from certcli.model import Document
from certcli.store import Need
from certcli.usecases.kernel import Context, actor, ids

COMPLETED_KINDS = ("certification", "course", "user", "group")


def completion_ids(ctx: Context, kind: str, prefix: str) -> list[str]:
    """The ids of `kind` starting with `prefix` that the acting user may see: certifications in
    their catalogue (staff: all but retired ones), every course, the users they oversee (a learner:
    themselves), and groups (staff)."""
    if kind not in COMPLETED_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    need = Need(
        users=ids(ctx.actor_id),
        all_users=kind == "user",
        all_certifications=kind == "certification",
        enrollments_of_users=ids(ctx.actor_id) if kind == "certification" else (),
        all_courses=kind == "course",
        all_groups=kind == "group",
    )
    doc = ctx.store.read(need)
    found = sorted(_visible(doc, ctx, kind))
    return [found_id for found_id in found if found_id.startswith(prefix)]


def _visible(doc: Document, ctx: Context, kind: str) -> list[str]:
    acting = actor(ctx, doc)
    staff = access.is_staff(acting)
    if kind == "certification":
        return [
            cert.id
            for cert in doc.certifications.values()
            if doc.enrollment(cert.id, acting.id) is not None or (not cert.retired and (staff or cert.self_enroll))
        ]
    if kind == "course":
        return list(doc.courses)
    if kind == "user":
        return [user.id for user in doc.users.values() if access.oversees(acting, user)]
    return list(doc.groups) if staff else []
