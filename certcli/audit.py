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
from datetime import date, datetime, timedelta
from typing import Any

from certcli.dates import format_date, format_time, parse_time
from certcli.model import AuditEntry, AuditHead
from certcli.scrubbing import scrub_data

GENESIS = "0" * 64
_SHA256 = re.compile(r"[0-9a-f]{64}")
EVENT_KEYS = ("seq", "at", "actor", "action", "subject", "details", "prev", "store_sha256", "sha256")
# Keys later events carry and earlier ones lack: the real time of the write, and (database stores)
# the SHA-256 of every row the change wrote (None: removed), by table and key.
OPTIONAL_EVENT_KEYS = ("recorded_at", "rows")
WHOLE_STORE = "*"  # in an event's rows: the event lists every row the store holds (a store created or copied)
# A change that writes more rows of a table than this (a store copied, a bulk import) records the table as
# UNLISTED rather than each row: an event stays small enough to read on every command, and those rows are
# covered by the chain (and by any kept checkpoint) until a later change writes them again.
LISTED_ROWS_LIMIT = 10_000
UNLISTED = "*"
SKEW_LIMIT = timedelta(hours=24)  # an effective time further than this from the real one is marked
BACKDATED, POSTDATED = "backdated", "postdated"


def canonical(value: Any) -> bytes:
    """`value` as JSON in one canonical spelling: what every hash of plain data here is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def document_hash(data: dict[str, Any]) -> str:
    """SHA-256 of a store document's content, leaving out its own audit head."""
    content = {key: value for key, value in data.items() if key != "audit"}
    return hashlib.sha256(canonical(content)).hexdigest()


class ChangeHash:
    """SHA-256 of the rows one change wrote or removed, fed one row at a time (a store
    copied into a database is a change of a million rows)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, table: str, how: str, row: Any) -> None:
        self._hash.update(canonical([table, how, row]) + b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({key: value for key, value in event.items() if key != "sha256"})).hexdigest()


def row_digest(row: Any) -> str:
    """SHA-256 of one database row's content, as an event records it and `audit verify` re-hashes it."""
    return hashlib.sha256(canonical(row)).hexdigest()


