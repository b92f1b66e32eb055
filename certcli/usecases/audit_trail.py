"""The audit trail: `audit` lists events, `audit verify` checks the chain against the store (admin)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from certcli import audit
from certcli.access import ADMIN
from certcli.errors import DataError
from certcli.model import Document
from certcli.store import Need, Store
from certcli.usecases.kernel import Context, Outcome, actor, ids

if TYPE_CHECKING:
    from certcli.usecases.shapes import Verified


# A writer saves the store and then appends to the log: one seen between the two looks, for a moment,
# like a change cut short. A problem is believed once it is still there after these pauses (seconds).
SETTLING_PAUSES = (0.02, 0.1, 0.3, 0.6)


class Trail(NamedTuple):
    """A store's document and audit events read at one moment, and what is wrong with the events
    as the document's trail (None: they verify)."""

    doc: Document
    events: list[dict[str, Any]]
    problem: str | None
    content_hash: str | None  # what the latest event must carry for the document; None for databases




def checked_audit_trail(store: Store, need: Need | None = None) -> Trail:
    """The store and its trail as one snapshot, checked; a problem that settles away is not reported."""
    import time

    for pause in (*SETTLING_PAUSES, None):
        doc, events, problem = store.read_with_audit(need)
        content_hash = store.content_hash(doc)
        problem = problem or audit.verify(events, doc.audit_head, content_hash)
        if problem is None or pause is None:
            break
        time.sleep(pause)
    return Trail(doc, events, problem, content_hash)


def audit_events(
    ctx: Context, user: str | None = None, cert: str | None = None, since: date | None = None
) -> Outcome[list[dict[str, Any]]]:
    """The events by or about `user`, about `cert`, from `since` on; a log that stops being readable
    lists what comes before, with a warning."""
    doc = ctx.store.read(Need(users=ids(ctx.actor_id)))
    actor(ctx, doc, ADMIN)
    events, problem = ctx.store.read_audit()
    warning = [f"warning: the audit log holds only the events listed: {problem}"] if problem else []
    return Outcome([event for event in events if audit.matches(event, user, cert, since)], warning)


def audit_verify(ctx: Context) -> Outcome[Verified]:
    trail = checked_audit_trail(ctx.store, Need(users=ids(ctx.actor_id)))
    actor(ctx, trail.doc, ADMIN)
    if trail.problem is not None:
        raise DataError(f"audit trail broken: {trail.problem}", hint="restore the store and its log from a backup")
    events = trail.events
    last = events[-1] if events else None
    data: Verified = {"ok": True, "events": len(events), "head": last["sha256"] if last else None}
    note = f"through event {last['seq']} ({last['at']})" if last else "no events recorded yet"
    matched = "the store matches it" if trail.content_hash else "the database wrote each event with its change"
    return Outcome(data, [f"Audit trail intact: {len(events)} events, {note}; {matched}."])
