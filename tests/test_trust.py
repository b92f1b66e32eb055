"""Trusting what the store says: the real time of every audit event, the organisation's key, signed
checkpoints that catch a rewritten trail on every backend, database rows re-hashed against the trail,
standings checked and repaired, the acting user's default, and signed Open Badges checked by a
different JOSE library than certcli's."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import jwt
import pytest
from backends import is_database, raw_database
from test_badges import schema_errors
from typer.testing import CliRunner, Result

from certcli import audit, keys
from certcli.cli import app
from certcli.store import open_store
from certcli.store.document import document_to_data

NOW = "2026-11-28"
runner = CliRunner()


def cli(
    store: str | Path, *args: str, actor: str | None = "root", now: str = NOW, env: dict[str, str] | None = None
) -> Result:
    """`certcli` in-process, never with a traceback."""
    acting = ["--as", actor] if actor else []
    result = runner.invoke(app, ["--store", str(store), *acting, "--now", now, *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def ok(store: str | Path, *args: str, actor: str | None = "root", now: str = NOW) -> Result:
    result = cli(store, *args, actor=actor, now=now)
    assert result.exit_code == 0, result.stderr
    return result


def keyed(store: str, folder: Path, kind: str = "rsa") -> Path:
    """The organisation's key made for `store`; its private key file."""
    key_file = folder / f"signing-{kind}.pem"
    ok(store, "org", "keygen", "-o", str(key_file), "--type", kind)
    return key_file


def checkpointed(store: str, folder: Path) -> tuple[Path, Path]:
    """A keyed store with a change after the key and a checkpoint kept in a file: (key file, checkpoint file)."""
    key_file = keyed(store, folder)
    ok(store, "assign", "workplace-safety", "eli")
    kept = folder / "checkpoint.jws"
    ok(store, "audit", "checkpoint", "--key", str(key_file), "-o", str(kept))
    return key_file, kept


# ---------------------------------------------------------------- the real time of every event


def test_a_backdated_learner_write_is_marked_listed_and_counted(demo_store: Path) -> None:
    ok(demo_store, "complete", "security-awareness", "phishing", actor="ana", now="2026-10-20")
    ok(demo_store, "assign", "workplace-safety", "eli", now="2099-01-01")  # a day far ahead: postdated
    listed = json.loads(ok(demo_store, "audit", "--backdated", "--json").stdout)
    assert [(event["actor"], event["action"]) for event in listed] == [("ana", "complete"), ("root", "assign")]
    assert all(event["at"] != event["recorded_at"] for event in listed)
    assert listed[0]["at"] == "2026-10-20T00:00:00Z"
    table = ok(demo_store, "audit", "--backdated").stdout
    assert "(backdated)" in table and "(postdated)" in table and "RECORDED AT" in table
    health = json.loads(cli(demo_store, "doctor", "--json").stdout)
    timing = next(check for check in health["checks"] if check["check"] == "timing")
    assert timing["detail"].startswith("1 event backdated, 1 postdated")


def test_an_event_written_at_its_own_time_is_not_marked(demo_store: Path) -> None:
    from datetime import UTC, datetime

    today = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    ok(demo_store, "assign", "workplace-safety", "eli", now=today)
    assert json.loads(ok(demo_store, "audit", "--backdated", "--json").stdout) == []


def test_editing_recorded_at_in_the_log_breaks_verify(demo_store: Path) -> None:
    ok(demo_store, "complete", "security-awareness", "phishing", actor="ana", now="2026-10-20")
    ok(demo_store, "assign", "workplace-safety", "eli")
    log = Path(f"{demo_store}.audit.jsonl")
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    first["recorded_at"] = "2026-10-20T09:00:00Z"  # make the backdated write look written on its day
    log.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    result = cli(demo_store, "audit", "verify")
    assert result.exit_code == 6
    assert "event 1 was edited" in result.stderr


