"""`certcli remind`: the reminders the organisation's schedule calls for at `--now`, one e-mail per learner
and one digest per manager, each recorded as sent once the mail server accepted it.

Which reminder an enrollment calls for: `rules.reminder_due`. What a message says: `certcli.formats.mail`.
How it travels: `certcli.mail`. The password comes in as given (CERTCLI_SMTP_PASSWORD) and goes out only
to the server: never in a message, an error, a result or the audit trail.

Exactly once: each message is sent inside its own change of the store (`Store.update`), which holds the
store's write lock while it reads the recipient and their reminders again (a user deactivated or given
another address since the run began is mailed as they are now), checks that the reminders are still
unsent, hands the message to the server and records them (a `reminded` fact on each enrollment, by the
recipient, and one audit event naming them). A message the server does not take leaves the store as it
was, so the next run sends it again; another `remind` running meanwhile waits for the lock and then finds
the reminders recorded. Between messages no lock is held, and the writers waiting for it take it before
the run's next message does (`certcli.store.turns`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from certcli import access, mail, rules
from certcli.dates import format_date, format_time
from certcli.errors import DataError, StateError, UsageError
from certcli.formats import mail as letters
from certcli.model import REMINDED, Certification, Document, Enrollment, Fact, User
from certcli.store import Need
from certcli.usecases.kernel import Context, Outcome, actor, ids, listed, note_change

if TYPE_CHECKING:
    from email.message import EmailMessage

    from certcli.usecases.shapes import FailedMessage, ReminderData, RemindResult, SentMessage, SkippedUser

FAILURES_SHOWN = 10  # lines of failed messages in the error; the JSON result lists them all
DEACTIVATED = "deactivated"
NO_ADDRESS = "no e-mail address"
_DIGEST = " (a manager's digest)"


class Pending(NamedTuple):
    """A reminder the schedule calls for, and how a message tells it."""

    user: str
    certification: str
    due: rules.ReminderDue
    item: letters.Item


class Outgoing(NamedTuple):
    """One message of the run: to a learner about their reminders, or a manager's digest of their reports'."""

    recipient: User
    digest: bool
    reminders: list[Pending]


class RunPlan(NamedTuple):
    messages: list[Outgoing]
    skipped: list[SkippedUser]


def remind(ctx: Context, smtp_url: str | None, password: str | None, dry_run: bool = False) -> Outcome[RemindResult]:
    """Send every reminder due at `ctx.now` (admin) through the server `smtp_url` names; with `dry_run`,
    only say which messages a run would send. What became of each message is the result, not an error."""
    server = None
    if not dry_run:
        if not smtp_url:
            raise UsageError(
                "no mail server: CERTCLI_SMTP_URL is not set",
                hint="set CERTCLI_SMTP_URL=smtp://HOST[:PORT] (or smtp+starttls://, smtps://), or pass --dry-run",
            )
        server = mail.server_from_url(smtp_url)
    doc = ctx.store.read()
    access.may_send_reminders(actor(ctx, doc))
    plan = plan_run(doc, ctx.now)
    sender = doc.reminders.mail_from
    if server is None:
        sent = [_sent_data(message) for message in plan.messages]
        return _outcome(ctx, sent, [], plan.skipped, dry_run=True)
    if plan.messages and not sender:
        raise StateError(
            "the organisation has no sender address for reminders",
            hint="set it with `certcli org set --mail-from ADDRESS`",
        )
    sent, failed, skipped = [], [], list(plan.skipped)
    with mail.Mailer(server, password) as mailer:
        for message in plan.messages:
            done = _deliver(ctx, mailer, message, sender, doc.org_name)
            if isinstance(done, Outgoing):
                sent.append(_sent_data(done))
            elif isinstance(done, Failed):
                failed.append(_failed_data(done.outgoing, done.error))
            elif done is not None:
                skipped.append(done)
    return _outcome(ctx, sent, failed, skipped, dry_run=False)


def _outcome(
    ctx: Context, sent: list[SentMessage], failed: list[FailedMessage], skipped: list[SkippedUser], dry_run: bool
) -> Outcome[RemindResult]:
    data: RemindResult = {
        "now": format_time(ctx.now),
        "dry_run": dry_run,
        "sent": sent,
        "failed": failed,
        "skipped": skipped,
    }
    verb = "would be sent" if dry_run else "sent"
    message = f"{len(sent)} message(s) {verb}, {len(failed)} failed"
    if skipped:
        message += f", {len(skipped)} user(s) skipped: {listed([item['user'] for item in skipped])}"
    return Outcome(data, [message + "."])


def remind_failure(data: RemindResult) -> DataError | None:
    """The error (exit 6) a run with messages not sent ends in, naming each; None when none failed."""
    failed = data["failed"]
    if not failed:
        return None
    lines = [f"{len(failed)} of {len(failed) + len(data['sent'])} message(s) were not sent"]
    lines += [f"to {item['to']}: {item['error']}" for item in failed[:FAILURES_SHOWN]]
    if len(failed) > FAILURES_SHOWN:
        lines.append(f"... and {len(failed) - FAILURES_SHOWN} more: --json lists them all")
    hint = "they were not recorded and are sent on the next run; the messages sent were recorded"
    return DataError("\n".join(lines), hint=hint)


# ---------------------------------------------------------------- what the run sends


def plan_run(doc: Document, now: datetime) -> RunPlan:
    """Every message the schedule calls for at `now` and is not recorded as sent, learners' first (in the
    store's order), then managers' digests; and the users who get nothing though something is due."""
    due_by_user: dict[str, list[tuple[Pending, Enrollment]]] = {}
    for enrollment in doc.enrollments:
        pending = _pending(doc, enrollment, now)
        if pending is not None:
            due_by_user.setdefault(enrollment.user, []).append((pending, enrollment))
    messages: list[Outgoing] = []
    skipped: list[SkippedUser] = []
    digests: dict[str, list[Pending]] = {}
    for user_id, reminders in due_by_user.items():
        learner = doc.users[user_id]
        if not learner.active:
            skipped.append({"user": user_id, "reason": DEACTIVATED})
            continue
        boss = learner.manager
        if boss is not None:
            digests.setdefault(boss, []).extend(p for p, found in reminders if not rules.reminded(found, boss, p.due))
        unsent = [p for p, found in reminders if not rules.reminded(found, user_id, p.due)]
        if unsent:
            _send_or_skip(Outgoing(learner, False, unsent), messages, skipped)
    for manager_id, reports in digests.items():
        if reports:
            _send_or_skip(Outgoing(doc.users[manager_id], True, reports), messages, skipped)
    return RunPlan(messages, skipped)


def _send_or_skip(outgoing: Outgoing, messages: list[Outgoing], skipped: list[SkippedUser]) -> None:
    problem = _unreachable(outgoing.recipient)
    if problem is None:
        messages.append(outgoing)
    else:
        skipped.append({"user": outgoing.recipient.id, "reason": problem + (_DIGEST if outgoing.digest else "")})


def _unreachable(recipient: User) -> str | None:
    """Why `recipient` cannot be sent a message: deactivated, or without a usable address; None if they can."""
    if not recipient.active:
        return DEACTIVATED
    if not recipient.email:
        return NO_ADDRESS
    if not letters.usable_address(recipient.email):
        return f"e-mail address {recipient.email!r} not usable"
    return None


def _enrollments(doc: Document) -> dict[tuple[str, str], Enrollment]:
    """The document's enrollments by (user, certification)."""
    return {(found.user, found.certification): found for found in doc.enrollments}


