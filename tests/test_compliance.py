"""Compliance report and check, against a small store built with the use cases.

The fixture store (every date UTC midnight unless a time is given):

    users: root (admin); mia and omar (managers); ann, ben, eve report to mia;
           cy and fay report to omar; dee has no manager.
    sec   internal, recurring 12 months, courses c1 and c2 (both mandatory), deadline 30 days
    aws   external, perpetual, no courses, no deadline
    fire  internal, perpetual, course c1

    sec:  fay assigned 2025-01-06 (due 2025-01-06 + 30 days = 2025-02-05), completed both courses 2025-01-10
               → valid until 2026-01-10
          ann, ben, cy, dee, eve assigned 2026-01-05 (due 2026-01-05 + 30 days = 2026-02-04)
          ann  c1 and c2 on 2026-02-01                  → completed 2026-02-01, valid until 2027-02-01
          ben  c1 on 2026-01-10, c2 on 2026-01-25        → completed 2026-01-25, valid until 2027-01-25
          cy   c1 on 2026-01-20                          → started
          dee  nothing                                   → enrolled
          eve  c1 and c2 on 2026-01-15, revoked 2026-06-01 by root
    aws:  ann, ben, cy assigned 2026-03-01 due 2026-12-31; each uploads a proof 2026-03-10;
          ben's rejected by mia 2026-03-12, cy's approved by omar 2026-03-15, ann's waits.
    fire: dee assigned 2027-03-01, after the evaluation times used below.

The main evaluation time is NOW = 2026-12-26. Day counts from it, worked out by hand:
    to 2026-12-31: 5 days; to 2027-01-01: 6 days
    to 2027-01-25: 6 + 24 = 30;  to 2027-02-01: 6 + 31 = 37
    Mar 1 → Dec 1 2026: 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 = 275
    2026-02-04 → 2026-12-26: 25 (Feb 4 → Mar 1) + 275 + 25 (Dec 1 → Dec 26) = 325
    2026-01-10 → 2026-12-26: 22 (Jan 10 → Feb 1) + 28 (February) + 275 + 25 = 350
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS, POSTGRES_URL_VARIABLE, copied, location_for, postgres_url, store_state

from certcli import usecases
from certcli.errors import NotFound, PermissionDenied, UsageError
from certcli.formats import csv_rows
from certcli.store import Store, open_store
from certcli.usecases import compliance

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-12-26"
ALL_ZERO = dict.fromkeys(("enrolled", "started", "pending_approval", "rejected", "completed", "expired", "revoked"), 0)


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def ctx(store: Store, actor: str, when: str = NOW) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=at(when))


def build(store: Store, proof_dir: Path) -> None:
    usecases.init_store(store, "root", "Root", "Org", at("2025-01-01"))
    setup = ctx(store, "root", "2025-01-01")
    for manager, name in (("mia", "Mia"), ("omar", "Omar")):
        usecases.add_user(setup, manager, name, "manager", None, None)
    for learner, name, manager in (
        ("ann", "Ann Lee", "mia"),
        ("ben", "Ben Ng", "mia"),
        ("eve", "Eve Ito", "mia"),
        ("cy", "Cy Roe", "omar"),
        ("fay", "Fay Diaz", "omar"),
        ("dee", "Dee Fox", None),
    ):
        usecases.add_user(setup, learner, name, "learner", None, manager)
    for course in ("c1", "c2"):
        usecases.add_course(setup, course, f"Course {course}", None)
    definitions = (
        usecases.Definition("sec", "Security", "internal", recurring=12, deadline_days=30, courses=["c1", "c2"]),
        usecases.Definition("aws", "AWS Practitioner", "external"),
        usecases.Definition("fire", "Fire Safety", "internal", courses=["c1"]),
    )
    for spec in definitions:
        usecases.define(setup, spec, False)

    def complete(learner: str, when: str, *courses: str) -> None:
        for course in courses:
            usecases.complete(ctx(store, learner, when), "sec", course)

    usecases.assign(ctx(store, "root", "2025-01-06"), "sec", ["fay"], None)
    complete("fay", "2025-01-10", "c1", "c2")
    usecases.assign(ctx(store, "root", "2026-01-05"), "sec", ["ann", "ben", "cy", "dee", "eve"], None)
    complete("ben", "2026-01-10", "c1")
    complete("eve", "2026-01-15", "c1", "c2")
    complete("cy", "2026-01-20", "c1")
    complete("ben", "2026-01-25", "c2")
    complete("ann", "2026-02-01", "c1", "c2")
    usecases.revoke(ctx(store, "root", "2026-06-01"), "sec", "eve", "shared her password")

    usecases.assign(ctx(store, "root", "2026-03-01"), "aws", ["ann", "ben", "cy"], at("2026-12-31").date())
    proof = proof_dir / "card.pdf"
    proof.write_bytes(b"%PDF-1.4\n%certificate\n")
    for learner in ("ann", "ben", "cy"):
        usecases.upload_proof(ctx(store, learner, "2026-03-10"), "aws", proof)
    usecases.review(ctx(store, "mia", "2026-03-12"), "aws", "ben", "rejected", "blurry scan")
    usecases.review(ctx(store, "omar", "2026-03-15"), "aws", "cy", "approved")

    usecases.assign(ctx(store, "root", "2027-03-01"), "fire", ["dee"], None)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Built once, in JSON: every test here only reads."""
    folder = tmp_path_factory.mktemp("compliance")
    store = open_store(folder / "s.json")
    build(store, folder)
    return store


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, built: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The built store on each backend (reports over a database read its standing columns)."""
    if request.param == "json":
        yield built
        return
    if request.param == "postgresql" and postgres_url() is None:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server to test against")
    with location_for(request.param, tmp_path_factory.mktemp(request.param)) as location:
        yield copied(built, location, "root", at("2027-03-01"))


def row(user: str, name: str, cert: str, title: str, status: str, **fields: Any) -> dict[str, Any]:
    base = {"overdue": False, "due": None, "completed_on": None, "valid_until": None, "days_left": None}
    base.update(fields)
    return {
        "user": user,
        "name": name,
        "certification": cert,
        "title": title,
        "status": status,
        **base,
        "renewal_open": False,
        "cycle": 1,
        "active": True,
    }


AWS, SEC = "AWS Practitioner", "Security"
# As of NOW, worked out from the story in the module docstring.
AWS_ANN = row("ann", "Ann Lee", "aws", AWS, "pending_approval", due="2026-12-31", days_left=5)
AWS_BEN = row("ben", "Ben Ng", "aws", AWS, "rejected", due="2026-12-31", days_left=5)
AWS_CY = row("cy", "Cy Roe", "aws", AWS, "completed", completed_on="2026-03-15")  # perpetual: no days left
SEC_ANN = row(
    "ann", "Ann Lee", "sec", SEC, "completed", completed_on="2026-02-01", valid_until="2027-02-01", days_left=37
)
SEC_BEN = row(
    "ben", "Ben Ng", "sec", SEC, "completed", completed_on="2026-01-25", valid_until="2027-01-25", days_left=30
)
SEC_CY = row("cy", "Cy Roe", "sec", SEC, "started", overdue=True, due="2026-02-04", days_left=-325)
SEC_DEE = row("dee", "Dee Fox", "sec", SEC, "enrolled", overdue=True, due="2026-02-04", days_left=-325)
# Revoked: the completion date stays, the validity and the due date are gone.
SEC_EVE = row("eve", "Eve Ito", "sec", SEC, "revoked", completed_on="2026-01-15")
# Expired: due at its valid-until date, so also overdue.
SEC_FAY = row(
    "fay",
    "Fay Diaz",
    "sec",
    SEC,
    "expired",
    overdue=True,
    due="2026-01-10",
    completed_on="2025-01-10",
    valid_until="2026-01-10",
    days_left=-350,
)
ALL_ROWS = [AWS_ANN, AWS_BEN, AWS_CY, SEC_ANN, SEC_BEN, SEC_CY, SEC_DEE, SEC_EVE, SEC_FAY]


# ---------------------------------------------------------------- report rows


def test_admin_report_has_one_row_per_enrollment_as_of_now_sorted_by_certification_then_user(store: Store) -> None:
    # fire/dee is assigned after NOW, so it is not a row.
    assert compliance.report(ctx(store, "root")).data == ALL_ROWS


def test_report_filters_by_certification_and_user(store: Store) -> None:
    assert compliance.report(ctx(store, "root"), cert_id="aws").data == [AWS_ANN, AWS_BEN, AWS_CY]
    assert compliance.report(ctx(store, "root"), user_id="ann").data == [AWS_ANN, SEC_ANN]
    assert compliance.report(ctx(store, "root"), cert_id="sec", user_id="cy").data == [SEC_CY]
    assert compliance.report(ctx(store, "root"), cert_id="fire").data == []


def test_report_as_of_an_earlier_day(store: Store) -> None:
    # 2026-02-02: aws not assigned yet; eve not revoked yet; the due date 2026-02-04 not passed.
    # From 2026-02-02: 27 days to Mar 1, then 306 (Mar..Dec) to 2027-01-01.
    # eve completed 2026-01-15 → valid until 2027-01-15: 27 + 306 + 14 = 347.
    rows = compliance.report(ctx(store, "root", "2026-02-02")).data
    assert [(r["user"], r["status"], r["overdue"], r["days_left"]) for r in rows] == [
        ("ann", "completed", False, 364),  # 2027-02-01: 27 + 306 + 31 = 364
        ("ben", "completed", False, 357),  # 2027-01-25: 27 + 306 + 24 = 357
        ("cy", "started", False, 2),  # due 2026-02-04
        ("dee", "enrolled", False, 2),
        ("eve", "completed", False, 347),
        ("fay", "expired", True, -23),  # valid until 2026-01-10 → 2026-02-02: 22 + 1 = 23 days ago
    ]


# ---------------------------------------------------------------- expiring filter


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (29, []),  # ben has 30 days left: one day short
        (30, [SEC_BEN]),  # exactly 30: included
        (36, [SEC_BEN]),  # ann has 37
        (37, [SEC_ANN, SEC_BEN]),
        (0, []),  # a completion is valid until the day before valid_until: never 0 days left
    ],
)
def test_expiring_within_keeps_completions_whose_validity_ends_within_n_days(
    store: Store, days: int, expected: list[dict[str, Any]]
) -> None:
    # Perpetual completions (aws/cy) never expire; expired and pending rows with negative or positive
    # days left (fay, aws/ann with 5) are not completions and never count.
    assert compliance.report(ctx(store, "root"), expiring_within=days).data == expected


def test_expiring_boundary_moves_with_now(store: Store) -> None:
    # On 2027-01-24 ben has 1 day left (ann 8); on 2027-01-25 his completion has expired (ann 7).
    assert [r["user"] for r in compliance.report(ctx(store, "root", "2027-01-24"), expiring_within=1).data] == ["ben"]
    assert compliance.report(ctx(store, "root", "2027-01-25"), expiring_within=1).data == []


def test_negative_expiring_within_is_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError):
        compliance.report(ctx(store, "root"), expiring_within=-1)


# ---------------------------------------------------------------- summary


def test_summary_figures(store: Store) -> None:
    assert compliance.report_summary(ctx(store, "root")).data == [
        {
            "certification": "aws",
            "title": AWS,
            "learners": 3,
            "by_status": {**ALL_ZERO, "pending_approval": 1, "rejected": 1, "completed": 1},
            "completion_rate": 0.333,  # 1 of 3
            "overdue": 0,  # due 2026-12-31 not passed
            "expiring": 0,  # cy's completion is perpetual
        },
        {
            "certification": "fire",
            "title": "Fire Safety",
            "learners": 0,  # dee's enrolment lies after NOW
            "by_status": ALL_ZERO,
            "completion_rate": 0,
            "overdue": 0,
            "expiring": 0,
        },
        {
            "certification": "sec",
            "title": SEC,
            "learners": 6,
            "by_status": {**ALL_ZERO, "enrolled": 1, "started": 1, "completed": 2, "expired": 1, "revoked": 1},
            "completion_rate": 0.333,  # ann and ben of 6
            "overdue": 3,  # cy, dee, fay
            "expiring": 1,  # default 30 days: ben (30), not ann (37)
        },
    ]


def test_summary_expiring_uses_expiring_within(store: Store) -> None:
    summary = compliance.report_summary(ctx(store, "root"), cert_id="sec", expiring_within=37).data
    assert [(s["certification"], s["learners"], s["expiring"]) for s in summary] == [("sec", 6, 2)]


def test_summary_for_a_manager_counts_only_their_reports(store: Store) -> None:
    summary = compliance.report_summary(ctx(store, "mia")).data
    assert [
        (s["certification"], s["learners"], s["completion_rate"], s["overdue"], s["expiring"]) for s in summary
    ] == [
        ("aws", 2, 0.0, 0, 0),  # ann pending, ben rejected
        ("fire", 0, 0, 0, 0),
        ("sec", 3, 0.667, 0, 1),  # ann and ben completed, eve revoked: 2/3; ben expiring
    ]


# ---------------------------------------------------------------- who sees what


def test_manager_sees_only_direct_reports(store: Store) -> None:
    assert compliance.report(ctx(store, "mia")).data == [AWS_ANN, AWS_BEN, SEC_ANN, SEC_BEN, SEC_EVE]
    assert compliance.report(ctx(store, "omar")).data == [AWS_CY, SEC_CY, SEC_FAY]
    assert compliance.report(ctx(store, "omar"), user_id="fay").data == [SEC_FAY]


def test_manager_naming_someone_not_reporting_to_them_is_denied(store: Store) -> None:
    with pytest.raises(PermissionDenied):
        compliance.report(ctx(store, "mia"), user_id="cy")
    with pytest.raises(PermissionDenied):
        compliance.report(ctx(store, "mia"), user_id="dee")


def test_learner_is_denied_before_any_lookup(store: Store) -> None:
    with pytest.raises(PermissionDenied):
        compliance.report(ctx(store, "ann"))
    with pytest.raises(PermissionDenied):
        compliance.report(ctx(store, "ann"), cert_id="no-such-cert")
    with pytest.raises(PermissionDenied):
        compliance.report(ctx(store, "nobody"))


def test_unknown_certification_or_user_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        compliance.report(ctx(store, "root"), cert_id="nope")
    with pytest.raises(NotFound):
        compliance.report(ctx(store, "root"), user_id="nope")
    with pytest.raises(NotFound):  # lookups come before the manager-of check
        compliance.report(ctx(store, "mia"), user_id="nope")


# ---------------------------------------------------------------- CSV


def test_rows_to_csv(store: Store) -> None:
    text = csv_rows.rows_to_csv(compliance.report(ctx(store, "root"), cert_id="sec").data)
    lines = text.splitlines()
    assert lines[0] == (
        "user,name,certification,title,status,overdue,due,completed_on,valid_until,days_left,renewal_open,cycle,active"
    )
    assert lines[1] == "ann,Ann Lee,sec,Security,completed,false,,2026-02-01,2027-02-01,37,false,1,true"
    assert lines[3] == "cy,Cy Roe,sec,Security,started,true,2026-02-04,,,-325,false,1,true"
    assert len(lines) == 1 + 6


def test_rows_to_csv_quotes_and_summaries() -> None:
    rows = [row("x", 'Doe, "Jo"', "c", "T", "enrolled")]
    parsed = list(csv.reader(io.StringIO(csv_rows.rows_to_csv(rows))))
    assert parsed[1][:2] == ["x", 'Doe, "Jo"']
    assert csv_rows.rows_to_csv([]) == ",".join(csv_rows.ROW_FIELDS) + "\n"

    summary = {
        "certification": "c",
        "title": "T",
        "learners": 2,
        "by_status": {**ALL_ZERO, "completed": 1, "expired": 1},
        "completion_rate": 0.5,
        "overdue": 1,
        "expiring": 0,
    }
    table = list(csv.DictReader(io.StringIO(csv_rows.rows_to_csv([summary], csv_rows.SUMMARY_CSV_FIELDS))))
    assert table == [
        {
            "certification": "c",
            "title": "T",
            "learners": "2",
            **{f"by_status.{status}": "0" for status in ALL_ZERO},
            "by_status.completed": "1",
            "by_status.expired": "1",
            "completion_rate": "0.5",
            "overdue": "1",
            "expiring": "0",
        }
    ]


# ---------------------------------------------------------------- check


def findings(outcome: usecases.Outcome) -> list[tuple[str, str, str]]:
    return [(f["certification"], f["user"], f["kind"]) for f in outcome.data["findings"]]


def test_check_default_fails_on_overdue_expired_and_revoked(store: Store) -> None:
    outcome = compliance.check(ctx(store, "root"), [])
    assert findings(outcome) == [
        ("sec", "cy", "overdue"),
        ("sec", "dee", "overdue"),
        ("sec", "eve", "revoked"),
        ("sec", "fay", "overdue"),  # an expired row is overdue too: one finding per kind matched
        ("sec", "fay", "expired"),
    ]
    assert outcome.data["compliant"] is False
    assert outcome.data["checked"] == 9
    assert outcome.data["fail_on"] == ["overdue", "expired", "revoked"]
    assert outcome.data["findings"][4] == {
        "user": "fay",
        "certification": "sec",
        "kind": "expired",
        "status": "expired",
        "due": "2026-01-10",
        "valid_until": "2026-01-10",
        "days_left": -350,
    }


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        (["overdue"], [("sec", "cy", "overdue"), ("sec", "dee", "overdue"), ("sec", "fay", "overdue")]),
        (["expired"], [("sec", "fay", "expired")]),
        (["revoked"], [("sec", "eve", "revoked")]),
        (["pending_approval"], [("aws", "ann", "pending_approval")]),
        (["expiring:29"], []),
        (["expiring:30"], [("sec", "ben", "expiring")]),
        (["expiring:37"], [("sec", "ann", "expiring"), ("sec", "ben", "expiring")]),
        (
            ["revoked,pending_approval", "expired"],
            [("aws", "ann", "pending_approval"), ("sec", "eve", "revoked"), ("sec", "fay", "expired")],
        ),
    ],
)
def test_check_each_fail_on_kind(store: Store, fail_on: list[str], expected: list[tuple[str, str, str]]) -> None:
    outcome = compliance.check(ctx(store, "root"), fail_on)
    assert findings(outcome) == expected
    assert outcome.data["compliant"] is (expected == [])
    assert outcome.data["checked"] == 9


def test_check_expiring_finding_carries_days_left(store: Store) -> None:
    outcome = compliance.check(ctx(store, "root"), ["expiring:30"])
    assert outcome.data["fail_on"] == ["expiring:30"]
    assert outcome.data["findings"] == [
        {
            "user": "ben",
            "certification": "sec",
            "kind": "expiring",
            "status": "completed",
            "due": None,
            "valid_until": "2027-01-25",
            "days_left": 30,
        }
    ]


def test_check_scoped_to_a_certification_can_be_compliant(store: Store) -> None:
    outcome = compliance.check(ctx(store, "root"), ["overdue", "expired", "revoked"], cert_id="aws")
    assert outcome.data == {
        "compliant": True,
        "findings": [],
        "checked": 3,
        "fail_on": ["overdue", "expired", "revoked"],
    }
    assert outcome.messages == ["Compliant: 3 row(s) checked against overdue, expired, revoked."]


def test_learner_checks_themselves(store: Store) -> None:
    # ann: aws pending (due in 5 days), sec completed.
    ann = compliance.check(ctx(store, "ann"), [])
    assert (ann.data["compliant"], ann.data["checked"]) == (True, 2)
    assert findings(compliance.check(ctx(store, "ann"), ["pending_approval"])) == [("aws", "ann", "pending_approval")]
    assert findings(compliance.check(ctx(store, "cy"), [], user_id="cy")) == [("sec", "cy", "overdue")]


def test_learner_may_not_check_someone_else_even_unknown(store: Store) -> None:
    with pytest.raises(PermissionDenied):
        compliance.check(ctx(store, "ann"), [], user_id="ben")
    with pytest.raises(PermissionDenied):
        compliance.check(ctx(store, "ann"), [], user_id="nobody")


def test_manager_checks_their_reports(store: Store) -> None:
    assert findings(compliance.check(ctx(store, "omar"), [])) == [
        ("sec", "cy", "overdue"),
        ("sec", "fay", "overdue"),
        ("sec", "fay", "expired"),
    ]
    with pytest.raises(PermissionDenied):
        compliance.check(ctx(store, "omar"), [], user_id="ann")
    with pytest.raises(NotFound):
        compliance.check(ctx(store, "omar"), [], cert_id="nope")


@pytest.mark.parametrize(
    "fail_on",
    [
        ["late"],
        ["overdue,late"],
        ["expiring"],
        ["expiring:"],
        ["expiring:x"],
        ["expiring:-1"],
        ["expiring:30", "expiring:7"],
        ["overdue:3"],
        ["overdue:"],
        [""],
        [" , "],
    ],
)
def test_bad_fail_on_is_a_usage_error_before_anything_else(store: Store, fail_on: list[str]) -> None:
    # Even for a learner asking about someone else: arguments are checked first.
    with pytest.raises(UsageError):
        compliance.check(ctx(store, "ann"), fail_on, user_id="ben")


def test_parse_fail_on_keeps_order_and_drops_repeats() -> None:
    parsed = compliance.parse_fail_on(["expired, overdue", "expired", "expiring:0"])
    assert parsed == compliance.FailOn(("expired", "overdue", "expiring"), 0)
    assert parsed.names() == ["expired", "overdue", "expiring:0"]


# ---------------------------------------------------------------- the benchmark


def test_benchmark_runs_on_a_small_store(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "report_summary.py"), "--learners", "4", "--runs", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "20 enrollments" in done.stdout


def test_store_fixture_is_left_unchanged(store: Store) -> None:
    # Reading never writes: the report and check leave the store's bytes alone.
    before = store_state(store.location)
    compliance.report_summary(ctx(store, "root"))
    compliance.check(ctx(store, "root"), [])
    assert store_state(store.location) == before
