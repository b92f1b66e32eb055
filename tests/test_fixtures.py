"""The demo store in fixtures/: it loads, both formats agree, and as of the demo
day (2026-11-28) it shows every status the documentation talks about."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from certcli import rules
from certcli.model import ASSIGNED, CYCLE_OPENED, Document
from certcli.store import open_store
from certcli.usecases import Context, list_certifications

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TOML_FIXTURE = FIXTURES / "acme.toml"
JSON_FIXTURE = FIXTURES / "acme.json"
DEMO_NOW = datetime(2026, 11, 28, tzinfo=UTC)


def load(path: Path) -> Document:
    return open_store(path).read()


def views(doc: Document) -> list[tuple[str, str, rules.EnrollmentView]]:
    """(user, certification, view) of every enrollment as of the demo day."""
    result = []
    for enrollment in doc.enrollments:
        view = rules.evaluate(enrollment, doc.certifications[enrollment.certification], DEMO_NOW)
        assert view is not None, f"{enrollment.user}/{enrollment.certification} has no facts by the demo day"
        result.append((enrollment.user, enrollment.certification, view))
    return result


@pytest.fixture(scope="module")
def demo() -> Document:
    return load(TOML_FIXTURE)


# ---------------------------------------------------------------- loading


@pytest.mark.parametrize("path", [TOML_FIXTURE, JSON_FIXTURE], ids=lambda p: p.name)
def test_fixture_loads(path: Path) -> None:
    doc = load(path)
    assert doc.org_name == "Acme Corp"
    assert doc.enrollments


def test_toml_and_json_hold_the_same_document() -> None:
    assert load(TOML_FIXTURE) == load(JSON_FIXTURE)


def test_fixtures_folder_holds_no_lock_or_proof_leftovers() -> None:
    leftovers = [p.name for p in FIXTURES.iterdir() if p.name.endswith((".lock", ".proofs", ".tmp"))]
    assert leftovers == []


# ---------------------------------------------------------------- the cast


def test_has_an_admin_and_two_managers(demo: Document) -> None:
    roles = [user.role for user in demo.users.values()]
    assert roles.count("admin") >= 1
    assert roles.count("manager") >= 2


def test_every_one_of_eight_learners_has_a_manager(demo: Document) -> None:
    learners = [user for user in demo.users.values() if user.role == "learner"]
    assert len(learners) >= 8
    for learner in learners:
        assert learner.manager is not None, learner.id
        assert demo.users[learner.manager].role == "manager", learner.id


def test_has_enough_courses_and_certifications(demo: Document) -> None:
    assert len(demo.courses) >= 10
    assert len(demo.certifications) >= 8


def test_certifications_cover_every_kind_of_definition(demo: Document) -> None:
    certs = list(demo.certifications.values())
    assert {cert.kind for cert in certs} == {"internal", "external"}
    assert {cert.recurring for cert in certs} == {True, False}
    assert {cert.ordered for cert in certs} == {True, False}
    assert any(cert.recurring and cert.renew_from == "enrollment" for cert in certs)
    assert any(cert.deadline_days is not None for cert in certs)
    assert any(cert.kind == "external" and cert.completion_date == "submitted" for cert in certs)
    assert any(cert.courses and not any(ref.mandatory for ref in cert.courses) for cert in certs)
    assert any(len(cert.courses) == 4 and sum(ref.mandatory for ref in cert.courses) == 2 for cert in certs)
    for cert in certs:
        assert cert.overview and cert.issuer and cert.badge and cert.published, cert.id


def test_a_self_enroll_certification_leaves_some_learners_to_enrol(demo: Document) -> None:
    learners = {user.id for user in demo.users.values() if user.role == "learner"}
    for cert in demo.certifications.values():
        if cert.self_enroll:
            enrolled = {e.user for e in demo.enrollments if e.certification == cert.id}
            if enrolled and learners - enrolled:
                return
    pytest.fail("no self-enroll certification with both enrolled and not-enrolled learners")


# ---------------------------------------------------------------- the facts are what commands would record


def test_each_enrollment_opens_with_assigned_then_cycle_one(demo: Document) -> None:
    for enrollment in demo.enrollments:
        cert = demo.certifications[enrollment.certification]
        assigned, opened = enrollment.facts[0], enrollment.facts[1]
        where = f"{enrollment.user}/{cert.id}"
        assert (assigned.type, opened.type, opened.cycle) == (ASSIGNED, CYCLE_OPENED, 1), where
        assert opened.requirements == rules.effective_requirements(cert), where
        assert opened.due == rules.first_due(cert, assigned.at.date(), assigned.due), where


def test_every_fact_happened_by_the_demo_day(demo: Document) -> None:
    late = [(e.user, e.certification, f.type) for e in demo.enrollments for f in e.facts if f.at > DEMO_NOW]
    assert late == []


# ---------------------------------------------------------------- the story on the demo day


def test_every_status_occurs_on_the_demo_day(demo: Document) -> None:
    seen = {view.status for _, _, view in views(demo)}
    assert seen == set(rules.STATUSES)


def test_some_enrollment_is_overdue_on_the_demo_day(demo: Document) -> None:
    assert any(view.overdue for _, _, view in views(demo))


def test_some_learner_has_recertified(demo: Document) -> None:
    assert any(view.cycle >= 2 for _, _, view in views(demo))


# Worked out by hand from the facts in acme.toml and the rules of the contract.
ANA_ON_DEMO_DAY = {
    # started 2026-10-01 + 30 days = due 2026-10-31, one of four courses done
    "security-awareness": ("started", True),
    # enrolled 2025-09-01, validity from enrolment: expired 2026-09-01, due then
    "compliance-annual": ("expired", True),
    # proof rejected 2026-11-11; due 2026-09-14 + 90 days = 2026-12-13
    "aws-cloud-practitioner": ("rejected", False),
    # both mandatory courses done 2026-02-16, the optional ones not needed
    "leadership-essentials": ("completed", False),
    # proof uploaded 2026-11-24, not reviewed yet; assigned due 2026-12-31
    "first-aid-at-work": ("pending_approval", False),
    # assigned 2026-11-20, due 2026-12-04, nothing started
    "workplace-safety": ("enrolled", False),
}


def test_ana_sees_her_varied_list(demo_store: Path) -> None:
    ctx = Context(store=open_store(demo_store), actor_id="ana", now=DEMO_NOW)
    items = list_certifications(ctx).data
    assert {item["id"]: (item["status"], item["overdue"]) for item in items} == ANA_ON_DEMO_DAY
    assert any(item["overdue"] for item in items)
