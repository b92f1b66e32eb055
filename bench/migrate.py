"""Migration benchmark: `certcli migrate` between backends, its wall time and peak memory.

For each size it generates a synthetic organisation (bench/generate_org.py, kept in the work
folder), builds a SQLite store from it a page at a time (the generated JSON holds one enrollment a
line, so even 1M never sits in memory), then times whole `certcli migrate` processes:

    SQLite -> PostgreSQL, PostgreSQL -> SQLite     (every size; PostgreSQL needs a URL)
    JSON -> SQLite                                 (sizes up to --json-limit: a file is parsed whole)

Peak memory is the maximum resident set size of the certcli process, as
`resource.getrusage(RUSAGE_CHILDREN)` reports it in a fresh measuring process per run.

    python bench/migrate.py [--sizes 100000,1000000] [--postgres URL] [--json-limit 100000]

PostgreSQL: --postgres, else CERTCLI_BENCH_POSTGRES_URL or CERTCLI_TEST_POSTGRES_URL; each copy
goes to a schema of its own, dropped afterwards. Writes bench/results/migrate.md and
migrate.json (merged with the sizes measured before). Exit status: 0 every target met, 1 a
target missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import generate_org
from tabulate import tabulate

from certcli.store.paging import Page

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = ROOT / "bench" / ".migrate"
DEFAULT_RESULTS = ROOT / "bench" / "results"
SEED = 20261128
PAGE = 5_000
TARGET_SECONDS = 300.0  # at 1M: under 5 minutes
TARGET_MEGABYTES = 1024.0  # at 1M, from a database source: under 1 GB
TARGET_SIZE = 1_000_000
POSTGRES_VARIABLES = ("CERTCLI_BENCH_POSTGRES_URL", "CERTCLI_TEST_POSTGRES_URL")


class BenchError(Exception):
    """The benchmark cannot produce figures."""


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1_000}k"


def in_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


def server_version(url: str) -> str:
    import psycopg2

    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = str(cursor.fetchone()[0])
    conn.close()
    return version


# ---------------------------------------------------------------- the source stores


def generated(work: Path, size: int) -> Path:
    """The generated organisation of `size` enrollments (JSON), made once."""
    folder = work / f"size-{label(size)}"
    folder.mkdir(parents=True, exist_ok=True)
    org = folder / "org.json"
    if not org.exists():
        shape = generate_org.default_shape(size, None, None, SEED)
        generate_org.generate(shape, org)
    return org


def sqlite_source(org: Path) -> Path:
    """A SQLite store holding `org`, loaded a page at a time from its lines, made once."""
    from certcli.model import AuditEntry
    from certcli.store import open_store
    from certcli.store.document import document_from_data
    from certcli.store.paging import pages_of

    path = org.with_name("source.db")
    if path.exists():
        return path
    with org.open(encoding="utf-8") as lines:
        head = json.loads(lines.readline().removesuffix("\n").removesuffix(', "enrollments": [') + "}")
        store = open_store(path)
        header = document_from_data({**head, "enrollments": []}, str(org))
        with store.loading(header) as load:
            for part in pages_of(header):
                load.add_page(part)
            page: list[dict[str, Any]] = []
            read_one = json.JSONDecoder().raw_decode  # one enrollment a line; the last ends the document too
            for line in lines:
                if line.startswith("{"):
                    page.append(read_one(line)[0])
                if len(page) == PAGE:
                    load.add_page(enrollments(page, str(org)))
                    page = []
            load.add_page(enrollments(page, str(org)))
            when = datetime.combine(generate_org.NOW, datetime.min.time(), UTC)
            load.finish(AuditEntry(when, generate_org.ADMIN, "init", {}, {}))
    return path


def enrollments(rows: list[dict[str, Any]], source: str) -> Page:
    """A page of enrollments from their plain data."""
    from certcli.store.document import document_from_data
    from certcli.store.paging import page_of

    return page_of("enrollments", document_from_data({"enrollments": rows}, source, whole=False).enrollments)


# ---------------------------------------------------------------- measuring


def measured(argv: list[str]) -> dict[str, Any]:
    """Run `argv` from a fresh measuring process: its seconds, peak RSS and exit status."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, __file__, "--measure", *argv], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"the measuring process failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    if result["exit"] != 0:
        raise BenchError(f"{' '.join(argv[:8])} … failed (exit {result['exit']}): {result['stderr'][-2000:]}")
    return result


