"""The command line's wiring (docs/commands.md): every command, its JSON shape, global options, usage errors.

Runs `certcli.cli.app` in-process with typer's CliRunner, which keeps stdout and stderr apart.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from backends import store_state
from typer.testing import CliRunner, Result

from certcli import __version__
from certcli.cli import app

NOW = "2026-02-01"

LIST_FIELDS = {
    "id", "title", "kind", "type", "status", "overdue", "published", "due",
    "completed_on", "valid_until", "courses_done", "courses_required", "next_course",
}
SHOW_FIELDS = LIST_FIELDS | {"overview", "issuer", "badge", "validity_months", "cycle", "courses", "queue", "proof"}
COURSE_FIELDS = {"id", "title", "mandatory", "status", "completed_on"}
PROOF_FIELDS = {"sha256", "size", "filename", "submitted_on", "review", "reason"}
PROGRESS_FIELDS = {"id", "status", "queue", "next_course"}
REVIEW_FIELDS = {"user", "certification", "filename", "size", "sha256", "submitted_on"}
USER_FIELDS = {"id", "name", "role", "email", "manager"}

runner = CliRunner()


def cli(
    store: Path | str | None,
    *args: str,
    actor: str | None = None,
    now: str | None = NOW,
    env: dict[str, str] | None = None,
) -> Result:
    """`certcli [--store S] [--as A] [--now N] ARGS`, checked never to end in an unexpected exception."""
    options: list[str] = []
    if store is not None:
        options += ["--store", str(store)]
    if actor is not None:
        options += ["--as", actor]
    if now is not None:
        options += ["--now", now]
    result = runner.invoke(app, [*options, *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def ok(store: str | str | None, *args: str, actor: str | None = None, now: str | None = NOW) -> Result:
    result = cli(store, *args, actor=actor, now=now)
    assert result.exit_code == 0, result.stderr
    return result


def as_json(store: str | str, *args: str, actor: str | None = None, now: str | None = NOW) -> Any:
    return json.loads(ok(store, *args, "--json", actor=actor, now=now).stdout)


def assert_one_error(result: Result) -> None:
    """One `error:` line and an optional `hint:` line on stderr, nothing on stdout."""
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert len(lines) <= 2, result.stderr
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), result.stderr


def pdf_file(folder: Path, name: str = "proof.pdf") -> Path:
    path = folder / name
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return path


@pytest.fixture
def store(new_store: str) -> str:
    """On each backend: root (admin), mia (manager of ben), ben and dan (learners); basics (internal,
    c1 and c2 mandatory of c1..c3, assigned to ben due 2026-03-01) and aws (external, every 24 months,
    assigned to ben)."""
    path = new_store
    ok(path, "init", "--admin", "root", "--admin-name", "Root Admin", "--org", "Acme", now="2026-01-01")

    def admin(*args: str) -> None:
        ok(path, *args, actor="root", now="2026-01-01")

    admin("user", "add", "mia", "--name", "Mia", "--role", "manager")
    admin("user", "add", "ben", "--name", "Ben", "--manager", "mia")
    admin("user", "add", "dan", "--name", "Dan")
    for course in ("c1", "c2", "c3"):
        admin("course", "add", course, "--title", f"Course {course}")
    admin("define", "basics", "--title", "Basics", "--kind", "internal", "--published", "2025-05-01",
          "--overview", "The basics", "--issuer", "Acme Academy", "--badge", "basics.png",
          "--course", "c1", "--course", "c2", "--course", "c3", "--mandatory", "c1", "--mandatory", "c2")
    admin("define", "aws", "--title", "AWS Architect", "--kind", "external", "--published", "2025-07-01",
          "--recurring", "24", "--issuer", "Amazon", "--badge", "aws.png")
    admin("assign", "basics", "ben", "--due", "2026-03-01")
    admin("assign", "aws", "ben")
    return path


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# ---------------------------------------------------------------- version and help


def test_version_prints_the_version() -> None:
    result = cli(None, "--version", now=None)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"certcli {__version__}"


COMMANDS = [
    (), ("init",), ("user", "add"), ("user", "list"), ("course", "add"), ("define",), ("assign",), ("list",),
    ("sort",), ("show",), ("start",), ("complete",), ("upload-proof",), ("review",), ("approve",), ("reject",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "certcli")
def test_help_of_every_command_shows_an_example(command: tuple[str, ...]) -> None:
    result = cli(None, *command, "--help", now=None)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    match = re.search(r"Example: (certcli .*?)(?: Arguments:| Options:| Commands:|$)", text)
    assert match, result.stdout
    example = match.group(1).split()
    assert all(word in example for word in command), match.group(1)


# ---------------------------------------------------------------- setup commands


def test_init_creates_a_store_holding_one_admin(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    result = cli(path, "init", "--admin", "boss", "--admin-name", "The Boss", "--org", "Acme", now=None)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "boss" in result.stderr
    assert as_json(path, "user", "list", actor="boss") == [
        {"id": "boss", "name": "The Boss", "role": "admin", "email": None, "manager": None, "active": True}
        | {"login": None}
    ]
    assert tomllib.loads(path.read_text())["org"]["name"] == "Acme"


def test_init_without_store_uses_the_user_data_directory(tmp_path: Path) -> None:
    ok(None, "init", "--admin", "boss", now=None)
    assert (tmp_path / "xdg-data" / "certcli" / "store.toml").is_file()


def test_init_refuses_an_existing_file(store: str) -> None:
    before = store_state(store)
    result = cli(store, "init", "--admin", "other")
    assert result.exit_code == 5
    assert_one_error(result)
    assert store_state(store) == before


def test_user_add_prints_the_user_and_defaults_to_learner(store: str) -> None:
    added = as_json(store, "user", "add", "zoe", "--name", "Zoe Z", "--email", "zoe@acme.test", "--manager", "mia",
                    actor="root")
    assert added == {
        "id": "zoe", "name": "Zoe Z", "role": "learner", "email": "zoe@acme.test", "manager": "mia", "active": True,
        "login": None,
    }  # fmt: skip
    manager = as_json(store, "user", "add", "max", "--name", "Max", "--role", "manager", actor="root")
    assert manager["role"] == "manager"


def test_user_add_sets_the_login_name_the_list_shows_and_refuses_one_taken(store: str) -> None:
    added = as_json(store, "user", "add", "zoe", "--name", "Zoe Z", "--login", "zzed", actor="root")
    assert added["login"] == "zzed"
    listed = ok(store, "user", "list", actor="root").stdout.splitlines()
    assert listed[0].split()[-1] == "LOGIN"
    assert [line.split()[-1] for line in listed if line.startswith("zoe ")] == ["zzed"]
    before = store_state(store)
    for taken in ("zzed", "mia"):  # another's login name, another's id
        result = cli(store, "user", "add", "yan", "--name", "Yan", "--login", taken, actor="root")
        assert result.exit_code == 5
        assert_one_error(result)
        assert f"login name {taken!r} already names user" in result.stderr
    assert store_state(store) == before


@pytest.mark.parametrize("actor", ["root", "mia"])
def test_user_list_for_admin_and_manager(store: str, actor: str) -> None:
    users = as_json(store, "user", "list", actor=actor)
    assert sorted(ids(users)) == ["ben", "dan", "mia", "root"]
    assert all(set(user) >= USER_FIELDS for user in users)
    assert next(user for user in users if user["id"] == "ben")["manager"] == "mia"


def test_course_add_prints_the_course(store: str) -> None:
    course = as_json(store, "course", "add", "c9", "--title", "Nine", "--minutes", "15", actor="root")
    assert course == {"id": "c9", "title": "Nine", "minutes": 15}


def test_define_records_every_option(store: str) -> None:
    ok(store, "define", "sec", "--title", "Security", "--kind", "internal", "--overview", "Stay safe",
       "--issuer", "Acme", "--badge", "shield.png", "--published", "2025-12-24", "--recurring", "12",
       "--renew-from", "enrollment", "--deadline-days", "30", "--course", "c2", "--course", "c1", "--ordered",
       "--self-enroll", actor="root")
    page = as_json(store, "show", "sec", actor="dan")
    assert (page["title"], page["kind"], page["overview"]) == ("Security", "internal", "Stay safe")
    assert (page["issuer"], page["badge"], page["published"]) == ("Acme", "shield.png", "2025-12-24")
    assert (page["type"], page["validity_months"]) == ("recurring", 12)
    assert [(c["id"], c["mandatory"]) for c in page["courses"]] == [("c2", True), ("c1", True)]  # none marked: all
    assert page["status"] is None  # dan is not enrolled

    started = as_json(store, "start", "sec", actor="dan")  # --self-enroll lets dan take it up
    assert started["due"] == "2026-03-03"  # 2026-02-01 + 30 days
    assert started["next_course"] == "c2"


def test_define_refuses_an_existing_id_unless_replace(store: str) -> None:
    redefine = ("define", "aws", "--title", "AWS Pro", "--kind", "external")
    before = store_state(store)
    refused = cli(store, *redefine, actor="root")
    assert refused.exit_code == 5
    assert_one_error(refused)
    assert store_state(store) == before
    ok(store, *redefine, "--replace", actor="root")
    assert as_json(store, "show", "aws", actor="root")["title"] == "AWS Pro"


def test_assign_enrols_and_assigning_again_is_a_no_op(store: str) -> None:
    result = as_json(store, "assign", "basics", "dan", "--due", "2026-04-01", actor="root")
    assert isinstance(result, dict)
    listed = as_json(store, "list", "--user", "dan", actor="root")
    assert [(item["id"], item["status"], item["due"]) for item in listed] == [("basics", "enrolled", "2026-04-01")]

    before = store_state(store)
    again = cli(store, "assign", "basics", "dan", actor="root")
    assert again.exit_code == 0
    assert "already" in again.stderr
    assert store_state(store) == before


# ---------------------------------------------------------------- reading commands


def test_list_items_have_the_documented_fields(store: str) -> None:
    items = {item["id"]: item for item in as_json(store, "list", actor="ben")}
    assert set(items) == {"basics", "aws"}
    assert all(set(item) >= LIST_FIELDS for item in items.values())
    basics = {key: items["basics"][key] for key in LIST_FIELDS}
    assert basics == {
        "id": "basics", "title": "Basics", "kind": "internal", "type": "perpetual", "status": "enrolled",
        "overdue": False, "published": "2025-05-01", "due": "2026-03-01", "completed_on": None,
        "valid_until": None, "courses_done": 0, "courses_required": 2, "next_course": "c1",
    }
    aws = items["aws"]
    assert (aws["kind"], aws["type"], aws["courses_required"], aws["next_course"]) == ("external", "recurring", 0, None)


@pytest.mark.parametrize(("key", "order"), [("published", ["aws", "basics"]), ("due", ["basics", "aws"])])
def test_sort_command_orders_like_list_sort(store: str, key: str, order: list[str]) -> None:
    assert ids(as_json(store, "sort", key, actor="ben")) == order
    assert ids(as_json(store, "list", "--sort", key, actor="ben")) == order


def test_show_page_has_the_documented_fields(store: str) -> None:
    page = as_json(store, "show", "basics", actor="ben")
    assert set(page) >= SHOW_FIELDS
    assert (page["overview"], page["issuer"], page["badge"]) == ("The basics", "Acme Academy", "basics.png")
    assert (page["validity_months"], page["cycle"], page["proof"]) == (None, 1, None)
    assert all(set(course) == COURSE_FIELDS for course in page["courses"])
    assert [(c["id"], c["title"], c["mandatory"], c["status"]) for c in page["courses"]] == [
        ("c1", "Course c1", True, "not_started"),
        ("c2", "Course c2", True, "not_started"),
        ("c3", "Course c3", False, "not_started"),
    ]
    assert page["queue"] == ["c1", "c2", "c3"]


def test_show_for_a_user_not_enrolled_has_null_status(store: str) -> None:
    page = as_json(store, "show", "basics", actor="root")
    assert page["status"] is None
    assert page["queue"] == [] and page["proof"] is None


def test_manager_may_look_at_a_report(store: str) -> None:
    assert sorted(ids(as_json(store, "list", "--user", "ben", actor="mia"))) == ["aws", "basics"]
    assert as_json(store, "show", "basics", "--user", "ben", actor="mia")["status"] == "enrolled"


# ---------------------------------------------------------------- learning commands


def test_start_prints_progress_and_says_what_it_did_on_stderr(store: str) -> None:
    result = ok(store, "start", "basics", "--json", actor="ben")
    data = json.loads(result.stdout)
    assert set(data) >= PROGRESS_FIELDS
    assert (data["id"], data["status"], data["next_course"]) == ("basics", "started", "c1")
    assert data["queue"] == ["c1", "c2", "c3"]
    assert "c1" in result.stderr


def test_start_on_an_external_certification_says_to_upload_proof(store: str) -> None:
    result = ok(store, "start", "aws", "--json", actor="ben")
    assert json.loads(result.stdout)["status"] == "started"
    assert "upload-proof" in result.stderr


def test_complete_prints_the_new_status_and_next_course(store: str) -> None:
    data = as_json(store, "complete", "basics", "c1", actor="ben")
    assert set(data) >= PROGRESS_FIELDS
    assert (data["status"], data["courses_done"], data["next_course"]) == ("started", 1, "c2")
    assert data["queue"] == ["c2", "c3"]


def test_complete_twice_is_a_no_op(store: str) -> None:
    ok(store, "complete", "basics", "c1", actor="ben")
    before = store_state(store)
    again = cli(store, "complete", "basics", "c1", actor="ben")
    assert again.exit_code == 0
    assert store_state(store) == before


def test_admin_records_a_completion_for_a_learner(store: str) -> None:
    ok(store, "complete", "basics", "c1", "--user", "ben", actor="root")
    page = as_json(store, "show", "basics", "--user", "ben", actor="root")
    assert page["courses_done"] == 1
    assert page["courses"][0]["completed_on"] == NOW


# ---------------------------------------------------------------- proofs and reviews


def test_upload_review_and_approve(store: str, tmp_path: Path) -> None:
    uploaded = as_json(store, "upload-proof", "aws", str(pdf_file(tmp_path)), actor="ben")
    assert uploaded["status"] == "pending_approval"
    assert set(uploaded["proof"]) >= PROOF_FIELDS
    assert (uploaded["proof"]["review"], uploaded["proof"]["reason"]) == ("pending", None)

    waiting = as_json(store, "review", actor="mia")
    assert len(waiting) == 1
    assert set(waiting[0]) == REVIEW_FIELDS
    assert (waiting[0]["user"], waiting[0]["certification"], waiting[0]["filename"]) == ("ben", "aws", "proof.pdf")
    assert waiting[0]["submitted_on"] == NOW

    approved = as_json(store, "approve", "aws", "ben", actor="mia")
    assert set(approved) >= PROGRESS_FIELDS
    assert approved["status"] == "completed"
    assert as_json(store, "review", actor="root") == []


def test_reject_needs_a_reason_and_shows_it(store: str, tmp_path: Path) -> None:
    ok(store, "upload-proof", "aws", str(pdf_file(tmp_path)), actor="ben")
    assert cli(store, "reject", "aws", "ben", actor="root").exit_code == 2
    rejected = as_json(store, "reject", "aws", "ben", "--reason", "wrong name", actor="root")
    assert rejected["status"] == "rejected"
    proof = as_json(store, "show", "aws", actor="ben")["proof"]
    assert (proof["review"], proof["reason"]) == ("rejected", "wrong name")


# ---------------------------------------------------------------- global options and their variables


def test_store_from_variable_and_option_wins(store: str, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    ok(other, "init", "--admin", "root", now=None)
    from_env = cli(None, "--as", "root", "user", "list", "--json", env={"CERTCLI_STORE": str(store)})
    assert "ben" in ids(json.loads(from_env.stdout))
    overridden = cli(other, "user", "list", "--json", actor="root", env={"CERTCLI_STORE": str(store)})
    assert ids(json.loads(overridden.stdout)) == ["root"]


def test_acting_user_from_variable_and_option_wins(store: str) -> None:
    from_env = cli(store, "list", "--json", env={"CERTCLI_USER": "ben"})
    assert sorted(ids(json.loads(from_env.stdout))) == ["aws", "basics"]
    overridden = cli(store, "list", "--json", actor="dan", env={"CERTCLI_USER": "ben"})
    assert json.loads(overridden.stdout) == []


def test_now_from_variable_and_option_wins(store: str) -> None:
    def basics_overdue(result: Result) -> bool:
        return next(item for item in json.loads(result.stdout) if item["id"] == "basics")["overdue"]

    day_after_due = {"CERTCLI_NOW": "2026-03-02"}
    assert basics_overdue(cli(store, "list", "--json", actor="ben", now=None, env=day_after_due)) is True
    on_due_date = cli(store, "list", "--json", actor="ben", now="2026-03-01", env=day_after_due)
    assert basics_overdue(on_due_date) is False


@pytest.mark.parametrize(("when", "overdue"), [("2026-03-01T23:59:59", False), ("2026-03-02T00:00:01Z", True)])
def test_now_accepts_an_iso_datetime(store: str, when: str, overdue: bool) -> None:
    items = as_json(store, "list", actor="ben", now=when)
    assert next(item for item in items if item["id"] == "basics")["overdue"] is overdue


def test_now_before_the_enrolment_ignores_later_facts(store: str) -> None:
    assert as_json(store, "list", actor="ben", now="2025-12-31") == []


# ---------------------------------------------------------------- usage errors and error format


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--now", "2026-13-01", "list"], {}),
        (["--now", "yesterday", "list"], {}),
        (["list"], {"CERTCLI_NOW": "next week"}),
    ],
    ids=["month-13", "word", "variable"],
)
def test_bad_now_is_a_usage_error(store: str, args: list[str], env: dict[str, str]) -> None:
    result = cli(store, *args, actor="ben", now=None, env=env)
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.mark.parametrize("due", ["2026-02-30", "tomorrow", "01/03/2026"])
def test_bad_due_is_a_usage_error_and_changes_nothing(store: str, due: str) -> None:
    before = store_state(store)
    result = cli(store, "assign", "basics", "dan", "--due", due, actor="root")
    assert result.exit_code == 2
    assert store_state(store) == before


@pytest.mark.parametrize("args", [["list", "--sort", "age"], ["sort", "age"], ["list", "--colour"]])
def test_unknown_sort_key_or_option_is_a_usage_error(store: str, args: list[str]) -> None:
    result = cli(store, *args, actor="ben")
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("actor", "args", "code"),
    [
        ("ben", ["show", "nosuch", "--json"], 3),
        ("ghost", ["list", "--json"], 4),
        (None, ["list", "--json"], 4),
        ("ben", ["user", "list", "--json"], 4),
        ("dan", ["start", "basics", "--json"], 5),
        ("ben", ["upload-proof", "basics", "/dev/null", "--json"], 5),
        ("ben", ["upload-proof", "aws", "/dev/null", "--json"], 6),
    ],
    ids=["not-found", "unknown-actor", "no-actor", "role", "not-assigned", "proof-on-internal", "not-a-proof"],
)
def test_errors_are_one_line_on_stderr_with_the_exit_code(
    store: Path, actor: str | None, args: list[str], code: int
) -> None:
    result = cli(store, *args, actor=actor)
    assert result.exit_code == code
    assert_one_error(result)


def test_missing_store_is_invalid_data(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    result = cli(missing, "list", actor="ben")
    assert result.exit_code == 6
    assert_one_error(result)
    assert str(missing) in result.stderr


def test_unsupported_store_extension_is_a_usage_error(tmp_path: Path) -> None:
    result = cli(tmp_path / "store.yaml", "list", actor="ben")
    assert result.exit_code == 2
    assert_one_error(result)


def test_the_choices_the_command_line_offers_are_the_models() -> None:
    from typing import get_args

    from certcli import cli, model

    assert get_args(cli.Role) == model.ROLES
    assert get_args(cli.Kind) == model.KINDS
    assert get_args(cli.RenewFrom) == model.RENEW_FROM
    assert get_args(cli.CompletionDate) == model.COMPLETION_DATE
    assert get_args(cli.SortKey) == model.SORT_KEYS
