"""A stateful property test: random sequences of operations through the service layer, against a model.

Hypothesis drives the use cases (`certcli.usecases`) on a JSON store in a temporary folder:
assign, start, complete a course, upload a proof, approve or reject it, revoke,
and let time pass (a random number of days per step). Beside it runs a small
model of the rules written here from docs/rules.md, independent of
`certcli.rules`: per learner and certification the cycles, each enrolled,
started or completed, its completion date, its valid-until date (calendar
months, clamped to the month's end), expired once now >= valid until,
revoked by an admin, and recertification opening the next cycle.

After every step: the store loads and validates; for every learner and
certification `usecases.show` reports what the model says (status, cycle,
dates, overdue, courses done); courses done never exceed those required;
`audit verify` passes with one event per change the model expects. An
operation the rules refuse raises the documented error and leaves the store and
its audit log byte-for-byte as they were; one the model expects to change
nothing (starting a completed certification, completing a course twice,
assigning twice) writes nothing either.
"""

from __future__ import annotations

import calendar
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from certcli import usecases
from certcli.errors import CertcliError, NotFound, PermissionDenied, StateError
from certcli.store import open_store

# ---------------------------------------------------------------- the store every example starts from

SETUP_AT = datetime(2025, 12, 1, tzinfo=UTC)
LEARNERS = ("ana", "ben")  # both report to the manager mia


@dataclass(frozen=True)
class CertSpec:
    id: str
    kind: str  # internal | external
    courses: tuple[str, ...]
    mandatory: tuple[str, ...]  # as marked with --mandatory; none marked means all are
    months: int | None  # None: perpetual

    @property
    def required(self) -> tuple[str, ...]:
        return self.mandatory or self.courses


CERTS = {
    spec.id: spec
    for spec in (
        CertSpec("basics", "internal", ("a", "b", "c"), ("a", "b"), None),  # perpetual; c is optional
        CertSpec("monthly", "internal", ("a", "b"), (), 1),  # recurring every month: expiries and clamping
        CertSpec("licence", "external", (), (), 2),  # proof reviewed by the manager, valid 2 months
    )
}
COURSES = ("a", "b", "c", "x")  # x exists but belongs to no certification
UNKNOWN_COURSE = "nope"


def build_template(folder: Path) -> tuple[Path, int]:
    """The starting store, built once through the service layer; returns it and its audit event count."""
    path = folder / "store.json"
    store = open_store(path)
    usecases.init_store(store, "root", "Root", "Model Corp", SETUP_AT)
    ctx = usecases.Context(store, "root", SETUP_AT)
    usecases.add_user(ctx, "mia", "Mia", "manager", None, None)
    for who in LEARNERS:
        usecases.add_user(ctx, who, who.title(), "learner", None, "mia")
    for course in COURSES:
        usecases.add_course(ctx, course, f"Course {course}", 30)
    for spec in CERTS.values():
        definition = usecases.Definition(
            spec.id, spec.id.title(), spec.kind, courses=spec.courses, mandatory=spec.mandatory, recurring=spec.months
        )
        usecases.define(ctx, definition, replace=False)
    events, problem = store.read_audit()
    assert problem is None
    return path, len(events)


PROOF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

# ---------------------------------------------------------------- the model


def add_months(start: date, months: int) -> date:
    """Calendar months later, clamped to the last day of a shorter month (Jan 31 + 1 → Feb 28 or 29)."""
    years, month_index = divmod(start.month - 1 + months, 12)
    year, month = start.year + years, month_index + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass
class Cycle:
    number: int
    due: date | None
    started: bool = False
    done: set[str] = field(default_factory=set)  # courses completed in this cycle
    proof: str | None = None  # pending | rejected | approved
    completed_on: date | None = None
    valid_until: date | None = None
    revoked: bool = False


class Expect:
    """What the model predicts for one operation: an error class, or success that does or does not write."""

    def __init__(self, error: type[CertcliError] | None = None, writes: bool = True) -> None:
        self.error, self.writes = error, writes


