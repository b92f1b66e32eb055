"""Proof of outside certificates: `upload-proof` (the learner), `review`, `approve` and `reject`
(an admin, or the learner's manager; nobody reviews their own proof)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from certcli import access, rules
from certcli.dates import format_date
from certcli.errors import DataError, NotFound, StateError, UsageError
from certcli.model import PROOF_REVIEWED, PROOF_SUBMITTED, Certification, Document, Enrollment, User
from certcli.store import Need
from certcli.usecases.kernel import (
    Context,
    Outcome,
    about,
    actor,
    certification,
    enrollment,
    ids,
    listed,
    note_change,
    record,
    subject,
    user,
    view,
)
from certcli.usecases.views import progress

if TYPE_CHECKING:
    from certcli.usecases.shapes import Progress, ProofFile, ReviewItem





def upload_proof(ctx: Context, cert_id: str, source: Path, completed_on: date | None = None) -> Outcome[Progress]:
    from certcli.proofs import checked_proof

    if completed_on is not None and completed_on > ctx.now.date():
        raise UsageError(f"--completed-on {completed_on} is after today ({ctx.now.date()})")
    with ctx.store.update(about(ctx, cert_id, None)) as doc:
        learner = actor(ctx, doc)
        cert = certification(doc, cert_id)
        if cert.kind != "external":
            raise StateError(f"{cert.id} is internal: it is earned by its courses, not by proof")
        found = enrollment(doc, cert, learner)
        current = view(ctx, found, cert)
        _may_take_proof(cert, current)
        proof, content = checked_proof(source, ctx.proof_max_bytes)
        ctx.store.put_proof(proof.sha256, content)
        if cert.completion_date == "submitted":
            proof = proof._replace(completed_on=completed_on or ctx.now.date())
        record(ctx, found, PROOF_SUBMITTED, proof=proof)
        details: dict[str, object] = {"sha256": proof.sha256, "size": proof.size, "filename": proof.filename}
        note_change(ctx, doc, "upload-proof", details, certification=cert.id, user=learner.id)
        replaced = " (replacing the one waiting)" if current.awaiting_review else ""
        result = progress(cert, view(ctx, found, cert), learner)
    return Outcome(result, [f"Uploaded {source.name}{replaced}; waiting for review."])


def _may_take_proof(cert: Certification, current: rules.EnrollmentView) -> None:
    """A proof is taken while the cycle is open and its mandatory courses are done."""
    if current.cycles[-1].outcome != rules.OPEN:
        recertify = current.status in (rules.EXPIRED, rules.REVOKED_STATUS) or current.renewal_open
        hint = f"run `certcli start {cert.id}` to recertify" if recertify else None
        raise StateError(f"{cert.id} is {current.status}; no proof is needed now", hint=hint)
    if current.courses_outstanding:
        raise StateError(
            f"{cert.id} needs its mandatory courses first ({current.courses_done} of {current.courses_required} done)",
            hint=f"next: {current.next_course}" if current.next_course else None,
        )


def _reviewable(
    ctx: Context, doc: Document, acting: User
) -> Iterator[tuple[Enrollment, Certification, rules.EnrollmentView]]:
    for found in doc.enrollments:
        learner = doc.users[found.user]
        if not learner.active or not access.reviews(acting, learner):
            continue
        cert = doc.certifications[found.certification]
        current = rules.evaluate(found, cert, ctx.now)
        if current is not None and current.awaiting_review:
            yield found, cert, current


def review_queue(ctx: Context) -> Outcome[list[ReviewItem]]:
    """The proofs waiting for the actor's review, oldest first."""
    doc = ctx.store.read(Need(users=ids(ctx.actor_id), awaiting_review_as_of=ctx.now))
    acting = actor(ctx, doc, *access.STAFF)
    items: list[ReviewItem] = []
    for found, cert, current in _reviewable(ctx, doc, acting):
        assert current.proof is not None
        proof = current.proof.proof
        items.append(
            {
                "user": found.user,
                "certification": cert.id,
                "filename": proof.filename,
                "size": proof.size,
                "sha256": proof.sha256,
                "submitted_on": format_date(current.proof.submitted_at.date()),
            }
        )
    items.sort(key=lambda item: (item["submitted_on"] or "", item["certification"], item["user"]))
    how = ["Open a proof to review it: certcli proof get CERTIFICATION USER -o FILE"] if items else []
    return Outcome(items, how)


