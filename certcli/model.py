"""The data model: users, courses, certifications and enrollments (contract §1).

Plain dataclasses, no behaviour beyond small derived properties. An enrollment
is a list of dated facts; its status is never stored but computed by `rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

SCHEMA_VERSION = 1

ROLES = ("admin", "manager", "learner")
KINDS = ("internal", "external")
RENEW_FROM = ("completion", "enrollment", "expiry")
COMPLETION_DATE = ("approval", "submitted")
DECISIONS = ("approved", "rejected")

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
)


class User(NamedTuple):
    id: str
    name: str
    role: str = "learner"
    email: str | None = None
    manager: str | None = None


class Course(NamedTuple):
    id: str
    title: str
    minutes: int | None = None


class CourseRef(NamedTuple):
    """A course as listed in a certification; `mandatory` as written by the admin."""

    id: str
    mandatory: bool = False


class Certification(NamedTuple):
    id: str
    title: str
    kind: str
    overview: str = ""
    issuer: str = ""
    badge: str = ""
    published: date | None = None
    self_enroll: bool = False
    validity_months: int | None = None
    renew_from: str = "completion"
    renewal_window_days: int | None = None
    deadline_days: int | None = None
    courses: tuple[CourseRef, ...] = ()
    ordered: bool = False
    completion_date: str = "approval"

    @property
    def recurring(self) -> bool:
        return self.validity_months is not None


class Requirements(NamedTuple):
    """What a cycle must complete, frozen when the cycle opens.

    `courses` carry the effective mandatory flags: the "none marked means all
    mandatory" rule has already been applied.
    """

    courses: tuple[CourseRef, ...]
    ordered: bool = False

    @property
    def mandatory_ids(self) -> tuple[str, ...]:
        return tuple(ref.id for ref in self.courses if ref.mandatory)

    def has_course(self, course_id: str) -> bool:
        return any(ref.id == course_id for ref in self.courses)


class Proof(NamedTuple):
    sha256: str
    size: int
    filename: str
    completed_on: date | None = None


class Fact(NamedTuple):
    """One dated thing that happened to an enrollment.

    Which optional fields are set depends on `type`:
    assigned (by, due), cycle_opened (cycle, requirements, due),
    started, course_started (course), course_completed (course),
    proof_submitted (proof), proof_reviewed (by, decision, reason),
    revoked (by, reason), requirements_changed (by, requirements).
    """

    type: str
    at: datetime
    by: str | None = None
    course: str | None = None
    cycle: int | None = None
    due: date | None = None
    requirements: Requirements | None = None
    proof: Proof | None = None
    decision: str | None = None
    reason: str | None = None


@dataclass
class Enrollment:
    user: str
    certification: str
    facts: list[Fact] = field(default_factory=list)


class AuditHead(NamedTuple):
    """The latest audit event, kept whole in the store: its number and SHA-256 tie the
    store to the log, and a change whose log append was cut short can be completed."""

    event: dict[str, Any]

    @property
    def seq(self) -> int:
        return int(self.event["seq"])

    @property
    def sha256(self) -> str:
        return str(self.event["sha256"])


class AuditEntry(NamedTuple):
    """A change about to be recorded: who did what to what."""

    at: datetime
    actor: str
    action: str
    subject: dict[str, str]
    details: dict[str, object]


@dataclass
class Document:
    """Everything one store holds."""

    org_name: str = ""
    users: dict[str, User] = field(default_factory=dict)
    courses: dict[str, Course] = field(default_factory=dict)
    certifications: dict[str, Certification] = field(default_factory=dict)
    enrollments: list[Enrollment] = field(default_factory=list)
    schema: int = SCHEMA_VERSION
    audit_head: AuditHead | None = None
    # The change the current command makes, recorded in the audit log when the store is saved.
    pending_audit: AuditEntry | None = field(default=None, compare=False, repr=False)

    def enrollment(self, certification: str, user: str) -> Enrollment | None:
        for item in self.enrollments:
            if item.certification == certification and item.user == user:
                return item
        return None
