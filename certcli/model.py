"""The data model: users, courses, certifications and enrollments (docs/rules.md, docs/stores.md).

Small value classes, no behaviour beyond derived properties. An enrollment is
a list of dated facts; its status is never stored but computed by `rules`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

SCHEMA_VERSION = 1

ADMIN, MANAGER, LEARNER = "admin", "manager", "learner"
ROLES = (ADMIN, MANAGER, LEARNER)  # who may do what is decided in `certcli.access`
KINDS = ("internal", "external")
RENEW_FROM = ("completion", "enrollment", "expiry")
COMPLETION_DATE = ("approval", "submitted")
DECISIONS = ("approved", "rejected")
SORT_KEYS = ("relevance", "published", "name", "due")
REMINDER_KINDS = ("due", "expiry", "overdue")  # before a due date, before a validity ends, while overdue

# Fact types, in the words the store uses.
ASSIGNED = "assigned"
CYCLE_OPENED = "cycle_opened"
STARTED = "started"
COURSE_STARTED = "course_started"
COURSE_COMPLETED = "course_completed"
PROOF_SUBMITTED = "proof_submitted"
PROOF_REVIEWED = "proof_reviewed"
REVOKED = "revoked"
REQUIREMENTS_CHANGED = "requirements_changed"
REMINDED = "reminded"  # a reminder about the enrollment reached its recipient (`remind`); changes no standing
FACT_TYPES = (
    ASSIGNED,
    CYCLE_OPENED,
    STARTED,
    COURSE_STARTED,
    COURSE_COMPLETED,
    PROOF_SUBMITTED,
    PROOF_REVIEWED,
    REVOKED,
    REQUIREMENTS_CHANGED,
    REMINDED,
)


class Record:
    """A value object whose fields are its `__slots__` (or `_fields`, where a class
    keeps more): compared, hashed, shown and copied by them.

    Plain classes rather than dataclasses or named tuples, because defining one of
    those costs a few hundred microseconds at import and start-up is a feature.
    """

    __slots__: tuple[str, ...] = ()

    @classmethod
    def _field_names(cls) -> tuple[str, ...]:
        return getattr(cls, "_fields", cls.__slots__)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._field_names())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._field_names())
        return f"{type(self).__name__}({fields})"

    def _replace(self, **changes: Any) -> Any:
        """A copy with some fields changed."""
        values = {name: getattr(self, name) for name in self._field_names()}
        values.update(changes)
        return type(self)(**values)


class User(Record):
    """`active` False: deactivated (offboarded): they cannot act or be assigned and leave reports,
    while their enrollments, history and audit trail stay."""

    __slots__ = ("id", "name", "role", "email", "manager", "active", "login")

    def __init__(
        self,
        id: str,
        name: str,
        role: str = LEARNER,
        email: str | None = None,
        manager: str | None = None,
        active: bool = True,
        login: str | None = None,
    ) -> None:
        self.id, self.name, self.role, self.email, self.manager = id, name, role, email, manager
        self.active = active
        self.login = login  # the operating system login name that acts as this user when --as is not given


class Group(Record):
    """A set of users (a team, a site, a job family). `auto_assign`: certifications every member is
    enrolled in, now and at the moment anyone joins later; removing a rule or a member removes no
    enrollment."""

    __slots__ = ("id", "name", "members", "auto_assign")

    def __init__(self, id: str, name: str, members: tuple[str, ...] = (), auto_assign: tuple[str, ...] = ()) -> None:
        self.id, self.name, self.members, self.auto_assign = id, name, tuple(members), tuple(auto_assign)


class Course(Record):
    """`retired`: no longer offered (see `apply --prune`); its history stays."""

    __slots__ = ("id", "title", "minutes", "retired")

    def __init__(self, id: str, title: str, minutes: int | None = None, retired: bool = False) -> None:
        self.id, self.title, self.minutes, self.retired = id, title, minutes, retired


class CourseRef(Record):
    """A course as listed in a certification; `mandatory` as written by the admin."""

    __slots__ = ("id", "mandatory")

    def __init__(self, id: str, mandatory: bool = False) -> None:
        self.id, self.mandatory = id, mandatory


class Certification(Record):
    """`retired`: no longer offered (see `apply --prune`): it cannot be assigned or
    started, and its enrollments and their history stay."""

    __slots__ = (
        "id",
        "title",
        "kind",
        "overview",
        "issuer",
        "badge",
        "published",
        "self_enroll",
        "validity_months",
        "renew_from",
        "renewal_window_days",
        "deadline_days",
        "courses",
        "ordered",
        "completion_date",
        "retired",
    )

    def __init__(
        self,
        id: str,
        title: str,
        kind: str,
        overview: str = "",
        issuer: str = "",
        badge: str = "",
        published: date | None = None,
        self_enroll: bool = False,
        validity_months: int | None = None,
        renew_from: str = "completion",
        renewal_window_days: int | None = None,
        deadline_days: int | None = None,
        courses: tuple[CourseRef, ...] = (),
        ordered: bool = False,
        completion_date: str = "approval",
        retired: bool = False,
    ) -> None:
        self.id, self.title, self.kind = id, title, kind
        self.overview, self.issuer, self.badge, self.published = overview, issuer, badge, published
        self.self_enroll, self.validity_months, self.renew_from = self_enroll, validity_months, renew_from
        self.renewal_window_days, self.deadline_days = renewal_window_days, deadline_days
        self.courses, self.ordered, self.completion_date = tuple(courses), ordered, completion_date
        self.retired = retired

    @property
    def recurring(self) -> bool:
        return self.validity_months is not None


class Requirements(Record):
    """What a cycle must complete, frozen when the cycle opens.

    `courses` carry the effective mandatory flags: the "none marked means all
    mandatory" rule has already been applied.
    """

    __slots__ = ("courses", "ordered")

    def __init__(self, courses: tuple[CourseRef, ...], ordered: bool = False) -> None:
        self.courses, self.ordered = tuple(courses), ordered

    @property
    def mandatory_ids(self) -> tuple[str, ...]:
        return tuple(ref.id for ref in self.courses if ref.mandatory)

    def has_course(self, course_id: str) -> bool:
        return any(ref.id == course_id for ref in self.courses)


class Proof(Record):
    __slots__ = ("sha256", "size", "filename", "completed_on")

    def __init__(self, sha256: str, size: int, filename: str, completed_on: date | None = None) -> None:
        self.sha256, self.size, self.filename, self.completed_on = sha256, size, filename, completed_on


class Fact(Record):
    """One dated thing that happened to an enrollment.

    Which optional fields are set depends on `type`:
    assigned (by, due), cycle_opened (cycle, requirements, due),
    started, course_started (course), course_completed (course),
    proof_submitted (proof), proof_reviewed (by, decision, reason),
    revoked (by, reason, cycle), requirements_changed (by, requirements),
    reminded (by: the recipient, cycle, reminder: KIND:THRESHOLD such as `due:7`).
    """

    __slots__ = (
        "type", "at", "by", "course", "cycle", "due", "requirements", "proof", "decision", "reason", "reminder"
    )  # fmt: skip

    def __init__(
        self,
        type: str,
        at: datetime,
        by: str | None = None,
        course: str | None = None,
        cycle: int | None = None,
        due: date | None = None,
        requirements: Requirements | None = None,
        proof: Proof | None = None,
        decision: str | None = None,
        reason: str | None = None,
        reminder: str | None = None,
    ) -> None:
        self.type, self.at, self.by, self.course, self.cycle, self.due = type, at, by, course, cycle, due
        self.requirements, self.proof, self.decision, self.reason = requirements, proof, decision, reason
        self.reminder = reminder


class Enrollment(Record):
    __slots__ = ("user", "certification", "facts")

    def __init__(self, user: str, certification: str, facts: list[Fact] | None = None) -> None:
        self.user, self.certification = user, certification
        self.facts: list[Fact] = facts if facts is not None else []


class AuditHead(Record):
    """The latest audit event, kept whole in the store: its number and SHA-256 tie the
    store to the log, and a change whose log append was cut short can be completed."""

    __slots__ = ("event",)

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event

    @property
    def seq(self) -> int:
        return int(self.event["seq"])

    @property
    def sha256(self) -> str:
        return str(self.event["sha256"])


class AuditEntry(Record):
    """A change about to be recorded: who did what to what."""

    __slots__ = ("at", "actor", "action", "subject", "details")

    def __init__(
        self, at: datetime, actor: str, action: str, subject: dict[str, str], details: dict[str, object]
    ) -> None:
        self.at, self.actor, self.action, self.subject, self.details = at, actor, action, subject, details


class ReminderSchedule(Record):
    """When `remind` writes to learners (an organisation setting): days before a due date, days before a
    validity ends, every how many days while overdue (0: never), and the sender's address."""

    __slots__ = ("before_due", "before_expiry", "overdue_every", "mail_from")

    def __init__(
        self,
        before_due: tuple[int, ...] = (14, 7, 1),
        before_expiry: tuple[int, ...] = (30, 7),
        overdue_every: int = 7,
        mail_from: str = "",
    ) -> None:
        self.before_due, self.before_expiry = tuple(before_due), tuple(before_expiry)
        self.overdue_every, self.mail_from = overdue_every, mail_from