REFUSE_STATE = Expect(StateError)


class Model:
    """The rules, as docs/rules.md tells them, for the learners and certifications above."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.enrollments: dict[tuple[str, str], list[Cycle]] = {}
        self.clamped = 0  # valid-until dates that fell on a shorter month's last day

    # ---- reading

    def status(self, who: str, cert: str) -> str | None:
        cycles = self.enrollments.get((who, cert))
        if cycles is None:
            return None
        current = cycles[-1]
        if current.revoked:
            return "revoked"
        if current.completed_on is not None:
            expired = current.valid_until is not None and self.today >= current.valid_until
            return "expired" if expired else "completed"
        if current.proof in ("pending", "rejected"):
            return "pending_approval" if current.proof == "pending" else "rejected"
        return "started" if current.started else "enrolled"

    def page(self, who: str, cert: str) -> dict[str, Any]:
        """The fields of `show` the model predicts."""
        spec, status = CERTS[cert], self.status(who, cert)
        if status is None:
            return {"status": None, "cycle": None, "courses_done": 0, "courses_required": len(spec.required)}
        current = self.enrollments[(who, cert)][-1]
        if status == "expired":
            due = current.valid_until
        elif status in ("completed", "revoked"):
            due = None
        else:
            due = current.due
        return {
            "status": status,
            "cycle": current.number,
            "due": due,
            "overdue": due is not None and self.today > due and status != "completed",
            "completed_on": current.completed_on,
            "valid_until": current.valid_until if status != "revoked" else None,
            "courses_done": len(current.done & set(spec.required)),
            "courses_required": len(spec.required),
        }

    # ---- changing: each returns what it expects and changes the model only on success

    def _open_next_cycle(self, cycles: list[Cycle]) -> Cycle:
        previous = cycles[-1]
        holds = previous.completed_on is not None and not previous.revoked
        cycles.append(Cycle(previous.number + 1, due=previous.valid_until if holds else None))
        return cycles[-1]

    def _needs_new_cycle(self, who: str, cert: str) -> bool:
        return self.status(who, cert) in ("expired", "revoked")

    def _complete_cycle(self, cycle: Cycle, spec: CertSpec) -> None:
        cycle.completed_on = self.today
        if spec.months is not None:
            cycle.valid_until = add_months(self.today, spec.months)
            self.clamped += cycle.valid_until.day != self.today.day

    def assign(self, who: list[str], cert: str, due: date | None) -> Expect:
        new = [learner for learner in dict.fromkeys(who) if (learner, cert) not in self.enrollments]
        for learner in new:
            self.enrollments[(learner, cert)] = [Cycle(1, due=due)]
        return Expect(writes=bool(new))

    def start(self, who: str, cert: str) -> Expect:
        if (who, cert) not in self.enrollments:
            return REFUSE_STATE
        cycles, spec = self.enrollments[(who, cert)], CERTS[cert]
        if self._needs_new_cycle(who, cert):
            self._open_next_cycle(cycles).started = True
            return Expect()
        current = cycles[-1]
        if current.completed_on is not None or current.proof == "pending":
            return Expect(writes=False)  # already completed, or waiting for review
        # internal: the queue's head is marked in progress; external: "started" once per cycle
        writes = spec.kind == "internal" or not current.started
        current.started = True
        return Expect(writes=writes)

    def complete(self, who: str, cert: str, course: str) -> Expect:
        if course not in COURSES:
            return Expect(NotFound)
        if (who, cert) not in self.enrollments:
            return REFUSE_STATE
        spec, cycles = CERTS[cert], self.enrollments[(who, cert)]
        if course not in spec.courses:
            return REFUSE_STATE  # even when a new cycle would have opened: nothing is saved
        current = self._open_next_cycle(cycles) if self._needs_new_cycle(who, cert) else cycles[-1]
        if course in current.done:
            return Expect(writes=False)
        current.done.add(course)
        current.started = True
        if current.completed_on is None and set(spec.required) <= current.done:
            self._complete_cycle(current, spec)
        return Expect()

    def upload(self, who: str, cert: str) -> Expect:
        if CERTS[cert].kind != "external" or (who, cert) not in self.enrollments:
            return REFUSE_STATE
        current = self.enrollments[(who, cert)][-1]
        if current.completed_on is not None or current.revoked:
            return REFUSE_STATE  # completed, expired or revoked: recertify with start first
        current.proof, current.started = "pending", True
        return Expect()

    def review(self, who: str, cert: str, approve: bool) -> Expect:
        cycles = self.enrollments.get((who, cert))
        if cycles is None or cycles[-1].proof != "pending":
            return REFUSE_STATE
        current = cycles[-1]
        current.proof = "approved" if approve else "rejected"
        if approve:
            self._complete_cycle(current, CERTS[cert])
        return Expect()

    def revoke(self, who: str, cert: str) -> Expect:
        if self.status(who, cert) != "completed":
            return REFUSE_STATE  # not assigned, not completed, expired or already revoked
        self.enrollments[(who, cert)][-1].revoked = True
        return Expect()


# ---------------------------------------------------------------- the machine

STATS: Counter[str] = Counter()
FIRST_DAYS = st.dates(date(2026, 1, 1), date(2028, 12, 31))
MONTH_ENDS = st.builds(
    lambda year, month: date(year, month, calendar.monthrange(year, month)[1]),
    st.integers(2026, 2028),
    st.integers(1, 12),
)
learners = st.sampled_from(LEARNERS)
certs = st.sampled_from(sorted(CERTS))
external_mostly = st.sampled_from(("licence", "licence", "licence", "basics", "monthly"))
internal_mostly = st.sampled_from(("basics", "monthly", "basics", "monthly", "licence"))


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class CertcliMachine(RuleBasedStateMachine):
    template: Path  # set by the test before running
    template_events: int
    workdir: Path

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="example-", dir=self.workdir))
        self.path = self.folder / "store.json"
        shutil.copy2(self.template, self.path)
        shutil.copy2(f"{self.template}.audit.jsonl", f"{self.path}.audit.jsonl")
        self.audit_path = Path(f"{self.path}.audit.jsonl")
        self.store = open_store(self.path)
        self.proof = self.folder / "certificate.pdf"
        self.proof.write_bytes(PROOF)
        self.model = Model(date(2026, 1, 1))
        self.events = self.template_events
        STATS["examples"] += 1

    def teardown(self) -> None:
        STATS["clamped"] += self.model.clamped
        shutil.rmtree(self.folder, ignore_errors=True)

    def ctx(self, actor: str) -> usecases.Context:
        return usecases.Context(self.store, actor, datetime.combine(self.model.today, datetime.min.time(), UTC))

    def snapshot(self) -> tuple[bytes, bytes]:
        return self.path.read_bytes(), self.audit_path.read_bytes()

    def perform(self, name: str, expect: Expect, action: Any) -> None:
        """Run `action` (one call into the service) and hold it to what the model expected."""
        STATS["calls"] += 1
        before = self.snapshot()
        if expect.error is not None:
            with pytest.raises(CertcliError) as raised:
                action()
            assert type(raised.value) is expect.error, f"{name}: {raised.value.message}"
            assert self.snapshot() == before, f"{name} failed but changed the store or its log"
            STATS["refused"] += 1
            return
        action()
        if expect.writes:
            self.events += 1
            STATS["changed"] += 1
        else:
            assert self.snapshot() == before, f"{name} should have changed nothing"
            STATS["no-op"] += 1
        STATS[name] += 1

    def do_assign(self, who: list[str], cert: str, due: date | None) -> None:
        expect = self.model.assign(who, cert, due)
        self.perform("assign", expect, lambda: usecases.assign(self.ctx("root"), cert, who, due))

    def do_complete(self, who: str, cert: str, course: str) -> None:
        expect = self.model.complete(who, cert, course)
        self.perform("complete", expect, lambda: usecases.complete(self.ctx(who), cert, course))

    def do_upload(self, who: str, cert: str) -> None:
        expect = self.model.upload(who, cert)
        self.perform("upload-proof", expect, lambda: usecases.upload_proof(self.ctx(who), cert, self.proof))

    def do_review(self, who: str, cert: str, approve: bool) -> None:
        decision, reason = ("approved", None) if approve else ("rejected", "unreadable scan")
        expect = self.model.review(who, cert, approve)
        action = lambda: usecases.review(self.ctx("mia"), cert, who, decision, reason)  # noqa: E731
        self.perform("approve" if approve else "reject", expect, action)

    # ---- rules (each one step)

    @initialize(
        first_day=st.one_of(FIRST_DAYS, MONTH_ENDS),
        enrolled=st.sets(st.tuples(learners, certs), min_size=4),
        due_in=st.none() | st.integers(0, 60),
    )
    def set_the_clock_and_assign(self, first_day: date, enrolled: set[tuple[str, str]], due_in: int | None) -> None:
        """Start on a random day (often a month's last), most learners already assigned."""
        self.model.today = first_day
        due = first_day + timedelta(days=due_in) if due_in is not None else None
        for cert in sorted(CERTS):
            who = sorted(learner for learner, assigned in enrolled if assigned == cert)
            if who:
                self.do_assign(who, cert, due)

    @rule(days=st.one_of(st.just(0), st.integers(1, 40)))
    def advance_time(self, days: int) -> None:
        STATS["steps"] += 1
        STATS["days passed"] += days
        self.model.today += timedelta(days=days)

    @rule(who=st.lists(learners, min_size=1, max_size=2), cert=certs, due_in=st.none() | st.integers(0, 60))
    def assign(self, who: list[str], cert: str, due_in: int | None) -> None:
        STATS["steps"] += 1
        self.do_assign(who, cert, self.model.today + timedelta(days=due_in) if due_in is not None else None)

    @rule(who=learners, cert=certs)
    def start(self, who: str, cert: str) -> None:
        STATS["steps"] += 1
        self.perform("start", self.model.start(who, cert), lambda: usecases.start(self.ctx(who), cert))

    # Courses of the certifications more often than the one in none (x) and the unknown one.
    @rule(who=learners, cert=internal_mostly, course=st.sampled_from(("a", "b", "c", "a", "b", "x", UNKNOWN_COURSE)))
    def complete(self, who: str, cert: str, course: str) -> None:
        STATS["steps"] += 1
        self.do_complete(who, cert, course)

    @rule(who=learners, cert=external_mostly)
    def upload_proof(self, who: str, cert: str) -> None:
        STATS["steps"] += 1
        self.do_upload(who, cert)

    @rule(who=learners, cert=external_mostly, approve=st.sampled_from((True, True, False)))
    def review(self, who: str, cert: str, approve: bool) -> None:
        STATS["steps"] += 1
        self.do_review(who, cert, approve)

    @rule(who=learners, cert=certs)
    def work_through(self, who: str, cert: str) -> None:
        """Everything the learner still needs, one call after another: each mandatory course, or a
        proof and its approval; so that completions, and then expiries and revocations, come often."""
        STATS["steps"] += 1
        spec = CERTS[cert]
        if spec.kind == "internal":
            for course in spec.required:
                self.do_complete(who, cert, course)
        else:
            self.do_upload(who, cert)
            self.do_review(who, cert, approve=True)

    # Mostly the admin; the manager and the learner themselves must be refused (exit 4).
    @rule(who=learners, cert=certs, actor=st.sampled_from(("root", "root", "root", "mia", "ana")))
    def revoke(self, who: str, cert: str, actor: str) -> None:
        STATS["steps"] += 1
        expect = self.model.revoke(who, cert) if actor == "root" else Expect(PermissionDenied)
        reason = "withdrawn by the issuer"
        self.perform("revoke", expect, lambda: usecases.revoke(self.ctx(actor), cert, who, reason))

    # ---- invariants

    @invariant()
    def store_loads_and_validates(self) -> None:
        doc = open_store(self.path).read()  # parses and validates everything, or raises DataError
        assert {(e.user, e.certification) for e in doc.enrollments} == set(self.model.enrollments)

    @invariant()
    def show_agrees_with_the_model(self) -> None:
        ctx = self.ctx("root")
        for who in LEARNERS:
            for cert in CERTS:
                page = usecases.show(ctx, cert, who).data
                predicted = self.model.page(who, cert)
                actual = {key: page[key] for key in predicted}
                for key in ("due", "completed_on", "valid_until"):
                    if key in predicted:
                        predicted[key] = iso(predicted[key])
                assert actual == predicted, f"{who} in {cert} on {self.model.today}"
                assert page["courses_done"] <= page["courses_required"]

    @invariant()
    def audit_trail_verifies(self) -> None:
        outcome = usecases.audit_verify(self.ctx("root"))
        assert outcome.data["ok"] is True
        assert outcome.data["events"] == self.events


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """Where the examples keep their stores: a tmpfs folder when there is one, since this test is about the
    rules and not about durability, and thousands of fsyncs on a busy disk would only make it slow."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="certcli-statemachine-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_machine(workdir: Path, max_examples: int, steps: int) -> None:
    template_dir = workdir / "template"
    template_dir.mkdir()
    CertcliMachine.template, CertcliMachine.template_events = build_template(template_dir)
    CertcliMachine.workdir = workdir
    STATS.clear()
    run_state_machine_as_test(
        CertcliMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    operations = ", ".join(
        f"{name} {STATS[name]}"
        for name in ("assign", "start", "complete", "upload-proof", "approve", "reject", "revoke")
        if STATS[name]
    )
    print(
        f"\nstate machine: {STATS['examples']} examples, {STATS['steps']} steps (at most {steps} per example), "
        f"{STATS['calls']} service calls: {STATS['changed']} changes, {STATS['no-op']} no-ops, "
        f"{STATS['refused']} refused with the store unchanged; succeeded: {operations}; "
        f"{STATS['days passed']} days passed, {STATS['clamped']} valid-until dates clamped to a month's end"
    )
    assert STATS["examples"] >= 1 and STATS["steps"] >= STATS["examples"]
    assert STATS["changed"] + STATS["no-op"] + STATS["refused"] == STATS["calls"]
    assert STATS["changed"] > 0 and STATS["refused"] > 0


def test_random_operation_sequences_match_the_model(workdir: Path) -> None:
    run_machine(workdir, max_examples=30, steps=25)


@pytest.mark.slow
def test_long_random_operation_sequences_match_the_model(workdir: Path) -> None:
    run_machine(workdir, max_examples=200, steps=50)


def test_start_on_the_day_of_a_revocation_opens_a_started_cycle(tmp_path: Path) -> None:
    """The shortest sequence the machine found wrong: complete, revoke and recertify on one day.

    `start` after a revocation opens the next cycle; that cycle is started, not revoked, even when
    the revocation and the start carry the same time (as every `--now YYYY-MM-DD` on one day does).
    """
    template_dir = tmp_path / "template"
    template_dir.mkdir()
    path, _ = build_template(template_dir)
    store, day = open_store(path), datetime(2026, 3, 2, tzinfo=UTC)
    admin, ana = usecases.Context(store, "root", day), usecases.Context(store, "ana", day)
    usecases.assign(admin, "basics", ["ana"], None)
    usecases.complete(ana, "basics", "a")
    usecases.complete(ana, "basics", "b")
    usecases.revoke(admin, "basics", "ana", "withdrawn")
    started = usecases.start(ana, "basics").data
    assert (started["status"], started["cycle"]) == ("started", 2)
    next_day = usecases.Context(store, "root", day + timedelta(days=1))
    assert usecases.show(next_day, "basics", "ana").data["status"] == "started"
