"""`certcli doctor` at the service level: a healthy store passes every check; each problem is found and named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certcli import usecases
from certcli.errors import DataError, PermissionDenied
from certcli.store import open_store
from certcli.usecases import Context, Definition
from certcli.usecases.doctor import doctor

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WORKER_SCRIPT = Path(__file__).with_name("store_worker.py")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHECKS = {"store", "permissions", "lock", "temp_files", "proofs", "audit", "timing"}
PDF = b"%PDF-1.4\n% a certificate\n%%EOF\n"
SECOND_NAME = "second.pdf"


def ctx(path: Path, actor: str | None = "root") -> Context:
    return Context(open_store(path), actor, NOW)


def build_store(folder: Path, ext: str) -> Path:
    """root (admin), mia (manager of ana), ana; an external certification with two proofs uploaded
    (the first approved, the second waiting), all through the use cases so the audit chain is whole."""
    path = folder / f"store{ext}"
    usecases.init_store(open_store(path), "root", "Root", "Acme", NOW)
    admin = ctx(path)
    usecases.add_user(admin, "mia", "Mia", "manager", None, None)
    usecases.add_user(admin, "ana", "Ana", "learner", None, "mia")
    usecases.define(admin, Definition("aws", "AWS", "external"), replace=False)
    usecases.define(admin, Definition("cpr", "CPR", "external"), replace=False)
    usecases.assign(admin, "aws", ["ana"], None)
    usecases.assign(admin, "cpr", ["ana"], None)
    inputs = folder / "inputs"
    inputs.mkdir()
    (inputs / "first.pdf").write_bytes(PDF)
    (inputs / SECOND_NAME).write_bytes(PDF.replace(b"a certificate", b"another one"))
    usecases.upload_proof(ctx(path, "ana"), "aws", inputs / "first.pdf")
    usecases.review(ctx(path, "mia"), "aws", "ana", "approved")
    usecases.upload_proof(ctx(path, "ana"), "cpr", inputs / SECOND_NAME)
    shutil.rmtree(inputs)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {ext: build_store(tmp_path_factory.mktemp("built"), ext) for ext in (".json", ".toml")}


@pytest.fixture(params=[".json", ".toml"])
def store(request: pytest.FixtureRequest, built: dict[str, Path], tmp_path: Path) -> Path:
    """A private copy, modes kept, in a folder apart from the parse cache that reading commands may fill."""
    original = built[request.param]
    shutil.copytree(original.parent, tmp_path / "data", symlinks=True)
    return tmp_path / "data" / original.name


def proof_files(path: Path) -> list[Path]:
    return sorted(path.with_name(path.stem + ".proofs").iterdir())


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under `folder` with its mode and content (or link target)."""
    result: dict[str, tuple[int, bytes | str]] = {}
    for entry in sorted(folder.rglob("*")):
        info = entry.lstat()
        if entry.is_symlink():
            result[str(entry)] = (info.st_mode, os.readlink(entry))
        elif entry.is_file():
            result[str(entry)] = (info.st_mode, entry.read_bytes())
        else:
            result[str(entry)] = (info.st_mode, "")
    return result


def problems(outcome: usecases.Outcome) -> list[dict[str, Any]]:
    return [check for check in outcome.data["checks"] if not check["ok"]]


def only_problem(outcome: usecases.Outcome, check: str) -> str:
    """The detail of the one problem found, which must belong to `check`."""
    found = problems(outcome)
    assert [item["check"] for item in found] == [check], found
    assert outcome.data["healthy"] is False
    assert outcome.messages == [f"{check}: {found[0]['detail']}"]
    return found[0]["detail"]


# ---------------------------------------------------------------- healthy


def test_a_store_built_by_certcli_is_healthy_and_doctor_changes_nothing(store: Path) -> None:
    before = snapshot(store.parent)
    outcome = doctor(ctx(store))
    assert outcome.data["healthy"] is True
    assert {check["check"] for check in outcome.data["checks"]} == CHECKS
    assert all(check["ok"] for check in outcome.data["checks"]), outcome.data
    assert len(outcome.data["checks"]) == len(CHECKS)
    assert outcome.messages == [f"{store} is healthy: 7 checks passed."]
    details = {check["check"]: check["detail"] for check in outcome.data["checks"]}
    assert details["proofs"] == "2 referenced proof files present, each matching its SHA-256"
    assert "audit trail intact: 10 events" in details["audit"]
    json.dumps(outcome.data)  # the --json output
    assert snapshot(store.parent) == before


