"""Benchmark: `report --format html` against `report --format json` over the same store.

The store is report_summary.py's (2,000 learners × 5 certifications = 10,000 enrollments by default).
Times, as whole processes (median of --runs), `certcli report --format json` and `certcli report
--format html -o FILE`, and gives the size of each output: what the page costs over the rows it shows.

    python bench/html_report.py [--learners N] [--runs N]

Exit status: 0 with figures, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import platform
import sys
import tempfile
from pathlib import Path

from report_summary import (
    ADMIN,
    NOW,
    BenchError,
    certifications,
    median_ms,
    run_process,
    size_arguments,
    write_store,
)
from tabulate import tabulate


def measure(store: Path, folder: Path, runs: int) -> list[list[str]]:
    exe = Path(sys.executable).parent / "certcli"
    if not exe.exists():
        raise BenchError(f"{exe} is missing: pip install -e .")
    options = [str(exe), "--store", str(store), "--as", ADMIN, "--now", NOW.date().isoformat(), "report"]
    page = folder / "report.html"
    as_json = [*options, "--format", "json"]
    as_html = [*options, "--format", "html", "-o", str(page)]
    json_bytes = len(run_process(as_json).encode("utf-8"))  # warm-ups, and the sizes
    run_process(as_html)
    rows = []
    for label, argv, size in (("report --format json", as_json, json_bytes),
                              ("report --format html -o FILE", as_html, page.stat().st_size)):  # fmt: skip
        middle, low, high = median_ms(lambda argv=argv: run_process(argv), runs)
        rows.append([label, f"{middle:.0f}", f"{low:.0f}", f"{high:.0f}", f"{size / 1e6:.1f}"])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = size_arguments(__doc__.splitlines()[0], argv)
    enrollments = args.learners * len(certifications())
    with tempfile.TemporaryDirectory(prefix="certcli-bench-") as folder:
        store = write_store(Path(folder), args.learners)
        try:
            rows = measure(store, Path(folder), args.runs)
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(
        f"report as JSON and as an HTML page: {enrollments} rows ({args.learners} learners × 5 certifications), "
        f"as of {NOW.date()}; median of {args.runs} whole processes, Python {platform.python_version()}"
    )
    print()
    headers = ["command", "median ms", "min ms", "max ms", "output MB"]
    print(tabulate(rows, headers=headers, disable_numparse=True, colalign=("left", "right", "right", "right", "right")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
