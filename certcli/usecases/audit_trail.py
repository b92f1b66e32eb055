"""The audit trail: `audit` lists events, `audit verify` checks the chain against the store (admin)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from certcli import audit
from certcli.access import ADMIN
from certcli.errors import DataError, StateError
from certcli.model import Document
from certcli.store import Need, Store
from certcli.usecases.kernel import Context, Outcome, actor, ids, note_change

if TYPE_CHECKING:
    from certcli import keys
    from certcli.usecases.shapes import CheckpointMade, Verified


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
    ctx: Context,
    user: str | None = None,
    cert: str | None = None,
    since: date | None = None,
    backdated: bool = False,
) -> Outcome[list[dict[str, Any]]]:
    """The events by or about `user`, about `cert`, from `since` on (with `backdated`, only those whose
    effective time is more than a day from when they were written); a log that stops being readable
    lists what comes before, with a warning."""
    doc = ctx.store.read(Need(users=ids(ctx.actor_id)))
    actor(ctx, doc, ADMIN)
    events, problem = ctx.store.read_audit()
    warning = [f"warning: the audit log holds only the events listed: {problem}"] if problem else []
    chosen = [
        event
        for event in events
        if audit.matches(event, user, cert, since) and (not backdated or audit.skew(event) is not None)
    ]
    return Outcome(chosen, warning)


def audit_verify(ctx: Context, checkpoints: Sequence[Path] = (), key_files: Sequence[Path] = ()) -> Outcome[Verified]:
    """The chain, the store against it, every checkpoint it records and each kept checkpoint file, which
    the trail must still hold unchanged. Each checkpoint is checked with the key its `kid` names: one of
    the keys in `key_files` when given (kept where the store's writers cannot reach), else one of the
    keys the store keeps, current or retired."""
    from certcli import keys

    given = keys.load_trusted(key_files)
    tokens = [(str(path), keys.read_token(path, "a checkpoint")) for path in checkpoints]
    trail = checked_audit_trail(ctx.store, Need(users=ids(ctx.actor_id)))
    actor(ctx, trail.doc, ADMIN)
    if trail.problem is not None:
        raise DataError(f"audit trail broken: {trail.problem}", hint="restore the store and its log from a backup")
    events = trail.events
    trust = keys.trust(given, trail.doc)
    recorded = audit.recorded_checkpoints(events)
    problems = [f"the checkpoint in event {seq} {problem}" for seq, token in recorded
                if (problem := _checkpoint_problem(token, trust, events))]  # fmt: skip
    kept = {token for _, token in recorded}
    for name, token in tokens:
        problem = _checkpoint_problem(token, trust, events)
        if problem is None and token not in kept:
            problem = "is no longer recorded in the trail: the trail was rewritten"
        if problem is not None:
            problems.append(f"checkpoint {name} {problem}")
    if problems:
        raise DataError(
            "\n".join(f"audit trail does not match its checkpoints: {problem}" for problem in problems),
            hint="restore the store and its log from a backup taken before the change; keep checkpoints elsewhere",
        )
    return Outcome(_verified(trail, recorded, trust), _verified_messages(trail, recorded, trust.given))


def _checkpoint_problem(token: str, trust: keys.Trust, events: list[dict[str, Any]]) -> str | None:
    from certcli import keys

    if not trust.keys:
        return "cannot be checked: the organisation has no public key and no --key was given"
    try:
        _, claims = keys.verify(token, trust)
    except ValueError as exc:
        return f"is not validly signed: {exc}"
    return audit.checkpoint_problem(events, claims)


def _covered(recorded: list[tuple[int, str]]) -> int:
    """The last event the trail's checkpoints cover (0: none)."""
    from certcli import keys

    return max((keys.unverified_claims(token).get("seq", 0) for _, token in recorded), default=0)


def _verified(trail: Trail, recorded: list[tuple[int, str]], trust: keys.Trust) -> Verified:
    last = trail.events[-1] if trail.events else None
    return {
        "ok": True,
        "events": len(trail.events),
        "head": last["sha256"] if last else None,
        "checkpoints": len(recorded),
        "uncovered": len(trail.events) - _covered(recorded),
        "key": None if not trust.keys else ("given" if trust.given else "store"),
    }


def _verified_messages(trail: Trail, recorded: list[tuple[int, str]], given: bool) -> list[str]:
    events = trail.events
    last = events[-1] if events else None
    note = f"through event {last['seq']} ({last['at']})" if last else "no events recorded yet"
    matched = "the store matches it" if trail.content_hash else "every row matches the event that wrote it"
    messages = [f"Audit trail intact: {len(events)} events, {note}; {matched}."]
    if recorded:
        whose = "the keys given" if given else "the store's own public keys (whoever can write the store can " \
            "replace them: pass --key to check against keys kept elsewhere)"  # fmt: skip
        messages.append(f"{len(recorded)} checkpoint(s) verified with {whose}.")
    covered = _covered(recorded)
    if len(events) > covered:
        since = f"after event {covered}, the last a checkpoint covers," if covered else "(no checkpoint yet)"
        uncovered = len(events) - covered
        messages.append(f"{uncovered} event(s) {since} are not yet covered: run `certcli audit checkpoint`.")
    return messages


def audit_checkpoint(ctx: Context, key_file: Path | None = None) -> Outcome[CheckpointMade]:
    """Sign the chain's head with the organisation's key and record the signed checkpoint in the trail (admin)."""
    from certcli import keys

    signing = keys.load_private(keys.key_file(key_file))
    trail = checked_audit_trail(ctx.store, Need(users=ids(ctx.actor_id)))  # never sign over a broken trail
    actor(ctx, trail.doc, ADMIN)
    if trail.problem is not None:
        raise DataError(f"audit trail broken: {trail.problem}", hint="nothing was signed; run `certcli audit verify`")
    with ctx.store.update(Need(users=ids(ctx.actor_id))) as doc:
        actor(ctx, doc, ADMIN)
        _require_org_key(doc, signing.public["kid"])
        head = doc.audit_head
        if head is None:
            raise StateError("the trail has no events to checkpoint", hint="make a change first")
        issuer = doc.org_url or doc.org_name or ctx.store.location
        token = keys.sign(audit.checkpoint_claims(head, datetime.now(UTC), issuer), signing, "JWT")
        note_change(ctx, doc, audit.CHECKPOINT_ACTION, {"checkpoint": token, "seq": head.seq})
        doc.record_anyway = True
    data: CheckpointMade = {"seq": head.seq, "sha256": head.sha256, "kid": signing.public["kid"], "checkpoint": token}
    return Outcome(data, [f"Signed a checkpoint of event {head.seq} and recorded it as event {head.seq + 1}."])


def _require_org_key(doc: Document, kid: str) -> None:
    if doc.org_key is None:
        raise StateError("the organisation has no signing key", hint="an admin makes one: certcli org keygen -o FILE")
    if doc.org_key["kid"] != kid:
        raise DataError(
            f"the key file is not the organisation's key ({doc.org_key['kid']})",
            hint="pass the key file `org keygen` wrote, or CERTCLI_SIGNING_KEY naming it",
        )
