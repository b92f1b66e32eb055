"""Turning results into text: JSON for scripts, tables for people.

tabulate is imported only when a table is drawn, so `--json` never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from certcli.text import json_safe

if TYPE_CHECKING:
    from certcli.usecases.shapes import (
        ApplyPlan,
        CatalogItem,
        CourseItem,
        Explanation,
        Finding,
        GroupData,
        Health,
        History,
        ListItem,
        OrgData,
        Page,
        Progress,
        ReminderData,
        RemindResult,
        ReportRow,
        ReviewItem,
        Summary,
        UserData,
    )

STATUS_COLOURS = {
    "completed": "32",  # green
    "expired": "31",  # red
    "rejected": "31",
    "pending_approval": "33",  # yellow
    "started": "36",  # cyan
    "revoked": "31",
}


def is_terminal(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def use_colour(stream: Any = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def paint(text: str, code: str | None, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def to_json(data: object) -> str:
    """Indented JSON, with unprintable characters in its strings escaped (`json_safe`)."""
    import json

    return json_safe(json.dumps(data, indent=2, ensure_ascii=False))


def table(rows: Sequence[Sequence[object]], headers: list[str]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", missingval="-", disable_numparse=True)


def _status(item: Mapping[str, Any], colour: bool) -> str:
    status = item["status"] or "not enrolled"
    text = paint(status, STATUS_COLOURS.get(status), colour)
    if item.get("overdue"):
        text += " " + paint("OVERDUE", "1;31", colour)
    if item.get("renewal_open"):
        text += " " + paint("RENEW", "33", colour)
    return text


def _dash(value: object) -> object:
    return "-" if value is None or value == "" else value


NEXT_STEP_TEXT = {"upload-proof": "upload-proof", "start": "start", "review": "wait for review"}


def next_step_text(item: ListItem) -> str:
    """NEXT: the course to take, or what to do (upload a proof, start again, wait for the review)."""
    step = item["next_step"]
    if step == "course":
        return item["next_course"] or "-"
    return NEXT_STEP_TEXT.get(step or "", "-")


def certification_table(items: list[ListItem], colour: bool, sort: str = "relevance") -> str:
    """`list` and `sort`; sorted by publication date, the table shows it."""
    if not items:
        return "No certifications."
    published = sort == "published"
    headers = ["ID", "TITLE", "STATUS", *(["PUBLISHED"] if published else []), "DUE", "COURSES", "VALID UNTIL", "NEXT"]
    rows = []
    for item in items:
        courses = f"{item['courses_done']}/{item['courses_required']}" if item["courses_required"] else "-"
        row = [item["id"], item["title"], _status(item, colour), *([_dash(item["published"])] if published else [])]
        rows.append(row + [_dash(item["due"]), courses, _dash(item["valid_until"]), next_step_text(item)])
    return table(rows, headers)


def progress_text(item: Progress, colour: bool) -> str:
    """What `start`, `complete`, `upload-proof` and reviews print for people."""
    lines = [f"{item['id']} ({item['user']}): {_status(item, colour)}, cycle {item['cycle']}"]
    if item.get("completed_on"):
        lines.append(f"completed on {item['completed_on']}")
    if item.get("valid_until"):
        lines.append(f"valid until {item['valid_until']}")
    if item.get("due"):
        lines.append(f"due {item['due']}")
    queue = item.get("queue") or []
    if queue:
        lines.append("queue:")
        lines += [f"  {position}. {course}" for position, course in enumerate(queue, 1)]
    return "\n".join(lines)


def page_text(page: Page, colour: bool) -> str:
    """The certification page of `show`."""
    validity = f"recurring, every {page['validity_months']} months" if page["validity_months"] else "perpetual"
    fields = [
        ("Certification", f"{page['title']} ({page['id']})"),
        ("Kind", page["kind"]),
        ("Type", validity),
        ("Issuer", page["issuer"]),
        ("Badge", page["badge"]),
        ("Published", page["published"]),
        ("Overview", page["overview"]),
        ("Learner", page["user"]),
        ("Status", _status(page, colour)),
        ("Cycle", page["cycle"]),
        ("Due", page["due"]),
        ("Completed on", page["completed_on"]),
        ("Valid until", page["valid_until"]),
        ("Courses done", f"{page['courses_done']} of {page['courses_required']} mandatory"),
    ]
    width = max(len(label) for label, _ in fields)
    lines = [f"{label + ':':<{width + 1}} {_dash(value)}" for label, value in fields]
    if page["courses"]:
        rows = [
            [c["id"], c["title"], "yes" if c["mandatory"] else "no", c["status"], _dash(c["completed_on"])]
            for c in page["courses"]
        ]
        lines += ["", table(rows, ["COURSE", "TITLE", "MANDATORY", "STATUS", "COMPLETED ON"])]
    if page["queue"]:
        lines += ["", "Queue: " + " → ".join(page["queue"])]
    proof = page["proof"]
    if proof:
        lines += ["", f"Proof: {proof['filename']} ({proof['size']} bytes, sha256 {proof['sha256'][:12]}…)"]
        lines.append(f"  submitted {proof['submitted_on']}, review {proof['review']}")
        if proof["reason"]:
            lines.append(f"  reason: {proof['reason']}")
    return "\n".join(lines)


def users_table(users: list[UserData]) -> str:
    rows = [
        [u["id"], u["name"], u["role"], _dash(u["email"]), _dash(u["manager"]), "yes" if u["active"] else "no"]
        + [_dash(u["login"])]
        for u in users
    ]
    return table(rows, ["ID", "NAME", "ROLE", "EMAIL", "MANAGER", "ACTIVE", "LOGIN"])


def courses_table(courses: list[CourseItem]) -> str:
    if not courses:
        return "No courses."
    rows = [
        [c["id"], c["title"], _dash(c["minutes"]), "yes" if c["retired"] else "-", ", ".join(c["used_by"]) or "-"]
        for c in courses
    ]
    return table(rows, ["ID", "TITLE", "MINUTES", "RETIRED", "USED BY"])


def catalog_table(items: list[CatalogItem], colour: bool) -> str:
    """`catalog`: the ENROLLED column only for those who may count (admins and managers)."""
    if not items:
        return "No certifications."
    counted = any(item["enrolled"] is not None for item in items)
    headers = ["ID", "TITLE", "KIND", "TYPE", "PUBLISHED", "SELF-ENROL", "STATUS", *(["ENROLLED"] if counted else [])]
    rows = []
    for item in items:
        status = _status(item, colour) if item["status"] else "-"
        if item["retired"]:
            status += " (retired)"
        row = [item["id"], item["title"], item["kind"], item["type"], _dash(item["published"]),
               "yes" if item["self_enroll"] else "-", status]  # fmt: skip
        rows.append(row + ([item["enrolled"]] if counted else []))
    return table(rows, headers)


def groups_table(groups: list[GroupData]) -> str:
    if not groups:
        return "No groups."
    rows = [[g["id"], g["name"], len(g["members"]), ", ".join(g["auto_assign"]) or "-"] for g in groups]
    return table(rows, ["ID", "NAME", "MEMBERS", "ENROLS IN"])


def group_text(group: GroupData, colour: bool) -> str:
    lines = [
        f"Group:     {group['name']} ({group['id']})",
        f"Enrols in: {', '.join(group['auto_assign']) or '-'}",
        f"Members:   {', '.join(group['members']) or '-'}",
    ]
    return "\n".join(lines)


def review_table(items: list[ReviewItem]) -> str:
    if not items:
        return "No proofs waiting for review."
    rows = [[i["user"], i["certification"], i["filename"], i["size"], i["submitted_on"]] for i in items]
    return table(rows, ["USER", "CERTIFICATION", "FILE", "BYTES", "SUBMITTED"])


def history_text(data: History, colour: bool) -> str:
    rows = []
    for cycle in data["cycles"]:
        done = sum(course["status"] == "completed" for course in cycle["courses"])
        proof = cycle["proof"]
        rows.append(
            [
                cycle["cycle"],
                cycle["opened_on"],
                _dash(cycle["due"]),
                f"{done}/{len(cycle['courses'])}" if cycle["courses"] else "-",
                f"{proof['filename']} ({proof['review']})" if proof else "-",
                _dash(cycle["completed_on"]),
                _dash(cycle["valid_until"]),
                paint(cycle["outcome"], STATUS_COLOURS.get(cycle["outcome"]), colour),
            ]
        )
    lines = [
        f"{data['id']} ({data['user']})",
        table(rows, ["CYCLE", "OPENED", "DUE", "COURSES", "PROOF", "COMPLETED ON", "VALID UNTIL", "OUTCOME"]),
    ]
    for cycle in data["cycles"]:
        if cycle["revoked"]:
            revoked = cycle["revoked"]
            lines.append(f"cycle {cycle['cycle']} revoked {revoked['on']} by {revoked['by']}: {revoked['reason']}")
    return "\n".join(lines)


def explanation_text(data: Explanation, colour: bool) -> str:
    status = _status(data, colour)
    lines = [f"{data['id']} ({data['user']}) as of {data['now']}: {status}"]
    lines += [f"  - {reason}" for reason in data["reasons"]]
    return "\n".join(lines)


def audit_table(events: list[dict[str, Any]], colour: bool) -> str:
    from certcli.audit import skew

    if not events:
        return "No audit events."
    rows = [
        [
            event["seq"],
            event["at"] + (f" ({paint(skew(event) or '', '33', colour)})" if skew(event) else ""),
            _dash(event.get("recorded_at")),
            _dash(event["actor"]),
            event["action"],
            " ".join(f"{key}={value}" for key, value in event["subject"].items()) or "-",
        ]
        for event in events
    ]
    return table(rows, ["SEQ", "AT", "RECORDED AT", "ACTOR", "ACTION", "SUBJECT"])


def report_table(rows: list[ReportRow], colour: bool) -> str:
    if not rows:
        return "Nothing to report."
    headers = ["USER", "CERTIFICATION", "STATUS", "DUE", "COMPLETED ON", "VALID UNTIL", "DAYS LEFT"]
    body = [
        [
            row["user"] if row["active"] else f"{row['user']} (deactivated)",
            row["certification"],
            _status(row, colour),
            _dash(row["due"]),
            _dash(row["completed_on"]),
            _dash(row["valid_until"]),
            _dash(row["days_left"]),
        ]
        for row in rows
    ]
    return table(body, headers)


def summary_table(items: list[Summary], colour: bool) -> str:
    if not items:
        return "Nothing to report."
    statuses = list(items[0]["by_status"])
    headers = ["CERTIFICATION", "LEARNERS", *[status.upper() for status in statuses], "RATE", "OVERDUE", "EXPIRING"]
    body = [
        [
            item["certification"],
            item["learners"],
            *[item["by_status"][status] for status in statuses],
            f"{item['completion_rate']:.0%}",
            item["overdue"],
            item["expiring"],
        ]
        for item in items
    ]
    return table(body, headers)


def findings_table(findings: list[Finding], colour: bool) -> str:
    if not findings:
        return ""
    body = [
        [
            f["user"],
            f["certification"],
            paint(f["kind"], "31", colour),
            f["status"],
            _dash(f["due"]),
            _dash(f["valid_until"]),
            _dash(f["days_left"]),
        ]
        for f in findings
    ]
    return table(body, ["USER", "CERTIFICATION", "FINDING", "STATUS", "DUE", "VALID UNTIL", "DAYS LEFT"])


@contextlib.contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr while the block runs, only on a terminal (never piped)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR"))), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def health_text(health: Health, colour: bool) -> str:
    """`doctor`: one row per check."""
    rows = [
        [c["check"], paint("ok", "32", colour) if c["ok"] else paint("PROBLEM", "31", colour), c["detail"]]
        for c in health["checks"]
    ]
    return table(rows, ["CHECK", "RESULT", "DETAIL"])


def plan_text(plan: ApplyPlan, colour: bool) -> str:
    """`apply`: one line per change, in the order they are made (the summary is a message)."""
    return "\n".join(plan["plan"])


def _key_name(jwk: dict[str, str]) -> str:
    return f"{jwk['kid']} ({jwk.get('alg', '-')})"  # a key edited into the store may lack its alg


def org_text(org: OrgData, colour: bool) -> str:
    """`org show` for people: one line per setting, `-` where unset."""
    key = _key_name(org["key"]) if org["key"] else "-"
    reminders = org["reminders"]
    every = reminders["overdue_every"]
    lines = [
        f"Name: {org['name'] or '-'}",
        f"URL:  {org['url'] or '-'}",
        f"Key:  {key}",
        *(f"      retired: {_key_name(retired)}" for retired in org["retired_keys"]),
        f"Reminders before a due date:       {_days(reminders['before_due'])}",
        f"Reminders before a validity ends:  {_days(reminders['before_expiry'])}",
        f"Reminders while overdue:           {f'every {every} days' if every else 'none'}",
        f"Reminders sent from:               {reminders['mail_from'] or '-'}",
    ]
    return "\n".join(lines)


def _days(days: list[int]) -> str:
    return ", ".join(f"{count} day{'' if count == 1 else 's'}" for count in days) if days else "none"


def remind_text(result: RemindResult, colour: bool) -> str:
    """`remind` for people: each message sent (or, in a dry run, to be sent) with its reminders, each
    failed message with why, and who got nothing."""
    verb = "Would send" if result["dry_run"] else "Sent"
    lines = []
    for message in result["sent"]:
        lines.append(f"{verb} to {message['to']}: {message['subject']}")
        lines += [f"  {_reminder_line(reminder)}" for reminder in message["reminders"]]
    for failed in result["failed"]:
        lines.append(paint(f"Not sent to {failed['to']}: {failed['error']}", "31", colour))
        lines += [f"  {_reminder_line(reminder)}" for reminder in failed["reminders"]]
    lines += [f"Skipped {skipped['user']}: {skipped['reason']}" for skipped in result["skipped"]]
    return "\n".join(lines)


def _reminder_line(reminder: ReminderData) -> str:
    from certcli.formats.mail import when

    told = when(reminder["kind"], reminder["date"], reminder["days"]).lower()
    return f"{reminder['user']} {reminder['certification']} (cycle {reminder['cycle']}): {told}"
