"""The installed `certcli` run as a real process, the way scripts and people use it (docs/rules.md, docs/commands.md,
docs/stores.md).

One store is built once per module with the commands themselves; each test works on its own copy.
Dates below are worked out by hand from the contract, never copied from a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from backends import store_state, write_lock_held

BUILD_NOW = "2026-01-01"
NOW = "2026-02-01"
STORE_NAME = "store.toml"

# ---------------------------------------------------------------- proof file contents


def pdf_bytes(padding: int = 0) -> bytes:
    return b"%PDF-1.4\n" + b"%" * padding + b"\n%%EOF\n"


def png_bytes() -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


# ---------------------------------------------------------------- running the program


def run(
    exe: str,
    store: Path | str,
    *args: str,
    actor: str | None = None,
    now: str = NOW,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `certcli ARGS` with the store, acting user and time given through the environment."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    environment.update({"NO_COLOR": "1", "CERTCLI_STORE": str(store), "CERTCLI_NOW": now})
    if actor is not None:
        environment["CERTCLI_USER"] = actor
    environment.update(env or {})
    result = subprocess.run([exe, *args], capture_output=True, text=True, env=environment, timeout=60, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(
    exe: str, store: Path | str, *args: str, actor: str | None = None, now: str = NOW
) -> subprocess.CompletedProcess[str]:
    result = run(exe, store, *args, actor=actor, now=now)
    assert result.returncode == 0, f"certcli {' '.join(args)}: {result.stderr}"
    return result


def as_json(exe: str, store: Path | str, *args: str, actor: str | None = None, now: str = NOW) -> Any:
    return json.loads(ok(exe, store, *args, "--json", actor=actor, now=now).stdout)


def assert_one_error(stderr: str) -> None:
    """An expected failure: one `error:` line, optionally one `hint:` line, nothing else."""
    lines = stderr.strip().splitlines()
    assert lines, "no message on stderr"
    assert lines[0].startswith("error: "), stderr
    assert len(lines) <= 2, stderr
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), stderr


# ---------------------------------------------------------------- the shared store


SORT_CERTS = {
    # id: (title, published, due given on assign)
    "alpha": ("Alpha", "2025-01-01", "2026-01-05"),
    "bravo": ("bravo basics", "2025-06-01", "2026-03-01"),
    "charlie": ("Charlie", "2025-03-01", None),
    "delta": ("Delta", "2025-09-01", None),
    "echo": ("Echo", "2025-02-01", None),
    "foxtrot": ("Foxtrot", "2025-11-01", None),
    "golf": ("Golf", "2025-04-01", "2026-02-15"),
    "hotel": ("Hotel", "2025-08-01", None),
}
EXTERNAL_SORT_CERTS = {"echo", "foxtrot"}


def build_base_store(exe: str, folder: Path, inputs: Path) -> Path:
    """Users: root (admin), mia (manager of ben, cleo, eve), ben, cleo, dan (no manager), eve.

    Certifications: four (c1..c4, mandatory c2 and c4), trio (c1..c3), seq (c1..c3, ordered),
    aws (external, every 24 months), semi (c1, c2, every 6 months), and eve's eight for sorting.
    """
    store = folder / STORE_NAME

    def admin(*args: str) -> None:
        ok(exe, store, *args, actor="root", now=BUILD_NOW)

    ok(exe, store, "init", "--admin", "root", "--org", "Acme", now=BUILD_NOW)
    admin("user", "add", "mia", "--name", "Mia Manager", "--role", "manager")
    for learner, manager in (("ben", "mia"), ("cleo", "mia"), ("dan", None), ("eve", "mia")):
        admin("user", "add", learner, "--name", learner.title(), *(["--manager", manager] if manager else []))
    for course in ("c1", "c2", "c3", "c4", "prep"):
        admin("course", "add", course, "--title", f"Course {course}")
    courses = ("--course", "c1", "--course", "c2", "--course", "c3")
    admin("define", "four", "--title", "Four", "--kind", "internal", *courses, "--course", "c4",
          "--mandatory", "c2", "--mandatory", "c4")
    admin("define", "trio", "--title", "Trio", "--kind", "internal", *courses)
    admin("define", "seq", "--title", "Sequence", "--kind", "internal", "--ordered", *courses)
    admin("define", "aws", "--title", "AWS Architect", "--kind", "external", "--recurring", "24",
          "--issuer", "Amazon", "--badge", "aws.png", "--overview", "Cloud architecture")
    admin("define", "semi", "--title", "Half-yearly", "--kind", "internal", "--recurring", "6",
          "--course", "c1", "--course", "c2")
    for cert in ("four", "trio", "seq", "semi"):
        admin("assign", cert, "ben")
    admin("assign", "aws", "ben", "dan")
    for cert, (title, published, due) in SORT_CERTS.items():
        kind = ["--kind", "external"] if cert in EXTERNAL_SORT_CERTS else ["--kind", "internal", "--course", "c1"]
        admin("define", cert, "--title", title, "--published", published, *kind)
        admin("assign", cert, "eve", *(["--due", due] if due else []))
    ok(exe, store, "start", "bravo", actor="eve", now=BUILD_NOW)
    ok(exe, store, "complete", "delta", "c1", actor="eve", now=BUILD_NOW)
    ok(exe, store, "upload-proof", "echo", str(inputs / "cert.jpg"), actor="eve", now=BUILD_NOW)
    ok(exe, store, "upload-proof", "foxtrot", str(inputs / "cert.pdf"), actor="eve", now=BUILD_NOW)
    admin("reject", "foxtrot", "eve", "--reason", "blurry")
    ok(exe, store, "upload-proof", "aws", str(inputs / "dan.pdf"), actor="dan", now=BUILD_NOW)
    return store


@pytest.fixture(scope="module")
def proof_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files to upload, kept away from the store's folder."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "cert.pdf").write_bytes(pdf_bytes())
    (folder / "dan.pdf").write_bytes(pdf_bytes(padding=10))
    (folder / "cert.png").write_bytes(png_bytes())
    (folder / "cert.jpg").write_bytes(jpeg_bytes())
    (folder / "notes.txt").write_text("I passed, honestly.\n")
    (folder / "image-as.pdf").write_bytes(png_bytes())
    (folder / "small.pdf").write_bytes(pdf_bytes(padding=200))
    with (folder / "big.pdf").open("wb") as handle:
        handle.write(pdf_bytes())
        handle.truncate(11 * 1024 * 1024)
    return folder


@pytest.fixture(scope="module")
def built_stores() -> dict[str, Path]:
    return {}


@pytest.fixture
def file_store(
    certcli_exe: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
    proof_inputs: Path, built_stores: dict[str, Path],
) -> Path:
    """A private TOML copy of the shared store (with its proof folder) in this test's own folder."""
    if "base" not in built_stores:
        built_stores["base"] = build_base_store(certcli_exe, tmp_path_factory.mktemp("base"), proof_inputs)
    target = tmp_path / "work"
    shutil.copytree(built_stores["base"].parent, target)
    return target / STORE_NAME


