"""Synthetic organisation: a seeded JSON store of any size, for the scale benchmarks.

One admin (`admin`), managers (`m0001`, ...), learners (`u000001`, ... with an email such as
`u000042@example-corp.com`), courses, certifications (internal and external, perpetual and
recurring, some with renewal windows and deadlines, a few open to self-enrolment) and
enrollments spread evenly over the learners. Each enrollment is a history of dated facts that
leads, as of 2026-11-28, to one of the statuses: enrolled, started (some overdue), pending
approval, rejected, completed, expired, revoked, or completed or started again in a second cycle.

    python bench/generate_org.py --enrollments 100000 -o org.json [--learners N] [--certifications N]
        [--seed N] [--manifest PATH]

The same options and seed always write the same file. Enrollments are written one per line as they
are made, so memory stays small at a million. `--manifest` also writes what a benchmark needs to
pick its subjects: a learner to list, one of their certifications, and enrollments that still have
a course to complete.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

NOW = date(2026, 11, 28)
ADMIN = "admin"
DOMAIN = "example-corp.com"
MAX_CERTIFICATIONS = 1000
MAX_LEARNERS = 100_000
MAX_ENROLLMENTS = 1_000_000
LEARNERS_PER_MANAGER = 25
MANIFEST_PICKS = 1000
SAMPLE_LEARNER = 42

FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jun", "Kemal", "Lena", "Mia")
LAST_NAMES = ("Okafor", "Lindqvist", "Haddad", "Souza", "Carter", "Martin", "Patel", "Goldberg", "Benali", "Reyes")
TOPICS = (
    "Security Awareness",
    "Data Privacy",
    "Workplace Safety",
    "Fire Safety",
    "Anti-Bribery",
    "Code of Conduct",
    "Leadership",
    "Coaching",
    "Feedback",
    "Cloud Foundations",
    "Kubernetes",
    "Networking",
    "Linux Administration",
    "Incident Response",
    "Risk Management",
    "Project Management",
    "Accessibility",
    "First Aid",
    "Food Hygiene",
    "Customer Care",
    "Secure Coding",
    "Threat Modelling",
    "Quality Management",
)
LEVELS = ("Foundations", "Essentials", "Practitioner", "Advanced", "Refresher", "Masterclass", "Workshop")
VENDORS = ("Amazon Web Services", "The Linux Foundation", "Project Management Institute", "ISACA", "St John Ambulance")
REJECTIONS = ("The scan is unreadable", "The certificate names someone else", "The certificate has expired")
REVOCATIONS = ("Audit finding: completion recorded in error", "Certificate withdrawn by the issuer")

# Scenario weights: the share of enrollments whose facts lead to each outcome (where it applies).
SCENARIOS = (
    ("enrolled", 12),
    ("started", 18),
    ("completed", 38),
    ("expired", 10),
    ("recertified", 9),
    ("pending", 5),
    ("rejected", 4),
    ("revoked", 4),
)
SCENARIO_DRAW = tuple(name for name, weight in SCENARIOS for _ in range(weight))


class GenerateError(Exception):
    """The options cannot make an organisation."""


@dataclass(frozen=True)
class Shape:
    certifications: int
    learners: int
    enrollments: int
    seed: int


@dataclass
class CertPlan:
    """A certification, and what its enrollments' facts need to know of it."""

    data: dict[str, Any]
    requirements: dict[str, Any]
    mandatory: list[str]
    optional: list[str]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def external(self) -> bool:
        return self.data["kind"] == "external"

    @property
    def months(self) -> int | None:
        return self.data.get("validity_months")

    @property
    def from_enrollment(self) -> bool:
        return self.data.get("renew_from") == "enrollment"

    @property
    def from_submitted(self) -> bool:
        return self.data.get("completion_date") == "submitted"


