"""The import memory benchmark runs end to end on small files; its memory figures are not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_memory_benchmark_reports_every_size() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CERTCLI_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_invalid.py"), "--rows", "600", "--rows", "300", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert [(run["rows"], run["refused"], run["shown"]) for run in runs] == [(300, 300, 200), (600, 600, 200)]
    assert all(run["peak_mb"] > 0 for run in runs)