@pytest.fixture
def store(certcli_exe: str, file_store: Path | str, backend: str, new_store: str) -> Path | str:
    """The shared store on each backend: the TOML copy, or that copy migrated to a new store."""
    if backend == "toml":
        return file_store
    ok(certcli_exe, file_store, "migrate", "--to", new_store, actor="root")
    return new_store


# ---------------------------------------------------------------- completion rules


def test_two_mandatory_of_four_complete_without_the_optional_ones(certcli_exe: str, store: Path | str) -> None:
    started = as_json(certcli_exe, store, "start", "four", actor="ben", now="2026-01-02")
    assert started["queue"] == ["c2", "c4", "c1", "c3"]  # mandatory in list order, then optional
    assert started["courses_required"] == 2

    halfway = as_json(certcli_exe, store, "complete", "four", "c2", actor="ben", now="2026-01-03")
    assert (halfway["status"], halfway["courses_done"], halfway["next_course"]) == ("started", 1, "c4")

    done = as_json(certcli_exe, store, "complete", "four", "c4", actor="ben", now="2026-01-04")
    assert done["status"] == "completed"
    assert (done["courses_done"], done["courses_required"]) == (2, 2)
    assert done["completed_on"] == "2026-01-04"
    assert done["valid_until"] is None  # perpetual
    assert done["queue"] == [] and done["next_course"] is None

    page = as_json(certcli_exe, store, "show", "four", actor="ben", now="2026-01-05")
    optional = {c["id"]: c["status"] for c in page["courses"] if not c["mandatory"]}
    assert optional == {"c1": "not_started", "c3": "not_started"}
    assert page["status"] == "completed"
    pending = as_json(certcli_exe, store, "list", "--pending", actor="ben", now="2026-01-05")
    assert "four" not in [item["id"] for item in pending]