class Document(Record):
    """Everything one store holds.

    `org_url`: the organisation's web address (https), the base of the identifiers
    its exported statements and credentials use. `reminders`: when `remind` writes to whom.
    `org_key`: the organisation's public signing key as a JWK (checkpoints and badges), or None;
    `org_retired_keys`: the public keys it signed with before, kept so that what they signed still verifies.
    `pending_audit` is the change the current command makes, recorded in the
    audit log when the store is saved; it is not part of the document, nor is `record_anyway`.
    """

    _fields = (
        "org_name", "users", "courses", "certifications", "enrollments", "schema", "audit_head", "org_url", "groups",
        "reminders",
        "org_key", "org_retired_keys",
    )  # fmt: skip
    __slots__ = (*_fields, "pending_audit", "record_anyway")

    def __init__(
        self,
        org_name: str = "",
        users: dict[str, User] | None = None,
        courses: dict[str, Course] | None = None,
        certifications: dict[str, Certification] | None = None,
        enrollments: list[Enrollment] | None = None,
        schema: int = SCHEMA_VERSION,
        audit_head: AuditHead | None = None,
        org_url: str = "",
        groups: dict[str, Group] | None = None,
        reminders: ReminderSchedule | None = None,
        org_key: dict[str, Any] | None = None,
        org_retired_keys: list[dict[str, Any]] | None = None,
    ) -> None:
        self.org_name, self.schema, self.audit_head, self.org_url = org_name, schema, audit_head, org_url
        self.reminders = reminders if reminders is not None else ReminderSchedule()
        self.org_key = org_key
        self.org_retired_keys: list[dict[str, Any]] = org_retired_keys if org_retired_keys is not None else []
        self.groups: dict[str, Group] = groups if groups is not None else {}
        self.users: dict[str, User] = users if users is not None else {}
        self.courses: dict[str, Course] = courses if courses is not None else {}
        self.certifications: dict[str, Certification] = certifications if certifications is not None else {}
        self.enrollments: list[Enrollment] = enrollments if enrollments is not None else []
        self.pending_audit: AuditEntry | None = None
        self.record_anyway = False  # the change is its audit event alone (a checkpoint): saved all the same

    def org_keys(self) -> dict[str, dict[str, Any]]:
        """Every public key the organisation kept, the current one included, by `kid`."""
        kept = [*self.org_retired_keys, *([self.org_key] if self.org_key else [])]
        return {key["kid"]: key for key in kept}

    def enrollment(self, certification: str, user: str) -> Enrollment | None:
        for item in self.enrollments:
            if item.certification == certification and item.user == user:
                return item
        return None