def test_events_without_recorded_at_still_verify(demo_store: Path) -> None:
    """A trail written before events carried recorded_at: its events are hashed without it."""
    store = open_store(demo_store)
    ok(demo_store, "assign", "workplace-safety", "eli")
    event = store.read_audit()[0][0]
    old = {key: value for key, value in event.items() if key not in ("recorded_at", "sha256")}
    old["sha256"] = audit.event_hash(old)
    Path(f"{demo_store}.audit.jsonl").write_bytes(audit.encode_event(old))
    data = document_to_data(store.read())
    data["audit"] = old
    demo_store.write_text(store.fmt.dump(data))  # type: ignore[attr-defined]
    assert ok(demo_store, "audit", "verify").exit_code == 0
    assert ok(demo_store, "audit", "--backdated", "--json").stdout.strip() == "[]"


# ---------------------------------------------------------------- the organisation's key


def test_keygen_writes_the_private_key_owner_only_and_keeps_only_the_public_key(demo: str, tmp_path: Path) -> None:
    key_file = keyed(demo, tmp_path)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()
    public = json.loads(ok(demo, "org", "show", "--json").stdout)["key"]
    assert public["kty"] == "RSA" and public["alg"] == "RS256" and "d" not in public
    assert public["kid"].startswith("urn:ietf:params:oauth:jwk-thumbprint:sha-256:")
    document = json.dumps(document_to_data(open_store(demo).read()))
    assert public["n"] in document and "PRIVATE" not in document
    assert cli(demo, "org", "keygen", "-o", str(key_file)).exit_code == 5  # a key file is never replaced


def test_a_signing_key_that_is_not_the_organisations_is_refused(demo_store: Path, tmp_path: Path) -> None:
    keyed(str(demo_store), tmp_path)
    stranger = tmp_path / "stranger.pem"
    keys.write_private(stranger, keys.generate("ed25519")[0])
    result = cli(demo_store, "audit", "checkpoint", "--key", str(stranger))
    assert result.exit_code == 6 and "not the organisation's key" in result.stderr
    assert cli(demo_store, "audit", "checkpoint").exit_code == 2  # no key named at all
    assert "CERTCLI_SIGNING_KEY" in cli(demo_store, "audit", "checkpoint").stderr


# ---------------------------------------------------------------- checkpoints against rewrites, on every backend


def test_a_checkpointed_trail_verifies_and_says_what_is_not_yet_covered(demo: str, tmp_path: Path) -> None:
    key_file, kept = checkpointed(demo, tmp_path)
    result = ok(demo, "audit", "verify", "--checkpoint", str(kept), "--key", str(key_file))
    assert "1 checkpoint(s) verified with the keys given" in result.stderr
    ok(demo, "assign", "workplace-safety", "fatima")
    report = json.loads(ok(demo, "audit", "verify", "--json").stdout)
    assert report["checkpoints"] == 1 and report["uncovered"] == 2 and report["key"] == "store"
    assert "relied" not in report and "store's own public key" in ok(demo, "audit", "verify").stderr


def _write_trail(location: str, events: list[dict[str, Any]], doc_changes: dict[str, Any] | None = None) -> None:
    """Replace a store's trail with `events` (and its head), as someone who can write the store would."""
    head = events[-1] if events else None
    if is_database(location):
        with raw_database(location) as db:
            db.run("DELETE FROM audit_events")
            for event in events:
                db.run("INSERT INTO audit_events (seq, event) VALUES (?, ?)", (event["seq"], json.dumps(event)))
            db.run("DELETE FROM certcli_meta WHERE key = 'head'")
            if head is not None:
                db.run("INSERT INTO certcli_meta (key, value) VALUES ('head', ?)", (json.dumps(head),))
            for key, value in (doc_changes or {}).items():
                db.run("UPDATE certcli_meta SET value = ? WHERE key = ?", (json.dumps(value), key))
        return
    store = open_store(location)
    data = document_to_data(store.read())
    data.update(doc_changes or {})
    data.pop("audit", None)
    if doc_changes and events:  # the content hash, worked out again for the edited store
        events[-1]["store_sha256"] = audit.document_hash(data)
        head = _rechained(events)[-1]
    if head is not None:
        data["audit"] = head
    Path(location).write_text(store.fmt.dump(data))  # type: ignore[attr-defined]
    Path(f"{location}.audit.jsonl").write_bytes(b"".join(audit.encode_event(event) for event in events))


