"""Reliability under faults: killed writers, full disks and I/O errors, and a stuck lock.

Each test prints one summary line (run pytest with -s or -rA to see it) saying
what it tried and what it found, and asserts on the same figures.

- Killed writers: a writer process makes one change after another and prints an
  acknowledgement after each; it is SIGKILLed at a random moment. Afterwards the
  store loads, holds exactly the acknowledged changes or one more, the audit
  trail verifies (or reports only the "cut short" case, which the next change
  repairs), and the temp files a killed writer left are swept by the next one.
- I/O errors: ENOSPC and EIO injected at the k-th write, flush, fsync, chmod,
  rename and folder fsync of one change, for k = 1, 2, ... until the change
  completes without reaching the fault. A fault before the store is replaced
  fails the command with exit 6 and changes nothing; a fault after it (folder
  fsync, audit append) is absorbed and the change is in place. The same on a
  real, small tmpfs filled up (root only).
- Stuck lock: another process holds `<store>.lock`: write commands exit 7 after
  CERTCLI_LOCK_TIMEOUT with a hint naming the lock file; processes never
  overlap inside the lock, and the lock file is never removed or replaced.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from backends import mounted_tmpfs
from filelock import FileLock, Timeout

from certcli import usecases
from certcli.errors import DataError
from certcli.model import Course, Document, User
from certcli.store import Store, open_store
from certcli.store.document import document_to_data

HELPER = Path(__file__).with_name("faults_writer.py")
sys.path.insert(0, str(HELPER.parent))
import faults_writer  # noqa: E402  (the helper's numbering of changes is shared with these tests)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ADMIN, LEARNER, CERT = "root", "lea", "safety"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXTENSIONS = (".json", ".toml")
CUT_SHORT = ("cut short", "the next change restores it")


# ---------------------------------------------------------------- helpers


def temp_files(store_path: Path) -> set[str]:
    """The temp files of writes of `store_path`: `.<name>.*.tmp` beside it."""
    prefix = f".{store_path.name}."
    return {
        entry.name
        for entry in store_path.parent.iterdir()
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp")
    }


def log_of(store_path: Path) -> Path:
    return Path(f"{store_path}.audit.jsonl")


def lock_of(store_path: Path) -> Path:
    return Path(f"{store_path}.lock")


def context(store: Store, actor: str = ADMIN) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=NOW)


def content(doc: Document) -> dict[str, Any]:
    """A document's data without its audit head: what the user's changes made it."""
    data = document_to_data(doc)
    data.pop("audit", None)
    return data


def cli(exe: str, store_path: Path, *args: str, lock_timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if lock_timeout is not None:
        env["CERTCLI_LOCK_TIMEOUT"] = str(lock_timeout)
    return subprocess.run(
        [exe, "--store", str(store_path), "--as", ADMIN, *args], capture_output=True, text=True, env=env, timeout=60
    )


def assert_expected_error(result: subprocess.CompletedProcess[str], code: int) -> list[str]:
    """An expected failure: the exit code, `error:`/`hint:` lines on stderr, no traceback, nothing on stdout."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), result.stderr
    return lines


def log_events(store_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_of(store_path).read_bytes().splitlines()]


def audit_problem(store: Store) -> str | None:
    """What `audit verify` finds wrong with the store's trail, or None when it is intact."""
    try:
        usecases.audit_verify(context(store))
    except DataError as exc:
        return exc.message
    return None


# ---------------------------------------------------------------- 1. killed writers

KILL_DELAY_SECONDS = (0.0, 0.12)  # the writer makes a change every 5-20 ms on the demo store


def expected_after(base: Document, changes: int) -> dict[str, Any]:
    """The demo store after the writer's first `changes` changes."""
    doc = Document(
        org_name=base.org_name,
        org_url=base.org_url,
        users=dict(base.users),
        courses=dict(base.courses),
        certifications=dict(base.certifications),
        enrollments=list(base.enrollments),
        schema=base.schema,
    )
    for number in range(changes):
        kind, item = faults_writer.change_kind(number)
        title = faults_writer.title_of(number)
        if kind == "user":
            doc.users[item] = User(item, title, "learner")
        else:
            doc.courses[item] = Course(item, title, number)
    return content(doc)


def changes_in(doc: Document) -> int:
    """How many of the writer's changes a store holds (they are numbered from 0)."""
    title = faults_writer.title_of(0).rsplit(" ", 1)[0]
    return sum(item.name.startswith(title) for item in doc.users.values()) + sum(
        item.title.startswith(title) for item in doc.courses.values()
    )


