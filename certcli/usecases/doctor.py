"""`certcli doctor`: check a store and say what was found (admin).

The store must load (else `DataError`, as for every command); the rest is reported, never raised, so
one run lists every problem: what the backend finds of itself (`Store.check_health`: files, modes,
the lock, leftovers, kept proofs) and the audit trail. Nothing here changes the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from certcli.access import ADMIN
from certcli.model import Document
from certcli.store.health import Finding, number, passed
from certcli.usecases.audit_trail import Trail, checked_audit_trail
from certcli.usecases.kernel import Context, Outcome, actor

if TYPE_CHECKING:
    from certcli.usecases.shapes import Check, Health







def doctor(ctx: Context, repair: bool = False) -> Outcome[Health]:
    """Every check's finding, and messages listing the problems (or saying the store is healthy); with
    `repair`, what the store keeps derived from the data (a database's standings and the columns beside its
    rows) is worked out again first."""
    repaired = [_repair(ctx)] if repair else []
    trail = checked_audit_trail(ctx.store)  # a store that does not load is a DataError, before the role check
    doc = trail.doc
    actor(ctx, doc, ADMIN)
    findings = [*repaired, passed("store", f"{ctx.store.location} loads and validates ({_counts(doc)})")]
    findings += ctx.store.check_health(doc)
    findings.append(_audit_finding(trail))
    findings.append(_timing_finding(trail))
    problems = [finding for finding in findings if not finding.ok]
    checks: list[Check] = [{"check": f.check, "ok": f.ok, "detail": f.detail} for f in findings]
    if problems:
        messages = [f"{finding.check}: {finding.detail}" for finding in problems]
    else:
        messages = [f"{ctx.store.location} is healthy: {len(findings)} checks passed."]
    return Outcome({"healthy": not problems, "checks": checks}, messages)


def _repair(ctx: Context) -> Finding:
    from certcli.model import AuditEntry
    from certcli.store import Need
    from certcli.usecases.kernel import ids

    actor(ctx, ctx.store.read(Need(users=ids(ctx.actor_id))), ADMIN)
    count = ctx.store.rebuild_derived(AuditEntry(ctx.now, ctx.actor_id or "", "doctor repair", {}, {}))
    if not count:
        return passed("repair", "nothing to repair: what the store works out from the facts matches them")
    return passed(
        "repair",
        f"worked out again from the data what {number(count, 'row')} kept beside it (an audit event records it)",
    )


def _counts(doc: Document) -> str:
    collections = ((doc.users, "user"), (doc.courses, "course"), (doc.certifications, "certification"))
    counts = [number(len(items), word) for items, word in collections]
    return ", ".join([*counts, number(len(doc.enrollments), "enrollment")])


def _timing_finding(trail: Trail) -> Finding:
    """How many events carry a time (--now) over a day from when they were written: reported, not a problem."""
    from certcli import audit

    skews = [audit.skew(event) for event in trail.events]
    backdated, postdated = skews.count(audit.BACKDATED), skews.count(audit.POSTDATED)
    detail = f"{number(backdated, 'event')} backdated, {postdated} postdated by over 24 hours"
    if backdated or postdated:
        detail += "; `certcli audit --backdated` lists them"
    return passed("timing", detail)


def _audit_finding(trail: Trail) -> Finding:
    if trail.problem is not None:
        return Finding("audit", False, f"audit trail broken: {trail.problem}; run `certcli audit verify`")
    if not trail.events:
        return passed("audit", "no audit events recorded yet")
    intact = f"audit trail intact: {number(len(trail.events), 'event')}, the store matches the last one"
    return passed("audit", intact)
