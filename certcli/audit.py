"""The tamper-evident audit trail: a hash chain of events, and its verification.

Each event carries the SHA-256 of the event before it and of the store
document as that change left it (in a database store: of the rows the change
wrote); the store records the latest event's number and hash. Editing,
removing or reordering an event, truncating the log, or changing the store
without logging breaks one of those links. Pure: this
module builds and checks events; the store backend reads and appends them.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any

from certcli.dates import format_time
from certcli.model import AuditEntry, AuditHead

GENESIS = "0" * 64
_SHA256 = re.compile(r"[0-9a-f]{64}")
EVENT_KEYS = ("seq", "at", "actor", "action", "subject", "details", "prev", "store_sha256", "sha256")


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def document_hash(data: dict[str, Any]) -> str:
    """SHA-256 of a store document's content, leaving out its own audit head."""
    content = {key: value for key, value in data.items() if key != "audit"}
    return hashlib.sha256(_canonical(content)).hexdigest()


class ChangeHash:
    """SHA-256 of the rows one change wrote or removed, fed one row at a time (a store
    copied into a database is a change of a million rows)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, table: str, how: str, row: Any) -> None:
        self._hash.update(_canonical([table, how, row]) + b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical({key: value for key, value in event.items() if key != "sha256"})).hexdigest()


def make_event(entry: AuditEntry, head: AuditHead | None, store_sha256: str) -> dict[str, Any]:
    """The next event of the chain after `head`."""
    event: dict[str, Any] = {
        "seq": head.seq + 1 if head else 1,
        "at": format_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": dict(entry.subject),
        "details": {key: value for key, value in entry.details.items() if value is not None},
        "prev": head.sha256 if head else GENESIS,
        "store_sha256": store_sha256,
    }
    event["sha256"] = event_hash(event)
    return event


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode_event(raw: bytes | str) -> dict[str, Any]:
    """One event as the log or the database holds it; ValueError saying what is wrong when it is not one."""
    try:
        event = json.loads(raw)
    except ValueError:
        raise ValueError("not a JSON event") from None
    problem = event_problem(event)
    if problem is not None:
        raise ValueError(problem)
    return event


def event_problem(event: Any) -> str | None:
    """What makes `event` something other than an audit event (keys and their types), or None."""
    if not isinstance(event, dict) or set(event) != set(EVENT_KEYS):
        return "not an audit event (it does not have exactly the event's keys)"
    if isinstance(event["seq"], bool) or not isinstance(event["seq"], int) or event["seq"] < 1:
        return "its seq is not a whole number ≥ 1"
    for key in ("at", "actor", "action"):
        if not isinstance(event[key], str):
            return f"its {key} is not text"
    if not isinstance(event["subject"], dict) or not all(isinstance(v, str) for v in event["subject"].values()):
        return "its subject is not a table of ids"
    if not isinstance(event["details"], dict):
        return "its details are not a table"
    for key in ("prev", "store_sha256", "sha256"):
        if not isinstance(event[key], str) or not _SHA256.fullmatch(event[key]):
            return f"its {key} is not a SHA-256"
    return None


def decode_log(raw: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """The events of a log file, and a problem with the first line that is not an event."""
    events: list[dict[str, Any]] = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            events.append(decode_event(line))
        except ValueError as exc:
            return events, f"line {number} (after event {len(events)}) is {exc}: the log was edited or cut"
    return events, None


def verify(events: list[dict[str, Any]], head: AuditHead | None, store_sha256: str | None) -> str | None:
    """None when the chain is whole and matches the store; else what is wrong, naming the first bad event.

    `store_sha256` None: the backend writes each event in the same transaction as its
    change and records the change's hash, not the whole store's, so there is none to compare.
    """
    chain = ChainCheck()
    for event in events:
        if not chain.add(event):
            break
    return chain.finish(head, store_sha256)


class ChainCheck:
    """`verify` fed one event at a time, for a trail read a page at a time: it holds the last event only."""

    def __init__(self) -> None:
        self.count = 0
        self.previous = GENESIS
        self.last: dict[str, Any] | None = None
        self.problem: str | None = None

    def add(self, event: dict[str, Any]) -> bool:
        """Check the next event; False once the chain is found broken (the first problem is kept)."""
        if self.problem is not None:
            return False
        position = self.count + 1
        if event.get("seq") != position:
            self.problem = f"event {position} is missing or out of order (found event {event.get('seq')} in its place)"
        elif event["prev"] != self.previous:
            self.problem = f"event {position} does not follow event {position - 1}: an event was removed or reordered"
        elif event_hash(event) != event["sha256"]:
            self.problem = f"event {position} was edited: its content no longer matches its SHA-256"
        else:
            self.count, self.previous, self.last = position, event["sha256"], event
        return self.problem is None

    def finish(self, head: AuditHead | None, store_sha256: str | None) -> str | None:
        """What is wrong with the events added as the trail of a store whose head is `head`, or None."""
        if self.problem is not None:
            return self.problem
        count, previous = self.count, self.previous
        if head is None:
            return f"the store records no audit events but the log has {count}" if count else None
        if event_hash(head.event) != head.sha256:
            return f"event {head.seq} as the store records it was edited"
        if count < head.seq:
            if count == head.seq - 1 and head.event["prev"] == previous:
                return (
                    f"event {head.seq} is missing from the log: a change was cut short after saving the store, "
                    "or the log's last line was removed (the store holds the event; the next change restores it)"
                )
            return f"event {count + 1} is missing: the log was truncated (the store records event {head.seq})"
        if count > head.seq:
            return f"event {head.seq + 1} is not recorded in the store: the store was replaced by an older copy"
        if self.last != head.event:
            return f"event {head.seq} is not the event the store records"
        if store_sha256 is not None and head.event["store_sha256"] != store_sha256:
            return f"the store was changed after event {head.seq} without an audit event"
        return None


def restorable(events: list[dict[str, Any]], head: AuditHead | None) -> bool:
    """Whether the log lacks just the store's latest event, which a cut-short change left unappended."""
    if head is None or len(events) != head.seq - 1:
        return False
    previous = events[-1]["sha256"] if events else GENESIS
    return head.event["prev"] == previous and event_hash(head.event) == head.sha256


def matches(event: dict[str, Any], user: str | None, cert: str | None, since: date | None) -> bool:
    """Whether an event concerns `user` (as actor or subject), `cert`, and happened on or after `since`."""
    subject = event["subject"]
    named = event["details"].get("users")
    listed = isinstance(named, list) and user in named
    if user is not None and user not in (event["actor"], subject.get("user")) and not listed:
        return False
    if cert is not None and subject.get("certification") != cert:
        return False
    return since is None or event["at"][:10] >= since.isoformat()
