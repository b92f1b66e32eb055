"""The audit trail: one hash-chained event per change in `<store>.audit.jsonl`, its filters, and `audit verify`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from certcli import usecases
from certcli.cli import app
from certcli.errors import CertcliError
from certcli.store import Store, open_store

ADMIN, MANAGER, ANN, BEN = "root", "mia", "ann", "ben"
EVENT_FIELDS = {"seq", "at", "recorded_at", "actor", "action", "subject", "details", "prev", "store_sha256", "sha256"}


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def ctx(store: Store, actor: str, when: str) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=at(when))


def log_path(store_path: Path) -> Path:
    return Path(f"{store_path}.audit.jsonl")


def events(store_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_path(store_path).read_text().splitlines()]


def run(store_path: Path, actor: str, when: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--store", str(store_path), "--as", actor, "--now", when, *args])


def build(path: Path) -> Store:
    """Seven changes, one event each:
    1 init, 2 user add mia, 3 user add ann (2026-01-02), 4 course add c1, 5 define cpr (2026-01-03),
    6 assign cpr to ann (2026-02-01), 7 ann completes c1 (2026-02-10)."""
    store = open_store(path)
    usecases.init_store(store, ADMIN, "Root", "Org", at("2026-01-01T08:00"))
    usecases.add_user(ctx(store, ADMIN, "2026-01-02T08:00"), MANAGER, "Mia", "manager", None, None)
    usecases.add_user(ctx(store, ADMIN, "2026-01-02T09:00"), ANN, "Ann", "learner", None, MANAGER)
    usecases.add_course(ctx(store, ADMIN, "2026-01-03T08:00"), "c1", "CPR basics", None)
    spec = usecases.Definition(id="cpr", title="CPR", kind="internal", recurring=12, courses=["c1"])
    usecases.define(ctx(store, ADMIN, "2026-01-03T09:00"), spec, False)
    usecases.assign(ctx(store, ADMIN, "2026-02-01T08:00"), "cpr", [ANN], None)
    usecases.complete(ctx(store, ANN, "2026-02-10T08:00"), "cpr", "c1")
    return store


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "s.json"
    build(path)
    return path


@pytest.fixture
def store_path(template: Path, tmp_path: Path) -> Path:
    """A private copy of the seven-event store and its log."""
    path = tmp_path / template.name
    for source in (template, log_path(template)):
        shutil.copyfile(source, tmp_path / source.name)
    return path


@pytest.fixture
def store(store_path: Path) -> Store:
    return open_store(store_path)


def snapshot(store_path: Path) -> tuple[bytes, bytes]:
    return store_path.read_bytes(), log_path(store_path).read_bytes()


# ---------------------------------------------------------------- one event per change


def test_the_chain_links_every_event_and_the_store_records_the_last(store_path: Path) -> None:
    logged = events(store_path)
    assert [event["seq"] for event in logged] == list(range(1, 8))
    assert [event["action"] for event in logged] == [
        "init", "user add", "user add", "course add", "define", "assign", "complete",
    ]  # fmt: skip
    assert all(set(event) == EVENT_FIELDS for event in logged)
    assert logged[0]["prev"] == "0" * 64
    for earlier, later in zip(logged, logged[1:], strict=False):
        assert later["prev"] == earlier["sha256"]
    assert json.loads(store_path.read_text())["audit"] == logged[-1]
    last = logged[-1]
    assert (last["at"], last["actor"], last["subject"]) == (
        "2026-02-10T08:00:00Z",
        ANN,
        {"certification": "cpr", "user": ANN},
    )


Change = Callable[[Store, Path], Any]


def _upload(when: str) -> Change:
    def upload(store: Store, tmp: Path) -> Any:
        proof = tmp / "card.pdf"
        proof.write_bytes(b"%PDF-1.4\n%card\n")
        return usecases.upload_proof(ctx(store, ANN, when), "ext", proof)

    return upload


CHANGES: list[tuple[str, Change, dict[str, str]]] = [
    (
        "user add",
        lambda s, _: usecases.add_user(ctx(s, ADMIN, "2026-03-01T08:00"), BEN, "Ben", "learner", None, MANAGER),
        {"user": BEN},
    ),
    (
        "course add",
        lambda s, _: usecases.add_course(ctx(s, ADMIN, "2026-03-01T09:00"), "c2", "Two", None),
        {"course": "c2"},
    ),
    (
        "define",
        lambda s, _: usecases.define(
            ctx(s, ADMIN, "2026-03-01T10:00"), usecases.Definition(id="ext", title="Ext", kind="external"), False
        ),
        {"certification": "ext"},
    ),
    (
        "define",
        lambda s, _: usecases.define(
            ctx(s, ADMIN, "2026-03-01T11:00"),
            usecases.Definition(id="cpr", title="CPR", kind="internal", recurring=12, courses=["c1", "c2"]),
            True,
            True,
        ),
        {"certification": "cpr"},
    ),
    (
        "assign",
        lambda s, _: usecases.assign(ctx(s, ADMIN, "2026-03-02T07:00"), "ext", [ANN, BEN], None),
        {"certification": "ext"},
    ),
    (
        "start",
        lambda s, _: usecases.start(ctx(s, BEN, "2026-03-02T07:30"), "ext"),
        {"certification": "ext", "user": BEN},
    ),
    ("upload-proof", _upload("2026-03-02T08:00"), {"certification": "ext", "user": ANN}),
    (
        "reject",
        lambda s, _: usecases.review(ctx(s, MANAGER, "2026-03-03T08:00"), "ext", ANN, "rejected", "blurred"),
        {"certification": "ext", "user": ANN},
    ),
    ("upload-proof", _upload("2026-03-03T09:00"), {"certification": "ext", "user": ANN}),
    (
        "approve",
        lambda s, _: usecases.review(ctx(s, ADMIN, "2026-03-04T08:00"), "ext", ANN, "approved"),
        {"certification": "ext", "user": ANN},
    ),
    (
        "revoke",
        lambda s, _: usecases.revoke(ctx(s, ADMIN, "2026-03-05T08:00"), "cpr", ANN, "withdrawn"),
        {"certification": "cpr", "user": ANN},
    ),
    (
        "start",
        lambda s, _: usecases.start(ctx(s, ANN, "2026-03-06T08:00"), "cpr"),
        {"certification": "cpr", "user": ANN},
    ),
    (
        "complete",
        lambda s, _: usecases.complete(ctx(s, ADMIN, "2026-03-07T08:00"), "cpr", "c1", ANN),
        {"certification": "cpr", "user": ANN},
    ),
]


def _read_everything(store: Store) -> None:
    """Every command that only reads, as the admin and as a learner."""
    admin, learner = ctx(store, ADMIN, "2026-03-08"), ctx(store, ANN, "2026-03-08")
    usecases.list_users(admin)
    usecases.list_certifications(learner, pending=True)
    usecases.show(learner, "cpr")
    usecases.history(learner, "cpr")
    usecases.explain(learner, "cpr")
    usecases.review_queue(admin)
    usecases.audit_events(admin)
    usecases.audit_verify(admin)


def test_every_successful_change_appends_exactly_one_event(store: Store, store_path: Path, tmp_path: Path) -> None:
    for action, change, subject in CHANGES:
        before = events(store_path)
        change(store, tmp_path)
        after = events(store_path)
        assert after[:-1] == before, action
        assert (after[-1]["seq"], after[-1]["action"], after[-1]["subject"]) == (len(before) + 1, action, subject)
        assert after[-1]["prev"] == before[-1]["sha256"]
    unchanged = snapshot(store_path)
    _read_everything(store)
    assert snapshot(store_path) == unchanged
    usecases.audit_verify(ctx(store, ADMIN, "2026-03-09"))


def test_the_event_names_who_and_when_of_each_change(store: Store, store_path: Path) -> None:
    usecases.revoke(ctx(store, ADMIN, "2026-03-05T08:30:15"), "cpr", ANN, "withdrawn")
    event = events(store_path)[-1]
    assert (event["at"], event["actor"], event["action"]) == ("2026-03-05T08:30:15Z", ADMIN, "revoke")
    assert event["details"]["reason"] == "withdrawn"


@pytest.mark.parametrize(
    "no_op",
    [
        pytest.param(lambda s: usecases.assign(ctx(s, ADMIN, "2026-03-01"), "cpr", [ANN], None), id="assign-twice"),
        pytest.param(lambda s: usecases.complete(ctx(s, ANN, "2026-03-01"), "cpr", "c1"), id="complete-again"),
        pytest.param(lambda s: usecases.start(ctx(s, ANN, "2026-03-01"), "cpr"), id="start-when-completed"),
    ],
)
def test_a_no_op_appends_no_event(store: Store, store_path: Path, no_op: Callable[[Store], Any]) -> None:
    before = snapshot(store_path)
    no_op(store)
    assert snapshot(store_path) == before


def test_assigning_twice_on_the_command_line_appends_no_event(store_path: Path) -> None:
    before = snapshot(store_path)
    result = run(store_path, ADMIN, "2026-03-01", "assign", "cpr", ANN)
    assert result.exit_code == 0
    assert "already assigned" in result.stderr
    assert snapshot(store_path) == before


FAILURES: list[tuple[str, Callable[[Store, Path], Any], int]] = [
    ("unknown user", lambda s, _: usecases.assign(ctx(s, ADMIN, "2026-03-01"), "cpr", ["nobody"], None), 3),
    ("learner adds a course", lambda s, _: usecases.add_course(ctx(s, ANN, "2026-03-01"), "c9", "Nine", None), 4),
    ("revoke uncompleted", lambda s, _: usecases.revoke(ctx(s, ADMIN, "2026-02-05"), "cpr", ANN, "no"), 5),
    ("unknown course", lambda s, _: usecases.complete(ctx(s, ADMIN, "2027-03-01"), "cpr", "nope", ANN), 3),
    ("existing course", lambda s, _: usecases.add_course(ctx(s, ADMIN, "2026-03-01"), "c1", "Again", None), 5),
]


@pytest.mark.parametrize(("name", "fail", "code"), FAILURES, ids=[name for name, _, _ in FAILURES])
def test_a_failed_command_appends_no_event(
    store: Store, store_path: Path, tmp_path: Path, name: str, fail: Callable[[Store, Path], Any], code: int
) -> None:
    before = snapshot(store_path)
    with pytest.raises(CertcliError) as failed:
        fail(store, tmp_path)
    assert failed.value.exit_code == code
    assert snapshot(store_path) == before


def test_a_failure_after_reopening_an_expired_cycle_appends_no_event(store: Store, store_path: Path) -> None:
    # Expired 2027-02-10: `complete` would open cycle 2 first, then refuses the course not in it.
    usecases.add_course(ctx(store, ADMIN, "2027-03-01T07:00"), "c2", "Two", None)
    before = snapshot(store_path)
    with pytest.raises(CertcliError) as failed:
        usecases.complete(ctx(store, ANN, "2027-03-01T08:00"), "cpr", "c2")
    assert failed.value.exit_code == 5
    assert snapshot(store_path) == before


def test_a_failed_command_on_the_command_line_appends_no_event(store_path: Path) -> None:
    before = snapshot(store_path)
    result = run(store_path, ANN, "2026-03-01", "revoke", "cpr", ANN, "--reason", "mine")
    assert result.exit_code == 4
    assert snapshot(store_path) == before


# ---------------------------------------------------------------- listing and filters


def test_audit_lists_all_events_as_json(store_path: Path) -> None:
    result = run(store_path, ADMIN, "2026-03-01", "audit", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == events(store_path)


def test_audit_text_table(store_path: Path) -> None:
    result = run(store_path, ADMIN, "2026-03-01", "audit", "--cert", "cpr")
    assert result.exit_code == 0, result.stderr
    assert "define" in result.stdout and "complete" in result.stdout
    assert "course add" not in result.stdout


def _seqs(store: Store, **filters: Any) -> list[int]:
    return [event["seq"] for event in usecases.audit_events(ctx(store, ADMIN, "2026-03-01"), **filters).data]


def test_audit_filters_by_certification(store: Store) -> None:
    assert _seqs(store, cert="cpr") == [5, 6, 7]
    assert _seqs(store, cert="nothing-like-it") == []


def test_audit_filters_by_day(store: Store) -> None:
    assert _seqs(store, since=at("2026-01-03").date()) == [4, 5, 6, 7]
    assert _seqs(store, since=at("2026-02-02").date()) == [7]
    assert _seqs(store, since=at("2026-02-11").date()) == []


def test_audit_filters_by_acting_user_and_subject(store: Store) -> None:
    # root acted in 1-6; ann is the subject of 3 (added) and 7 (her completion, by her).
    assert _seqs(store, user=ADMIN) == [1, 2, 3, 4, 5, 6]
    assert _seqs(store, user=MANAGER) == [2]
    assert _seqs(store, user=ADMIN, since=at("2026-01-03").date(), cert="cpr") == [5, 6]


def test_audit_by_user_includes_the_events_assigning_them(store: Store) -> None:
    # Event 6 assigned cpr to ann: it is about her.
    assert _seqs(store, user=ANN) == [3, 6, 7]


def test_cli_audit_filters(store_path: Path) -> None:
    result = run(store_path, ADMIN, "2026-03-01", "audit", "--cert", "cpr", "--since", "2026-02-02", "--json")
    assert result.exit_code == 0, result.stderr
    assert [event["seq"] for event in json.loads(result.stdout)] == [7]
    assert run(store_path, ADMIN, "2026-03-01", "audit", "--since", "Feb 2").exit_code == 2


@pytest.mark.parametrize("args", [["audit"], ["audit", "verify"]])
def test_only_an_admin_reads_the_audit_trail(store_path: Path, args: list[str]) -> None:
    assert run(store_path, MANAGER, "2026-03-01", *args).exit_code == 4
    assert run(store_path, ANN, "2026-03-01", *args).exit_code == 4


# ---------------------------------------------------------------- verification and tampering


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_a_clean_store_verifies(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"s{suffix}"
    build(path)
    result = run(path, ADMIN, "2026-03-01", "audit", "verify")
    assert result.exit_code == 0, result.stderr
    assert "7 events" in result.stderr
    report = json.loads(run(path, ADMIN, "2026-03-01", "audit", "verify", "--json").stdout)
    assert report == {
        "ok": True, "events": 7, "head": events(path)[-1]["sha256"], "checkpoints": 0, "uncovered": 7, "key": None
    }  # fmt: skip


def _lines(path: Path) -> list[str]:
    return log_path(path).read_text().splitlines(keepends=True)


def _write_lines(path: Path, lines: list[str]) -> None:
    log_path(path).write_text("".join(lines))


def edit_event(path: Path) -> None:
    lines = _lines(path)
    event = json.loads(lines[2])
    event["subject"]["user"] = "mallory"
    lines[2] = json.dumps(event) + "\n"
    _write_lines(path, lines)


def remove_event(path: Path) -> None:
    lines = _lines(path)
    del lines[2]
    _write_lines(path, lines)


def swap_events(path: Path) -> None:
    lines = _lines(path)
    lines[2], lines[3] = lines[3], lines[2]
    _write_lines(path, lines)


def drop_last_line(path: Path) -> None:
    _write_lines(path, _lines(path)[:-1])


def cut_mid_line(path: Path) -> None:
    raw = log_path(path).read_bytes()
    last_start = raw.rstrip(b"\n").rfind(b"\n") + 1
    log_path(path).write_bytes(raw[: last_start + (len(raw) - last_start) // 2])


def delete_log(path: Path) -> None:
    log_path(path).unlink()


def edit_store_by_hand(path: Path) -> None:
    data = json.loads(path.read_text())
    data["users"][2]["name"] = "Ann Other"
    path.write_text(json.dumps(data, indent=2))


def drop_store_audit_table(path: Path) -> None:
    data = json.loads(path.read_text())
    del data["audit"]
    path.write_text(json.dumps(data, indent=2))


TAMPERING: list[tuple[Callable[[Path], None], str]] = [
    (edit_event, "event 3 was edited"),
    (remove_event, "event 3 is missing or out of order"),
    (swap_events, "event 3 is missing or out of order"),
    (drop_last_line, "event 7 is missing"),
    (cut_mid_line, "line 7 (after event 6)"),
    (delete_log, "event 1 is missing"),
    (edit_store_by_hand, "the store was changed after event 7 without an audit event"),
    (drop_store_audit_table, "the store records no audit events but the log has 7"),
]


@pytest.mark.parametrize(("tamper", "named"), TAMPERING, ids=[tamper.__name__ for tamper, _ in TAMPERING])
def test_tampering_is_detected_naming_the_first_bad_event(
    store_path: Path, tamper: Callable[[Path], None], named: str
) -> None:
    tamper(store_path)
    result = run(store_path, ADMIN, "2026-03-01", "audit", "verify")
    assert result.exit_code == 6
    assert result.stdout == ""
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith("error: audit trail broken: ")
    assert named in first_line


def test_a_store_replaced_by_an_older_copy_is_detected(store_path: Path, tmp_path: Path) -> None:
    older = tmp_path / "older.json"
    older.write_bytes(store_path.read_bytes())  # as of event 7
    store = open_store(store_path)
    usecases.add_course(ctx(store, ADMIN, "2026-03-01T08:00"), "c2", "Two", None)  # event 8
    usecases.add_course(ctx(store, ADMIN, "2026-03-01T09:00"), "c3", "Three", None)  # event 9
    store_path.write_bytes(older.read_bytes())
    result = run(store_path, ADMIN, "2026-03-02", "audit", "verify")
    assert result.exit_code == 6
    assert "event 8 is not recorded in the store: the store was replaced by an older copy" in result.stderr


# Removing the log's last line loses nothing: the store keeps that event whole, and the
# next change puts it back (the same event) before adding its own.
REFUSED = [(tamper, named) for tamper, named in TAMPERING if tamper is not drop_last_line]


def test_a_removed_last_event_is_restored_by_the_next_change(store_path: Path) -> None:
    logged = events(store_path)
    drop_last_line(store_path)
    result = run(store_path, ADMIN, "2026-03-01", "course", "add", "c2", "--title", "Two")
    assert result.exit_code == 0
    restored = events(store_path)
    assert restored[:7] == logged and [event["seq"] for event in restored] == list(range(1, 9))
    assert run(store_path, ADMIN, "2026-03-01", "audit", "verify").exit_code == 0


@pytest.mark.parametrize(("tamper", "named"), REFUSED, ids=[tamper.__name__ for tamper, _ in REFUSED])
def test_a_change_to_a_tampered_store_is_refused(store_path: Path, tamper: Callable[[Path], None], named: str) -> None:
    tamper(store_path)
    before = store_path.read_bytes(), log_path(store_path).read_bytes() if log_path(store_path).exists() else b""
    result = run(store_path, ADMIN, "2026-03-01", "course", "add", "c2", "--title", "Two")
    assert result.exit_code == 6
    assert named in result.stderr
    after = store_path.read_bytes(), log_path(store_path).read_bytes() if log_path(store_path).exists() else b""
    assert after == before


def test_a_change_after_restoring_an_older_copy_keeps_the_evidence(store_path: Path, tmp_path: Path) -> None:
    # Two changes are rolled back by restoring the store; the next change must not erase events 8 and 9.
    older = store_path.read_bytes()
    store = open_store(store_path)
    usecases.add_course(ctx(store, ADMIN, "2026-03-01T08:00"), "c2", "Two", None)
    usecases.add_course(ctx(store, ADMIN, "2026-03-01T09:00"), "c3", "Three", None)
    logged = log_path(store_path).read_bytes()
    store_path.write_bytes(older)
    result = run(store_path, ADMIN, "2026-03-02", "course", "add", "c4", "--title", "Four")
    assert result.exit_code == 6
    assert log_path(store_path).read_bytes() == logged
    assert run(store_path, ADMIN, "2026-03-02", "audit", "verify").exit_code == 6