def _pending(doc: Document, enrollment: Enrollment, now: datetime) -> Pending | None:
    """The reminder `enrollment` calls for at `now`, sent or not; none for a retired certification."""
    cert = doc.certifications[enrollment.certification]
    if cert.retired:
        return None
    view = rules.evaluate(enrollment, cert, now, explain=False)
    if view is None:
        return None
    due = rules.reminder_due(view, doc.reminders, now.date())
    if due is None:
        return None
    learner = doc.users[enrollment.user]
    item = letters.Item(
        learner=learner.id,
        learner_name=learner.name,
        certification=cert.id,
        title=cert.title,
        kind=due.kind,
        on=due.on,
        days=rules.reminder_days(due, now.date()),
        status=view.status,
        left=_left(doc, cert, view),
        command=f"certcli upload-proof {cert.id} FILE" if cert.kind == "external" else f"certcli start {cert.id}",
    )
    return Pending(enrollment.user, cert.id, due, item)


def _left(doc: Document, cert: Certification, view: rules.EnrollmentView) -> list[str]:
    """What the learner still has to do, in words: a proof, or the mandatory courses not completed (all of
    them again once the completion ends or has ended)."""
    again = view.status in (rules.COMPLETED, rules.EXPIRED)
    if cert.kind == "external":
        proof = view.proof
        if not again and proof is not None and proof.review == rules.REJECTED:
            return [f"a new proof: {proof.proof.filename} was rejected ({proof.reason or 'no reason given'})"]
        return ["a new proof for review" if again else "a proof for review"]
    if again:
        courses = [ref.id for ref in rules.effective_requirements(cert).courses if ref.mandatory]
    else:
        courses = [course.id for course in view.courses if course.mandatory and course.status != rules.COMPLETED]
    return [f"course {course_id} ({_title(doc, course_id)})" for course_id in courses]


def _title(doc: Document, course_id: str) -> str:
    found = doc.courses.get(course_id)
    return found.title if found is not None else course_id


# ---------------------------------------------------------------- sending one message


class Failed(NamedTuple):
    """A message the server did not take, and why."""

    outgoing: Outgoing
    error: str


