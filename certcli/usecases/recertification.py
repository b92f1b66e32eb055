"""Recertification and its record: `revoke` (admin), `history` and `explain`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from certcli import rules
from certcli.access import ADMIN
from certcli.dates import format_date, format_time
from certcli.errors import StateError, UsageError
from certcli.model import REVOKED, Certification, Enrollment, User
from certcli.usecases.kernel import (
    Context,
    Outcome,
    about,
    actor,
    certification,
    enrollment,
    note_change,
    record,
    subject,
    user,
    view,
)
from certcli.usecases.views import progress, proof_data

if TYPE_CHECKING:
    from certcli.usecases.shapes import CycleData, Explanation, History, Progress, Revocation

















def revoke(ctx: Context, cert_id: str, user_id: str, reason: str) -> Outcome[Progress]:
    """End a learner's current completion; `start` then opens the next cycle."""
    if not reason.strip():
        raise UsageError("a revocation needs a reason", hint="pass --reason TEXT")
    with ctx.store.update(about(ctx, cert_id, user_id)) as doc:
        acting = actor(ctx, doc, ADMIN)
        cert = certification(doc, cert_id)
        learner = user(doc, user_id)
        found = enrollment(doc, cert, learner)
        current = view(ctx, found, cert)
        if current.status != rules.COMPLETED:
            raise StateError(f"{learner.id} holds no completion of {cert.id} to revoke (status {current.status})")
        held_cycle = current.cycle - 1 if current.renewing else current.cycle
        record(ctx, found, REVOKED, by=acting.id, reason=reason, cycle=held_cycle)
        details: dict[str, object] = {"reason": reason, "cycle": held_cycle}
        note_change(ctx, doc, "revoke", details, certification=cert.id, user=learner.id)
        result = progress(cert, view(ctx, found, cert), learner)
    messages = [f"Revoked {learner.id}'s {cert.id} completion (cycle {held_cycle}): {reason}"]
    if current.renewing:
        messages.append(f"The renewal cycle {current.cycle} already open continues.")
    return Outcome(result, messages)


def _for_reading(ctx: Context, cert_id: str, user_id: str | None) -> tuple[Certification, Enrollment, User]:
    doc = ctx.store.read(about(ctx, cert_id, user_id))
    learner = subject(doc, actor(ctx, doc), user_id)
    cert = certification(doc, cert_id)
    return cert, enrollment(doc, cert, learner), learner


def _cycle_data(result: rules.CycleResult) -> CycleData:
    cycle = result.cycle
    requirements = cycle.requirements
    revoked: Revocation | None = None
    if cycle.revoked_at is not None:
        revoked = {"on": format_date(cycle.revoked_at.date()), "by": cycle.revoked_by, "reason": cycle.revoke_reason}
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
        "proof": proof_data(cycle.proof),
        "completed_on": format_date(result.completed_on),
        "valid_until": format_date(result.valid_until),
        "outcome": result.outcome,
        "revoked": revoked,
    }


def history(ctx: Context, cert_id: str, user_id: str | None = None) -> Outcome[History]:
    """Every cycle of an enrollment: dates, requirements, progress, proof, outcome."""
    cert, found, learner = _for_reading(ctx, cert_id, user_id)
    current = view(ctx, found, cert)
    return Outcome({"id": cert.id, "user": learner.id, "cycles": [_cycle_data(result) for result in current.cycles]})


def explain(ctx: Context, cert_id: str, user_id: str | None = None) -> Outcome[Explanation]:
    """Why the status is what it is: the rules and dates that produced it."""
    cert, found, learner = _for_reading(ctx, cert_id, user_id)
    current = view(ctx, found, cert)
    explanation: Explanation = {
        "id": cert.id,
        "user": learner.id,
        "now": format_time(ctx.now),
        "status": current.status,
        "overdue": current.overdue,
        "renewal_open": current.renewal_open,
        "cycle": current.cycle,
        "reasons": list(current.reasons),
    }
    return Outcome(explanation)
