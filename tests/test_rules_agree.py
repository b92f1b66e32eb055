"""The rules agree with themselves (docs/rules.md, docs/commands.md): what `list` says to do next
succeeds, a completion on the day of enrolment counts, and one rule decides who may be enrolled and
who may hold a login name, whichever way in (a command, an import, `apply`), on every backend."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from certcli.cli import app

NOW = "2026-11-28"
PDF = b"%PDF-1.4\n%" + b"p" * 64 + b"\n%%EOF\n"
runner = CliRunner()


def cli(store: str | Path, *args: str, actor: str = "root", now: str = NOW) -> Result:
    result = runner.invoke(app, ["--store", str(store), "--as", actor, "--now", now, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def ok(store: str | Path, *args: str, actor: str = "root", now: str = NOW) -> Result:
    result = cli(store, *args, actor=actor, now=now)
    assert result.exit_code == 0, (args, result.stderr)
    return result


def listed(store: str | Path, learner: str, cert_id: str, now: str = NOW) -> dict[str, object]:
    items = json.loads(ok(store, "list", "--json", actor=learner, now=now).stdout)
    return next(item for item in items if item["id"] == cert_id)


# ---------------------------------------------------------------- NEXT never names a refused step


def test_next_on_an_external_certification_is_its_mandatory_course_before_the_proof(demo: str) -> None:
    ok(demo, "assign", "aws-cloud-practitioner", "ben")

    item = listed(demo, "ben", "aws-cloud-practitioner")

    assert (item["next_step"], item["next_course"]) == ("course", "cloud-intro")
    assert cli(demo, "upload-proof", "aws-cloud-practitioner", "x.pdf", actor="ben").exit_code != 0


def _next_command(item: dict[str, object], cert_id: str, proof: Path) -> tuple[list[str], str] | None:
    """The command `list`'s NEXT names, and who runs it (a proof waiting is the reviewer's to decide)."""
    step = item["next_step"]
    if step == "course":
        return ["complete", cert_id, str(item["next_course"])], "ann"
    if step == "upload-proof":
        return ["upload-proof", cert_id, str(proof)], "ann"
    if step == "start":
        return ["start", cert_id], "ann"
    if step == "review":
        return ["approve", cert_id, "ann"], "root"
    assert step is None, step
    return None


STEPS = st.lists(
    st.tuples(st.sampled_from(["start", "complete", "upload", "approve", "reject", "revoke"]), st.integers(0, 3),
              st.integers(0, 500)),  # fmt: skip
    max_size=8,
)
SHAPES = st.tuples(
    st.sampled_from(["internal", "external"]),
    st.lists(st.booleans(), min_size=1, max_size=3),  # the courses, mandatory or not
    st.none() | st.integers(1, 24),  # recurring: months
)
STORES = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=SHAPES, steps=STEPS, later=st.integers(0, 900))
def test_whatever_list_says_next_succeeds(
    tmp_path: Path, shape: tuple[str, list[bool], int | None], steps: list[tuple[str, int, int]], later: int
) -> None:
    from datetime import date, timedelta

    kind, mandatory, months = shape
    store, proof = tmp_path / f"s{next(STORES)}.toml", tmp_path / "proof.pdf"
    proof.write_bytes(PDF)
    day = date(2026, 1, 5)
    ok(store, "init", "--admin", "root", now=str(day))
    courses = [f"c{index}" for index in range(len(mandatory))]
    for course in courses:
        ok(store, "course", "add", course, "--title", course.upper(), now=str(day))
    define = ["define", "cert", "--title", "Cert", "--kind", kind, *(["--recurring", str(months)] if months else [])]
    define += [arg for course in courses for arg in ("--course", course)]
    define += [arg for course, flag in zip(courses, mandatory, strict=True) if flag for arg in ("--mandatory", course)]
    ok(store, *define, now=str(day))
    ok(store, "user", "add", "ann", "--name", "Ann", now=str(day))
    ok(store, "assign", "cert", "ann", now=str(day))
    for action, course, days in steps:  # whatever happened before: each step may be refused
        day += timedelta(days=days)
        args, actor = {
            "start": (["start", "cert"], "ann"),
            "complete": (["complete", "cert", courses[course % len(courses)]], "ann"),
            "upload": (["upload-proof", "cert", str(proof)], "ann"),
            "approve": (["approve", "cert", "ann"], "root"),
            "reject": (["reject", "cert", "ann", "--reason", "unreadable"], "root"),
            "revoke": (["revoke", "cert", "ann", "--reason", "audit"], "root"),
        }[action]
        assert cli(store, *args, actor=actor, now=str(day)).exit_code in (0, 5)
    day += timedelta(days=later)

    item = listed(store, "ann", "cert", now=str(day))
    command = _next_command(item, "cert", proof)

    if command is not None:
        args, actor = command
        result = cli(store, *args, actor=actor, now=str(day))
        assert result.exit_code == 0, (item, args, result.stderr)


# ---------------------------------------------------------------- a completion on the day of enrolment


def test_a_completion_dated_the_day_of_enrolment_is_imported(demo: str, tmp_path: Path) -> None:
    ok(demo, "user", "add", "l21", "--name", "Learner 21", now="2026-12-07T09:30:00Z")
    ok(demo, "assign", "cloud-foundations", "l21", now="2026-12-07T09:30:00Z")
    rows = tmp_path / "completions.csv"
    rows.write_text("user,certification,course,completed_on\nl21,cloud-foundations,cloud-intro,2026-12-07\n")

    result = ok(demo, "import", "completions", str(rows), "--json", now="2026-12-07T12:00:00Z")

    assert json.loads(result.stdout)["imported"] == 1, result.stdout
    shown = json.loads(ok(demo, "show", "cloud-foundations", "--user", "l21", "--json", now="2026-12-07T12:00:00Z")
                       .stdout)  # fmt: skip
    assert {course["id"]: course["completed_on"] for course in shown["courses"]}["cloud-intro"] == "2026-12-07"


# ---------------------------------------------------------------- who may be enrolled


def _deactivated(demo: str, learner: str = "dev") -> str:
    ok(demo, "user", "deactivate", learner, "--reason", "left")
    return learner


def _enrolled(demo: str, learner: str, cert_id: str) -> bool:
    items = json.loads(ok(demo, "list", "--user", learner, "--json").stdout)
    return any(item["id"] == cert_id for item in items)


def test_an_import_of_assignments_enrols_no_deactivated_user(demo: str, tmp_path: Path) -> None:
    learner = _deactivated(demo)
    rows = tmp_path / "assignments.csv"
    rows.write_text(f"certification,user\ncloud-foundations,{learner}\ncloud-foundations,eli\n")

    result = cli(demo, "import", "assignments", str(rows), "--skip-invalid", "--json")

    assert result.exit_code == 0, result.stderr
    assert f"{learner} is deactivated" in result.stdout
    assert not _enrolled(demo, learner, "cloud-foundations")
    assert _enrolled(demo, "eli", "cloud-foundations")


def test_an_import_of_completions_enrols_no_deactivated_user(demo: str, tmp_path: Path) -> None:
    learner = _deactivated(demo)
    rows = tmp_path / "completions.csv"
    rows.write_text(f"user,certification,course,completed_on\n{learner},cloud-foundations,cloud-intro,2026-11-20\n")

    result = cli(demo, "import", "completions", str(rows), "--skip-invalid", "--json")

    assert result.exit_code == 0, result.stderr
    assert f"{learner} is deactivated" in result.stdout
    assert not _enrolled(demo, learner, "cloud-foundations")


def test_apply_enrols_no_deactivated_user(demo: str, tmp_path: Path) -> None:
    learner = _deactivated(demo)
    definitions = tmp_path / "defs.toml"
    definitions.write_text(f'[[assignments]]\ncertification = "cloud-foundations"\nusers = ["{learner}"]\n')

    result = cli(demo, "apply", "-f", str(definitions))

    assert result.exit_code == 6, result.stderr
    assert f"{learner} is deactivated" in result.stderr
    assert not _enrolled(demo, learner, "cloud-foundations")


# ---------------------------------------------------------------- who may hold a login name


def test_a_new_user_whose_id_is_someone_elses_login_is_refused_every_way_in(demo: str, tmp_path: Path) -> None:
    ok(demo, "user", "set", "ana", "--login", "asmith")
    users = tmp_path / "users.csv"
    users.write_text("id,name\nasmith,Al Smith\nbo,Bo\n")
    definitions = tmp_path / "defs.toml"
    definitions.write_text('[[users]]\nid = "asmith"\nname = "Al Smith"\n')

    added = cli(demo, "user", "add", "asmith", "--name", "Al Smith")
    imported = cli(demo, "import", "users", str(users), "--skip-invalid", "--json")
    applied = cli(demo, "apply", "-f", str(definitions))

    assert added.exit_code == 5 and "login name of user ana" in added.stderr, added.stderr
    assert imported.exit_code == 0 and "login name of user ana" in imported.stdout, imported.stdout
    assert applied.exit_code == 6 and "login name of user ana" in applied.stderr, applied.stderr
    ids = {user["id"] for user in json.loads(ok(demo, "user", "list", "--json").stdout)}
    assert "asmith" not in ids and "bo" in ids


def test_a_login_name_that_is_another_users_id_is_refused(demo: str) -> None:
    result = cli(demo, "user", "add", "zed", "--name", "Zed", "--login", "ana")

    assert result.exit_code == 5 and "already names user ana" in result.stderr