def test_queue_shows_the_latest_started_course_first(certcli_exe: str, store: Path | str) -> None:
    first = as_json(certcli_exe, store, "start", "trio", "--course", "c3", actor="ben", now="2026-01-02")
    assert first["queue"] == ["c3", "c1", "c2"]
    assert first["next_course"] == "c3"

    later = as_json(certcli_exe, store, "start", "trio", "--course", "c1", actor="ben", now="2026-01-03")
    assert later["queue"] == ["c1", "c3", "c2"]
    assert later["next_course"] == "c1"
    page = as_json(certcli_exe, store, "show", "trio", actor="ben", now="2026-01-04")
    assert page["queue"] == ["c1", "c3", "c2"]
    assert {c["id"]: c["status"] for c in page["courses"]} == {
        "c1": "in_progress", "c2": "not_started", "c3": "in_progress",
    }


# ---------------------------------------------------------------- external proof and review


def test_rejected_proof_is_uploaded_again_and_approved_by_the_manager(
    certcli_exe: str, store: Path | str, proof_inputs: Path
) -> None:
    first = proof_inputs / "cert.pdf"
    uploaded = as_json(certcli_exe, store, "upload-proof", "aws", str(first), actor="ben", now="2026-01-05")
    assert uploaded["status"] == "pending_approval"

    queue = as_json(certcli_exe, store, "review", actor="mia", now="2026-01-06")
    assert {"user": "ben", "certification": "aws", "filename": "cert.pdf", "size": len(first.read_bytes()),
            "sha256": hashlib.sha256(first.read_bytes()).hexdigest(), "submitted_on": "2026-01-05"} in queue
    assert "dan" not in [item["user"] for item in queue]  # dan is not mia's report

    rejected = as_json(certcli_exe, store, "reject", "aws", "ben", "--reason", "the scan is unreadable",
                       actor="mia", now="2026-01-06")
    assert rejected["status"] == "rejected"
    seen_by_learner = as_json(certcli_exe, store, "show", "aws", actor="ben", now="2026-01-06")
    assert seen_by_learner["status"] == "rejected"
    assert seen_by_learner["proof"]["review"] == "rejected"
    assert seen_by_learner["proof"]["reason"] == "the scan is unreadable"

    second = proof_inputs / "cert.png"
    again = as_json(certcli_exe, store, "upload-proof", "aws", str(second), actor="ben", now="2026-01-07")
    assert again["status"] == "pending_approval"

    approved = as_json(certcli_exe, store, "approve", "aws", "ben", actor="mia", now="2026-01-31")
    assert approved["status"] == "completed"
    assert approved["completed_on"] == "2026-01-31"  # completion_date = approval
    assert approved["valid_until"] == "2028-01-31"  # + 24 months

    page = as_json(certcli_exe, store, "show", "aws", actor="ben", now="2026-02-01")
    assert (page["status"], page["completed_on"], page["valid_until"]) == ("completed", "2026-01-31", "2028-01-31")
    assert page["proof"]["filename"] == "cert.png"
    assert page["proof"]["submitted_on"] == "2026-01-07"
    assert page["proof"]["review"] == "approved"
    assert page["type"] == "recurring" and page["validity_months"] == 24


def test_proof_is_stored_beside_the_store_by_sha256_owner_only(
    certcli_exe: str, file_store: Path, proof_inputs: Path
) -> None:
    store = file_store
    content = (proof_inputs / "cert.jpg").read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    result = as_json(certcli_exe, store, "upload-proof", "aws", str(proof_inputs / "cert.jpg"), actor="ben")
    assert result["proof"]["sha256"] == digest
    assert result["proof"]["size"] == len(content)

    stored = list(store.parent.glob(f"*/{digest}"))
    assert len(stored) == 1
    assert stored[0].read_bytes() == content
    assert stat.S_IMODE(stored[0].stat().st_mode) == 0o600