@dataclass
class Manifest:
    sample_learner: str = ""
    sample_certification: str = ""
    pending: list[dict[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- dates


def add_months(start: date, months: int) -> date:
    """`start` plus (or minus) whole months, clamped to the month's last day, as certcli counts validity."""
    import calendar

    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


class Clock:
    """Day numbers (ordinals) into the stamps facts carry, cached: a large store repeats few days."""

    def __init__(self) -> None:
        self.today = NOW.toordinal()
        self._days: dict[int, str] = {}

    def day(self, ordinal: int) -> str:
        text = self._days.get(ordinal)
        if text is None:
            text = self._days[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def at(self, ordinal: int, minute_of_day: int) -> str:
        return f"{self.day(ordinal)}T{minute_of_day // 60:02d}:{minute_of_day % 60:02d}:00Z"


# ---------------------------------------------------------------- the organisation


def default_shape(enrollments: int, learners: int | None, certifications: int | None, seed: int) -> Shape:
    """Ten enrollments per learner and one certification per thousand enrollments unless told otherwise."""
    learners = learners or min(MAX_LEARNERS, max(1, enrollments // 10))
    certifications = certifications or min(MAX_CERTIFICATIONS, max(20, enrollments // 1000))
    return Shape(certifications, learners, enrollments, seed)


def check_shape(shape: Shape) -> None:
    limits = (
        ("--certifications", shape.certifications, MAX_CERTIFICATIONS),
        ("--learners", shape.learners, MAX_LEARNERS),
        ("--enrollments", shape.enrollments, MAX_ENROLLMENTS),
    )
    for option, value, limit in limits:
        if not 1 <= value <= limit:
            raise GenerateError(f"{option} must be from 1 to {limit:,}, got {value:,}")
    if shape.enrollments > shape.learners * shape.certifications:
        raise GenerateError(
            f"{shape.enrollments:,} enrollments do not fit {shape.learners:,} learners × "
            f"{shape.certifications:,} certifications (one enrollment per learner and certification)"
        )


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def make_users(rng: random.Random, learners: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The users, and each learner's manager (by learner index)."""
    managers = [f"m{number:04d}" for number in range(1, max(1, learners // LEARNERS_PER_MANAGER) + 1)]
    users: list[dict[str, Any]] = [
        {"id": ADMIN, "name": "Ada Administrator", "role": "admin", "email": f"{ADMIN}@{DOMAIN}"}
    ]
    for manager in managers:
        users.append(
            {"id": manager, "name": person(rng), "role": "manager", "email": f"{manager}@{DOMAIN}", "manager": ADMIN}
        )
    managed_by = [managers[index % len(managers)] for index in range(learners)]
    for index in range(learners):
        user_id = learner_id(index)
        email, manager = f"{user_id}@{DOMAIN}", managed_by[index]
        users.append({"id": user_id, "name": person(rng), "role": "learner", "email": email, "manager": manager})
    return users, managed_by


def learner_id(index: int) -> str:
    return f"u{index + 1:06d}"


def make_courses(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"course-{number:04d}",
            "title": f"{rng.choice(TOPICS)}: {rng.choice(LEVELS)} {number}",
            "minutes": rng.choice((15, 20, 30, 45, 60, 90, 120, 240)),
        }
        for number in range(1, count + 1)
    ]


def make_certification(rng: random.Random, number: int, course_ids: list[str]) -> CertPlan:
    external = rng.random() < 0.3
    topic = rng.choice(TOPICS)
    refs = rng.sample(course_ids, rng.randint(0, 2) if external else rng.randint(1, 5))
    marked = len(refs) > 1 and rng.random() < 0.4
    mandatory_count = rng.randint(1, len(refs) - 1) if marked else 0
    courses = [{"id": ref, "mandatory": position < mandatory_count} for position, ref in enumerate(refs)]
    recurring = rng.random() < 0.6
    data: dict[str, Any] = {
        "id": f"cert-{number:04d}",
        "title": f"{topic} {rng.choice(LEVELS)}",
        "kind": "external" if external else "internal",
        "overview": f"What every colleague needs to know about {topic.lower()}.",
        "issuer": rng.choice(VENDORS) if external else "Example Corp Academy",
        "badge": f"badges/cert-{number:04d}.png",
        "published": (date(2019, 1, 1) + timedelta(days=rng.randint(0, 1600))).isoformat(),
    }
    if rng.random() < 0.05:
        data["self_enroll"] = True
    if recurring:
        data["validity_months"] = rng.choice((12, 12, 24, 36))
        if rng.random() < 0.15:
            data["renew_from"] = "enrollment"
        if rng.random() < 0.4:
            data["renewal_window_days"] = rng.choice((30, 60, 90))
    if rng.random() < 0.6:
        data["deadline_days"] = rng.choice((14, 30, 60, 90))
    if not external and rng.random() < 0.3:
        data["ordered"] = True
    if external and rng.random() < 0.3:
        data["completion_date"] = "submitted"
    data["courses"] = courses
    # The frozen requirements of a cycle: "none marked means all mandatory" applied.
    effective = [{"id": ref["id"], "mandatory": ref["mandatory"] or not marked} for ref in courses]
    requirements = {"ordered": bool(data.get("ordered")), "courses": effective}
    mandatory = [ref["id"] for ref in effective if ref["mandatory"]]
    optional = [ref["id"] for ref in effective if not ref["mandatory"]]
    return CertPlan(data, requirements, mandatory, optional)


# ---------------------------------------------------------------- enrollments


class Histories:
    """Writes the facts of one enrollment for each scenario, every fact dated before NOW."""

    def __init__(self, rng: random.Random, clock: Clock) -> None:
        self.rng, self.clock = rng, clock

    def scenario(self, cert: CertPlan) -> str:
        chosen = self.rng.choice(SCENARIO_DRAW)
        if chosen in ("expired", "recertified") and cert.months is None:
            return "completed"
        if chosen in ("pending", "rejected") and not cert.external:
            return "started"
        return chosen

    def facts(self, cert: CertPlan, user: str, manager: str, scenario: str) -> list[dict[str, Any]]:
        build = getattr(self, f"_{scenario}")
        facts: list[dict[str, Any]] = build(cert, user, manager)
        if cert.data.get("self_enroll"):
            facts[0]["by"] = user
        return facts

    # -- building blocks

    def _open(self, cert: CertPlan, day: int, cycle: int = 1) -> list[dict[str, Any]]:
        stamp = self.clock.at(day, 9 * 60)
        opened: dict[str, Any] = {"type": "cycle_opened", "at": stamp, "cycle": cycle}
        if cycle == 1:
            deadline = cert.data.get("deadline_days")
            if deadline is not None:
                opened["due"] = self.clock.day(day + deadline)
            opened["requirements"] = cert.requirements
            return [{"type": "assigned", "at": stamp, "by": ADMIN}, opened]
        opened["requirements"] = cert.requirements
        return [opened]

    def _courses(self, cert: CertPlan, first: int, last: int) -> list[dict[str, Any]]:
        """Every mandatory course (and some optional ones) started and completed, spread from `first` to `last`."""
        taken = cert.mandatory + [ref for ref in cert.optional if self.rng.random() < 0.3]
        facts: list[dict[str, Any]] = []
        span = max(0, last - first)
        for position, course in enumerate(taken):
            # The last mandatory course falls on `last`: the cycle's completion day. Later in the day
            # for later courses, so an ordered certification's courses are done in order.
            day = first + span * (position + 1) // len(cert.mandatory) if position < len(cert.mandatory) else last
            minute = 9 * 60 + position * 50 + self.rng.randint(0, 9)
            facts.append({"type": "course_started", "at": self.clock.at(day, minute), "course": course})
            facts.append({"type": "course_completed", "at": self.clock.at(day, minute + 40), "course": course})
        return facts

    def _proof(self, cert: CertPlan, user: str, submitted: int) -> dict[str, Any]:
        proof: dict[str, Any] = {
            "sha256": f"{self.rng.getrandbits(256):064x}",
            "size": self.rng.randint(40_000, 900_000),
            "filename": f"{cert.id}-{user}.pdf",
        }
        if cert.from_submitted:
            proof["completed_on"] = self.clock.day(submitted - self.rng.randint(0, 3))
        return {"type": "proof_submitted", "at": self.clock.at(submitted, 18 * 60), "proof": proof}

    def _finish(self, cert: CertPlan, user: str, manager: str, opened: int, done: int) -> list[dict[str, Any]]:
        """The work of a cycle opened on `opened` that completes on `done` (approval day when external)."""
        if not cert.external:
            return self._courses(cert, opened, done)
        submitted = max(opened, done - self.rng.randint(1, 5))
        approval = {
            "type": "proof_reviewed",
            "at": self.clock.at(done, 11 * 60),
            "by": manager,
            "decision": "approved",
        }
        return [*self._courses(cert, opened, submitted), self._proof(cert, user, submitted), approval]

    def _held(self, cert: CertPlan, user: str, manager: str, back_from: int, back_to: int) -> list[dict[str, Any]]:
        """A first cycle completed between `back_to` and `back_from` days ago."""
        done = self.clock.today - self.rng.randint(back_from, back_to)
        opened = done - self.rng.randint(3, 60)
        return [*self._open(cert, opened), *self._finish(cert, user, manager, opened, done)]

    # -- scenarios

    def _enrolled(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        return self._open(cert, self.clock.today - self.rng.randint(1, 120))

    def _started(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        opened = self.clock.today - self.rng.randint(4, 300)
        facts = self._open(cert, opened)
        day = opened + 1
        if not cert.mandatory:
            return [*facts, {"type": "started", "at": self.clock.at(day, 10 * 60)}]
        if len(cert.mandatory) > 1 and self.rng.random() < 0.5:
            first = cert.mandatory[0]
            facts.append({"type": "course_started", "at": self.clock.at(day, 10 * 60), "course": first})
            facts.append({"type": "course_completed", "at": self.clock.at(day, 11 * 60), "course": first})
            day += 1
            course = cert.mandatory[1]
        else:
            course = cert.mandatory[0]
        return [*facts, {"type": "course_started", "at": self.clock.at(day, 14 * 60), "course": course}]

    def _completed(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        # Recent enough to be still valid: validity counts from the enrolment at the earliest.
        latest = cert.months * 30 - (65 if cert.from_enrollment else 10) if cert.months else 1500
        return self._held(cert, user, manager, 2, max(3, latest))

    def _expired(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        months = cert.months or 12
        return self._held(cert, user, manager, months * 31 + 5, months * 31 + 400)

    def _recertified(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        """Cycle 1 lapsed; cycle 2 opened after it and is either complete or under way."""
        months = cert.months or 12
        lapsed = self.clock.today - self.rng.randint(20, months * 30 - 60)
        base = add_months(date.fromordinal(lapsed), -months).toordinal()
        if cert.from_enrollment:
            opened, done = base, base + self.rng.randint(3, 40)
        else:
            # With completion_date = submitted validity counts from the exam date on the proof, days before.
            done = base + (6 if cert.external and cert.from_submitted else 0)
            opened = done - self.rng.randint(3, 60)
        facts = [*self._open(cert, opened), *self._finish(cert, user, manager, opened, done)]
        if cert.external and cert.from_submitted:
            facts[-2]["proof"]["completed_on"] = self.clock.day(base)
        valid_until = add_months(date.fromordinal(base), months).toordinal()
        reopened = min(valid_until + self.rng.randint(0, 14), self.clock.today - 3)
        facts += self._open(cert, reopened, cycle=2)
        if self.rng.random() < 0.6:
            return [*facts, *self._finish(cert, user, manager, reopened, self.clock.today - 1)]
        if cert.mandatory:
            course = cert.mandatory[0]
            facts.append({"type": "course_started", "at": self.clock.at(reopened, 13 * 60), "course": course})
        return facts

    def _awaiting(self, cert: CertPlan, user: str) -> tuple[list[dict[str, Any]], int]:
        submitted = self.clock.today - self.rng.randint(2, 30)
        opened = submitted - self.rng.randint(3, 120)
        facts = [*self._open(cert, opened), *self._courses(cert, opened, submitted)]
        return [*facts, self._proof(cert, user, submitted)], submitted

    def _pending(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        return self._awaiting(cert, user)[0]

    def _rejected(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        facts, submitted = self._awaiting(cert, user)
        review = {
            "type": "proof_reviewed",
            "at": self.clock.at(submitted + 1, 10 * 60),
            "by": manager,
            "decision": "rejected",
            "reason": self.rng.choice(REJECTIONS),
        }
        return [*facts, review]

    def _revoked(self, cert: CertPlan, user: str, manager: str) -> list[dict[str, Any]]:
        facts = self._completed(cert, user, manager)
        done = date.fromisoformat(facts[-1]["at"][:10]).toordinal()
        day = min(done + self.rng.randint(1, 30), self.clock.today - 1)
        reason = self.rng.choice(REVOCATIONS)
        revoked = {"type": "revoked", "at": self.clock.at(day, 16 * 60), "by": ADMIN, "reason": reason, "cycle": 1}
        return [*facts, revoked]


def enrollment_counts(shape: Shape) -> list[int]:
    """Enrollments per learner: as even as the numbers allow."""
    base, extra = divmod(shape.enrollments, shape.learners)
    return [base + (1 if index < extra else 0) for index in range(shape.learners)]


# ---------------------------------------------------------------- writing


def write_org(shape: Shape, out: TextIO) -> Manifest:
    """Write the organisation as one JSON store document; returns what a benchmark may pick from it."""
    check_shape(shape)
    rng = random.Random(shape.seed)
    users, managed_by = make_users(rng, shape.learners)
    courses = make_courses(rng, max(10, shape.certifications * 2))
    course_ids = [course["id"] for course in courses]
    certs = [make_certification(rng, number, course_ids) for number in range(1, shape.certifications + 1)]
    head = {"schema": 1, "org": {"name": "Example Corp"}, "users": users, "courses": courses}
    head["certifications"] = [cert.data for cert in certs]
    out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "enrollments": [\n')
    manifest = write_enrollments(shape, rng, certs, managed_by, out)
    out.write("]}\n")
    return manifest


def write_enrollments(
    shape: Shape, rng: random.Random, certs: list[CertPlan], managed_by: list[str], out: TextIO
) -> Manifest:
    histories = Histories(rng, Clock())
    manifest = Manifest(sample_learner=learner_id(min(SAMPLE_LEARNER, shape.learners) - 1))
    every = max(1, shape.learners // MANIFEST_PICKS)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    separator = ""
    for index, count in enumerate(enrollment_counts(shape)):
        user = learner_id(index)
        picked = index % every != 0
        for cert_index in rng.sample(range(len(certs)), count):
            cert = certs[cert_index]
            scenario = histories.scenario(cert)
            facts = histories.facts(cert, user, managed_by[index], scenario)
            out.write(f"{separator}{encode({'user': user, 'certification': cert.id, 'facts': facts})}")
            separator = ",\n"
            if user == manifest.sample_learner and not manifest.sample_certification:
                manifest.sample_certification = cert.id
            if not picked and scenario == "enrolled" and cert.mandatory:
                manifest.pending.append({"user": user, "certification": cert.id, "course": cert.mandatory[0]})
                picked = True
    return manifest


def manifest_data(shape: Shape, manifest: Manifest) -> dict[str, Any]:
    return {
        "now": NOW.isoformat(),
        "admin": ADMIN,
        "certifications": shape.certifications,
        "learners": shape.learners,
        "enrollments": shape.enrollments,
        "seed": shape.seed,
        "sample_learner": manifest.sample_learner,
        "sample_certification": manifest.sample_certification,
        "pending": manifest.pending[:MANIFEST_PICKS],
    }


def generate(shape: Shape, output: Path, manifest_path: Path | None = None) -> dict[str, Any]:
    """Write the store to `output` (and the manifest, when asked); returns the manifest."""
    partial = output.with_name(output.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        data = manifest_data(shape, write_org(shape, out))
    partial.replace(output)
    if manifest_path is not None:
        manifest_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=10_000, help="enrollments (default 10,000)")
    parser.add_argument("--learners", type=int, help="learners (default: enrollments / 10)")
    parser.add_argument("--certifications", type=int, help="certifications (default: enrollments / 1,000, ≥ 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the JSON store to write (PATH.json)")
    parser.add_argument("--manifest", type=Path, help="also write the benchmark's picks here (JSON)")
    args = parser.parse_args(argv)
    if args.output.suffix.lower() != ".json":
        parser.error("-o must name a .json file")
    shape = default_shape(args.enrollments, args.learners, args.certifications, args.seed)
    try:
        generate(shape, args.output, args.manifest)
    except GenerateError as exc:
        parser.error(str(exc))
    size = args.output.stat().st_size / 1e6
    print(
        f"wrote {args.output}: {shape.enrollments:,} enrollments, {shape.learners:,} learners, "
        f"{shape.certifications:,} certifications, {size:.1f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