def test_the_demo_store_is_healthy_but_for_the_proof_files_the_fixture_does_not_ship(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    shutil.copyfile(FIXTURES / "acme.toml", path)
    path.chmod(0o600)
    outcome = doctor(ctx(path))
    found = problems(outcome)
    assert {item["check"] for item in found} == {"proofs"}
    assert len(found) == 9  # nine distinct proofs are referenced in the demo store
    assert any("'aws-ccp-ana.jpg', ana in aws-cloud-practitioner" in item["detail"] for item in found)
    assert all("is missing" in item["detail"] for item in found)
    assert len(outcome.messages) == 9


# ---------------------------------------------------------------- who may run it, and a store that does not load


def test_only_an_admin_may_run_doctor(store: Path) -> None:
    with pytest.raises(PermissionDenied, match="mia is a manager"):
        doctor(ctx(store, "mia"))
    with pytest.raises(PermissionDenied, match="unknown acting user"):
        doctor(ctx(store, "zed"))


def test_a_store_that_does_not_load_is_a_data_error_before_the_role_check(store: Path) -> None:
    store.write_bytes(store.read_bytes()[:-40])
    with pytest.raises(DataError, match=store.name):
        doctor(ctx(store, "ana"))  # a learner: still 6, not 4, as for every command
    with pytest.raises(DataError, match="does not exist"):
        doctor(ctx(store.with_name("nowhere.json")))


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize(
    ("target", "mode", "words"),
    [
        ("store", 0o644, "every user may read it"),
        ("store", 0o666, "every user may read and write it"),
        ("store", 0o670, "its group may execute it"),
        ("audit log", 0o604, "every user may read it"),
        ("proofs folder", 0o755, "every user may read and enter it, its group may read and enter it"),
        ("proof file", 0o640, "its group may read it"),
    ],
)
def test_permissions_wider_than_they_should_be_are_found(store: Path, target: str, mode: int, words: str) -> None:
    paths = {
        "store": store,
        "audit log": Path(f"{store}.audit.jsonl"),
        "proofs folder": store.with_name(store.stem + ".proofs"),
        "proof file": proof_files(store)[0],
    }
    paths[target].chmod(mode)
    detail = only_problem(doctor(ctx(store)), "permissions")
    assert detail.startswith(f"{target} {paths[target]} has mode {mode:04o}: {words}; run chmod")


def test_a_folder_where_anyone_may_replace_the_store_is_found(store: Path) -> None:
    store.parent.chmod(0o777)
    detail = only_problem(doctor(ctx(store)), "permissions")
    folder = store.parent
    assert detail == f"folder {folder} has mode 0777: any user can replace the store; run chmod o-w {folder}"
    store.parent.chmod(0o1777)  # sticky, as /tmp: others cannot rename or remove what is not theirs
    assert doctor(ctx(store)).data["healthy"] is True


def test_a_store_shared_with_a_group_is_fine(store: Path) -> None:
    store.chmod(0o660)
    assert doctor(ctx(store)).data["healthy"] is True


# ---------------------------------------------------------------- lock and temp files


def test_an_orphan_temp_file_is_listed_and_left_alone(store: Path) -> None:
    orphan = store.with_name(f".{store.name}.k1ll3d.tmp")
    orphan.write_bytes(b"half a store")
    unrelated = store.with_name(f".other{store.suffix}.k1ll3d.tmp")
    unrelated.write_bytes(b"someone else's")
    detail = only_problem(doctor(ctx(store)), "temp_files")
    assert detail == (
        f"orphan temp file {orphan} (12 bytes) left by a killed writer; the next change to the store removes it"
    )
    assert orphan.read_bytes() == b"half a store"  # doctor reports; the next writer sweeps


def test_a_lock_held_by_another_process_is_found(store: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, str(WORKER_SCRIPT), "hold", str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        detail = only_problem(doctor(ctx(store)), "lock")
        assert time.monotonic() - started < 5
        assert detail.startswith(f"the lock {store}.lock is held by another process (waited 1 s)")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert doctor(ctx(store)).data["healthy"] is True  # released: healthy again, the lock file still there


# ---------------------------------------------------------------- proofs


def test_a_missing_proof_file_is_found(store: Path) -> None:
    missing = proof_files(store)[0]
    missing.unlink()
    detail = only_problem(doctor(ctx(store)), "proofs")
    assert detail.startswith(f"proof {missing.name[:12]}… (")
    assert detail.endswith(f"is missing: {missing} does not exist")


def test_a_proof_whose_content_changed_is_found(store: Path) -> None:
    changed = proof_files(store)[0]
    content = bytearray(changed.read_bytes())
    content[-2] ^= 0x20  # same size, different bytes
    changed.write_bytes(bytes(content))
    detail = only_problem(doctor(ctx(store)), "proofs")
    assert f"the content of {changed} changed: its SHA-256 is now " in detail


def test_a_proof_cut_short_is_found_by_its_size(store: Path) -> None:
    cut = proof_files(store)[0]
    size = cut.stat().st_size
    cut.write_bytes(cut.read_bytes()[:10])
    detail = only_problem(doctor(ctx(store)), "proofs")
    assert detail.endswith(f"{cut} holds 10 bytes, the store records {size}")


def test_a_proof_replaced_by_a_link_to_the_same_content_is_not_followed(store: Path, tmp_path: Path) -> None:
    proof = proof_files(store)[0]
    elsewhere = tmp_path / "elsewhere.pdf"
    elsewhere.write_bytes(proof.read_bytes())
    proof.unlink()
    proof.symlink_to(elsewhere)
    detail = only_problem(doctor(ctx(store)), "proofs")
    assert f"{proof} is a symbolic link, not the stored file" in detail


def test_a_proofs_folder_that_is_a_link_is_found_and_not_followed(store: Path, tmp_path: Path) -> None:
    folder = store.with_name(store.stem + ".proofs")
    moved = tmp_path / "moved-proofs"
    folder.rename(moved)
    folder.symlink_to(moved)
    detail = only_problem(doctor(ctx(store)), "proofs")
    assert detail.startswith(f"the proofs folder {folder} is a symbolic link (to {moved}); certcli does not follow it")
    assert "2 proofs not checked" in detail


def test_a_stray_link_in_the_proofs_folder_is_found(store: Path) -> None:
    planted = store.with_name(store.stem + ".proofs") / ("e" * 64)
    planted.symlink_to("/etc/passwd")
    detail = only_problem(doctor(ctx(store)), "proofs")
    assert detail == f"{planted} in the proofs folder is not a plain file; remove it"


# ---------------------------------------------------------------- audit trail


def test_a_tampered_audit_log_is_found(store: Path) -> None:
    log = Path(f"{store}.audit.jsonl")
    lines = log.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"mia"', b'"eve"')
    log.write_bytes(b"".join(lines))
    detail = only_problem(doctor(ctx(store)), "audit")
    assert detail.startswith("audit trail broken: event 3 was edited")


def test_a_store_changed_without_an_audit_event_is_found(store: Path) -> None:
    store.write_bytes(store.read_bytes().replace(b'"Ana"', b'"Anna"'))
    detail = only_problem(doctor(ctx(store)), "audit")
    assert "the store was changed after event 10 without an audit event" in detail


# ---------------------------------------------------------------- several problems at once


def test_every_problem_is_listed_in_one_run(store: Path) -> None:
    store.chmod(0o644)
    store.with_name(f".{store.name}.x.tmp").write_bytes(b"")
    for proof in proof_files(store):
        proof.unlink()
    outcome = doctor(ctx(store))
    assert [item["check"] for item in problems(outcome)] == ["permissions", "temp_files", "proofs", "proofs"]
    assert len(outcome.messages) == 4