def review(ctx: Context, cert_id: str, user_id: str, decision: str, reason: str | None = None) -> Outcome[Progress]:
    """Approve or reject the proof waiting in `cert_id` for `user_id`."""
    if decision == "rejected" and not (reason and reason.strip()):
        raise UsageError("a rejection needs a reason", hint="pass --reason TEXT; the learner sees it")
    with ctx.store.update(about(ctx, cert_id, user_id)) as doc:
        acting = actor(ctx, doc, *access.STAFF)
        cert = certification(doc, cert_id)
        learner = user(doc, user_id)
        access.may_review(acting, learner)
        found = enrollment(doc, cert, learner)
        current = view(ctx, found, cert)
        if not current.awaiting_review:
            raise StateError(f"no proof from {learner.id} is waiting for review in {cert.id} (status {current.status})")
        record(ctx, found, PROOF_REVIEWED, by=acting.id, decision=decision, reason=reason)
        action = "approve" if decision == "approved" else "reject"
        note_change(ctx, doc, action, {"reason": reason}, certification=cert.id, user=learner.id)
        result = progress(cert, view(ctx, found, cert), learner)
    if decision == "approved":
        until = f", valid until {result['valid_until']}" if result["valid_until"] else ""
        message = f"Approved {learner.id}'s proof: {cert.id} completed on {result['completed_on']}{until}."
    else:
        message = f"Rejected {learner.id}'s proof for {cert.id}: {reason}"
    return Outcome(result, [message])


class FetchedProof(NamedTuple):
    """A proof file's bytes, checked against its SHA-256, and what it is."""

    content: bytes
    about: ProofFile


def get_proof(ctx: Context, cert_id: str, user_id: str, cycle: int | None = None) -> Outcome[FetchedProof]:
    """The latest proof of a cycle (the current one unless `cycle`) of `user_id` in `cert_id`, for
    an admin, the learner's manager and the learner; exit 6 when the kept bytes no longer match."""
    doc = ctx.store.read(about(ctx, cert_id, user_id))
    learner = subject(doc, actor(ctx, doc), user_id)
    cert = certification(doc, cert_id)
    current = view(ctx, enrollment(doc, cert, learner), cert)
    numbers = [result.cycle.number for result in current.cycles]
    if cycle is not None and cycle not in numbers:
        cycles = listed([str(number) for number in numbers])
        raise NotFound(f"{learner.id}'s {cert.id} has no cycle {cycle}", hint=f"its cycles: {cycles}")
    chosen = current.cycles[-1].cycle if cycle is None else current.cycles[numbers.index(cycle)].cycle
    if chosen.proof is None:
        raise StateError(f"no proof was uploaded in cycle {chosen.number} of {learner.id}'s {cert.id}")
    proof = chosen.proof.proof
    content = ctx.store.proof_content(proof.sha256)
    if content is None:
        raise DataError(f"the proof {proof.filename!r} ({proof.sha256[:12]}…) is missing from the store",
                        hint="run `certcli doctor`; ask the learner to upload it again")  # fmt: skip
    if hashlib.sha256(content).hexdigest() != proof.sha256:
        raise DataError(f"the kept copy of {proof.filename!r} no longer matches its SHA-256: it was changed",
                        hint="run `certcli doctor`; restore it from a backup or ask for a new upload")  # fmt: skip
    described: ProofFile = {
        "user": learner.id,
        "certification": cert.id,
        "cycle": chosen.number,
        "filename": proof.filename,
        "sha256": proof.sha256,
        "size": proof.size,
        "review": chosen.proof.review,
    }
    said = (
        f"{proof.filename} of {learner.id} in {cert.id} (cycle {chosen.number}, {proof.size} bytes, "
        f"SHA-256 checked, review {chosen.proof.review})"
    )
    return Outcome(FetchedProof(content, described), [said])
