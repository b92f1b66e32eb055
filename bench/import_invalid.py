"""Import memory benchmark: the peak memory of `certcli import --dry-run --skip-invalid` of files whose
every row is refused, at several sizes. The reasons stay in the import's spool and only the first 200
are kept to show, so the peak should not grow with the file.

    python bench/import_invalid.py [--rows N ...] [--json]

Builds the demo store (fixtures/acme.toml) in a temporary folder and, for each size, a completions
CSV naming users the store does not hold; runs the import as a whole process (the console script
next to this interpreter) from a fresh measuring process (`resource.getrusage(RUSAGE_CHILDREN)`, as
bench/migrate.py does). Prints rows, rows refused, seconds and peak resident memory per size, and
the growth from the smallest to the largest file. Exit status: 0 when every import ran, 2 when the
benchmark cannot run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from migrate import BenchError, measured  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-28"
DEFAULT_ROWS = (50_000, 200_000, 500_000)


def write_invalid(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("user,certification,course,completed_on\n")
        for number in range(rows):
            out.write(f"nobody{number},security-awareness,sec-basics,2026-01-{number % 28 + 1:02d}\n")


def run(rows: int, folder: Path) -> dict[str, Any]:
    store, csv_path = folder / "acme.toml", folder / f"invalid-{rows}.csv"
    write_invalid(csv_path, rows)
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install certcli with `python -m pip install -e .`")
    argv = [str(exe), "--store", str(store), "--as", "root", "--now", NOW, "import", "completions", str(csv_path)]
    result = measured([*argv, "--dry-run", "--skip-invalid", "--json"])
    report = json.loads(result["stdout"])
    csv_path.unlink()
    return {
        "rows": rows,
        "refused": report["skipped"],
        "shown": len(report["problems"]),
        "seconds": round(result["seconds"], 2),
        "peak_mb": round(result["peak_mb"], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="rows of a file (repeat; default 50k, 200k, 500k)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    sizes = sorted(args.rows or DEFAULT_ROWS)
    with tempfile.TemporaryDirectory() as folder:
        shutil.copyfile(ROOT / "fixtures" / "acme.toml", Path(folder) / "acme.toml")
        try:
            results = [run(rows, Path(folder)) for rows in sizes]
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    growth = results[-1]["peak_mb"] / results[0]["peak_mb"]
    if args.json:
        print(json.dumps({"runs": results, "growth": round(growth, 2)}))
        return 0
    table = [[r["rows"], r["refused"], r["shown"], r["seconds"], r["peak_mb"]] for r in results]
    print(tabulate(table, headers=["rows", "refused", "shown", "seconds", "peak RSS MB"]))
    print(f"peak memory from {sizes[0]:,} to {sizes[-1]:,} rows: {growth:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
