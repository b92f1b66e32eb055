"""`migrate`: copy a whole store to another backend (history, audit trail, proofs), then check the copy.

The copy records one more audit event, `migrate`, naming where it came from:
a store's history says when it moved.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from certcli.access import ADMIN
from certcli.errors import DataError, UsageError
from certcli.model import PROOF_SUBMITTED, AuditEntry, Document
from certcli.store import Store
from certcli.usecases.audit_trail import checked_audit_trail
from certcli.usecases.kernel import Context, Outcome, actor

if TYPE_CHECKING:
    from certcli.usecases.shapes import Migrated




def _proof_ids(doc: Document) -> list[str]:
    found = {
        fact.proof.sha256: None
        for enrollment in doc.enrollments
        for fact in enrollment.facts
        if fact.type == PROOF_SUBMITTED and fact.proof is not None
    }
    return list(found)


def _proofs(store: Store, doc: Document) -> tuple[dict[str, bytes], list[str]]:
    """The proof files `doc` refers to, and the SHA-256s of those the store lacks."""
    kept, missing = {}, []
    for sha256 in _proof_ids(doc):
        content = store.proof_content(sha256)
        if content is None:
            missing.append(sha256)
        elif hashlib.sha256(content).hexdigest() != sha256:
            raise DataError(
                f"proof {sha256[:12]}… in {store.location} no longer matches its SHA-256",
                hint="run `certcli doctor` and restore the proof before migrating",
            )
        else:
            kept[sha256] = content
    return kept, missing


def _content(doc: Document) -> tuple[Any, ...]:
    """What a copy must hold the same: everything but the audit head."""
    return (
        doc.schema, doc.org_name, doc.org_url, doc.users, doc.courses, doc.certifications, doc.enrollments,
        doc.reminders,
    )  # fmt: skip


def _differences(source: Document, events: list[dict[str, Any]], proofs: dict[str, bytes], target: Store) -> str | None:
    """What the copy in `target` lacks or has wrong, or None when it holds everything."""
    copied = checked_audit_trail(target)
    if _content(copied.doc) != _content(source):
        return "its users, courses, certifications or enrollments differ from the source's"
    if copied.problem is not None:
        return f"its audit trail does not verify: {copied.problem}"
    if copied.events[: len(events)] != events or len(copied.events) != len(events) + 1:
        return "its audit trail is not the source's followed by the migrate event"
    for sha256 in proofs:
        content = target.proof_content(sha256)
        if content is None or hashlib.sha256(content).hexdigest() != sha256:
            return f"proof {sha256[:12]}… is missing or changed"
    return None


def migrate(ctx: Context, target: Store) -> Outcome[Migrated]:
    """Copy the store to `target`, which must not exist yet; admin only."""
    if target.location == ctx.store.location or set(target.own_files()[:1]) & set(ctx.store.own_files()):
        raise UsageError("--to names the store being copied", hint="name a new store: another file or database")
    doc, events, problem, _ = checked_audit_trail(ctx.store)
    acting = actor(ctx, doc, ADMIN)
    if problem is not None:
        raise DataError(
            f"the audit trail of {ctx.store.location} is broken: {problem}",
            hint="run `certcli audit verify`; restore the store from a backup before migrating",
        )
    proofs, missing = _proofs(ctx.store, doc)
    doc.pending_audit = AuditEntry(
        ctx.now, acting.id, "migrate", {}, {"from": ctx.store.location, "events": len(events), "proofs": len(proofs)}
    )
    target.restore(doc, events, proofs)
    difference = _differences(doc, events, proofs, target)
    if difference is not None:
        raise DataError(
            f"the copy in {target.location} does not match: {difference}",
            hint=f"remove {target.location} and migrate again; {ctx.store.location} is unchanged",
        )
    ctx.store.take_notices()  # the advice to migrate, once migrated
    data: Migrated = {
        "from": ctx.store.location,
        "to": target.location,
        "users": len(doc.users),
        "courses": len(doc.courses),
        "certifications": len(doc.certifications),
        "enrollments": len(doc.enrollments),
        "audit_events": len(events) + 1,
        "proofs": len(proofs),
        "proofs_missing": missing,
        "verified": True,
    }
    messages = [
        f"Copied {ctx.store.location} to {target.location}: {len(doc.enrollments)} enrollments, "
        f"{len(events)} audit events (+1 for this migration), {len(proofs)} proofs; the copy verifies."
    ]
    if missing:
        messages.append(
            f"{len(missing)} proof(s) the store refers to were already missing from it and are missing from the copy "
            "too (see `certcli doctor`)."
        )
    return Outcome(data, messages)