# ---------------------------------------------------------------- recurring certifications


def test_recurring_certification_expires_and_is_taken_up_again_as_cycle_two(
    certcli_exe: str, store: Path | str
) -> None:
    ok(certcli_exe, store, "complete", "semi", "c1", actor="ben", now="2026-08-30")
    done = as_json(certcli_exe, store, "complete", "semi", "c2", actor="ben", now="2026-08-31")
    assert done["completed_on"] == "2026-08-31"
    assert done["valid_until"] == "2027-02-28"  # Aug 31 + 6 months, clamped to the end of February

    def page(now: str) -> dict[str, Any]:
        return as_json(certcli_exe, store, "show", "semi", actor="ben", now=now)

    assert page("2027-02-27")["status"] == "completed"
    on_the_day = page("2027-02-28")
    assert (on_the_day["status"], on_the_day["due"], on_the_day["overdue"]) == ("expired", "2027-02-28", False)
    after = page("2027-03-02")
    assert (after["status"], after["overdue"]) == ("expired", True)

    renewed = as_json(certcli_exe, store, "start", "semi", actor="ben", now="2027-03-02")
    assert renewed["cycle"] == 2
    assert renewed["status"] == "started"
    assert renewed["queue"] == ["c1", "c2"]  # progress reset
    assert renewed["courses_done"] == 0
    assert renewed["due"] == "2027-02-28"  # the previous cycle's valid_until
    assert renewed["overdue"] is True

    ok(certcli_exe, store, "complete", "semi", "c1", actor="ben", now="2027-03-05")
    again = as_json(certcli_exe, store, "complete", "semi", "c2", actor="ben", now="2027-03-05")
    assert (again["status"], again["cycle"]) == ("completed", 2)
    assert (again["completed_on"], again["valid_until"]) == ("2027-03-05", "2027-09-05")
    assert (again["due"], again["overdue"]) == (None, False)
    assert page("2027-03-01")["status"] == "expired"  # asked as of before cycle 2 was opened


# ---------------------------------------------------------------- sorting and the Pending widget


# At 2026-02-01: alpha is overdue (due 2026-01-05); foxtrot rejected; bravo started; golf, hotel and
# charlie enrolled (golf due 2026-02-15, then no due date: hotel published after charlie); echo waits
# for review; delta is completed.
RELEVANCE_ORDER = ["alpha", "foxtrot", "bravo", "golf", "hotel", "charlie", "echo", "delta"]
PUBLISHED_ORDER = ["foxtrot", "delta", "hotel", "bravo", "golf", "charlie", "echo", "alpha"]
NAME_ORDER = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def test_relevance_and_published_sorts_and_the_pending_filter(certcli_exe: str, store: Path | str) -> None:
    relevance = as_json(certcli_exe, store, "list", actor="eve")
    assert [item["id"] for item in relevance] == RELEVANCE_ORDER
    assert {item["id"]: item["status"] for item in relevance} == {
        "alpha": "enrolled", "foxtrot": "rejected", "bravo": "started", "golf": "enrolled",
        "hotel": "enrolled", "charlie": "enrolled", "echo": "pending_approval", "delta": "completed",
    }
    assert [item["id"] for item in relevance if item["overdue"]] == ["alpha"]

    published = as_json(certcli_exe, store, "sort", "published", actor="eve")
    assert [item["id"] for item in published] == PUBLISHED_ORDER
    by_name = as_json(certcli_exe, store, "list", "--sort", "name", actor="eve")
    assert [item["id"] for item in by_name] == NAME_ORDER  # "bravo basics" sorts among the capitals

    pending = as_json(certcli_exe, store, "list", "--pending", actor="eve")
    assert [item["id"] for item in pending] == [cert for cert in RELEVANCE_ORDER if cert != "delta"]


# ---------------------------------------------------------------- failing commands


@dataclass(frozen=True)
class Failure:
    actor: str | None
    args: tuple[str, ...]
    code: int
    env: dict[str, str] = field(default_factory=dict)


def fails(code: int, actor: str | None, *args: str, env: dict[str, str] | None = None, id: str) -> Any:
    return pytest.param(Failure(actor, args, code, env or {}), id=id)