def make_event(
    entry: AuditEntry,
    head: AuditHead | None,
    store_sha256: str,
    recorded_at: datetime,
    rows: dict[str, dict[str, str | None]] | None = None,
) -> dict[str, Any]:
    """The next event of the chain after `head`, written at the real time `recorded_at`."""
    event: dict[str, Any] = {
        "seq": head.seq + 1 if head else 1,
        "at": format_time(entry.at),
        "recorded_at": format_time(recorded_at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": scrub_data(dict(entry.subject)),
        "details": scrub_data({key: value for key, value in entry.details.items() if value is not None}),
        "prev": head.sha256 if head else GENESIS,
        "store_sha256": store_sha256,
    }
    if rows is not None:
        event["rows"] = rows
    event["sha256"] = event_hash(event)
    return event


def skew(event: dict[str, Any]) -> str | None:
    """`BACKDATED` or `POSTDATED` when the event's effective time (`at`, which --now sets) is more
    than a day from when it was really written; None otherwise, and for events that predate `recorded_at`."""
    recorded = event.get("recorded_at")
    if not isinstance(recorded, str):
        return None
    try:
        difference = parse_time(event["at"]) - parse_time(recorded)
    except ValueError:
        return None
    if difference < -SKEW_LIMIT:
        return BACKDATED
    if difference > SKEW_LIMIT:
        return POSTDATED
    return None


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
    if not isinstance(event, dict) or not set(EVENT_KEYS) <= set(event) <= {*EVENT_KEYS, *OPTIONAL_EVENT_KEYS}:
        return "not an audit event (it does not have exactly the event's keys)"
    if "recorded_at" in event and not isinstance(event["recorded_at"], str):
        return "its recorded_at is not text"
    if "rows" in event and not _row_digests(event["rows"]):
        return "its rows are not a table of row digests"
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


def _row_digests(rows: Any) -> bool:
    if not isinstance(rows, dict) or not all(isinstance(table, dict) for table in rows.values()):
        return False
    digests = [digest for table in rows.values() for digest in table.values()]
    return all(digest is None or (isinstance(digest, str) and _SHA256.fullmatch(digest)) for digest in digests)


def _latest_digests(
    events: list[dict[str, Any]],
) -> tuple[dict[tuple[str, str], tuple[int, str | None]], bool, set[str]]:
    """Each row's digest as the latest event that wrote or removed it left it, with that event's number;
    whether the events account for every row (from an event listing the whole store on, every event
    records its rows), so that a row none of them names was added behind the trail's back; and the
    tables a change too large to list left unaccounted for (their rows written since are checked)."""
    latest: dict[tuple[str, str], tuple[int, str | None]] = {}
    complete = False
    unlisted: set[str] = set()
    for event in events:
        rows = event.get("rows")
        if rows is None:
            complete = False
            continue
        if WHOLE_STORE in rows:
            latest, complete, unlisted = {}, True, set()
        for table, digests in rows.items():
            if UNLISTED in digests:
                latest = {key: value for key, value in latest.items() if key[0] != table}
                unlisted.add(table)
                continue
            for key, digest in digests.items():
                latest[table, key] = (event["seq"], digest)
    return latest, complete, unlisted


def row_problem(
    table: str, key: str, recorded: tuple[int, str | None] | None, digest: str | None, accounted: bool
) -> str | None:
    """What is wrong with row `key` of `table`, whose content now hashes to `digest` (None: it is not
    there), given the latest event that wrote or removed it (`recorded`: its number and the digest it
    recorded; None: no event names it) and whether the trail accounts for every row of the table."""
    if recorded is None:
        if digest is not None and accounted:
            return f"{table} row {key!r} was added without an audit event"
        return None
    seq, kept = recorded
    if digest is None and kept is not None:
        return f"{table} row {key!r} was removed without an audit event (event {seq} wrote it)"
    if digest is None:
        return None
    if kept is None:
        return f"{table} row {key!r} was added without an audit event (event {seq} removed it)"
    if kept != digest:
        return f"{table} row {key!r} was edited without an audit event (event {seq} wrote it)"
    return None


def row_problems(events: list[dict[str, Any]], found: dict[tuple[str, str], str]) -> list[str]:
    """The rows in `found` (table and key: the digest of every row's content now) that differ from what
    the trail recorded: edited, added or removed without an event."""
    latest, complete, unlisted = _latest_digests(events)
    problems = []
    for (table, key), digest in found.items():
        problem = row_problem(table, key, latest.get((table, key)), digest, complete and table not in unlisted)
        if problem is not None:
            problems.append(problem)
    for (table, key), recorded in latest.items():
        if (table, key) not in found and (problem := row_problem(table, key, recorded, None, False)) is not None:
            problems.append(problem)
    return problems


def kept_rows(event: dict[str, Any]) -> list[tuple[int, str, str, str | None]]:
    """The row digests an event records, as a database keeps them beside its trail: (seq, table, key,
    digest; None: removed), a table the event leaves unlisted as key UNLISTED, and an event listing the
    whole store as table WHOLE_STORE (key UNLISTED): what a change reads back for the rows it rewrites."""
    rows = event.get("rows")
    if rows is None:
        return []
    seq = event["seq"]
    kept: list[tuple[int, str, str, str | None]] = []
    for table, digests in rows.items():
        if table == WHOLE_STORE or UNLISTED in digests:
            kept.append((seq, table, UNLISTED, None))
        else:
            kept += [(seq, table, key, digest) for key, digest in digests.items()]
    return kept


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


def tail_problem(tail: list[dict[str, Any]], head: AuditHead | None) -> str | None:
    """What is wrong with the chain's end: `tail` its last two events (or fewer), `head` the event the store
    records; None when the head is the last event, unedited, and follows the one before it."""
    if head is None:
        return f"the store records no audit event but the trail holds event {tail[-1]['seq']}" if tail else None
    if event_hash(head.event) != head.sha256:
        return f"event {head.seq} as the store records it was edited"
    if not tail or tail[-1] != head.event:
        return f"event {head.seq}, which the store records, is not the trail's last event: the trail was edited"
    if event_hash(tail[-1]) != tail[-1]["sha256"]:
        return f"event {head.seq} was edited: its content no longer matches its SHA-256"
    if len(tail) == 2 and (tail[0]["seq"] != head.seq - 1 or tail[-1]["prev"] != tail[0]["sha256"]):
        return f"event {head.seq} does not follow event {head.seq - 1}: an event was removed or edited"
    if len(tail) == 1 and head.event["prev"] != GENESIS:
        return f"event {head.seq - 1} is missing: events were removed"
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
    return since is None or event["at"][:10] >= format_date(since)


# ---------------------------------------------------------------- checkpoints

CHECKPOINT_ACTION = "audit checkpoint"
CHECKPOINT_TYPE = "certcli-audit-checkpoint"


def checkpoint_claims(head: AuditHead, signed_at: datetime, issuer: str) -> dict[str, Any]:
    """What a checkpoint signs: the chain's head (its number and hash commit to every earlier event
    and to the store as of that event), who signs and when."""
    return {"type": CHECKPOINT_TYPE, "seq": head.seq, "sha256": head.sha256, "iss": issuer,
            "iat": int(signed_at.timestamp()), "signed_at": format_time(signed_at)}  # fmt: skip


def recorded_checkpoints(events: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(event number, signed checkpoint) of every checkpoint the trail records."""
    return [
        (event["seq"], event["details"]["checkpoint"])
        for event in events
        if event["action"] == CHECKPOINT_ACTION and isinstance(event["details"].get("checkpoint"), str)
    ]


def checkpoint_problem(events: list[dict[str, Any]], claims: dict[str, Any]) -> str | None:
    """What in the trail no longer matches the signed checkpoint `claims`, or None."""
    seq, sha256 = claims.get("seq"), claims.get("sha256")
    if claims.get("type") != CHECKPOINT_TYPE or isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return "it is not a certcli audit checkpoint"
    if len(events) < seq:
        return (
            f"it covers event {seq} but the trail ends at event {len(events)}: events were removed, "
            "or the store and its trail were rolled back"
        )
    if events[seq - 1]["sha256"] != sha256:
        return f"no longer matches: event {seq} is not the event it signed, the trail up to it was rewritten"
    return None
