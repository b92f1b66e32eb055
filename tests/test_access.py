"""The access policy as a table: role × relationship × action → allowed, or refused (exit 4) with the
message users see. No store and no command line: `certcli.access` is a pure function of users."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from certcli import access
from certcli.errors import PermissionDenied
from certcli.model import User

ROOT = User("root", "Rosa", "admin")
MIA = User("mia", "Mia", "manager")
OMAR = User("omar", "Omar", "manager")
ANA = User("ana", "Ana", "learner", manager="mia")
BEN = User("ben", "Ben", "learner", manager="omar")
ACTORS = {"admin": ROOT, "manager": MIA, "learner": ANA}

# The subject of each relationship, seen from each actor.
RELATIONSHIPS: dict[str, dict[str, User]] = {
    "self": {"admin": ROOT, "manager": MIA, "learner": ANA},
    "direct report": {
        "admin": User("x", "X", manager="root"),
        "manager": ANA,
        "learner": User("y", "Y", manager="ana"),
    },
    "someone else's report": {"admin": BEN, "manager": BEN, "learner": BEN},
    "nobody's report": {"admin": User("z", "Z"), "manager": User("z", "Z"), "learner": User("z", "Z")},
}

ALLOWED = None
NOT_REPORT = "{subject} is not a direct report of {actor}"
ONLY_OWN = "{actor} may see only their own certifications"
ONLY_ADMIN_RECORDS = "only an admin records completions for someone else"
OWN_PROOF = "nobody reviews their own proof"

Action = Callable[[User, User], None]
ACTIONS: dict[str, Action] = {
    "see": access.may_see,
    "record for": lambda actor, learner: access.may_record_for(actor, learner.id),
    "review": access.may_review,
    "name in a report": access.may_name_in_report,
}

# (action, role, relationship) → None (allowed) or the message, with {actor} and {subject} filled in.
TABLE: dict[tuple[str, str, str], str | None] = {
    ("see", "admin", "self"): ALLOWED,
    ("see", "admin", "direct report"): ALLOWED,
    ("see", "admin", "someone else's report"): ALLOWED,
    ("see", "admin", "nobody's report"): ALLOWED,
    ("see", "manager", "self"): ALLOWED,
    ("see", "manager", "direct report"): ALLOWED,
    ("see", "manager", "someone else's report"): NOT_REPORT,
    ("see", "manager", "nobody's report"): NOT_REPORT,
    ("see", "learner", "self"): ALLOWED,
    ("see", "learner", "direct report"): ONLY_OWN,
    ("see", "learner", "someone else's report"): ONLY_OWN,
    ("see", "learner", "nobody's report"): ONLY_OWN,
    ("record for", "admin", "self"): ALLOWED,
    ("record for", "admin", "direct report"): ALLOWED,
    ("record for", "admin", "someone else's report"): ALLOWED,
    ("record for", "admin", "nobody's report"): ALLOWED,
    ("record for", "manager", "self"): ALLOWED,
    ("record for", "manager", "direct report"): ONLY_ADMIN_RECORDS,
    ("record for", "manager", "someone else's report"): ONLY_ADMIN_RECORDS,
    ("record for", "manager", "nobody's report"): ONLY_ADMIN_RECORDS,
    ("record for", "learner", "self"): ALLOWED,
    ("record for", "learner", "direct report"): ONLY_ADMIN_RECORDS,
    ("record for", "learner", "someone else's report"): ONLY_ADMIN_RECORDS,
    ("record for", "learner", "nobody's report"): ONLY_ADMIN_RECORDS,
    ("review", "admin", "self"): OWN_PROOF,
    ("review", "admin", "direct report"): ALLOWED,
    ("review", "admin", "someone else's report"): ALLOWED,
    ("review", "admin", "nobody's report"): ALLOWED,
    ("review", "manager", "self"): OWN_PROOF,
    ("review", "manager", "direct report"): ALLOWED,
    ("review", "manager", "someone else's report"): NOT_REPORT,
    ("review", "manager", "nobody's report"): NOT_REPORT,
    ("name in a report", "admin", "self"): ALLOWED,
    ("name in a report", "admin", "direct report"): ALLOWED,
    ("name in a report", "admin", "someone else's report"): ALLOWED,
    ("name in a report", "admin", "nobody's report"): ALLOWED,
    ("name in a report", "manager", "self"): ALLOWED,
    ("name in a report", "manager", "direct report"): ALLOWED,
    ("name in a report", "manager", "someone else's report"): NOT_REPORT,
    ("name in a report", "manager", "nobody's report"): NOT_REPORT,
}


@pytest.mark.parametrize(("action", "role", "relationship"), TABLE)
def test_the_policy_answers_each_role_relationship_and_action(action: str, role: str, relationship: str) -> None:
    actor, subject = ACTORS[role], RELATIONSHIPS[relationship][role]
    expected = TABLE[action, role, relationship]
    if expected is None:
        ACTIONS[action](actor, subject)
        return
    with pytest.raises(PermissionDenied) as refusal:
        ACTIONS[action](actor, subject)
    assert refusal.value.exit_code == 4
    assert refusal.value.message == expected.format(actor=actor.id, subject=subject.id)


@pytest.mark.parametrize(("role", "relationship"), [(r, rel) for r in ACTORS for rel in RELATIONSHIPS])
def test_a_list_keeps_exactly_whom_the_policy_lets_the_actor_see(role: str, relationship: str) -> None:
    actor, subject = ACTORS[role], RELATIONSHIPS[relationship][role]
    allowed = TABLE["see", role, relationship] is None
    assert access.oversees(actor, subject) is allowed
    assert access.reviews(actor, subject) is (allowed and relationship != "self")


@pytest.mark.parametrize(
    ("role", "roles", "expected"),
    [
        ("admin", ("admin",), None),
        ("manager", ("admin",), "mia is a manager; this needs the admin role"),
        ("learner", ("admin", "manager"), "ana is a learner; this needs the admin or manager role"),
        ("manager", ("admin", "manager"), None),
        ("learner", (), None),
    ],
)
def test_a_role_requirement_names_the_roles_it_needs(role: str, roles: tuple[str, ...], expected: str | None) -> None:
    if expected is None:
        access.require_role(ACTORS[role], *roles)
        return
    with pytest.raises(PermissionDenied, match=expected):
        access.require_role(ACTORS[role], *roles)


@pytest.mark.parametrize("role", ACTORS)
def test_naming_others_and_seeing_everyone_need_a_staff_role(role: str) -> None:
    actor = ACTORS[role]
    checks: list[tuple[Callable[[], None], str]] = [
        (lambda: access.may_see_others(actor), f"{actor.id} may see only their own certifications"),
        (lambda: access.may_report_on_others(actor, "check"), f"{actor.id} may check only their own certifications"),
        (lambda: access.may_report_on_others(actor, "export-xapi"), f"{actor.id} may export only their own records"),
        (lambda: access.may_see_everyone(actor), f"{actor.id} is a learner; --all needs the admin or manager role"),
    ]
    for check, message in checks:
        if role == "learner":
            with pytest.raises(PermissionDenied) as refusal:
                check()
            assert refusal.value.message == message
        else:
            check()
