"""`migrate`: copy a whole store to another backend (history, audit trail, proofs), then check the copy.

The copy records one more audit event, `migrate`, naming where it came from:
a store's history says when it moved.

Both the copy and its check go a page at a time (`Store.snapshot`, `Store.loading`): a database
source is never loaded whole, whatever its size, and the check compares SHA-256 fingerprints of
the rows and events rather than holding two copies side by side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from certcli import audit
from certcli.access import ADMIN
from certcli.errors import DataError, UsageError
from certcli.model import PROOF_SUBMITTED, AuditEntry, Document
from certcli.store import Loading, Need, Snapshot, Store
from certcli.store.paging import Fingerprint
from certcli.usecases.kernel import Context, Outcome, actor, ids

if TYPE_CHECKING:
    from certcli.usecases.shapes import Migrated

Progress = Callable[[int, int], None]


def _header(doc: Document) -> tuple[Any, ...]:
    return doc.schema, doc.org_name, doc.org_url, doc.reminders, doc.org_key, doc.org_retired_keys


class _Tick:
    """Reports rows copied and checked to `progress`, at most every `PAGE` rows."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self._progress = total, 0, progress
        if progress is not None:
            progress(0, total)

    def __call__(self, count: int) -> None:
        self.done += count
        if self._progress is not None:
            self._progress(min(self.done, self.total), self.total)


class _Copy:
    """What was copied from `source`: fingerprints of its rows and events, its proofs, its counts."""

    def __init__(self, source: Snapshot, tick: _Tick) -> None:
        self.source, self.tick = source, tick
        self.rows, self.history = Fingerprint(), hashlib.sha256()
        self.events = 0
        self.proofs: dict[str, None] = {}  # the proofs the enrollments name, in order
        self.kept: list[str] = []
        self.missing: list[str] = []

    def into(self, load: Loading, entry: Callable[[int, int], AuditEntry]) -> None:
        for page in self.source.pages():
            self._note_proofs(page)
            load.add_page(page)
            before = self.rows.rows
            self.rows.add_page(page)
            self.tick(self.rows.rows - before)
        chain = audit.ChainCheck()
        for events in self.source.events():
            for event in events:
                chain.add(event)
                self.history.update(audit.canonical(event))
            self.events += len(events)
            load.add_events(events)
            self.tick(len(events))
        problem = chain.finish(self.source.header.audit_head, self.source.content_hash)
        if problem is not None:
            raise DataError(
                f"the audit trail of {self.source.location} is broken: {problem}",
                hint="run `certcli audit verify`; restore the store from a backup before migrating",
            )
        for sha256 in self.proofs:
            self._copy_proof(load, sha256)
        load.finish(entry(self.events, len(self.kept)))

    def _note_proofs(self, page: Document) -> None:
        for enrollment in page.enrollments:
            for fact in enrollment.facts:
                if fact.type == PROOF_SUBMITTED and fact.proof is not None:
                    self.proofs[fact.proof.sha256] = None

    def _copy_proof(self, load: Loading, sha256: str) -> None:
        content = self.source.proof_content(sha256)
        if content is None:
            self.missing.append(sha256)
        elif hashlib.sha256(content).hexdigest() != sha256:
            raise DataError(
                f"proof {sha256[:12]}… in {self.source.location} no longer matches its SHA-256",
                hint="run `certcli doctor` and restore the proof before migrating",
            )
        else:
            load.add_proof(sha256, content)
            self.kept.append(sha256)

    def differences(self, target: Store) -> str | None:
        """What the copy in `target` lacks or has wrong, or None when it holds everything."""
        with target.snapshot() as copied:
            rows = copied.fingerprint()
            self.tick(self.rows.rows)
            if rows != self.rows.hexdigest() or _header(copied.header) != _header(self.source.header):
                return "its users, courses, certifications or enrollments differ from the source's"
            problem = self._trail_difference(copied)
            if problem is not None:
                return problem
            for sha256 in self.kept:
                content = copied.proof_content(sha256)
                if content is None or hashlib.sha256(content).hexdigest() != sha256:
                    return f"proof {sha256[:12]}… is missing or changed"
        return None

    def _trail_difference(self, copied: Snapshot) -> str | None:
        chain, history, count = audit.ChainCheck(), hashlib.sha256(), 0
        for events in copied.events():
            for event in events:
                chain.add(event)
                if count < self.events:
                    history.update(audit.canonical(event))
                count += 1
            self.tick(len(events))
        problem = chain.finish(copied.header.audit_head, copied.content_hash)
        if problem is not None:
            return f"its audit trail does not verify: {problem}"
        if history.digest() != self.history.digest() or count != self.events + 1:
            return "its audit trail is not the source's followed by the migrate event"
        return None


def migrate(ctx: Context, target: Store, progress: Progress | None = None) -> Outcome[Migrated]:
    """Copy the store to `target`, which must not exist yet; admin only. `progress(done, total)`
    is called as rows and events are copied and then checked."""
    if target.location == ctx.store.location or set(target.own_files()[:1]) & set(ctx.store.own_files()):
        raise UsageError("--to names the store being copied", hint="name a new store: another file or database")
    acting = actor(ctx, ctx.store.read(Need(users=ids(ctx.actor_id))), ADMIN)
    with ctx.store.snapshot() as source:
        counts = source.counts()
        copy = _Copy(source, _Tick(2 * sum(counts.values()), progress))

        def entry(events: int, proofs: int) -> AuditEntry:
            details = {"from": ctx.store.location, "events": events, "proofs": proofs}
            return AuditEntry(ctx.now, acting.id, "migrate", {}, details)

        with target.loading(source.header) as load:
            copy.into(load, entry)
        difference = copy.differences(target)
    if difference is not None:
        raise DataError(
            f"the copy in {target.location} does not match: {difference}",
            hint=f"remove {target.location} and migrate again; {ctx.store.location} is unchanged",
        )
    ctx.store.take_notices()  # the advice to migrate, once migrated
    return _outcome(ctx.store, target, counts, copy)


def _outcome(source: Store, target: Store, counts: dict[str, int], copy: _Copy) -> Outcome[Migrated]:
    data: Migrated = {
        "from": source.location,
        "to": target.location,
        "users": counts["users"],
        "courses": counts["courses"],
        "certifications": counts["certifications"],
        "enrollments": counts["enrollments"],
        "audit_events": copy.events + 1,
        "proofs": len(copy.kept),
        "proofs_missing": copy.missing,
        "verified": True,
    }
    messages = [
        f"Copied {source.location} to {target.location}: {counts['enrollments']} enrollments, "
        f"{copy.events} audit events (+1 for this migration), {len(copy.kept)} proofs; the copy verifies."
    ]
    if copy.missing:
        messages.append(
            f"{len(copy.missing)} proof(s) the store refers to were already missing from it and are missing from "
            "the copy too (see `certcli doctor`)."
        )
    return Outcome(data, messages)
