"""The shapes of what commands print with `--json`: one TypedDict per result, field by field, in the
order they are printed. They are the public contract the JSON section of the documentation states;
mypy checks every use case builds them whole. Imported only by type checkers and tests, so no command
pays for defining them. Dates are `YYYY-MM-DD`, null where unknown."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

# ---------------------------------------------------------------- shared: certifications, proofs, users, courses


class ListItem(TypedDict):
    """One certification of a learner: an item of `list` and `sort`."""

    id: str
    title: str
    kind: str
    type: str  # perpetual | recurring
    status: str | None  # None: not enrolled
    overdue: bool
    published: str | None
    due: str | None
    completed_on: str | None
    valid_until: str | None
    courses_done: int
    courses_required: int
    next_course: str | None
    next_step: str | None  # course | upload-proof | start | review | None: nothing to do
    renewal_open: bool
    cycle: int | None
    user: str


class ProofData(TypedDict):
    sha256: str
    size: int
    filename: str
    submitted_on: str | None
    completed_on: str | None
    review: str  # pending | approved | rejected
    reason: str | None


class Progress(ListItem):
    """What `start`, `complete`, `upload-proof`, `approve`, `reject` and `revoke` print."""

    queue: list[str]
    proof: ProofData | None


class CourseOnPage(TypedDict):
    id: str
    title: str
    mandatory: bool
    status: str
    completed_on: str | None


class Page(Progress):
    """The certification page of `show` (and of `define`)."""

    overview: str
    issuer: str
    badge: str
    validity_months: int | None
    renew_from: str | None
    renewal_window_days: int | None
    deadline_days: int | None
    ordered: bool
    self_enroll: bool
    completion_date: str | None
    retired: bool
    enrolled_on: str | None
    courses: list[CourseOnPage]


class UserData(TypedDict):
    id: str
    name: str
    role: str
    email: str | None
    manager: str | None
    active: bool
    login: str | None  # the operating system login name that acts as this user without --as


class CatalogItem(TypedDict):
    """One certification of `catalog`."""

    id: str
    title: str
    kind: str
    type: str
    published: str | None
    self_enroll: bool
    retired: bool
    courses_required: int
    status: str | None  # the acting user's; None: not enrolled
    overdue: bool
    enrolled: int | None  # learners in the actor's reports enrolled; None for a learner


class CourseItem(TypedDict):
    """One course of `course list`."""

    id: str
    title: str
    minutes: int | None
    retired: bool
    used_by: list[str]  # the certifications whose definitions list it


class GroupData(TypedDict):
    """A group: `group list` (array), `group show`, `group add`, `group members`, `group auto-assign`."""

    id: str
    name: str
    members: list[str]
    auto_assign: list[str]  # certifications its members are enrolled in


class CourseData(TypedDict):
    id: str
    title: str
    minutes: int | None


# ---------------------------------------------------------------- init, org show / org set


class Created(TypedDict):
    store: str
    admin: str


class OrgData(TypedDict):
    name: str | None
    url: str | None
    reminders: ReminderSettings
    key: dict[str, str] | None  # the public signing key as a JWK
    retired_keys: list[dict[str, str]]  # the keys it signed with before, which still verify what they signed


class ReminderSettings(TypedDict):
    """When `remind` writes: days before a due date and before a validity ends, every how many days
    while overdue (0: never), and the sender's address."""

    before_due: list[int]
    before_expiry: list[int]
    overdue_every: int
    mail_from: str | None


class KeyMade(TypedDict):
    kid: str
    alg: str
    key_file: str
    public: dict[str, str]


# ---------------------------------------------------------------- assign


class Assigned(TypedDict):
    certification: str
    assigned: list[str]  # newly enrolled
    unchanged: list[str]  # enrolled already
    inactive: list[str]  # deactivated: not enrolled


# ---------------------------------------------------------------- review


class ReviewItem(TypedDict):
    user: str
    certification: str
    filename: str
    size: int
    sha256: str
    submitted_on: str | None


# ---------------------------------------------------------------- history, explain


class RequiredCourse(TypedDict):
    id: str
    mandatory: bool


class Requirements(TypedDict):
    ordered: bool
    courses: list[RequiredCourse]


class CourseInCycle(TypedDict):
    id: str
    status: str
    completed_on: str | None


class Revocation(TypedDict):
    on: str | None
    by: str | None
    reason: str | None


class CycleData(TypedDict):
    cycle: int
    opened_on: str | None
    due: str | None
    requirements: Requirements
    courses: list[CourseInCycle]
    proof: ProofData | None
    completed_on: str | None
    valid_until: str | None
    outcome: str  # open | completed | expired | revoked
    revoked: Revocation | None


class History(TypedDict):
    id: str
    user: str
    cycles: list[CycleData]


class ProofFile(TypedDict):
    """The proof `proof get` wrote (its message; the bytes are the output)."""

    user: str
    certification: str
    cycle: int
    filename: str
    sha256: str
    size: int
    review: str


class Explanation(TypedDict):
    id: str
    user: str
    now: str
    status: str
    overdue: bool
    renewal_open: bool
    cycle: int
    reasons: list[str]


# ---------------------------------------------------------------- audit verify