def _rechained(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events` with every hash worked out again, so the chain itself verifies."""
    previous = audit.GENESIS
    for event in events:
        event["prev"] = previous
        event["sha256"] = previous = audit.event_hash(event)
    return events


def _verify_with(demo: str, key_file: Path, kept: Path) -> Result:
    return cli(demo, "audit", "verify", "--checkpoint", str(kept), "--key", str(key_file))


def test_a_rewritten_event_with_recomputed_hashes_is_caught(demo: str, tmp_path: Path) -> None:
    key_file, kept = checkpointed(demo, tmp_path)
    events = open_store(demo).read_audit()[0]
    assign = next(event for event in events if event["action"] == "assign")
    assign["actor"] = "mia"  # who did it, quietly changed
    _write_trail(demo, _rechained(events))
    result = _verify_with(demo, key_file, kept)
    assert result.exit_code == 6
    assert "was rewritten" in result.stderr


def test_a_deleted_log_and_audit_table_are_caught(demo: str, tmp_path: Path) -> None:
    key_file, kept = checkpointed(demo, tmp_path)
    _write_trail(demo, [])
    result = _verify_with(demo, key_file, kept)
    assert result.exit_code == 6
    assert "the trail ends at event 0" in result.stderr


def test_a_store_and_log_rolled_back_together_are_caught(demo: str, tmp_path: Path) -> None:
    key_file = keyed(demo, tmp_path)
    ok(demo, "assign", "workplace-safety", "eli")
    before = open_store(demo).read_audit()[0]  # the state a backup taken now would hold
    kept = tmp_path / "checkpoint.jws"
    ok(demo, "audit", "checkpoint", "--key", str(key_file), "-o", str(kept))
    _write_trail(demo, before)  # back to before the checkpoint: the store did not change since
    result = _verify_with(demo, key_file, kept)
    assert result.exit_code == 6
    assert "no longer recorded in the trail" in result.stderr


def test_a_replaced_public_key_with_checkpoints_signed_again_is_caught(demo: str, tmp_path: Path) -> None:
    key_file, kept = checkpointed(demo, tmp_path)
    forger = keys.load_private(_new_key(tmp_path / "forger.pem"))
    events = open_store(demo).read_audit()[0]
    for event in events:
        if event["action"] == audit.CHECKPOINT_ACTION:
            claims = keys.unverified_claims(event["details"]["checkpoint"])
            event["details"]["checkpoint"] = keys.sign(claims, forger, "JWT")
    org = json.loads(ok(demo, "org", "show", "--json").stdout)
    org = {key: value for key, value in org.items() if value and key in ("name", "url")}
    _write_trail(demo, _rechained(events), {"org": {**org, "key": forger.public}})
    assert json.loads(ok(demo, "org", "show", "--json").stdout)["key"]["kid"] == forger.public["kid"]
    result = _verify_with(demo, key_file, kept)
    assert result.exit_code == 6
    # A file store's trail is whole again: the kept key names the forged signature. A database
    # also finds its org settings changed without an event.
    assert "names another key" in result.stderr or "org row 'org' was edited" in result.stderr
    if not is_database(demo):
        assert "no longer recorded in the trail" in result.stderr


def _new_key(path: Path) -> Path:
    keys.write_private(path, keys.generate("rsa")[0])
    return path


# ---------------------------------------------------------------- database rows and standings


@pytest.fixture
def database(demo: str) -> str:
    if not is_database(demo):
        pytest.skip("a file store holds no rows: its whole content is hashed into each event")
    return demo


@pytest.mark.parametrize(
    "edit, named",
    [
        ("UPDATE users SET data = REPLACE(data, '\"learner\"', '\"admin\"') WHERE id = 'ana'",
         "users row 'ana' was edited without an audit event"),
        ("DELETE FROM enrollments WHERE user_id = 'ana' AND certification_id = 'workplace-safety'",
         "enrollments row 'ana/workplace-safety' was removed without an audit event"),
        ("INSERT INTO courses (id, position, data) VALUES ('x', 999, '{\"id\":\"x\",\"title\":\"X\"}')",
         "courses row 'x' was added without an audit event"),
    ],
)  # fmt: skip
def test_direct_row_edits_break_verify_without_a_checkpoint(database: str, edit: str, named: str) -> None:
    ok(database, "audit", "verify")
    with raw_database(database) as db:
        if "DELETE FROM enrollments" in edit:
            db.run("DELETE FROM standings WHERE user_id = 'ana' AND certification_id = 'workplace-safety'")
        db.run(edit)
    result = cli(database, "audit", "verify")
    assert result.exit_code == 6
    assert named in result.stderr
    assert named in cli(database, "doctor").stderr


def test_doctor_finds_edited_standings_and_repairs_them(database: str) -> None:
    with raw_database(database) as db:
        db.run("UPDATE standings SET status = 'completed', overdue = 0 WHERE user_id = 'ana'")
    found = cli(database, "doctor")
    assert found.exit_code == 6
    assert "standings rows of ana in security-awareness differ from what its facts give" in found.stderr
    verify = cli(database, "audit", "verify")
    assert verify.exit_code == 6 and "standings rows of ana in security-awareness differ" in verify.stderr
    assert cli(database, "doctor", "--repair", actor="ana").exit_code == 4
    repaired = json.loads(cli(database, "doctor", "--repair", "--json").stdout)
    checks = {check["check"]: check for check in repaired["checks"]}
    assert re.match(r"worked out again from the data what \d+ rows kept beside it", checks["repair"]["detail"])
    assert checks["standings"]["ok"]
    assert open_store(database).read_audit()[0][-1]["action"] == "doctor repair"
    assert ok(database, "audit", "verify").exit_code == 0
    again = json.loads(cli(database, "doctor", "--repair", "--json").stdout)
    assert next(c for c in again["checks"] if c["check"] == "repair")["detail"].startswith("nothing to repair")


def test_writes_on_a_broken_database_trail_are_refused(database: str) -> None:
    from backends import database_dump

    with raw_database(database) as db:
        (text,) = db.run("SELECT event FROM audit_events ORDER BY seq DESC LIMIT 1")[0]
        event = json.loads(text)
        event["actor"] = "someone-else"
        db.run("UPDATE audit_events SET event = ? WHERE seq = ?", (json.dumps(event), event["seq"]))
    before = database_dump(database)
    result = cli(database, "assign", "workplace-safety", "eli")
    assert result.exit_code == 6
    assert "audit trail broken" in result.stderr
    assert database_dump(database) == before


# ---------------------------------------------------------------- who acts


def test_as_defaults_to_certcli_user_then_to_the_login_name(demo_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ana")
    as_ana = cli(demo_store, "list", "--json", actor=None)
    assert as_ana.exit_code == 0 and as_ana.stdout == ok(demo_store, "list", "--json", actor="ana").stdout
    assert cli(demo_store, "user", "list", actor=None).exit_code == 4  # ana is a learner
    assert cli(demo_store, "user", "list", actor=None, env={"CERTCLI_USER": "root"}).exit_code == 0
    monkeypatch.setattr("getpass.getuser", lambda: "ana.smith")
    refused = cli(demo_store, "user", "list", actor=None)
    assert refused.exit_code == 4
    assert "--as USER or set CERTCLI_USER" in refused.stderr and "--login" in refused.stderr
    ok(demo_store, "user", "set", "root", "--login", "ana.smith")
    assert cli(demo_store, "user", "list", actor=None).exit_code == 0
    taken = cli(demo_store, "user", "set", "mia", "--login", "ana.smith")
    assert taken.exit_code == 5


# ---------------------------------------------------------------- signed badges


def _signed(store: str, folder: Path, cert: str, kind: str = "rsa", now: str = NOW) -> tuple[Path, Path]:
    key_file = keyed(store, folder, kind)
    badge = folder / f"{cert}.jws"
    ok(store, "badge", cert, "--sign", str(key_file), "-o", str(badge), actor="ana", now=now)
    return key_file, badge


@pytest.mark.parametrize(("kind", "algorithm"), [("rsa", "RS256"), ("ed25519", "EdDSA")])
def test_a_signed_badge_verifies_with_another_jose_library(
    demo_store: Path, tmp_path: Path, kind: str, algorithm: str
) -> None:
    _, badge = _signed(str(demo_store), tmp_path, "leadership-essentials", kind)
    token = badge.read_text().strip()
    public = json.loads(ok(demo_store, "org", "show", "--json").stdout)["key"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": "JWT", "kid": public["kid"]}
    verifier = jwt.PyJWK(public, algorithm).key
    claims = jwt.decode(token, verifier, algorithms=[algorithm], options={"verify_exp": False, "verify_nbf": False})
    assert claims["iss"] == claims["issuer"]["id"] == "https://acme.example"
    assert claims["jti"] == claims["id"]
    credential = {key: value for key, value in claims.items() if key not in ("iss", "jti", "nbf", "exp")}
    assert schema_errors(credential) == []
    assert schema_errors(claims) == []  # the payload as signed, claims and all
    assert "Valid:" in ok(demo_store, "badge", "verify", str(badge), actor="ana").stderr


def test_one_edited_byte_fails_badge_verify(demo_store: Path, tmp_path: Path) -> None:
    _, badge = _signed(str(demo_store), tmp_path, "leadership-essentials")
    header, payload, signature = badge.read_text().strip().split(".")
    edited = tmp_path / "edited.jws"
    flipped = payload[:40] + ("A" if payload[40] != "A" else "B") + payload[41:]
    edited.write_text(f"{header}.{flipped}.{signature}\n")
    result = cli(demo_store, "badge", "verify", str(edited), actor="ana")
    assert result.exit_code == 6
    assert "its signature does not match" in result.stderr


def test_an_expired_badge_fails_verify(demo_store: Path, tmp_path: Path) -> None:
    _, badge = _signed(str(demo_store), tmp_path, "compliance-annual", now="2026-03-01")
    assert ok(demo_store, "badge", "verify", str(badge), actor="ana", now="2026-08-01").exit_code == 0
    result = cli(demo_store, "badge", "verify", str(badge), actor="ana", now=NOW)
    assert result.exit_code == 6
    assert "it expired on 2026-09-01T00:00:00Z" in result.stderr


def test_a_revoked_badge_fails_verify(demo_store: Path, tmp_path: Path) -> None:
    _, badge = _signed(str(demo_store), tmp_path, "leadership-essentials")
    ok(demo_store, "revoke", "leadership-essentials", "ana", "--reason", "issued in error", now="2026-11-29")
    assert ok(demo_store, "badge", "verify", str(badge), actor="ana").exit_code == 0  # not yet on the 28th
    result = cli(demo_store, "badge", "verify", str(badge), actor="ana", now="2026-11-30")
    assert result.exit_code == 6
    assert "it was revoked on 2026-11-29: issued in error" in result.stderr


def test_a_badge_signed_by_a_key_the_organisation_never_had_fails_verify(demo_store: Path, tmp_path: Path) -> None:
    _, badge = _signed(str(demo_store), tmp_path, "leadership-essentials")
    stranger = keys.load_private(_new_key(tmp_path / "stranger.pem"))
    forged = tmp_path / "forged.jws"
    forged.write_text(keys.sign(keys.unverified_claims(badge.read_text().strip()), stranger, "JWT") + "\n")
    result = cli(demo_store, "badge", "verify", str(forged), actor="ana")
    assert result.exit_code == 6 and "names another key" in result.stderr


def test_signing_needs_the_organisations_key(demo_store: Path, tmp_path: Path) -> None:
    stranger = _new_key(tmp_path / "stranger.pem")
    result = cli(demo_store, "badge", "leadership-essentials", "--sign", str(stranger), actor="ana")
    assert result.exit_code == 6 and "not the organisation's signing key" in result.stderr


def _event(seq: int, rows: dict[str, dict[str, str | None]] | None) -> dict[str, Any]:
    return {"seq": seq, **({"rows": rows} if rows is not None else {})}


def test_row_digests_name_rows_changed_behind_the_trail() -> None:
    """Pure: each row against the latest event that wrote it; a table too large to list is left to the chain."""
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    whole = _event(1, {audit.WHOLE_STORE: {}, "users": {"ana": a, "ben": a}})
    assert audit.row_problems([whole], {("users", "ana"): a, ("users", "ben"): a}) == []
    assert audit.row_problems([whole, _event(2, {"users": {"ben": None}})], {("users", "ana"): a}) == []
    found = {("users", "ana"): b, ("users", "eve"): c}
    assert audit.row_problems([whole], found) == [
        "users row 'ana' was edited without an audit event (event 1 wrote it)",
        "users row 'eve' was added without an audit event",
        "users row 'ben' was removed without an audit event (event 1 wrote it)",
    ]
    unlisted = _event(2, {"users": {audit.UNLISTED: None}})
    assert audit.row_problems([whole, unlisted], found) == []
    assert audit.row_problems([whole, unlisted, _event(3, {"users": {"eve": a}})], found) == [
        "users row 'eve' was edited without an audit event (event 3 wrote it)"
    ]
    older = _event(1, None)  # before events recorded rows: rows never written since are not accounted for
    assert audit.row_problems([older, _event(2, {"users": {"ana": a}})], found) == [
        "users row 'ana' was edited without an audit event (event 2 wrote it)"
    ]


def test_no_checkpoint_is_signed_over_a_broken_trail(database: str, tmp_path: Path) -> None:
    key_file = keyed(database, tmp_path)
    with raw_database(database) as db:
        db.run("UPDATE users SET data = REPLACE(data, '\"learner\"', '\"admin\"') WHERE id = 'ana'")
    result = cli(database, "audit", "checkpoint", "--key", str(key_file), "-o", str(tmp_path / "cp.jws"))
    assert result.exit_code == 6 and "users row 'ana' was edited" in result.stderr
    assert not (tmp_path / "cp.jws").exists()
    assert audit.recorded_checkpoints(open_store(database).read_audit()[0]) == []


# ---------------------------------------------------------------- keys with a history


def _rotated(store: str, folder: Path) -> tuple[Path, Path, Path]:
    """A store whose key was rotated, with a kept checkpoint under each key and the public key saved
    before the rotation: (new key file, saved `org show --json` of the old key, folder of checkpoints)."""
    old_key, _ = checkpointed(store, folder)
    old_public = folder / "old-public.json"
    old_public.write_text(ok(store, "org", "show", "--json").stdout)
    newer = folder / "newer"
    newer.mkdir()
    new_key = keyed(store, newer)
    ok(store, "assign", "workplace-safety", "fatima")
    ok(store, "audit", "checkpoint", "--key", str(new_key), "-o", str(newer / "checkpoint.jws"))
    return new_key, old_public, newer


def test_after_a_rotation_checkpoints_signed_by_either_key_verify(demo: str, tmp_path: Path) -> None:
    new_key, old_public, newer = _rotated(demo, tmp_path)
    both = ["--checkpoint", str(tmp_path / "checkpoint.jws"), "--checkpoint", str(newer / "checkpoint.jws")]
    report = json.loads(ok(demo, "audit", "verify", *both, "--json").stdout)
    assert report["checkpoints"] == 2 and report["key"] == "store"
    org = json.loads(ok(demo, "org", "show", "--json").stdout)
    old_kid = json.loads(old_public.read_text())["key"]["kid"]
    assert [key["kid"] for key in org["retired_keys"]] == [old_kid] and org["key"]["kid"] != old_kid
    assert "retired: " + old_kid in ok(demo, "org", "show").stdout
    only_new = cli(demo, "audit", "verify", "--key", str(new_key))  # a key given replaces the store's
    assert only_new.exit_code == 6 and f"names another key ({old_kid}), none of the keys given" in only_new.stderr
    ok(demo, "audit", "verify", *both, "--key", str(old_public), "--key", str(new_key))
    saved = tmp_path / "public.json"
    saved.write_text(ok(demo, "org", "show", "--json").stdout)  # the saved settings hold every key
    assert "2 checkpoint(s) verified with the keys given" in ok(demo, "audit", "verify", "--key", str(saved)).stderr


def test_keygen_says_the_replaced_key_still_verifies(demo_store: Path, tmp_path: Path) -> None:
    keyed(str(demo_store), tmp_path)
    newer = tmp_path / "newer"
    newer.mkdir()
    told = ok(demo_store, "org", "keygen", "-o", str(newer / "k.pem")).stderr
    assert "kept as retired and still verifies" in told and "only with --key" not in told


def test_a_badge_signed_before_a_rotation_still_verifies(demo: str, tmp_path: Path) -> None:
    old_key, badge = _signed(demo, tmp_path, "leadership-essentials")
    old_public = tmp_path / "old-public.json"
    old_public.write_text(ok(demo, "org", "show", "--json").stdout)
    newer = tmp_path / "newer"
    newer.mkdir()
    new_key = keyed(demo, newer)
    assert "retired key" in ok(demo, "badge", "verify", str(badge), actor="ana").stderr
    checked = json.loads(ok(demo, "badge", "verify", str(badge), "--key", str(old_public), "--json").stdout)
    assert checked["valid"] and checked["kid"] == json.loads(old_public.read_text())["key"]["kid"]
    other = cli(demo, "badge", "verify", str(badge), "--key", str(new_key), actor="ana")
    assert other.exit_code == 6 and "none of the keys given" in other.stderr
    refused = cli(demo, "badge", "leadership-essentials", "--sign", str(old_key), actor="ana")
    assert refused.exit_code == 6  # a retired key verifies what it signed, and signs nothing more


def test_migrate_keeps_every_key_of_the_organisation(demo: str, tmp_path: Path) -> None:
    _rotated(demo, tmp_path)
    kept = json.loads(ok(demo, "org", "show", "--json").stdout)
    for target in (tmp_path / "copy.toml", tmp_path / "copy.db"):
        ok(demo, "migrate", "--to", str(target))
        copy = json.loads(ok(target, "org", "show", "--json").stdout)
        assert (copy["key"], copy["retired_keys"]) == (kept["key"], kept["retired_keys"])
        assert json.loads(ok(target, "audit", "verify", "--json").stdout)["checkpoints"] == 2


def _unsupported_jwk(kind: str) -> dict[str, Any]:
    from joserfc.jwk import ECKey, OctKey, OKPKey

    made = {"EC": lambda: ECKey.generate_key("P-256"), "oct": lambda: OctKey.generate_key(256),
            "X25519": lambda: OKPKey.generate_key("X25519")}[kind]()  # fmt: skip
    return dict(made.as_dict(private=False))


@pytest.mark.parametrize("kind", ["EC", "oct", "X25519"])
def test_a_key_of_a_type_certcli_does_not_use_is_a_usage_error(demo_store: Path, tmp_path: Path, kind: str) -> None:
    _, badge = _signed(str(demo_store), tmp_path, "leadership-essentials")
    given = tmp_path / "given.json"
    given.write_text(json.dumps(_unsupported_jwk(kind)))
    for command in (["audit", "verify"], ["badge", "verify", str(badge)]):
        result = cli(demo_store, *command, "--key", str(given))
        assert result.exit_code == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert errors == [f"error: {given} holds a key of type {kind if kind != 'X25519' else 'OKP (X25519)'}, "
                          "which certcli does not sign or verify with"]  # fmt: skip


def test_a_store_key_of_a_type_certcli_does_not_use_is_named(demo_store: Path, tmp_path: Path) -> None:
    checkpointed(str(demo_store), tmp_path)
    org = document_to_data(open_store(demo_store).read())["org"]
    org["key"] = {**_unsupported_jwk("EC"), "kid": org["key"]["kid"]}  # edited by someone who can write the store
    org["retired_keys"] = [{**_unsupported_jwk("oct"), "kid": "urn:old"}]
    _write_trail(str(demo_store), open_store(demo_store).read_audit()[0], {"org": org})
    assert "retired: urn:old (-)" in ok(demo_store, "org", "show").stdout
    result = cli(demo_store, "audit", "verify")
    assert result.exit_code == 6 and "is of type EC, which certcli cannot check" in result.stderr


def test_a_key_added_to_the_retired_ones_with_checkpoints_signed_again_is_caught(demo: str, tmp_path: Path) -> None:
    key_file, kept = checkpointed(demo, tmp_path)
    forger = keys.load_private(_new_key(tmp_path / "forger.pem"))
    events = open_store(demo).read_audit()[0]
    for event in events:
        if event["action"] == audit.CHECKPOINT_ACTION:
            claims = keys.unverified_claims(event["details"]["checkpoint"])
            event["details"]["checkpoint"] = keys.sign(claims, forger, "JWT")
    org = document_to_data(open_store(demo).read())["org"]
    _write_trail(demo, _rechained(events), {"org": {**org, "retired_keys": [forger.public]}})
    result = _verify_with(demo, key_file, kept)
    assert result.exit_code == 6
    assert f"names another key ({forger.public['kid']}), none of the keys given" in result.stderr or (
        "org row 'org' was edited" in result.stderr
    )
