"""The reminder benchmark runs end to end on a small organisation; its timings are not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_small_run_reports_what_the_server_received() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CERTCLI_")}
    argv = [sys.executable, str(ROOT / "bench" / "remind.py"), "--learners", "60", "--enrollments", "150", "--json"]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["messages"] > 0 and figures["reminders"] >= figures["messages"]
    assert figures["messages_per_second"] > 0 and figures["second_run_seconds"] > 0