def measure(argv: list[str]) -> int:
    """--measure: run `argv` once and print its figures as JSON; RUSAGE_CHILDREN holds this one child only."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}
    outputs = {"stdout": done.stdout, "stderr": done.stderr}
    print(json.dumps({**figures, "exit": done.returncode, **outputs}))  # ru_maxrss: kilobytes on Linux
    return 0


def migrate_argv(source: str, target: str) -> list[str]:
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install certcli with `python -m pip install -e .`")
    now = generate_org.NOW.isoformat()
    return [str(exe), "--store", source, "--as", generate_org.ADMIN, "--now", now, "migrate", "--to", target, "--json"]


def run_copy(size: int, route: str, source: str, target: str) -> dict[str, Any]:
    print(f"{label(size)} {route} …", file=sys.stderr, flush=True)
    result = measured(migrate_argv(source, target))
    seconds, cpu, peak = result["seconds"], result["cpu_seconds"], result["peak_mb"]
    print(f"  {seconds:.1f} s ({cpu:.1f} s CPU), {peak:.0f} MB", file=sys.stderr)
    figures = {key: round(result[key], 1) for key in ("seconds", "cpu_seconds")}
    return {"size": size, "route": route, **figures, "peak_mb": round(result["peak_mb"])}


def bench_size(work: Path, size: int, postgres: str | None, json_limit: int) -> list[dict[str, Any]]:
    org = generated(work, size)
    source = sqlite_source(org)
    folder = source.parent
    results = []
    if size <= json_limit:
        copy = folder / "from-json.db"
        copy.unlink(missing_ok=True)
        results.append(run_copy(size, "JSON → SQLite", str(org), str(copy)))
        copy.unlink()
    if postgres is not None:
        schema = f"certcli_bench_{uuid.uuid4().hex[:12]}"
        try:
            url = in_schema(postgres, schema)
            results.append(run_copy(size, "SQLite → PostgreSQL", str(source), url))
            back = folder / "from-postgresql.db"
            back.unlink(missing_ok=True)
            results.append(run_copy(size, "PostgreSQL → SQLite", url, str(back)))
            back.unlink()
        finally:
            drop_schema(postgres, schema)
    return results


# ---------------------------------------------------------------- reporting


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in results:
        if row["size"] != TARGET_SIZE:
            continue
        fast = row["seconds"] < TARGET_SECONDS
        lean = row["peak_mb"] < TARGET_MEGABYTES or not row["route"].startswith(("SQLite", "PostgreSQL"))
        verdict = "PASS" if fast and lean else "FAIL"
        lines.append(f"- {verdict} {row['route']} at 1M: {row['seconds']:,.0f} s (< 300 s), {row['peak_mb']:,} MB peak")
    return lines


def write_results(results_dir: Path, results: list[dict[str, Any]], command: str, postgres: str) -> bool:
    data_path = results_dir / "migrate.json"
    earlier = json.loads(data_path.read_text(encoding="utf-8"))["results"] if data_path.exists() else []
    measured_now = {(row["size"], row["route"]) for row in results}
    kept = [row for row in earlier if (row["size"], row["route"]) not in measured_now]
    merged = sorted([*kept, *results], key=lambda r: r["size"])
    environment = f"Python {platform.python_version()}, {os.cpu_count()} cores, PostgreSQL {postgres}"
    results_dir.mkdir(parents=True, exist_ok=True)
    data_path.write_text(json.dumps({"environment": environment, "results": merged}, indent=2) + "\n")
    table = tabulate(
        [[label(r["size"]), r["route"], f"{r['seconds']:,.1f}", f"{r['cpu_seconds']:,.1f}", f"{r['peak_mb']:,}"]
         for r in merged],  # fmt: skip
        headers=["enrollments", "migrate", "wall s", "CPU s", "peak RSS MB"],
        tablefmt="github",
    )
    lines = verdicts(merged)
    text = (
        "# certcli migrate\n\n"
        f"Whole `certcli migrate` processes (copy and verification), {environment}, "
        f"as of {datetime.now(UTC).date()}. Peak RSS: `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` "
        "of a fresh measuring process per run.\n\n"
        f"Produced by `{command}` (merged with the copies measured before).\n\n"
        f"{table}\n\n## Targets at 1M\n\n" + ("\n".join(lines) or "- not measured at 1M yet") + "\n"
    )
    (results_dir / "migrate.md").write_text(text, encoding="utf-8")
    print(text)
    return all(line.startswith("- PASS") for line in lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        return measure(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="enrollments, comma-separated (default 100000)")
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: the environment's)")
    parser.add_argument("--json-limit", type=int, default=100_000, help="largest size to copy from JSON")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args()
    postgres = args.postgres or next((os.environ[v] for v in POSTGRES_VARIABLES if os.environ.get(v)), None)
    try:
        results = []
        for size in (int(text) for text in args.sizes.split(",")):
            results += bench_size(args.work, size, postgres, args.json_limit)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = "python bench/migrate.py " + " ".join(arg for arg in sys.argv[1:] if not arg.startswith("postgres"))
    version = server_version(postgres) if postgres else "(not measured)"
    return 0 if write_results(args.results, results, command.strip(), version) else 1


if __name__ == "__main__":
    sys.exit(main())
