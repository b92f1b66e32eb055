"""`certcli export` writes what the rules mean: every course's effective `mandatory` flag (a certification
with none marked requires them all, as `show` lists them), and `apply` of that file changes nothing."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from typer.testing import CliRunner, Result

from certcli.cli import app

NOW = "2026-11-28"
NONE_MARKED = ("security-awareness", "compliance-annual", "cloud-foundations", "first-aid-at-work")
runner = CliRunner()


def run(store: Path, *args: str, actor: str = "root") -> Result:
    result = runner.invoke(app, ["--store", str(store), "--as", actor, "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def exported(store: Path, target: Path) -> str:
    result = run(store, "export", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    return target.read_text(encoding="utf-8")


def flags(text: str) -> dict[str, list[bool]]:
    """Each certification's `mandatory` flags as written (the store leaves out a false one)."""
    certs = tomllib.loads(text)["certifications"]
    return {cert["id"]: [ref.get("mandatory", False) for ref in cert.get("courses", [])] for cert in certs}


def shown_flags(store: Path, cert: str) -> list[bool]:
    result = run(store, "show", cert, "--json")
    assert result.exit_code == 0, result.stderr
    return [course["mandatory"] for course in json.loads(result.stdout)["courses"]]


def test_a_certification_with_no_course_marked_is_exported_with_all_mandatory(demo_store: Path, tmp_path: Path) -> None:
    stored = flags(demo_store.read_text(encoding="utf-8"))
    assert all(not any(stored[cert]) for cert in NONE_MARKED)  # the demo marks none of their courses
    written = flags(exported(demo_store, tmp_path / "defs.toml"))
    for cert in NONE_MARKED:
        assert written[cert] == [True] * len(stored[cert]) == shown_flags(demo_store, cert)
    assert written["leadership-essentials"] == [True, True, False, False]  # some marked: as written
    assert written["leadership-essentials"] == shown_flags(demo_store, "leadership-essentials")


def test_applying_the_export_to_its_store_changes_nothing(demo_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "defs.toml"
    exported(demo_store, path)
    before = demo_store.read_bytes()
    plan = run(demo_store, "apply", "-f", str(path), "--dry-run", "--json")
    assert plan.exit_code == 0, plan.stderr
    assert json.loads(plan.stdout)["changed"] is False
    applied = run(demo_store, "apply", "-f", str(path))
    assert applied.exit_code == 0, applied.stderr
    assert applied.stderr.startswith("No changes: the store already matches")
    assert demo_store.read_bytes() == before


def test_export_apply_export_round_trip_keeps_the_meaning(demo_store: Path, tmp_path: Path) -> None:
    first = exported(demo_store, tmp_path / "first.toml")
    fresh = tmp_path / "fresh.toml"
    assert run(fresh, "init", "--admin", "root").exit_code == 0
    assert run(fresh, "apply", "-f", str(tmp_path / "first.toml")).exit_code == 0
    assert exported(fresh, tmp_path / "second.toml") == first
    for cert in NONE_MARKED:
        assert shown_flags(fresh, cert) == shown_flags(demo_store, cert)
    again = run(fresh, "apply", "-f", str(tmp_path / "second.toml"))
    assert again.stderr.startswith("No changes: the store already matches"), again.stderr


def test_a_file_marking_courses_differently_still_updates_them(demo_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "defs.toml"
    text = exported(demo_store, path)
    one_optional = text.replace('{ id = "incident", mandatory = true }', '{ id = "incident", mandatory = false }')
    assert one_optional != text
    path.write_text(one_optional, encoding="utf-8")
    applied = run(demo_store, "apply", "-f", str(path), "--json")
    assert applied.exit_code == 0, applied.stderr
    assert json.loads(applied.stdout)["certifications"]["updated"] == {"security-awareness": ["courses"]}
    assert shown_flags(demo_store, "security-awareness") == [True, True, True, False]