class Verified(TypedDict):
    ok: bool
    events: int
    head: str | None
    checkpoints: int  # checkpoints the trail records, each verified
    uncovered: int  # events after the last one a checkpoint covers
    key: Literal["given", "store"] | None  # whose public key checked them: --key, or the store's own


class BadgeChecked(TypedDict):
    valid: bool
    id: str  # the credential's id
    certification: str | None  # None: the store does not define its achievement
    kid: str
    validFrom: str
    validUntil: str | None


class CheckpointMade(TypedDict):
    seq: int  # the event signed: the chain's head
    sha256: str
    kid: str
    checkpoint: str  # the compact JWS


# ---------------------------------------------------------------- report, report --summary, check


class ReportRow(TypedDict):
    """One learner in one certification, as of the evaluation time."""

    user: str
    name: str
    certification: str
    title: str
    status: str
    overdue: bool
    due: str | None
    completed_on: str | None
    valid_until: str | None
    days_left: int | None  # to valid_until when completed, else to the due date
    renewal_open: bool
    cycle: int
    active: bool  # false: a deactivated learner (`report --include-inactive`, or named with --user)


class Summary(TypedDict):
    """One certification's counts."""

    certification: str
    title: str
    learners: int
    by_status: dict[str, int]
    completion_rate: float
    overdue: int
    expiring: int


class ReportPage(TypedDict):
    """`report --format html`: the page, and the summaries and rows it shows."""

    html: str
    summary: list[Summary]
    rows: list[ReportRow]


class Finding(TypedDict):
    user: str
    certification: str
    kind: str
    status: str
    due: str | None
    valid_until: str | None
    days_left: int | None


class CheckResult(TypedDict):
    compliant: bool
    findings: list[Finding]
    checked: int
    fail_on: list[str]


# ---------------------------------------------------------------- calendar


class Feed(TypedDict):
    ical: str
    events: int
    learners: list[str]


# ---------------------------------------------------------------- apply


class SectionChanges(TypedDict):
    created: list[str]
    updated: dict[str, list[str]]  # id → the fields that change
    unchanged: list[str]
    retired: NotRequired[list[str]]  # courses and certifications only


class Pair(TypedDict):
    certification: str
    user: str


class AssignmentChanges(TypedDict):
    created: list[Pair]
    unchanged: list[Pair]


class ApplyPlan(TypedDict):
    """What `apply` did (or, with `dry_run`, would do); `plan` has one line per change."""

    dry_run: bool
    changed: bool
    users: SectionChanges
    courses: SectionChanges
    certifications: SectionChanges
    groups: SectionChanges
    assignments: AssignmentChanges
    plan: list[str]


# ---------------------------------------------------------------- import


class RowProblem(TypedDict):
    line: int
    reason: str


class ImportReport(TypedDict):
    kind: str
    file: str
    dry_run: bool
    imported: int
    skipped: int
    unchanged: int
    problems: list[RowProblem]  # the first refused rows by line (at most 200)
    problems_left_out: int  # the refused rows after those
    enrolled: NotRequired[int]  # completions: learners enrolled first


# ---------------------------------------------------------------- doctor


class Check(TypedDict):
    check: str
    ok: bool
    detail: str


class Health(TypedDict):
    healthy: bool
    checks: list[Check]


# ---------------------------------------------------------------- export-xapi --lrs


class LrsProblem(TypedDict):
    """Statements the LRS did not store, and why."""

    statements: list[str]  # their ids
    status: int | None  # the LRS's HTTP status; None: no answer, or not sent after an earlier failure
    reason: str


class LrsDelivery(TypedDict):
    lrs: str  # the statements resource posted to
    statements: int  # how many the export holds
    sent: int  # stored by the LRS on this run
    already_there: int  # held by the LRS already: answered 409, or left out of the ids it stored
    failed: int
    problems: list[LrsProblem]


# ---------------------------------------------------------------- migrate


# "from" is a Python keyword, hence the functional form.
Migrated = TypedDict(
    "Migrated",
    {
        "from": str,
        "to": str,
        "users": int,
        "courses": int,
        "certifications": int,
        "enrollments": int,
        "audit_events": int,
        "proofs": int,
        "proofs_missing": list[str],
        "verified": bool,
    },
)


# ---------------------------------------------------------------- remind


class ReminderData(TypedDict):
    """One reminder: of `user`'s `certification`, cycle `cycle`, `kind` due | expiry | overdue, answering the
    schedule's mark of `threshold` days (before `date`, or past it when overdue); `date`: the due date or the
    day the validity ends; `days`: the count the message tells, left until `date` or past it when overdue."""

    user: str
    certification: str
    cycle: int
    kind: str
    threshold: int
    date: str
    days: int


class SentMessage(TypedDict):
    to: str  # the recipient's address
    subject: str
    reminders: list[ReminderData]


class FailedMessage(TypedDict):
    to: str
    error: str
    reminders: list[ReminderData]


class SkippedUser(TypedDict):
    user: str
    reason: str


class RemindResult(TypedDict):
    now: str
    dry_run: bool
    sent: list[SentMessage]  # with dry_run: the messages a run would send
    failed: list[FailedMessage]
    skipped: list[SkippedUser]
