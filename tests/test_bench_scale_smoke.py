"""The scale benchmark's generator and runner work end to end on a tiny organisation; timings are not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERATE = ROOT / "bench" / "generate_org.py"
SCALE = ROOT / "bench" / "scale.py"
NOW = "2026-11-28"
STATUSES = ("enrolled", "started", "pending_approval", "rejected", "completed", "expired", "revoked")


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CERTCLI_")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def generate(folder: Path, name: str) -> tuple[Path, dict[str, Any]]:
    store, manifest = folder / f"{name}.json", folder / f"{name}.manifest.json"
    done = run(
        sys.executable,
        str(GENERATE),
        "--enrollments",
        "600",
        "--seed",
        "7",
        "-o",
        str(store),
        "--manifest",
        str(manifest),
    )
    assert done.returncode == 0, done.stderr
    return store, json.loads(manifest.read_text())


def report_summary(certcli_exe: str, store: Path) -> list[dict[str, Any]]:
    help_text = run(certcli_exe, "report", "--help").stdout
    as_json = ["--json"] if "--json" in help_text else ["--format", "json"]
    done = run(certcli_exe, "--store", str(store), "--as", "admin", "--now", NOW, "report", "--summary", *as_json)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def has_migrate(certcli_exe: str) -> bool:
    return run(certcli_exe, "migrate", "--help").returncode == 0


def test_the_generated_organisation_loads_and_shows_every_status(tmp_path: Path, certcli_exe: str) -> None:
    store, manifest = generate(tmp_path, "org")
    again, _ = generate(tmp_path, "again")

    assert store.read_bytes() == again.read_bytes()  # the same seed makes the same store
    data = json.loads(store.read_text())
    users = {user["id"]: user for user in data["users"]}
    assert users["admin"]["role"] == "admin"
    assert users["u000042"]["email"] == "u000042@example-corp.com"
    assert {user["role"] for user in users.values()} == {"admin", "manager", "learner"}
    assert {cert["kind"] for cert in data["certifications"]} == {"internal", "external"}
    per_learner = set(_enrollments_per_learner(data).values())
    assert per_learner == {manifest["enrollments"] // manifest["learners"]}
    summary = report_summary(certcli_exe, store)
    assert sum(item["learners"] for item in summary) == 600
    for status in STATUSES:
        assert sum(item["by_status"][status] for item in summary) > 0, status


def _enrollments_per_learner(data: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for enrollment in data["enrollments"]:
        counts[enrollment["user"]] = counts.get(enrollment["user"], 0) + 1
    return counts


def test_one_run_of_a_tiny_size_reports_every_command(tmp_path: Path, certcli_exe: str) -> None:
    backends = ["json", "sqlite"] if has_migrate(certcli_exe) else ["json"]
    work, results = tmp_path / "work", tmp_path / "results"
    argv = ["--sizes", "300", "--runs", "1", "--backends", ",".join(backends), "--no-plot"]
    done = run(sys.executable, str(SCALE), *argv, "--work-dir", str(work), "--results-dir", str(results))

    assert done.returncode in (0, 1), done.stderr
    report = json.loads((results / "scale.json").read_text())
    (size,) = report["sizes"]
    assert size["enrollments"] == 300 and size["floor_ms"] > 0
    timed = {(p["command"], p["backend"], p["tool"]): p for p in size["processes"]}
    for backend in backends:
        for command in ("list", "show", "complete", "report"):
            process = timed[(command, backend, "certcli")]
            assert process["problem"] is None and process["median_ms"] > 0, process
    assert ("list", "json", "jq") in timed
    markdown = (results / "scale.md").read_text()
    assert "| 300 ms" in markdown and "## Budgets" in markdown
    assert "certcli complete CERT COURSE" in done.stdout
    assert_each_complete_run_completed_a_new_course(work / "size-300", certcli_exe)


def course_status(certcli_exe: str, store: Path, pick: dict[str, str]) -> str:
    globals_ = ["--store", str(store), "--as", pick["user"], "--now", NOW]
    shown = run(certcli_exe, *globals_, "show", pick["certification"], "--json")
    assert shown.returncode == 0, shown.stderr
    return next(c["status"] for c in json.loads(shown.stdout)["courses"] if c["id"] == pick["course"])


def assert_each_complete_run_completed_a_new_course(folder: Path, certcli_exe: str) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    picks = [pick for pick in manifest["pending"] if pick["user"] != manifest["sample_learner"]]
    store = folder / "json" / "store.json"
    # The checked first run and the timed one each completed the next pending course; the third is untouched.
    assert [course_status(certcli_exe, store, pick) for pick in picks[:3]] == ["completed", "completed", "not_started"]


def test_sizes_out_of_range_are_a_usage_error() -> None:
    done = run(sys.executable, str(SCALE), "--sizes", "0")

    assert done.returncode == 2
    assert "--sizes" in done.stderr
