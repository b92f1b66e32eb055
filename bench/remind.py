"""Benchmark: `certcli remind` on a SQLite store of 10,000 learners, against a local SMTP server.

Builds the synthetic organisation (`bench/generate_org.py`: 10,000 learners, their managers, 30,000
enrollments of every status as of 2026-11-28) as JSON, copies it into SQLite with `certcli migrate`,
sets the sender's address, starts an SMTP server (aiosmtpd) on 127.0.0.1 that accepts every message,
then times the installed `certcli remind` as a whole process: the first run, which sends every reminder
due, and a second run at the same `--now`, which must send nothing. Messages per second is the messages
the server received over the first run's time: each one sent, and recorded under the store's lock.

    python bench/remind.py [--learners N] [--enrollments N] [--now DATE] [--json]

Exit status: 0 with figures, 2 when the benchmark cannot run (certcli or aiosmtpd missing, a run failing,
the server receiving other than what `remind` reports).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "admin"
SENDER = "certcli@example-corp.com"


class BenchError(Exception):
    """The benchmark cannot produce figures."""


class Counting:
    """An SMTP handler that accepts every message and counts them and their recipients."""

    def __init__(self) -> None:
        self.messages = 0
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        self.recipients += envelope.rcpt_tos
        return "250 Message accepted"


def certcli_exe() -> str:
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        raise BenchError("certcli is not installed next to this Python: pip install -e '.[test]'")
    return str(exe)


def environment(smtp_url: str | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CERTCLI_")}
    env.update({"NO_COLOR": "1", "CERTCLI_LOCK_TIMEOUT": "120"})
    if smtp_url is not None:
        env["CERTCLI_SMTP_URL"] = smtp_url
    return env


def run(argv: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run a process; its stdout and the seconds it took."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(argv)}` exited {done.returncode}:\n{done.stderr.strip()[-2000:]}")
    return done.stdout, seconds


def build_store(folder: Path, learners: int, enrollments: int) -> Path:
    """The synthetic organisation as a SQLite store, with the sender's address set."""
    source, store = folder / "org.json", folder / "org.db"
    generate = [sys.executable, str(ROOT / "bench" / "generate_org.py"), "-o", str(source)]
    run([*generate, "--learners", str(learners), "--enrollments", str(enrollments)], environment())
    exe = certcli_exe()
    run([exe, "--store", str(source), "--as", ADMIN, "migrate", "--to", str(store)], environment())
    run([exe, "--store", str(store), "--as", ADMIN, "org", "set", "--mail-from", SENDER], environment())
    return store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(store: Path, now: str) -> dict[str, Any]:
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        raise BenchError("aiosmtpd is not installed: pip install -e '.[test]'") from None
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        argv = [certcli_exe(), "--store", str(store), "--as", ADMIN, "--now", now, "remind", "--json"]
        env = environment(f"smtp://127.0.0.1:{port}")
        first_out, first_seconds = run(argv, env)
        received = handler.messages
        again_out, again_seconds = run(argv, env)
    finally:
        controller.stop()
    first, again = json.loads(first_out), json.loads(again_out)
    if received != len(first["sent"]) or first["failed"] or handler.messages != received or again["sent"]:
        raise BenchError(
            f"the server received {received} then {handler.messages - received} messages; the runs reported "
            f"{len(first['sent'])} sent ({len(first['failed'])} failed), then {len(again['sent'])}"
        )
    reminders = sum(len(message["reminders"]) for message in first["sent"])
    return {
        "messages": received,
        "reminders": reminders,
        "skipped": len(first["skipped"]),
        "first_run_seconds": round(first_seconds, 2),
        "messages_per_second": round(received / first_seconds, 1),
        "second_run_seconds": round(again_seconds, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--enrollments", type=int, default=30_000)
    parser.add_argument("--now", default="2026-11-28", help="the --now of both runs (the generator's day)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    options = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="certcli-remind-") as folder:
            start = time.perf_counter()
            store = build_store(Path(folder), options.learners, options.enrollments)
            built = time.perf_counter() - start
            figures = measure(store, options.now)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = {
        "store": f"SQLite, {options.learners} learners, {options.enrollments} enrollments (built in {built:.0f} s)",
        "now": options.now,
        **figures,
        "machine": f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs",
    }
    if options.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:>20}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
