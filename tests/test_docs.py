"""The documentation says what ships: the command reference is the application's own `--help`, the
site builds with no broken link, and the README's tour runs when pasted."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def make_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_reference", ROOT / "docs" / "make_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_command_reference_is_what_the_application_says() -> None:
    reference = make_reference().reference()
    assert (ROOT / "docs" / "reference.md").read_text(encoding="utf-8") == reference, (
        "docs/reference.md is out of date: run python docs/make_reference.py"
    )
    for command in ("## certcli list", "### certcli user deactivate", "### certcli audit verify"):
        assert f"\n{command}\n" in reference


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "reference" / "index.html").exists()
    assert (tmp_path / "site" / "benchmarks" / "results" / "scale" / "index.html").exists()


def readme_tour() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## A short tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readme_tour_runs_when_pasted(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    env = {name: value for name, value in os.environ.items() if not name.startswith("CERTCLI_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-e", "-c", readme_tour()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Approved ana's proof" in done.stderr
    assert "not compliant: exit 1" in done.stdout
    assert "Audit trail intact: 3 events" in done.stderr
    assert (tmp_path / "reviewed.pdf").read_bytes() == (tmp_path / "aws-ana.pdf").read_bytes()
