"""What every reading command prints for every user and certification of the demo store, as data.

`python tests/behaviour.py` records it in `tests/golden/acme-reading.json`; `test_behaviour.py`
checks that the commands still print every recorded field with the same value (new fields are fine).
Run in-process through typer's CliRunner on a private copy of `fixtures/acme.toml`.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "acme-reading.json"
NOWS = ("2026-11-28", "2027-03-15")


def demo_ids() -> tuple[list[str], list[str], list[str]]:
    """The demo store's user ids, admin and manager ids first among them, and certification ids."""
    import tomllib

    data = tomllib.loads((ROOT / "fixtures" / "acme.toml").read_text())
    users = [user["id"] for user in data["users"]]
    overseers = [user["id"] for user in data["users"] if user.get("role") in ("admin", "manager")]
    return users, overseers, [cert["id"] for cert in data["certifications"]]


def invocations() -> Iterator[tuple[str, str, list[str]]]:
    """(now, acting user, arguments) of every reading command worth recording."""
    users, overseers, certs = demo_ids()
    for now in NOWS:
        for actor in users:
            yield now, actor, ["list", "--json"]
            yield now, actor, ["list", "--pending", "--sort", "due", "--json"]
            for cert in certs:
                yield now, actor, ["show", cert, "--json"]
                if now == NOWS[0]:
                    yield now, actor, ["history", cert, "--json"]
                    yield now, actor, ["explain", cert, "--json"]
                    yield now, actor, ["badge", cert]
            for command in (["review", "--json"], ["user", "list", "--json"], ["org", "show", "--json"],
                            ["report", "--format", "json"], ["report", "--summary", "--format", "json"],
                            ["check", "--json"], ["calendar"], ["export-xapi"]):  # fmt: skip
                yield now, actor, command
        for actor in overseers:
            yield now, actor, ["calendar", "--all"]
            yield now, actor, ["audit", "--json"]
            for learner in users:
                yield now, actor, ["list", "--user", learner, "--json"]
                yield now, actor, ["report", "--user", learner, "--format", "json"]
                for cert in certs if now == NOWS[0] else ():
                    yield now, actor, ["show", cert, "--user", learner, "--json"]


def _parsed(stdout: str) -> Any:
    """JSON, JSON lines, or the text itself (an iCalendar feed)."""
    try:
        return json.loads(stdout)
    except ValueError:
        pass
    lines = stdout.splitlines()
    try:
        return [json.loads(line) for line in lines] if lines else None
    except ValueError:
        return stdout


def record() -> dict[str, Any]:
    """Every invocation's exit code and output, by `now actor args`."""
    from typer.testing import CliRunner

    from certcli.cli import app

    runner = CliRunner()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "acme.toml"
        shutil.copyfile(ROOT / "fixtures" / "acme.toml", store)
        env = {"NO_COLOR": "1", "CERTCLI_CACHE_DIR": str(Path(folder) / "cache")}
        for now, actor, args in invocations():
            result = runner.invoke(app, ["--store", str(store), "--as", actor, "--now", now, *args], env=env)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            results[" ".join([now, actor, *args])] = {"exit": result.exit_code, "out": _parsed(result.stdout)}
    return results


def differences(recorded: Any, now: Any, where: str = "") -> Iterator[str]:
    """Where `now` lacks a recorded field or holds another value; fields `now` adds are fine."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        for key, value in recorded.items():
            if key not in now:
                yield f"{where}.{key}: missing"
            else:
                yield from differences(value, now[key], f"{where}.{key}")
    elif isinstance(recorded, list) and isinstance(now, list) and len(recorded) == len(now):
        for index, (before, after) in enumerate(zip(recorded, now, strict=True)):
            yield from differences(before, after, f"{where}[{index}]")
    elif recorded != now:
        yield f"{where}: {recorded!r} became {now!r}"


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(record(), indent=0, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"recorded {GOLDEN.relative_to(ROOT)}", file=sys.stderr)