class _NotTaken(Exception):
    """The server did not take a message: the change that would record it is abandoned."""

    def __init__(self, failed: Failed) -> None:
        super().__init__(failed.error)
        self.failed = failed


def _deliver(
    ctx: Context, mailer: mail.Mailer, outgoing: Outgoing, sender: str, org: str
) -> Outgoing | Failed | SkippedUser | None:
    """Send one message in its own change of the store and record its reminders there: the message as
    sent; or as not taken, with why; or the recipient skipped, when they can no longer be sent it; or None
    when nothing of it is still due and unsent. What the message says and where it goes is read again in
    that change, as the store holds it at that moment (see `_as_it_stands`)."""
    learners = {pending.user for pending in outgoing.reminders}
    need = Need(users=ids(ctx.actor_id, outgoing.recipient.id, *learners), enrollments_of_users=learners)
    try:
        with ctx.store.update(need) as doc:
            fresh = _as_it_stands(doc, outgoing, ctx.now)
            if not isinstance(fresh, Outgoing):
                return fresh
            message = _message(fresh, sender, org, ctx.now)
            problem = mailer.send(message) if message is not None else "not a valid e-mail address"
            if problem is not None:
                raise _NotTaken(Failed(fresh, problem))
            _record(ctx, doc, fresh, str(message["Subject"]) if message is not None else "")
    except _NotTaken as refused:
        return refused.failed
    return fresh


def _as_it_stands(doc: Document, outgoing: Outgoing, now: datetime) -> Outgoing | SkippedUser | None:
    """`outgoing` as `doc` holds it now: the recipient skipped when deactivated or left without a usable
    address meanwhile; else to their current address, with only those of its reminders still due and
    unsent, of learners still active (and, in a digest, still reporting to the recipient); None when none
    is left."""
    recipient = doc.users[outgoing.recipient.id]
    problem = _unreachable(recipient)
    if problem is not None:
        return {"user": recipient.id, "reason": problem + (_DIGEST if outgoing.digest else "")}
    held = _enrollments(doc)
    reminders = []
    for planned in outgoing.reminders:
        learner, found = doc.users.get(planned.user), held.get((planned.user, planned.certification))
        if found is None or learner is None or not learner.active:
            continue
        if outgoing.digest and learner.manager != recipient.id:
            continue
        pending = _pending(doc, found, now)
        if pending is not None and not rules.reminded(found, recipient.id, pending.due):
            reminders.append(pending)
    return Outgoing(recipient, outgoing.digest, reminders) if reminders else None


def _message(outgoing: Outgoing, sender: str, org: str, now: datetime) -> EmailMessage | None:
    """The e-mail for `outgoing`; None when the recipient's address is not one the `email` package takes."""
    from email.errors import MessageError

    items = [pending.item for pending in outgoing.reminders]
    name, digest = outgoing.recipient.name, outgoing.digest
    organisation = org or "your organisation"
    envelope = letters.Envelope(sender, name, outgoing.recipient.email or "")
    try:
        return letters.compose(
            envelope,
            letters.subject(items, digest),
            letters.text_body(name, items, organisation, digest),
            letters.html_body(name, items, organisation, digest),
            now,
        )
    except (ValueError, IndexError, MessageError):  # the email package's refusals of what it cannot parse
        return None


def _record(ctx: Context, doc: Document, outgoing: Outgoing, subject: str) -> None:
    """A `reminded` fact on each enrollment, by the recipient, and the audit event naming the reminders."""
    held = _enrollments(doc)
    for pending in outgoing.reminders:
        due = pending.due
        held[pending.user, pending.certification].facts.append(
            Fact(REMINDED, ctx.now, by=outgoing.recipient.id, cycle=due.cycle, reminder=due.code)
        )
    details: dict[str, object] = {
        "to": outgoing.recipient.email,
        "subject": subject,
        "digest": outgoing.digest,
        "reminders": _reminders_data(outgoing.reminders),
    }
    note_change(ctx, doc, "remind", details, user=outgoing.recipient.id)


# ---------------------------------------------------------------- results


def _reminders_data(reminders: Iterable[Pending]) -> list[ReminderData]:
    return [
        {
            "user": pending.user,
            "certification": pending.certification,
            "cycle": pending.due.cycle,
            "kind": pending.due.kind,
            "threshold": pending.due.threshold,
            "date": format_date(pending.due.on) or "",
            "days": pending.item.days,
        }
        for pending in reminders
    ]


def _sent_data(outgoing: Outgoing) -> SentMessage:
    items = [pending.item for pending in outgoing.reminders]
    return {
        "to": outgoing.recipient.email or "",
        "subject": letters.subject(items, outgoing.digest),
        "reminders": _reminders_data(outgoing.reminders),
    }


def _failed_data(outgoing: Outgoing, error: str) -> FailedMessage:
    return {"to": outgoing.recipient.email or "", "error": error, "reminders": _reminders_data(outgoing.reminders)}
