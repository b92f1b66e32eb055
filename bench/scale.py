"""Scale benchmark: certcli's commands on stores of 10k, 100k and 1M enrollments, per store backend.

For each size it generates a synthetic organisation (bench/generate_org.py, cached in the work
folder), makes one store per backend from it (JSON, and with `certcli migrate --to`: TOML, SQLite
`PATH.db`, PostgreSQL when CERTCLI_BENCH_POSTGRES_URL or CERTCLI_TEST_POSTGRES_URL is set), then
times whole processes, interleaved:

    certcli --store S --as LEARNER --now 2026-11-28 list --json
    certcli --store S --as LEARNER --now 2026-11-28 show CERT --json
    certcli --store S --as LEARNER2 --now 2026-11-28 complete CERT2 COURSE   (another learner each run)
    certcli --store S --as admin --now 2026-11-28 report --summary --json
    shell completion of `certcli --store S --as LEARNER show <TAB>` (the certification ids)

beside the startup floor (`python -c "import typer"`) and the same `list` question answered by
`jq` on the JSON store and by the `sqlite3` shell on the SQLite store.

    python bench/scale.py [--sizes 10000,100000,1000000] [--runs N] [--backends json,toml,sqlite,postgresql]

Prints the table and the budgets' verdicts, and writes bench/results/scale.md, scale.json and
scale.png. Exit status: 0 every measured budget met, 1 a budget missed, 2 the benchmark could not
run or a certcli command failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import generate_org
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = ROOT / "bench" / ".scale"
DEFAULT_RESULTS = ROOT / "bench" / "results"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_RUNS = 5
SEED = 20261128
NOW = generate_org.NOW.isoformat()
ADMIN = generate_org.ADMIN
BACKENDS = ("json", "toml", "sqlite", "postgresql")
MIGRATED = ("toml", "sqlite", "postgresql")
# TOML is parsed by pure Python: past this size one command takes minutes, so TOML is measured
# there only when --backends names it.
TOML_LIMIT = 100_000
QUICK_SECONDS = 5.0  # a first run at most this long: --runs timed runs
SLOW_SECONDS = 60.0  # longer: SLOW_RUNS timed runs; longer still: the first run is the only sample
SLOW_RUNS = 3
POSTGRES_VARIABLES = ("CERTCLI_BENCH_POSTGRES_URL", "CERTCLI_TEST_POSTGRES_URL")
FLOOR = 'python -c "import typer"'
COMMAND_LABELS = {
    "list": "certcli list --json",
    "show": "certcli show CERT --json",
    "complete": "certcli complete CERT COURSE",
    "report": "certcli report --summary --json",
    "tab": "certcli show <TAB> (completion)",
}
SQLITE_LIST = (
    "SELECT e.certification_id, json_extract(c.data, '$.title'), e.facts FROM enrollments e "
    "JOIN certifications c ON c.id = e.certification_id WHERE e.user_id = '{user}'"
)
JQ_LIST = "[.enrollments[] | select(.user == $user) | {certification, facts}]"
BUDGETS = (
    # (what, command, backend, limit, unit): unit "floor" is a ratio to the startup floor,
    # "ms" an absolute time, "sqlite" a ratio to the same command on SQLite.
    ("list ≤ 1.5× floor on SQLite", "list", "sqlite", 1.5, "floor"),
    ("show ≤ 1.5× floor on SQLite", "show", "sqlite", 1.5, "floor"),
    ("complete ≤ 2× floor on SQLite", "complete", "sqlite", 2.0, "floor"),
    ("report --summary ≤ 5 s on SQLite", "report", "sqlite", 5000.0, "ms"),
    ("show <TAB> ≤ 1.5× floor on SQLite", "tab", "sqlite", 1.5, "floor"),
    ("list on PostgreSQL ≤ 2× list on SQLite", "list", "postgresql", 2.0, "sqlite"),
)


class BenchError(Exception):
    """The benchmark cannot produce figures."""


@dataclass
class Job:
    """One process to time, run after run; `argv(n)` gives the n-th run's command (0: the checked first)."""

    command: str  # floor | list | show | complete | report | tab
    backend: str  # json | toml | sqlite | postgresql, or "" for the floor
    tool: str  # certcli | python | jq | sqlite3
    argv: Callable[[int], list[str]]
    check: Callable[[subprocess.CompletedProcess[str]], str | None]
    samples: list[float] = field(default_factory=list)
    target: int = 0
    problem: str | None = None

    @property
    def label(self) -> str:
        if self.tool == "python":
            return FLOOR
        if self.tool != "certcli":
            return f"{self.tool} (the list question)"
        return COMMAND_LABELS[self.command]

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.samples) * 1000 if self.samples else None