ROLE_DENIALS = [
    fails(4, "ben", "user", "add", "zed", "--name", "Zed", id="learner-user-add"),
    fails(4, "ben", "user", "add", "zed", "--name", "Zed", "--manager", "nobody",
          id="learner-user-add-unknown-manager"),
    fails(4, "ben", "course", "add", "c9", "--title", "Nine", id="learner-course-add"),
    fails(4, "ben", "define", "new", "--title", "New", "--kind", "internal", "--course", "nosuch",
          id="learner-define-unknown-course"),
    fails(4, "ben", "assign", "four", "cleo", id="learner-assign"),
    fails(4, "ben", "assign", "nosuch", "nobody", id="learner-assign-unknown-ids"),
    fails(4, "ben", "user", "list", id="learner-user-list"),
    fails(4, "ben", "review", id="learner-review"),
    fails(4, "ben", "list", "--user", "cleo", id="learner-list-other-user"),
    fails(4, "ben", "sort", "published", "--user", "cleo", id="learner-sort-other-user"),
    fails(4, "ben", "show", "four", "--user", "cleo", id="learner-show-other-user"),
    fails(4, "mia", "list", "--user", "dan", id="manager-list-non-report"),
    fails(4, "mia", "approve", "aws", "dan", id="manager-approve-non-report"),
    fails(4, "mia", "reject", "aws", "dan", "--reason", "no", id="manager-reject-non-report"),
    fails(4, "ben", "approve", "aws", "dan", id="learner-approve"),
    fails(4, "cleo", "reject", "aws", "dan", "--reason", "no", id="learner-reject"),
    fails(4, "mia", "complete", "four", "c2", "--user", "ben", id="manager-complete-for-user"),
    fails(4, "ben", "complete", "four", "c2", "--user", "cleo", id="learner-complete-for-user"),
    fails(4, "ghost", "list", id="unknown-acting-user-list"),
    fails(4, "ghost", "start", "four", id="unknown-acting-user-start"),
    fails(4, None, "list", id="missing-as-list"),
    fails(4, None, "complete", "four", "c2", id="missing-as-complete"),
]

NOT_FOUND = [
    fails(3, "root", "show", "nosuch", id="show-unknown-cert"),
    fails(3, "ben", "start", "nosuch", id="start-unknown-cert"),
    fails(3, "ben", "complete", "four", "nosuch", id="complete-unknown-course"),
    fails(3, "root", "assign", "four", "nobody", id="assign-unknown-user"),
    fails(3, "root", "assign", "four", "cleo", "nobody", id="assign-known-and-unknown-user"),
    fails(3, "root", "list", "--user", "nobody", id="list-unknown-user"),
    fails(3, "root", "approve", "aws", "nobody", id="approve-unknown-user"),
    fails(3, "root", "user", "add", "zed", "--name", "Zed", "--manager", "nobody", id="user-add-unknown-manager"),
    fails(3, "root", "define", "new", "--title", "New", "--kind", "internal", "--course", "nosuch",
          id="define-unknown-course"),
]

WRONG_STATE = [
    fails(5, "cleo", "start", "four", id="start-not-assigned"),
    fails(5, "cleo", "complete", "four", "c2", id="complete-not-assigned"),
    fails(5, "ben", "complete", "seq", "c2", id="complete-out-of-order"),
    fails(5, "ben", "start", "seq", "--course", "c3", id="start-out-of-order"),
    fails(5, "ben", "complete", "four", "prep", id="course-not-in-cert"),
    fails(5, "root", "approve", "aws", "ben", id="approve-nothing-pending"),
    fails(5, "root", "reject", "aws", "ben", "--reason", "no", id="reject-nothing-pending"),
    fails(5, "ben", "upload-proof", "four", "{inputs}/cert.pdf", id="proof-on-internal"),
    fails(5, "root", "init", "--admin", "root2", id="init-existing-store"),
    fails(5, "root", "course", "add", "c1", "--title", "Again", id="course-add-existing"),
    fails(5, "root", "define", "four", "--title", "Four", "--kind", "internal", "--course", "c1",
          id="define-existing-without-replace"),
]

