"""Startup benchmark: certcli commands against the cost of importing the libraries they must use.

Each certcli command is timed as a whole process and compared with a baseline process that only
imports what that command cannot do without (typer; plus tabulate when a table is drawn). Commands
and baselines run interleaved in the same run: a warm-up round, then rounds in which every process
runs once, in a shuffled order. The ratio of the medians must stay within the budget.

    python bench/run.py [--runs N] [--json]

Exit status: 0 within budget, 1 over budget, 2 when the benchmark itself cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = "fixtures/acme.toml"
DEFAULT_ACTOR = "ana"
DEFAULT_NOW = "2026-11-28"
DEFAULT_RUNS = 15
RELIABLE_RUNS = 10
BUDGET = 1.25
GLOBALS_MARK = "…"
COLUMN_ALIGNMENT = ("left", "left", "right", "right", "right", "right", "left")


class BenchError(Exception):
    """The benchmark cannot produce figures (missing install, missing store, a failing command)."""


@dataclass(frozen=True)
class Process:
    """One timed process: `label` is what the table shows, `argv` what runs."""

    label: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    command: Process
    baseline: Process
    budget: float = BUDGET


@dataclass(frozen=True)
class Result:
    pair: Pair
    command_ms: float
    baseline_ms: float

    @property
    def ratio(self) -> float:
        return self.command_ms / self.baseline_ms

    @property
    def ok(self) -> bool:
        return self.ratio <= self.pair.budget


# ---------------------------------------------------------------- set-up


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=positive_int, default=DEFAULT_RUNS, help=f"timed rounds (default {DEFAULT_RUNS})"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"store to read (default {DEFAULT_STORE})")
    parser.add_argument("--as", dest="actor", default=DEFAULT_ACTOR, help=f"acting user (default {DEFAULT_ACTOR})")
    parser.add_argument("--now", default=DEFAULT_NOW, help=f"evaluation time (default {DEFAULT_NOW})")
    parser.add_argument("--cert", help="certification for `show` (default: the first one the user is enrolled in)")
    return parser.parse_args(argv)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number ≥ 1")
    return value


def process_environment() -> dict[str, str]:
    """One environment for every process: no colour, no certcli settings, bytecode caches written."""
    env = dict(os.environ, NO_COLOR="1")
    for name in list(env):
        if name.startswith("CERTCLI_") or name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME"):
            del env[name]
    return env


def certcli_executable() -> Path:
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install certcli into this interpreter (pip install -e .)")
    return exe


def run_checked(argv: tuple[str, ...], env: dict[str, str]) -> str:
    """Run once, capturing output; a failing process makes the benchmark meaningless."""
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shown = " ".join(argv)
        raise BenchError(f"`{shown}` exited {done.returncode}:\n{done.stderr.strip()}")
    return done.stdout


def enrolled_certification(exe: Path, options: tuple[str, ...], env: dict[str, str]) -> str:
    items = json.loads(run_checked((str(exe), *options, "list", "--json"), env))
    enrolled = [item["id"] for item in items if item.get("status") is not None]
    if not enrolled:
        raise BenchError(f"`{exe.name} {' '.join(options)} list` shows no enrollment to `show`")
    return enrolled[0]


def baseline(modules: str) -> Process:
    return Process(f'python -c "import {modules}"', (sys.executable, "-c", f"import {modules}"))


def build_pairs(args: argparse.Namespace, env: dict[str, str]) -> list[Pair]:
    if not (ROOT / args.store).is_file():
        raise BenchError(f"store {args.store} not found (relative to {ROOT})")
    exe = certcli_executable()
    options = ("--store", args.store, "--as", args.actor, "--now", args.now)
    cert = args.cert or enrolled_certification(exe, options, env)

    def certcli(*words: str, with_options: bool = True) -> Process:
        shown = ("certcli", GLOBALS_MARK, *words) if with_options else ("certcli", *words)
        argv = (str(exe), *options, *words) if with_options else (str(exe), *words)
        return Process(" ".join(shown), argv)

    typer_only, with_tables = baseline("typer"), baseline("typer, tabulate")
    return [
        Pair(certcli("--version", with_options=False), typer_only),
        Pair(certcli("list", "--json"), typer_only),
        Pair(certcli("list"), with_tables),
        Pair(certcli("show", cert), with_tables),
    ]


# ---------------------------------------------------------------- timing


def time_once(process: Process, env: dict[str, str]) -> float:
    """Seconds for one whole process, output discarded."""
    start = time.perf_counter()
    done = subprocess.run(
        process.argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(process.argv)}` exited {done.returncode} during timing")
    return elapsed


def unique_processes(pairs: list[Pair]) -> list[Process]:
    found: dict[tuple[str, ...], Process] = {}
    for pair in pairs:
        for process in (pair.command, pair.baseline):
            found.setdefault(process.argv, process)
    return list(found.values())


def measure(processes: list[Process], runs: int, env: dict[str, str]) -> dict[tuple[str, ...], list[float]]:
    """A checked warm-up round, then `runs` rounds running every process once in a shuffled order."""
    order = list(processes)
    random.shuffle(order)
    for process in order:
        run_checked(process.argv, env)
    samples: dict[tuple[str, ...], list[float]] = {process.argv: [] for process in processes}
    for _ in range(runs):
        random.shuffle(order)
        for process in order:
            samples[process.argv].append(time_once(process, env))
    return samples


def summarise(pairs: list[Pair], samples: dict[tuple[str, ...], list[float]]) -> list[Result]:
    def median_ms(process: Process) -> float:
        return statistics.median(samples[process.argv]) * 1000

    return [Result(pair, median_ms(pair.command), median_ms(pair.baseline)) for pair in pairs]


# ---------------------------------------------------------------- output


def as_json(results: list[Result], args: argparse.Namespace) -> str:
    document: dict[str, Any] = {
        "runs": args.runs,
        "python": platform.python_version(),
        "store": args.store,
        "pairs": [
            {
                "command": " ".join(["certcli", *result.pair.command.argv[1:]]),
                "baseline": result.pair.baseline.label,
                "command_ms": round(result.command_ms, 2),
                "baseline_ms": round(result.baseline_ms, 2),
                "ratio": round(result.ratio, 3),
                "budget": result.pair.budget,
                "ok": result.ok,
            }
            for result in results
        ],
        "ok": all(result.ok for result in results),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def as_table(results: list[Result], args: argparse.Namespace) -> str:
    headers = ["command", "baseline", "command ms", "baseline ms", "ratio", "budget", "verdict"]
    rows = [
        [
            result.pair.command.label,
            result.pair.baseline.label,
            f"{result.command_ms:.1f}",
            f"{result.baseline_ms:.1f}",
            f"{result.ratio:.2f}",
            f"{result.pair.budget:.2f}",
            "ok" if result.ok else "FAIL",
        ]
        for result in results
    ]
    title = f"certcli startup: median of {args.runs} interleaved runs, Python {platform.python_version()}"
    legend = f"{GLOBALS_MARK} = --store {args.store} --as {args.actor} --now {args.now}"
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True, colalign=COLUMN_ALIGNMENT)
    return f"{title}\n{legend}\n\n{table}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = process_environment()
    try:
        pairs = build_pairs(args, env)
        results = summarise(pairs, measure(unique_processes(pairs), args.runs, env))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.runs < RELIABLE_RUNS:
        print(f"note: fewer than {RELIABLE_RUNS} runs; the verdict is only indicative", file=sys.stderr)
    print(as_json(results, args) if args.json else as_table(results, args))
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
