"""The startup benchmark runs and reports its four pairs; timings themselves are not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "run.py"
GLOBALS = "--store fixtures/acme.toml --as ana --now 2026-11-28"
TYPER = 'python -c "import typer"'
TYPER_TABULATE = 'python -c "import typer, tabulate"'


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def enrolled_certifications(certcli_exe: str) -> set[str]:
    listing = subprocess.run(
        [certcli_exe, *GLOBALS.split(), "list", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {item["id"] for item in json.loads(listing.stdout) if item["status"] is not None}


def test_one_run_reports_the_four_pairs_with_figures(certcli_exe: str) -> None:
    done = run_bench("--runs", "1", "--json")

    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    pairs = report["pairs"]
    assert [(pair["command"].split(" show ")[0], pair["baseline"]) for pair in pairs] == [
        ("certcli --version", TYPER),
        (f"certcli {GLOBALS} list --json", TYPER),
        (f"certcli {GLOBALS} list", TYPER_TABULATE),
        (f"certcli {GLOBALS}", TYPER_TABULATE),
    ]
    shown = pairs[3]["command"].removeprefix(f"certcli {GLOBALS} show ")
    assert shown in enrolled_certifications(certcli_exe)
    for pair in pairs:
        assert pair["command_ms"] > 0 and pair["baseline_ms"] > 0
        assert abs(pair["ratio"] - pair["command_ms"] / pair["baseline_ms"]) < 0.01
        assert pair["budget"] == 1.25
        assert pair["ok"] is (pair["ratio"] <= pair["budget"])
    assert report["runs"] == 1
    assert report["ok"] is all(pair["ok"] for pair in pairs)
    assert done.returncode == (0 if report["ok"] else 1)


def test_fewer_than_one_run_is_a_usage_error() -> None:
    done = run_bench("--runs", "0")

    assert done.returncode == 2
    assert "--runs" in done.stderr
    assert done.stdout == ""


def test_the_migrate_benchmark_copies_each_way_and_writes_its_results(tmp_path: Path) -> None:
    """At a small size: JSON → SQLite always, SQLite ⇄ PostgreSQL where a server is set."""
    from backends import postgres_url

    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "migrate.py"), "--sizes", "2000", "--work", str(tmp_path / "work"),
         "--results", str(tmp_path / "results")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results" / "migrate.json").read_text())["results"]
    routes = [row["route"] for row in results]
    expected = ["JSON → SQLite"] + (["SQLite → PostgreSQL", "PostgreSQL → SQLite"] if postgres_url() else [])
    assert routes == expected
    assert all(row["seconds"] > 0 and row["peak_mb"] > 0 for row in results)
    assert "python bench/migrate.py --sizes 2000" in (tmp_path / "results" / "migrate.md").read_text()