BAD_PROOFS = [
    fails(6, "ben", "upload-proof", "aws", "{inputs}/notes.txt", id="proof-text-file"),
    fails(6, "ben", "upload-proof", "aws", "{inputs}/image-as.pdf", id="proof-png-named-pdf"),
    fails(6, "ben", "upload-proof", "aws", "{inputs}/small.pdf", env={"CERTCLI_PROOF_MAX_BYTES": "100"},
          id="proof-over-configured-limit"),
    fails(6, "ben", "upload-proof", "aws", "{inputs}/big.pdf", id="proof-over-default-10mib"),
    fails(6, "ben", "upload-proof", "aws", "/dev/zero", id="proof-not-regular-file"),
    fails(6, "ben", "upload-proof", "aws", "{inputs}/missing.pdf", id="proof-missing-file"),
]

USAGE = [
    fails(2, "root", "assign", "four", "cleo", "--due", "2026-02-30", id="bad-due-date"),
    fails(2, "ben", "--now", "yesterday", "start", "four", id="bad-now"),
    fails(2, "ben", "list", "--sort", "age", id="unknown-sort-key"),
    fails(2, "ben", "upload-proof", "aws", "{inputs}/cert.pdf", "--completed-on", "2026-03-01",
          id="completed-on-after-now"),
    fails(2, "root", "define", "new", "--title", "New", "--kind", "internal", id="internal-without-course"),
]


@pytest.mark.parametrize("case", ROLE_DENIALS + NOT_FOUND + WRONG_STATE + BAD_PROOFS + USAGE)
def test_failing_command_exits_with_its_code_and_changes_nothing(
    certcli_exe: str, store: Path | str, proof_inputs: Path, case: Failure
) -> None:
    args = [arg.replace("{inputs}", str(proof_inputs)) for arg in case.args]
    before = store_state(str(store))

    result = run(certcli_exe, store, *args, actor=case.actor, env=case.env)

    assert result.returncode == case.code, result.stderr
    assert result.stdout == ""
    if case.code != 2:  # usage errors may keep typer's own format
        assert_one_error(result.stderr)
    assert store_state(str(store)) == before


def test_store_locked_by_another_process_exits_7_and_retry_succeeds(certcli_exe: str, store: Path | str) -> None:
    before = store_state(str(store))
    with write_lock_held(str(store)):
        result = run(certcli_exe, store, "complete", "four", "c2", actor="ben", env={"CERTCLI_LOCK_TIMEOUT": "0.2"})
    assert result.returncode == 7
    assert_one_error(result.stderr)
    assert store_state(str(store)) == before

    retried = run(certcli_exe, store, "complete", "four", "c2", actor="ben", env={"CERTCLI_LOCK_TIMEOUT": "0.2"})
    assert retried.returncode == 0, retried.stderr


def _truncated(text: str) -> str:
    return text[: len(text) // 2]


def _unknown_top_level_key(text: str) -> str:
    return 'colour = "red"\n' + text


def _unknown_certification_key(text: str) -> str:
    return text.replace('title = "Four"\n', 'title = "Four"\ncolour = "red"\n', 1)


@pytest.mark.parametrize(
    ("spoil", "place"),
    [(_truncated, None), (_unknown_top_level_key, "colour"), (_unknown_certification_key, "certifications[0].colour")],
    ids=["truncated-toml", "unknown-top-level-key", "unknown-certification-key"],
)
@pytest.mark.parametrize("command", [("list",), ("complete", "four", "c2")], ids=["read", "write"])
def test_malformed_store_exits_6_naming_the_file(
    certcli_exe: str, file_store: Path, spoil: Any, place: str | None, command: tuple[str, ...]
) -> None:
    store = file_store
    store.write_text(spoil(store.read_text()))
    before = store_state(str(store))

    result = run(certcli_exe, store, *command, actor="ben")

    assert result.returncode == 6
    assert_one_error(result.stderr)
    assert str(store) in result.stderr.splitlines()[0]
    if place is not None:
        assert place in result.stderr.splitlines()[0]
    assert store_state(str(store)) == before


def test_missing_store_exits_6_naming_the_file(certcli_exe: str, tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    result = run(certcli_exe, missing, "list", actor="ben")
    assert result.returncode == 6
    assert_one_error(result.stderr)
    assert str(missing) in result.stderr
    assert not missing.exists()

