"""`-o FILE` never replaces what is not a regular file: through a link the file it leads to is replaced
(atomically, beside it) and the link stays; a FIFO is written into, or refused before any work when
nobody reads it; a folder is refused. Only links, FIFOs and folders made in the test's own folder."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
from backends import store_state
from typer.testing import CliRunner, Result

from certcli.cli import app

NOW = "2026-11-28"
runner = CliRunner()


def cli(store: str | Path, *args: str) -> Result:
    result = runner.invoke(app, ["--store", str(store), "--as", "root", "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def ok(store: str | Path, *args: str) -> Result:
    result = cli(store, *args)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _signing_key(store: str | Path, folder: Path) -> Path:
    key_file = folder / "signing.pem"
    ok(store, "org", "keygen", "-o", str(key_file))
    return key_file


def _outputs(store: Path, folder: Path) -> dict[str, list[str]]:
    """A command line for each kind of `-o` output, by name."""
    return {
        "checkpoint": ["audit", "checkpoint", "--key", str(_signing_key(store, folder))],
        "export": ["export"],
        "html report": ["report", "--format", "html"],
    }


def _temp_files(*folders: Path) -> list[str]:
    return [entry.name for folder in folders for entry in folder.iterdir() if entry.name.startswith(".")]


def test_an_output_through_a_link_replaces_the_file_it_leads_to(demo_store: Path, out: Path) -> None:
    kept = out / "offsite"
    kept.mkdir()
    for name, command in _outputs(demo_store, out).items():
        target = kept / f"{name}.out"
        target.write_text("earlier\n")
        target.chmod(0o640)
        link = out / f"{name}.link"
        link.symlink_to(Path("offsite") / target.name)
        ok(demo_store, *command, "-o", str(link))
        assert link.is_symlink() and link.readlink() == Path("offsite") / target.name, name
        assert target.read_text() != "earlier\n" and stat.S_IMODE(target.stat().st_mode) == 0o640, name
    assert _temp_files(out, kept) == []


def test_a_dangling_link_and_a_chain_of_links_lead_to_their_final_file(demo_store: Path, out: Path) -> None:
    (out / "real").mkdir()
    dangling = out / "dangling.toml"
    dangling.symlink_to(out / "real" / "new.toml")
    ok(demo_store, "export", "-o", str(dangling))
    assert dangling.is_symlink() and (out / "real" / "new.toml").read_text().startswith("[[users]]")
    first, second = out / "first.toml", out / "second.toml"
    second.symlink_to(out / "real" / "new.toml")
    first.symlink_to(second)
    (out / "real" / "new.toml").write_text("earlier\n")
    ok(demo_store, "export", "-o", str(first))
    assert first.is_symlink() and second.is_symlink()
    assert (out / "real" / "new.toml").read_text().startswith("[[users]]")


def _read_in_background(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    """A reader of `fifo`, open before the command runs, as `cat FIFO &` would be."""
    got: list[bytes] = []
    opened = threading.Event()

    def read() -> None:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened at once, writer or not
        opened.set()
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as reader:
            while True:
                chunk = reader.read()
                if chunk:
                    got.append(chunk)
                    return
                time.sleep(0.01)  # no writer yet: a FIFO without one reads as its end

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    assert opened.wait(5)
    return thread, got


@pytest.mark.parametrize("through_link", [False, True])
def test_an_output_into_a_fifo_is_written_into_and_the_fifo_stays(
    demo_store: Path, out: Path, through_link: bool
) -> None:
    fifo = out / "feed"
    os.mkfifo(fifo)
    named = fifo
    if through_link:
        named = out / "feed.link"
        named.symlink_to(fifo)
    thread, got = _read_in_background(fifo)
    ok(demo_store, "export", "-o", str(named))
    thread.join(10)
    assert b"".join(got).decode() == ok(demo_store, "export").stdout
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and named.exists()


@pytest.mark.parametrize("command", [["audit", "checkpoint"], ["export"], ["report", "--format", "html"]])
def test_a_fifo_nobody_reads_is_refused_before_any_work_and_never_replaced(
    demo: str, out: Path, command: list[str]
) -> None:
    extra = ["--key", str(_signing_key(demo, out))] if command[0] == "audit" else []
    fifo = out / "nobody-reads"
    os.mkfifo(fifo)
    before = store_state(demo)
    result = cli(demo, *command, *extra, "-o", str(fifo))
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[0] == f"error: nobody is reading FIFO {fifo}"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # not replaced by a file
    assert store_state(demo) == before  # no checkpoint recorded that was never delivered
    assert _temp_files(out) == []


def test_a_folder_is_refused_and_left_alone(demo_store: Path, out: Path) -> None:
    folder = out / "reports"
    folder.mkdir()
    result = cli(demo_store, "report", "--format", "html", "-o", str(folder))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: {folder} is a folder: certcli does not write there"
    assert folder.is_dir() and list(folder.iterdir()) == [] and _temp_files(out) == []
