"""Shared test set-up: every test runs against its own store, with no colour and no clock leaks."""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.testing
from backends import BACKENDS, POSTGRES_URL_VARIABLE, location_for, postgres_url

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# CliRunner builds the application's whole command tree on every invoke (about 80 ms); the tree holds no
# state between runs, so the tests build it once per application and invoke it thousands of times.
typer.testing._get_command = functools.cache(typer.testing._get_command)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "CERTCLI_STORE",
        "CERTCLI_USER",
        "CERTCLI_NOW",
        "CERTCLI_LOCK_TIMEOUT",
        "CERTCLI_PROOF_MAX_BYTES",
        "CERTCLI_CACHE_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    # Without --as, certcli acts as the user named like the login name: no test store has this one.
    monkeypatch.setenv("LOGNAME", "certcli-test-nobody")
    monkeypatch.setenv("TERMINAL_WIDTH", "200")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def demo_store(tmp_path: Path) -> Path:
    """A private copy of the demo store."""
    target = tmp_path / "acme.toml"
    shutil.copyfile(FIXTURES / "acme.toml", target)
    return target


@pytest.fixture
def certcli_exe() -> str:
    """The installed `certcli` console script, for end-to-end tests."""
    exe = Path(sys.executable).parent / "certcli"
    found = str(exe) if exe.exists() else shutil.which("certcli")
    assert found, "certcli is not installed: run pip install -e '.[test]'"
    return found


# ---------------------------------------------------------------- every backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and postgres_url() is None:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server to test against")
    return str(request.param)


@pytest.fixture
def new_store(backend: str, tmp_path: Path) -> Iterator[str]:
    """Where a store of `backend` can be created: a file in this test's folder, or a
    PostgreSQL schema of its own (dropped afterwards)."""
    with location_for(backend, tmp_path) as location:
        yield location


@pytest.fixture
def demo(backend: str, new_store: str, tmp_path: Path) -> str:
    """The demo store on `backend` (a database one copied from the TOML file with `migrate`)."""
    from datetime import UTC, datetime

    from backends import copied, is_database

    from certcli.store import open_store

    if not is_database(new_store):
        shutil.copyfile(FIXTURES / f"acme.{backend}", new_store)
        return new_store
    source = tmp_path / "source" / "acme.toml"
    source.parent.mkdir()
    shutil.copyfile(FIXTURES / "acme.toml", source)
    copied(open_store(source), new_store, "root", datetime(2026, 11, 28, tzinfo=UTC))
    return new_store