class KillFigures:
    def __init__(self) -> None:
        self.trials = self.acknowledged = self.at_next = 0
        self.temp_left: set[str] = set()  # temp files found after a kill
        self.swept: set[str] = set()  # of those, the ones a later writer removed
        self.cut_short = self.restored = self.losses = 0


def kill_trials(exe: str, store_path: Path, trials: int, rng: random.Random) -> KillFigures:
    base = open_store(store_path).read()
    assert base.audit_head is None  # the demo store starts without an audit trail: event N is change N
    figures, done, cut_short_at = KillFigures(), 0, None
    for _ in range(trials):
        leftovers = temp_files(store_path)
        writer = subprocess.Popen(
            [sys.executable, str(HELPER), "write", str(store_path), str(done), "1000000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(*KILL_DELAY_SECONDS))
            writer.send_signal(signal.SIGKILL)
            out, err = writer.communicate(timeout=60)
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        assert writer.returncode == -signal.SIGKILL, f"the writer died on its own:\n{err}"
        acks = [int(line.removeprefix("ack ")) for line in out.splitlines()]
        assert acks == list(range(done, done + len(acks))), out
        figures.trials += 1
        figures.acknowledged += len(acks)
        acknowledged = done + len(acks)

        doc = open_store(store_path).read()  # the store always loads
        in_store = changes_in(doc)
        figures.losses += in_store < acknowledged
        assert in_store in (acknowledged, acknowledged + 1), f"{acknowledged} acknowledged, {in_store} in the store"
        assert content(doc) == expected_after(base, in_store)  # exactly those changes, nothing half-made
        assert (doc.audit_head.seq if doc.audit_head else 0) == in_store  # one event per change
        figures.at_next += in_store == acknowledged + 1
        figures.swept |= leftovers - temp_files(store_path)
        if in_store > done:  # the writer got the lock at least once, so it swept what the last one left
            assert not leftovers & temp_files(store_path), f"not swept: {leftovers & temp_files(store_path)}"
            if cut_short_at is not None:
                figures.restored += 1
                cut_short_at = None
        figures.temp_left |= temp_files(store_path)

        verify = cli(exe, store_path, "audit", "verify")
        if verify.returncode != 0:
            lines = assert_expected_error(verify, 6)
            assert all(words in lines[0] for words in CUT_SHORT), verify.stderr
            assert f"event {in_store} is missing" in lines[0]
            figures.cut_short += cut_short_at != in_store  # counted once, however many kills it outlives
            cut_short_at = in_store
        done = in_store

    # A writer that is left alone finishes, sweeps, and leaves a whole trail.
    leftovers = temp_files(store_path)
    final = subprocess.run(
        [sys.executable, str(HELPER), "write", str(store_path), str(done), "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert final.returncode == 0, final.stderr
    assert final.stdout.split() == ["ready", "ack", str(done), "ack", str(done + 1), "ack", str(done + 2)]
    figures.swept |= leftovers - temp_files(store_path)
    figures.restored += cut_short_at is not None
    doc = open_store(store_path).read()
    assert content(doc) == expected_after(base, done + 3)
    assert temp_files(store_path) == set()
    verify = cli(exe, store_path, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert f"{done + 3} events" in verify.stderr
    assert lock_of(store_path).exists()
    return figures


def run_kill_test(exe: str, tmp_path: Path, ext: str, trials: int) -> None:
    store_path = tmp_path / f"acme{ext}"
    shutil.copyfile(FIXTURES / f"acme{ext}", store_path)
    started = time.monotonic()
    f = kill_trials(exe, store_path, trials, random.Random(f"kill {ext} {trials}"))
    print(
        f"\nkilled writers [{ext[1:]}]: {f.trials} trials, {f.trials} SIGKILLs, {f.acknowledged} acknowledged changes; "
        f"after a kill the store held the next, unacknowledged change {f.at_next} times; temp files left by kills "
        f"{len(f.temp_left)} ({len(f.swept)} swept by the next writer); audit append cut short {f.cut_short} times "
        f"({f.restored} restored by the next change); losses {f.losses} ({time.monotonic() - started:.1f} s)"
    )
    assert f.trials == trials and f.losses == 0
    assert f.restored == f.cut_short and f.swept == f.temp_left


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_a_killed_writer_loses_no_acknowledged_change(certcli_exe: str, tmp_path: Path, ext: str) -> None:
    run_kill_test(certcli_exe, tmp_path, ext, trials=5)


@pytest.mark.slow
@pytest.mark.parametrize("ext", EXTENSIONS)
def test_a_hundred_killed_writers_lose_no_acknowledged_change(certcli_exe: str, tmp_path: Path, ext: str) -> None:
    run_kill_test(certcli_exe, tmp_path, ext, trials=100)


# ---------------------------------------------------------------- 2. I/O errors injected at every step

ERRNOS = {"ENOSPC": errno.ENOSPC, "EIO": errno.EIO}
BEFORE_RENAME_OPS = {"create temp", "write", "flush", "fsync", "chmod", "rename", "log write", "log fsync"}
AFTER_RENAME_OPS = {"folder fsync", "log write", "log fsync"}  # the change is in place: these are absorbed


class Faults:
    """Counts the I/O calls of one command and fails the `fail_at`-th with `code`.

    Calls are named by what they do: the store's temp file ("create temp", "write",
    "flush", "fsync", "chmod"), "rename" (os.replace), "folder fsync", and the audit
    log's append ("log write", "log fsync").
    """

    def __init__(self, store_path: Path, fail_at: int | None, code: int) -> None:
        self.store_path, self.fail_at, self.code = store_path, fail_at, code
        self.calls: list[str] = []
        self.renamed = False
        self.injected: tuple[str, bool] | None = None  # (the call, whether the store had been replaced)
        log = log_of(store_path)
        self.log_id = (log.stat().st_dev, log.stat().st_ino) if log.exists() else None

    def step(self, name: str) -> None:
        self.calls.append(name)
        if len(self.calls) == self.fail_at:
            self.injected = (name, self.renamed)
            raise OSError(self.code, os.strerror(self.code))

    def kind_of_fd(self, fd: int, file_op: str, log_op: str) -> str:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return "folder fsync"
        return log_op if (info.st_dev, info.st_ino) == self.log_id else file_op


class CountedFile:
    """A file object from os.fdopen whose writes and flushes count as calls."""

    def __init__(self, handle: Any, faults: Faults) -> None:
        self._handle, self._faults = handle, faults

    def write(self, data: bytes) -> int:
        self._faults.step("write")
        return self._handle.write(data)

    def flush(self) -> None:
        self._faults.step("flush")
        self._handle.flush()

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CountedFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._handle.close()


@contextlib.contextmanager
def injected(store_path: Path, fail_at: int | None, code: int) -> Iterator[Faults]:
    faults = Faults(store_path, fail_at, code)
    real_fdopen, real_write, real_fsync = os.fdopen, os.write, os.fsync
    real_replace, real_chmod, real_mkstemp = os.replace, os.chmod, tempfile.mkstemp

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        return CountedFile(real_fdopen(fd, *args, **kwargs), faults)

    def write(fd: int, data: bytes) -> int:
        faults.step(faults.kind_of_fd(fd, "write", "log write"))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        faults.step(faults.kind_of_fd(fd, "fsync", "log fsync"))
        real_fsync(fd)

    def replace(source: Any, target: Any, **kwargs: Any) -> None:
        faults.step("rename")
        real_replace(source, target, **kwargs)
        faults.renamed = faults.renamed or Path(target) == store_path

    def chmod(target: Any, mode: int, **kwargs: Any) -> None:
        faults.step("chmod")
        real_chmod(target, mode, **kwargs)

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        faults.step("create temp")
        return real_mkstemp(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for module, name, replacement in (
            (os, "fdopen", fdopen),
            (os, "write", write),
            (os, "fsync", fsync),
            (os, "replace", replace),
            (os, "chmod", chmod),
            (tempfile, "mkstemp", mkstemp),
        ):
            patch.setattr(module, name, replacement)
        yield faults


def build_small_store(path: Path) -> None:
    """An admin, a learner, a course and a certification: four changes, four audit events."""
    store = open_store(path)
    usecases.init_store(store, ADMIN, "Root", "Fault Co", NOW)
    usecases.add_user(context(store), LEARNER, "Lea", "learner", None, None)
    usecases.add_course(context(store), "first-aid", "First aid", 30)
    usecases.define(
        context(store), usecases.Definition(id=CERT, title="Safety", kind="internal", courses=["first-aid"]), False
    )


Command = tuple[Callable[[usecases.Context], Any], Callable[[Document], bool]]
COMMANDS: dict[str, Command] = {
    "course add": (
        lambda ctx: usecases.add_course(ctx, "faulty", "Added under faults", 20),
        lambda doc: "faulty" in doc.courses,
    ),
    "assign": (
        lambda ctx: usecases.assign(ctx, CERT, [LEARNER], None),
        lambda doc: doc.enrollment(CERT, LEARNER) is not None,
    ),
}


class FaultFigures:
    def __init__(self) -> None:
        self.runs = self.failed = self.absorbed = self.temp_left = self.losses = 0
        self.injected: Counter[str] = Counter()


def fault_sweep(template: Path, work: Path, command: str, code: int, log_lags: bool, figures: FaultFigures) -> None:
    """Fail the k-th I/O call of `command`, for k = 1, 2, ... until it completes without reaching the fault."""
    run_command, done = COMMANDS[command]
    for fail_at in range(1, 100):
        folder = work / f"{command.replace(' ', '-')}-{'lagging' if log_lags else 'whole'}-{fail_at}"
        folder.mkdir()
        path = folder / template.name
        shutil.copyfile(template, path)
        full_log = log_of(template).read_bytes()
        last_line = full_log.splitlines(keepends=True)[-1]
        log_of(path).write_bytes(full_log[: -len(last_line)] if log_lags else full_log)
        store = open_store(path, lock_timeout=5.0)
        before_store, before_log, before_names = path.read_bytes(), log_of(path).read_bytes(), set(os.listdir(folder))

        error: DataError | None = None
        with injected(path, fail_at, code) as faults:
            try:
                run_command(context(store))
            except DataError as exc:
                error = exc

        figures.runs += 1
        if faults.injected is None:  # the command got past its last I/O call: the sweep is complete
            assert error is None
            assert done(store.read()) and audit_problem(store) is None
            assert temp_files(path) == set()
            return
        call, after_rename = faults.injected
        figures.injected[f"{call} after rename" if after_rename else call] += 1
        figures.temp_left += len(temp_files(path))
        assert temp_files(path) == set(), f"{call}: temp file left"
        assert set(os.listdir(folder)) - before_names <= {lock_of(path).name}
        if after_rename:
            # The new store is in place: the command reports success and the change is there.
            assert call in AFTER_RENAME_OPS, f"a fault at {call} after the rename"
            assert error is None, f"{call} after the rename failed the command although the change is saved"
            figures.absorbed += 1
            figures.losses += not done(store.read())
            assert done(store.read())
            problem = audit_problem(store)
            if call == "folder fsync":
                assert problem is None
            else:  # the audit event is in the store: either the log got it, or the next change appends it
                assert problem is None or all(words in problem for words in CUT_SHORT), problem
            usecases.add_course(context(store), "next", "The next change", None)
            assert done(store.read()) and "next" in store.read().courses
        else:
            assert call in BEFORE_RENAME_OPS
            assert error is not None, f"a fault at {call} did not fail the command"
            assert error.exit_code == 6
            assert error.message.startswith(("cannot write store", "cannot write audit log")), error.message
            assert os.strerror(code) in error.message
            figures.failed += 1
            figures.losses += path.read_bytes() != before_store
            assert path.read_bytes() == before_store  # the old store, byte for byte
            # The log is as it was, or has gained the event it lacked (a lagging log is completed first).
            assert log_of(path).read_bytes() == before_log or log_events(path) == log_events(template)
            assert not done(store.read())
            run_command(context(store))  # the next command works
            assert done(store.read())
        assert audit_problem(store) is None
    pytest.fail("the command made over 100 I/O calls")


@pytest.mark.parametrize("code_name", ERRNOS)
@pytest.mark.parametrize("ext", EXTENSIONS)
def test_an_io_error_at_any_step_of_a_change_loses_nothing(tmp_path: Path, ext: str, code_name: str) -> None:
    template = tmp_path / f"template{ext}"
    build_small_store(template)
    figures = FaultFigures()
    for command in COMMANDS:
        for log_lags in (False, True):
            fault_sweep(template, tmp_path, command, ERRNOS[code_name], log_lags, figures)

    kinds = ", ".join(f"{name} {count}" for name, count in sorted(figures.injected.items()))
    total = sum(figures.injected.values())
    print(
        f"\nI/O faults [{ext[1:]}, {code_name}]: {len(COMMANDS) * 2} commands swept in {figures.runs} runs, "
        f"{total} faults injected ({kinds}); {figures.failed} failed with exit 6 leaving the store byte-identical, "
        f"{figures.absorbed} absorbed after the rename with the change in place; temp files left "
        f"{figures.temp_left}, losses {figures.losses}"
    )
    assert figures.losses == 0 and figures.temp_left == 0 and total == figures.failed + figures.absorbed
    for call in (
        "write",
        "flush",
        "fsync",
        "rename",
        "folder fsync after rename",
        "log write",
        "log write after rename",
    ):
        assert figures.injected[call] >= 1, f"no fault was injected at {call}: the sweep no longer reaches it"


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_a_full_disk_mid_audit_line_does_not_tear_the_log(tmp_path: Path, ext: str) -> None:
    """A disk that fills up in the middle of the event line: write(2) stores part of it and then fails.

    The change itself is saved (the store holds its event); the log must be left
    without a torn line, so that `audit verify` reports only the cut-short case and
    the next change appends the event and goes through.
    """
    path = tmp_path / f"s{ext}"
    build_small_store(path)
    store = open_store(path)
    log_before = log_of(path).read_bytes()
    log_id = (log_of(path).stat().st_dev, log_of(path).stat().st_ino)
    real_write = os.write
    room = [200]  # bytes left on the disk for the log

    def filling_write(fd: int, data: bytes) -> int:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != log_id:
            return real_write(fd, data)
        if room[0] == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, bytes(data)[: room[0]])
        room[0] -= written
        return written

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", filling_write)
        usecases.add_course(context(store), "faulty", "Added as the disk fills", None)

    assert "faulty" in store.read().courses
    assert log_of(path).read_bytes() == log_before  # no torn line
    problem = audit_problem(store)
    assert problem is None or all(words in problem for words in CUT_SHORT), problem
    usecases.add_course(context(store), "next", "The next change", None)  # space again: the next change works
    assert audit_problem(store) is None


# ---------------------------------------------------------------- 2b. a real full disk (tmpfs, root only)

TMPFS_SIZE = "256k"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    why = "mounting a small tmpfs needs root; the injected-fault tests cover ENOSPC without it"
    with mounted_tmpfs(tmp_path / "tmpfs", TMPFS_SIZE, why) as folder:
        yield folder


def fill(filler: Path, leave: int) -> None:
    """Grow `filler` until the file system is full, then give back about `leave` bytes."""
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)


def test_a_real_full_disk_fails_the_write_with_exit_6_and_changes_nothing(certcli_exe: str, small_tmpfs: Path) -> None:
    store_path = small_tmpfs / "s.toml"
    filler = small_tmpfs / "filler"
    assert cli(certcli_exe, store_path, "init", "--admin", ADMIN).returncode == 0
    # Fill the disk step by step, adding a course after each step, until a write fails.
    added, failure, steps = 0, None, 0
    for leave in (65536, 32768, 16384, 12288, 8192, 4096, 0):
        steps += 1
        fill(filler, leave)
        before = (store_path.read_bytes(), log_of(store_path).read_bytes(), sorted(os.listdir(small_tmpfs)))
        result = cli(certcli_exe, store_path, "course", "add", f"c{added}", "--title", f"Course {added}")
        if result.returncode == 0:
            added += 1
            verify = cli(certcli_exe, store_path, "audit", "verify")
            assert verify.returncode == 0, verify.stderr
            continue
        failure = result
        lines = assert_expected_error(result, 6)
        assert "cannot write store" in lines[0] and "No space left on device" in lines[0], result.stderr
        after = (store_path.read_bytes(), log_of(store_path).read_bytes(), sorted(os.listdir(small_tmpfs)))
        assert after == before  # store and log byte-identical, no temp file, nothing new in the folder
        break
    assert failure is not None, "the disk never filled up"
    assert temp_files(store_path) == set()
    assert cli(certcli_exe, store_path, "audit", "verify").returncode == 0  # reading works on a full disk

    filler.unlink()  # space again: the next command works
    result = cli(certcli_exe, store_path, "course", "add", f"c{added}", "--title", f"Course {added}")
    assert result.returncode == 0, result.stderr
    courses = open_store(store_path).read().courses
    lost = sum(f"c{number}" not in courses for number in range(added + 1))
    assert cli(certcli_exe, store_path, "audit", "verify").returncode == 0
    print(
        f"\nreal full disk [tmpfs {TMPFS_SIZE}]: {steps} fill levels tried, {added} changes went through before "
        f"the disk was full, then a write failed with exit 6 leaving store and log byte-identical and no temp file; "
        f"the next command after freeing space worked; losses {lost}"
    )
    assert lost == 0


def test_a_real_full_disk_never_tears_the_audit_log(certcli_exe: str, small_tmpfs: Path) -> None:
    """While something holds the old store open (a backup, a `certcli list` running), the rename frees no space,
    so the audit append is the write that meets the full disk. Change after change, the log must never be torn:
    `audit verify` passes or reports only the cut-short case, and with space again the next change works."""
    store_path = small_tmpfs / "s.toml"
    filler = small_tmpfs / "filler"
    assert cli(certcli_exe, store_path, "init", "--admin", ADMIN).returncode == 0
    outcomes: Counter[str] = Counter()
    acknowledged: list[str] = []
    for number in range(16):  # the log grows by about 560 bytes a change: it crosses a page boundary twice
        before = store_path.read_bytes(), log_of(store_path).read_bytes()
        with store_path.open("rb"):  # the reader holding the old store open
            fill(filler, leave=-(-store_path.stat().st_size // 4096) * 4096)  # just room for the new store
            result = cli(certcli_exe, store_path, "course", "add", f"c{number}", "--title", "A course " * 20)
        filler.unlink()
        if result.returncode == 0:
            outcomes["done"] += 1
            acknowledged.append(f"c{number}")
        else:
            lines = assert_expected_error(result, 6)
            assert "cannot write" in lines[0] and "No space left on device" in lines[0], result.stderr
            assert store_path.read_bytes() == before[0]
            # The log is as it was, or has gained the event it lacked (a lagging log is completed first).
            head = open_store(store_path).read().audit_head
            assert head is not None
            events_before = [json.loads(line) for line in before[1].splitlines()]
            assert log_events(store_path) in (events_before, [*events_before, head.event])
            outcomes["refused"] += 1
        verify = cli(certcli_exe, store_path, "audit", "verify")
        if verify.returncode != 0:
            lines = assert_expected_error(verify, 6)
            assert all(words in lines[0] for words in CUT_SHORT), verify.stderr
            outcomes["cut short"] += 1
    result = cli(certcli_exe, store_path, "course", "add", "after", "--title", "After the full disk")
    assert result.returncode == 0, result.stderr
    verify = cli(certcli_exe, store_path, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    courses = open_store(store_path).read().courses
    lost = sum(course not in courses for course in acknowledged)
    print(
        f"\nreal full disk, store held open [tmpfs {TMPFS_SIZE}]: 16 changes tried on a full disk: "
        f"{outcomes['done']} done, {outcomes['refused']} refused with exit 6 leaving the store byte-identical, "
        f"{outcomes['cut short']} times the log was one event short (never torn), restored by the next change; "
        f"losses {lost}"
    )
    assert lost == 0
    assert outcomes["cut short"] >= 1  # the append did meet the full disk


# ---------------------------------------------------------------- 3. a stuck lock

LOCK_TIMEOUT = 0.5
WRITE_COMMANDS = (
    ("course", "add", "blocked", "--title", "Blocked"),
    ("user", "add", "blocked", "--name", "Blocked"),
    ("assign", CERT, LEARNER),
)


@contextlib.contextmanager
def lock_held_elsewhere(lock_file: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, str(HELPER), "hold", str(lock_file), "120"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_a_stuck_lock_makes_writes_exit_7_naming_the_lock_file(certcli_exe: str, tmp_path: Path) -> None:
    store_path = tmp_path / "s.toml"  # the lock is the same for both formats
    build_small_store(store_path)
    lock_file = lock_of(store_path)
    lock_inode = lock_file.stat().st_ino
    before = store_path.read_bytes(), log_of(store_path).read_bytes()
    waits = []
    with lock_held_elsewhere(lock_file):
        for command in WRITE_COMMANDS:
            started = time.monotonic()
            result = cli(certcli_exe, store_path, *command, lock_timeout=LOCK_TIMEOUT)
            waits.append(time.monotonic() - started)
            lines = assert_expected_error(result, 7)
            assert "locked by another process" in lines[0], result.stderr
            assert any(line.startswith("hint: ") and str(lock_file) in line for line in lines), result.stderr
            assert LOCK_TIMEOUT <= waits[-1] < LOCK_TIMEOUT + 3.0  # the wait given, not the default 10 s
            assert (store_path.read_bytes(), log_of(store_path).read_bytes()) == before
        # Readers take no lock; the lock file is still there and still held by its owner.
        listed = cli(certcli_exe, store_path, "user", "list", "--json")
        assert listed.returncode == 0 and LEARNER in listed.stdout
        assert lock_file.stat().st_ino == lock_inode
        with pytest.raises(Timeout):
            FileLock(str(lock_file), timeout=0).acquire()
        # The holder dies without releasing: the kernel drops its lock, the file stays.
    started = time.monotonic()
    result = cli(certcli_exe, store_path, *WRITE_COMMANDS[0], lock_timeout=LOCK_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < LOCK_TIMEOUT + 3.0
    assert "blocked" in open_store(store_path).read().courses
    assert lock_file.exists() and lock_file.stat().st_ino == lock_inode
    print(
        f"\nstuck lock: {len(WRITE_COMMANDS)} write commands tried against a lock held by another process, all "
        f"exit 7 after {min(waits):.2f}-{max(waits):.2f} s (CERTCLI_LOCK_TIMEOUT={LOCK_TIMEOUT}) with a hint naming "
        f"the lock file, store and log byte-identical; reads went on; after the holder was killed the next write "
        f"went through and the lock file kept its inode"
    )


LOCK_WORKERS = 4
LOCK_UPDATES = 25


def lock_intervals(store_path: Path, run_dir: Path, how: str) -> tuple[list[tuple[str, int, int]], list[int]]:
    """Run the workers together; their lock intervals (worker, enter, exit) and exit codes."""
    ready, start, log = run_dir / "ready", run_dir / "start", run_dir / "intervals.log"
    ready.mkdir(parents=True)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(HELPER),
                "intervals",
                str(store_path),
                str(log),
                str(ready),
                str(start),
                str(worker),
                str(LOCK_UPDATES),
                how,
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(LOCK_WORKERS)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(os.listdir(ready)) < LOCK_WORKERS:
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers), "workers did not start"
            time.sleep(0.01)
        start.touch()
        codes = []
        for worker in workers:
            _, err = worker.communicate(timeout=120)
            assert how == "unlocked" or worker.returncode == 0, f"a worker failed:\n{err}"
            codes.append(worker.returncode)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    intervals = []
    for line in log.read_text().splitlines():
        worker, enter, leave = line.split()
        intervals.append((worker, int(enter), int(leave)))
    return intervals, codes


def overlaps(intervals: list[tuple[str, int, int]]) -> int:
    """How many intervals begin before the one before them (in order of entry) has ended."""
    ordered = sorted(intervals, key=lambda item: item[1])
    latest_exit, count = 0, 0
    for _, enter, leave in ordered:
        count += enter < latest_exit
        latest_exit = max(latest_exit, leave)
    return count


def test_the_lock_keeps_writers_of_other_processes_apart(tmp_path: Path) -> None:
    store_path = tmp_path / "s.json"
    build_small_store(store_path)
    lock_inode = lock_of(store_path).stat().st_ino
    intervals, codes = lock_intervals(store_path, tmp_path / "locked", "locked")
    assert codes == [0] * LOCK_WORKERS
    assert len(intervals) == LOCK_WORKERS * LOCK_UPDATES
    found = overlaps(intervals)
    courses = open_store(store_path).read().courses
    lost = sum(f"w{w}-{n}" not in courses for w in range(LOCK_WORKERS) for n in range(LOCK_UPDATES))
    assert lock_of(store_path).stat().st_ino == lock_inode  # never deleted nor replaced
    assert audit_problem(open_store(store_path)) is None

    # The control: the same workers without the lock do overlap, so the check above can see it.
    control_path = tmp_path / "control.json"
    build_small_store(control_path)
    control, _ = lock_intervals(control_path, tmp_path / "unlocked", "unlocked")
    control_overlaps = overlaps(control)
    print(
        f"\nlock across processes: {LOCK_WORKERS} processes x {LOCK_UPDATES} changes, {len(intervals)} lock intervals, "
        f"overlaps {found}, lost changes {lost}, lock file kept (same inode); control without the lock: "
        f"{control_overlaps} overlaps in {len(control)} intervals"
    )
    assert found == 0 and lost == 0
    assert control_overlaps > 0