@dataclass
class Backend:
    name: str
    store: str  # what --store gets
    folder: Path  # what it owns on disk (empty for PostgreSQL)
    schema: str = ""  # PostgreSQL only
    admin_url: str = ""  # PostgreSQL only: the URL without the schema


# ---------------------------------------------------------------- options and environment


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=DEFAULT_SIZES, help="enrollments per store, comma-separated")
    parser.add_argument("--runs", type=positive, default=DEFAULT_RUNS, help=f"timed runs (default {DEFAULT_RUNS})")
    parser.add_argument("--backends", type=backend_names, help=f"comma-separated, of {', '.join(BACKENDS)}")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="generated stores (cached)")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where scale.md/json/png go")
    parser.add_argument("--rebuild", action="store_true", help="make every backend's store again")
    parser.add_argument("--no-plot", action="store_true", help="skip scale.png")
    return parser.parse_args(argv)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number ≥ 1")
    return value


def sizes(text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of whole numbers") from None
    if not values or not all(1 <= value <= generate_org.MAX_ENROLLMENTS for value in values):
        raise argparse.ArgumentTypeError(f"sizes run from 1 to {generate_org.MAX_ENROLLMENTS:,} enrollments")
    return values


def backend_names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown backend {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    return names


def size_label(enrollments: int) -> str:
    if enrollments % 1_000_000 == 0:
        return f"{enrollments // 1_000_000}M"
    if enrollments % 1000 == 0:
        return f"{enrollments // 1000}k"
    return str(enrollments)


def process_environment(work: Path) -> dict[str, str]:
    """No colour, no certcli settings but a TOML parse cache of its own, bytecode caches written."""
    env = dict(os.environ, NO_COLOR="1")
    for name in list(env):
        if name.startswith("CERTCLI_") or name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME"):
            del env[name]
    env["CERTCLI_CACHE_DIR"] = str(work / "parse-cache")
    return env


def certcli_executable() -> str:
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install certcli into this interpreter (pip install -e .)")
    return str(exe)


def run_checked(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(argv)}` exited {done.returncode}:\n{done.stderr.strip()[-2000:]}")
    return done.stdout


def has_command(exe: str, words: list[str], env: dict[str, str]) -> str | None:
    """The command's help, or None when certcli has no such command."""
    done = subprocess.run([exe, *words, "--help"], capture_output=True, text=True, env=env, check=False)
    return done.stdout if done.returncode == 0 else None


def postgres_url() -> str | None:
    return next((os.environ[name] for name in POSTGRES_VARIABLES if os.environ.get(name)), None)


# ---------------------------------------------------------------- the organisation and its stores


def ensure_org(folder: Path, enrollments: int) -> dict[str, Any]:
    """The generated organisation for this size: made again when the generator or its options changed."""
    shape = generate_org.default_shape(enrollments, None, None, SEED)
    source = Path(generate_org.__file__).read_bytes()
    stamp = {"generator": hashlib.sha256(source).hexdigest(), "shape": shape.__dict__}
    stamp_path, manifest_path = folder / "stamp.json", folder / "manifest.json"
    if stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp and manifest_path.exists():
        return dict(json.loads(manifest_path.read_text()))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    print(f"generating {size_label(enrollments)} enrollments…", file=sys.stderr, flush=True)
    manifest = generate_org.generate(shape, folder / "org.json", manifest_path)
    stamp_path.write_text(json.dumps(stamp) + "\n")
    return manifest


def chosen_backends(args: argparse.Namespace, enrollments: int, notes: list[str]) -> list[str]:
    if args.backends is not None:
        return list(args.backends)
    names = [name for name in BACKENDS if name != "postgresql" or postgres_url()]
    if "postgresql" not in names:
        notes.append(f"PostgreSQL not measured: set {POSTGRES_VARIABLES[0]} (or {POSTGRES_VARIABLES[1]})")
    if enrollments > TOML_LIMIT:
        names.remove("toml")
        notes.append(
            f"TOML not measured at {size_label(enrollments)}: past {size_label(TOML_LIMIT)} enrollments one "
            "command takes minutes; add it with --backends"
        )
    return names


def backend_for(name: str, folder: Path, label: str) -> Backend:
    if name == "postgresql":
        base = postgres_url()
        if base is None:
            raise BenchError(f"PostgreSQL needs {POSTGRES_VARIABLES[0]} or {POSTGRES_VARIABLES[1]}")
        schema = f"certcli_bench_{label.lower()}"
        return Backend(name, with_search_path(base, schema), folder / name, schema, base)
    file_name = {"json": "store.json", "toml": "store.toml", "sqlite": "store.db"}[name]
    return Backend(name, str(folder / name / file_name), folder / name)


def with_search_path(url: str, schema: str) -> str:
    """The URL with `options=-csearch_path=SCHEMA`, so every table certcli makes lands in that schema."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def postgres_sql(url: str, sql: str) -> str:
    """Run SQL as the benchmark's own set-up step: with psql, or psycopg2 where psql is missing
    (printing values as psql does: a boolean as t or f)."""
    if shutil.which("psql"):
        done = subprocess.run(
            ["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()
    try:
        import psycopg2  # type: ignore[import-untyped]
    except ImportError:
        raise BenchError("PostgreSQL set-up needs psql or the psycopg2 package") from None
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql)
            rows = [] if cursor.description is None else cursor.fetchall()
    finally:
        connection.close()
    shown = {True: "t", False: "f"}
    return "\n".join(shown.get(value, str(value)) if isinstance(value, bool) else str(value) for (value, *_) in rows)


def backend_exists(backend: Backend) -> bool:
    if backend.name != "postgresql":
        return Path(backend.store).exists()
    found = postgres_sql(backend.admin_url, f"SELECT to_regclass('{backend.schema}.enrollments') IS NOT NULL")
    return found == "t"


def build_backend(backend: Backend, org: Path, exe: str, env: dict[str, str]) -> None:
    """Make the backend's store from the generated organisation, replacing any earlier one."""
    print(f"making the {backend.name} store of {org.parent.name}…", file=sys.stderr, flush=True)
    if backend.folder.exists():
        shutil.rmtree(backend.folder)
    backend.folder.mkdir(parents=True)
    if backend.name == "postgresql":
        schema = backend.schema
        postgres_sql(backend.admin_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    if backend.name == "json":
        # Written as certcli writes JSON stores, so a `complete` run does not change the file's layout.
        data = json.loads(org.read_text(encoding="utf-8"))
        Path(backend.store).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    run_checked([exe, "--store", str(org), "--as", ADMIN, "migrate", "--to", backend.store], env)


def store_code_version() -> str:
    """A digest of certcli's store code: a store made by other code may have another layout."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "certcli" / "store").glob("*.py")) + sorted((ROOT / "certcli").glob("migrat*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


class State:
    """Per size: which stores exist, made by which store code, and how many pending completions each used up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.code = store_code_version()

    def used(self, backend: Backend) -> int:
        return int(self.data[backend.name]["used"]) if self.knows(backend) else 0

    def set_used(self, backend: Backend, used: int) -> None:
        self.data[backend.name] = {"store": backend.store, "code": self.code, "used": used}
        self.path.write_text(json.dumps(self.data, indent=2) + "\n")

    def knows(self, backend: Backend) -> bool:
        entry = self.data.get(backend.name) or {}
        same_code = backend.name == "json" or entry.get("code") == self.code
        return entry.get("store") == backend.store and same_code


def prepare_backends(
    names: list[str], folder: Path, manifest: dict[str, Any], args: argparse.Namespace, exe: str, env: dict[str, str]
) -> tuple[list[Backend], State]:
    label = size_label(int(manifest["enrollments"]))
    state = State(folder / "state.json")
    backends = [backend_for(name, folder, label) for name in names]
    picks = completion_picks(manifest)
    for backend in backends:
        # Each run completes a course nobody completed before; a store that has used up its picks is made anew.
        out_of_picks = state.used(backend) + 1 + args.runs > len(picks)
        if args.rebuild or out_of_picks or not state.knows(backend) or not backend_exists(backend):
            build_backend(backend, folder / "org.json", exe, env)
            state.set_used(backend, 0)
    if len(picks) < 1 + args.runs:
        raise BenchError(f"{label}: {len(picks)} pending courses to complete, fewer than {1 + args.runs} runs")
    return backends, state


def completion_picks(manifest: dict[str, Any]) -> list[dict[str, str]]:
    return [pick for pick in manifest["pending"] if pick["user"] != manifest["sample_learner"]]


# ---------------------------------------------------------------- the processes


def expect_json_items(done: subprocess.CompletedProcess[str]) -> str | None:
    try:
        value = json.loads(done.stdout)
    except ValueError:
        return "printed no JSON"
    return None if value else "printed an empty answer"


def expect_output(done: subprocess.CompletedProcess[str]) -> str | None:
    return None if done.stdout.strip() else "printed nothing"


def expect_completion(done: subprocess.CompletedProcess[str]) -> str | None:
    return "completed nothing (the course was already completed)" if "nothing to do" in done.stderr else None


def certcli_jobs(
    backend: Backend, manifest: dict[str, Any], state: State, exe: str, report_words: list[str]
) -> list[Job]:
    learner, cert = manifest["sample_learner"], manifest["sample_certification"]
    picks = completion_picks(manifest)

    def globals_(user: str) -> list[str]:
        return [exe, "--store", backend.store, "--as", user, "--now", NOW]

    def complete_argv(_: int) -> list[str]:
        used = state.used(backend)
        pick = picks[used]
        state.set_used(backend, used + 1)
        return [*globals_(pick["user"]), "complete", pick["certification"], pick["course"]]

    list_argv = [*globals_(learner), "list", "--json"]
    show_argv = [*globals_(learner), "show", cert, "--json"]
    words = f"certcli --store {backend.store} --as {learner} show "
    tab_argv = ["env", "_CERTCLI_COMPLETE=complete_bash", f"COMP_WORDS={words}", "COMP_CWORD=5", exe]
    return [
        Job("list", backend.name, "certcli", fixed_argv(list_argv), expect_json_items),
        Job("show", backend.name, "certcli", fixed_argv(show_argv), expect_json_items),
        Job("complete", backend.name, "certcli", complete_argv, expect_completion),
        Job("report", backend.name, "certcli", fixed_argv([*globals_(ADMIN), *report_words]), expect_json_items),
        Job("tab", backend.name, "certcli", fixed_argv(tab_argv), expect_output),
    ]


def reference_jobs(backends: list[Backend], manifest: dict[str, Any], notes: list[str]) -> list[Job]:
    """The floor, and the list question answered by jq and by the sqlite3 shell where they can."""
    learner = manifest["sample_learner"]
    jobs = [Job("floor", "", "python", lambda _: [sys.executable, "-c", "import typer"], lambda _: None)]
    by_name = {backend.name: backend for backend in backends}
    tools = (
        ("jq", "json", lambda store: ["jq", "-c", "--arg", "user", learner, JQ_LIST, store]),
        ("sqlite3", "sqlite", lambda store: ["sqlite3", "-readonly", store, SQLITE_LIST.format(user=learner)]),
    )
    for tool, name, argv in tools:
        if name not in by_name:
            continue
        job = Job("list", name, tool, fixed_argv(argv(by_name[name].store)), expect_output)
        if shutil.which(tool) is None:
            job.problem = f"{tool} not installed (apt-get install -y {tool})"
            notes.append(f"{tool}: {job.problem}")
        jobs.append(job)
    return jobs


def fixed_argv(argv: list[str]) -> Callable[[int], list[str]]:
    return lambda _: argv


# ---------------------------------------------------------------- timing


def run_once(job: Job, run: int, env: dict[str, str]) -> float:
    """Seconds for one whole process; a failure or a wrong answer is recorded on the job."""
    argv = job.argv(run)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        job.problem = f"exited {done.returncode}: {done.stderr.strip()[-500:]}"
    elif run == 0 or job.command == "complete":
        job.problem = job.check(done)
    return elapsed


def runs_after(first: float, runs: int) -> int:
    """Timed runs to do after a first run that took `first` seconds."""
    if first <= QUICK_SECONDS:
        return runs
    return min(runs, SLOW_RUNS) if first <= SLOW_SECONDS else 0


def measure(jobs: list[Job], runs: int, env: dict[str, str], label: str) -> None:
    """A checked first round, then rounds running every job that still needs runs once, in a shuffled order."""
    live = [job for job in jobs if job.problem is None]
    random.shuffle(live)
    for job in live:
        first = run_once(job, 0, env)
        job.target = runs_after(first, runs)
        if job.target == 0 and job.problem is None:
            job.samples.append(first)  # over a minute: the first run is the only sample
        print(f"  {label} {job.label} [{job.backend or '-'}]: first run {first:.2f} s", file=sys.stderr, flush=True)
    round_number = 0
    while True:
        pending = [job for job in live if job.problem is None and len(job.samples) < job.target]
        if not pending:
            return
        round_number += 1
        random.shuffle(pending)
        for job in pending:
            job.samples.append(run_once(job, round_number, env))


# ---------------------------------------------------------------- one size


@dataclass
class SizeResult:
    enrollments: int
    manifest: dict[str, Any]
    store_mb: float
    jobs: list[Job]

    @property
    def label(self) -> str:
        return size_label(self.enrollments)

    def job(self, command: str, backend: str, tool: str = "certcli") -> Job | None:
        return next((j for j in self.jobs if (j.command, j.backend, j.tool) == (command, backend, tool)), None)

    @property
    def floor_ms(self) -> float | None:
        floor = self.job("floor", "", "python")
        return floor.median_ms if floor else None


def bench_size(enrollments: int, args: argparse.Namespace, env: dict[str, str], notes: list[str]) -> SizeResult:
    exe = certcli_executable()
    label = size_label(enrollments)
    folder = args.work_dir / f"size-{label}"
    manifest = ensure_org(folder, enrollments)
    names = chosen_backends(args, enrollments, notes)
    if any(name in MIGRATED for name in names) and has_command(exe, ["migrate"], env) is None:
        notes.append(f"{label}: certcli has no `migrate` command yet: only JSON measured")
        names = [name for name in names if name not in MIGRATED]
    backends, state = prepare_backends(names, folder, manifest, args, exe, env)
    report_help = has_command(exe, ["report"], env) or ""
    report_json = ["--json"] if "--json" in report_help else ["--format", "json"]
    report_words = ["report", "--summary", *report_json]
    jobs = reference_jobs(backends, manifest, notes)
    for backend in backends:
        jobs += certcli_jobs(backend, manifest, state, exe, report_words)
    print(f"timing {label}: {len(jobs)} processes…", file=sys.stderr, flush=True)
    measure(jobs, args.runs, env, label)
    store_mb = (folder / "org.json").stat().st_size / 1e6
    return SizeResult(enrollments, manifest, store_mb, jobs)


# ---------------------------------------------------------------- budgets and output


@dataclass
class Verdict:
    what: str
    size: str
    verdict: str  # PASS | FAIL | SKIP
    detail: str


def budgets(results: list[SizeResult]) -> list[Verdict]:
    """Each budget, judged at the largest size measured (1M in a full run)."""
    largest = results[-1]
    verdicts = []
    for what, command, backend, limit, unit in BUDGETS:
        job = largest.job(command, backend)
        measured = job.median_ms if job else None
        base = {"floor": largest.floor_ms, "ms": 1.0}.get(unit)
        if unit == "sqlite":
            reference = largest.job(command, "sqlite")
            base = reference.median_ms if reference else None
        if measured is None or base is None:
            verdicts.append(Verdict(what, largest.label, "SKIP", "not measured"))
            continue
        value = measured / base
        shown = f"{measured:,.0f} ms" if unit == "ms" else f"{measured:,.0f} ms = {value:.2f}×"
        verdicts.append(Verdict(what, largest.label, "PASS" if value <= limit else "FAIL", shown))
    return verdicts


def table_rows(results: list[SizeResult], runs: int) -> tuple[list[str], list[list[str]]]:
    headers = ["command", "backend"]
    for result in results:
        headers += [f"{result.label} ms", f"{result.label} ×floor"]
    keys: list[tuple[str, str, str]] = []
    for result in results:
        for job in result.jobs:
            key = (job.command, job.backend, job.tool)
            if key not in keys:
                keys.append(key)
    order = ["floor", "list", "show", "complete", "report", "tab"]
    keys.sort(key=lambda key: (order.index(key[0]), key[2] != "certcli", BACKENDS.index(key[1]) if key[1] else -1))
    rows = []
    for command, backend, tool in keys:
        found = [job for result in results if (job := result.job(command, backend, tool))]
        row = [found[0].label, backend or "—"]
        for result in results:
            row += cells(result.job(command, backend, tool), result.floor_ms, runs)
        rows.append(row)
    return headers, rows


def cells(job: Job | None, floor_ms: float | None, runs: int) -> list[str]:
    if job is None:
        return ["", ""]
    if job.problem is not None and not job.samples:
        return ["unavailable" if job.tool != "certcli" else "failed", ""]
    median = job.median_ms
    if median is None:
        return ["", ""]
    fewer = f" ({len(job.samples)})" if len(job.samples) < runs else ""
    ratio = f"{median / floor_ms:.2f}" if floor_ms else ""
    return [f"{median:,.0f}{fewer}", ratio]


def describe_sizes(results: list[SizeResult]) -> list[str]:
    return [
        f"{r.label}: {r.enrollments:,} enrollments, {r.manifest['learners']:,} learners, "
        f"{r.manifest['certifications']:,} certifications; generated JSON {r.store_mb:,.0f} MB"
        for r in results
    ]


def render_markdown(results: list[SizeResult], verdicts: list[Verdict], notes: list[str], runs: int) -> str:
    headers, rows = table_rows(results, runs)
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    lines = [
        "# certcli at scale",
        "",
        f"Median wall time of whole processes in ms (median of {runs} interleaved runs; fewer, in brackets, "
        f"where a first run took over {QUICK_SECONDS:g} s) and its ratio to the startup floor `{FLOOR}`. "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, as of {NOW}.",
        "",
        *[f"- {line}" for line in describe_sizes(results)],
        "",
        table,
        "",
        "## Budgets",
        "",
        *[f"- {v.verdict} {v.what} (at {v.size}): {v.detail}" for v in verdicts],
    ]
    problems = [f"{r.label} {j.label} [{j.backend or '-'}]: {j.problem}" for r in results for j in r.jobs if j.problem]
    if notes or problems:
        lines += ["", "## Notes", "", *[f"- {note}" for note in dict.fromkeys(notes + problems)]]
    return "\n".join(lines) + "\n"


def as_data(results: list[SizeResult], verdicts: list[Verdict], notes: list[str], runs: int) -> dict[str, Any]:
    return {
        "runs": runs,
        "now": NOW,
        "python": platform.python_version(),
        "sizes": [
            {
                "label": r.label,
                "enrollments": r.enrollments,
                "learners": r.manifest["learners"],
                "certifications": r.manifest["certifications"],
                "store_mb": round(r.store_mb, 1),
                "floor_ms": r.floor_ms,
                "processes": [
                    {
                        "command": j.command,
                        "backend": j.backend,
                        "tool": j.tool,
                        "label": j.label,
                        "median_ms": j.median_ms,
                        "samples_ms": [round(s * 1000, 2) for s in j.samples],
                        "problem": j.problem,
                    }
                    for j in r.jobs
                ],
            }
            for r in results
        ],
        "budgets": [v.__dict__ for v in verdicts],
        "notes": list(dict.fromkeys(notes)),
    }


def plot(results: list[SizeResult], path: Path) -> None:
    """Time against store size, log-log: one panel per command, one line per backend, the floor dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    commands = ["list", "show", "complete", "report", "tab"]
    figure, axes = plt.subplots(2, 3, figsize=(16, 8), sharex=True)
    axes.flat[-1].set_visible(False)
    sizes_ = [r.enrollments for r in results]
    for axis, command in zip(axes.flat[: len(commands)], commands, strict=True):
        series = sorted(
            {(j.backend, j.tool) for r in results for j in r.jobs if j.command == command},
            key=lambda key: (key[1] != "certcli", BACKENDS.index(key[0])),
        )
        for backend, tool in series:
            points = [(r.enrollments, r.job(command, backend, tool)) for r in results]
            xs = [x for x, job in points if job and job.median_ms]
            ys = [job.median_ms for _, job in points if job and job.median_ms]
            name = backend if tool == "certcli" else f"{tool} ({backend})"
            axis.plot(xs, ys, marker="o", linestyle="-" if tool == "certcli" else "--", label=name)
        floors = [r.floor_ms for r in results]
        axis.plot(sizes_, floors, color="black", linestyle=":", label="startup floor")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(sizes_, [r.label for r in results])
        axis.xaxis.set_minor_locator(NullLocator())
        axis.set_title(COMMAND_LABELS[command])
        axis.set_xlabel("enrollments in the store")
        axis.set_ylabel("median ms (whole process)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle(f"certcli at scale (as of {NOW}, Python {platform.python_version()})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_results(
    results: list[SizeResult], verdicts: list[Verdict], notes: list[str], args: argparse.Namespace
) -> str:
    args.results_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(results, verdicts, notes, args.runs)
    (args.results_dir / "scale.md").write_text(markdown, encoding="utf-8")
    data = as_data(results, verdicts, notes, args.runs)
    (args.results_dir / "scale.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if not args.no_plot:
        try:
            plot(results, args.results_dir / "scale.png")
        except ImportError:
            print("note: matplotlib is not installed (pip install -e '.[bench]'): no scale.png", file=sys.stderr)
    return markdown


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    env = process_environment(args.work_dir)
    notes: list[str] = []
    results: list[SizeResult] = []
    try:
        for enrollments in args.sizes:
            results.append(bench_size(enrollments, args, env, notes))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verdicts = budgets(results)
    print(write_results(results, verdicts, notes, args))
    failed = any(j.problem and j.tool == "certcli" for r in results for j in r.jobs)
    if failed:
        return 2
    return 1 if any(v.verdict == "FAIL" for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
