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







def doctor(ctx: Context) -> Outcome[Health]:
    """Every check's finding, and messages listing the problems (or saying the store is healthy)."""
    trail = checked_audit_trail(ctx.store)  # a store that does not load is a DataError, before the role check
    doc = trail.doc
    actor(ctx, doc, ADMIN)
    findings = [passed("store", f"{ctx.store.location} loads and validates ({_counts(doc)})")]
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
