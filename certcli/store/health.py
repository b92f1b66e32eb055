"""A store's health on disk and in its tables: what `certcli doctor` reports of a backend.

Each check gives one finding `{check, ok, detail}` when it passes, and one finding per problem
when it does not; nothing here raises for what it finds or changes anything. A file store checks
its files (modes, the lock, temp files) and its proofs folder; a database store the proofs it keeps.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from certcli.atomic import is_temp_file_of
from certcli.model import PROOF_SUBMITTED, Document

LOCK_WAIT_SECONDS = 1.0  # a writer holds the lock for milliseconds; longer means a stuck holder
WIDEST_STORE_MODE = 0o660  # owner and group may read and write; nobody else
CHUNK_BYTES = 1024 * 1024


class Finding(NamedTuple):
    check: str
    ok: bool
    detail: str


def passed(check: str, detail: str) -> Finding:
    return Finding(check, True, detail)


def number(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def file_store_findings(doc: Document, path: Path, audit_log: Path, proofs_dir: Path) -> list[Finding]:
    """A file store's files: their modes, the lock and temp files, and the proofs folder."""
    return (
        _check_permissions(path, audit_log, proofs_dir)
        + _check_lock_and_temp_files(path)
        + _check_proofs(doc, proofs_dir)
    )


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _too_wide(what: str, target: Path, widest: int, fix: str) -> list[Finding]:
    """A problem when `target` (if it is there; a link's target) allows more than `widest`."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [Finding("permissions", False, f"cannot inspect {what} {target}: {exc.strerror}")]
    extra = stat.S_IMODE(info.st_mode) & ~widest
    if not extra:
        return []
    reason = _who_else(extra, stat.S_ISDIR(info.st_mode))
    return [Finding("permissions", False, f"{what} {target} has mode {_mode(info)}: {reason}; {fix}")]


def _who_else(extra: int, folder: bool) -> str:
    """What the mode bits in `extra` allow, in words: "every user may read and write it"."""
    verbs = ((4, "read"), (2, "write"), (1, "enter" if folder else "execute"))
    parts = []
    for who, shift in (("every user", 0), ("its group", 3), ("its owner", 6)):
        allowed = [verb for bit, verb in verbs if (extra >> shift) & bit]
        if allowed:
            parts.append(f"{who} may {' and '.join(allowed)} it")
    return ", ".join(parts)


def _check_permissions(path: Path, audit_log: Path, proofs_dir: Path) -> list[Finding]:
    problems = _too_wide("store", path, WIDEST_STORE_MODE, f"run chmod 600 {path} (660 to share it with a group)")
    problems += _too_wide("audit log", audit_log, WIDEST_STORE_MODE, f"run chmod 600 {audit_log}")
    with contextlib.suppress(OSError):
        folder = os.stat(path.parent)
        if folder.st_mode & stat.S_IWOTH and not folder.st_mode & stat.S_ISVTX:
            problems.append(
                Finding(
                    "permissions",
                    False,
                    f"folder {path.parent} has mode {_mode(folder)}: any user can replace the store; "
                    f"run chmod o-w {path.parent}",
                )
            )
    if _plain_folder(proofs_dir):
        problems += _too_wide("proofs folder", proofs_dir, 0o700, f"run chmod 700 {proofs_dir}")
        for entry in _entries(proofs_dir):
            if stat.S_ISREG(_lmode(entry)):
                problems += _too_wide("proof file", entry, 0o600, f"run chmod 600 {entry}")
    if problems:
        return problems
    return [passed("permissions", "the store, its audit log and its proofs are closed to other users")]


def _plain_folder(folder: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(folder).st_mode)
    except OSError:
        return False


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


# ---------------------------------------------------------------- lock and temp files


def _check_lock_and_temp_files(path: Path) -> list[Finding]:
    """Whether a writer could take the lock now; the temp files are listed while it is held, so a
    temp file seen then belongs to no live writer."""
    from filelock import FileLock, Timeout

    lock_path = Path(f"{path}.lock")
    findings: list[Finding] = []
    if not lock_path.exists():  # nobody can hold a lock on a file that is not there; do not create it
        findings.append(passed("lock", f"no lock file {lock_path}: no writer holds the lock"))
        return findings + _temp_files(path)
    lock = FileLock(str(lock_path), timeout=LOCK_WAIT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        findings.append(
            Finding(
                "lock",
                False,
                f"the lock {lock_path} is held by another process (waited {LOCK_WAIT_SECONDS:g} s): "
                f"a certcli command is running or stuck; if none is running, find the holder with `fuser {lock_path}`",
            )
        )
        return findings + _temp_files(path, writer_may_be_running=True)
    except OSError as exc:
        findings.append(Finding("lock", False, f"cannot take the lock {lock_path}: {exc.strerror}"))
        return findings + _temp_files(path, writer_may_be_running=True)
    try:
        findings.append(passed("lock", f"the lock {lock_path} is free"))
        return findings + _temp_files(path)
    finally:
        lock.release()


def _temp_files(path: Path, writer_may_be_running: bool = False) -> list[Finding]:
    leftovers = [entry for entry in _entries(path.parent) if is_temp_file_of(path, entry)]
    if not leftovers:
        return [passed("temp_files", f"no temp files of {path.name} in {path.parent}")]
    whose = "the writer holding the lock, or a killed writer" if writer_may_be_running else "a killed writer"
    return [
        Finding(
            "temp_files",
            False,
            f"orphan temp file {entry} ({_size(entry)}) left by {whose}; the next change to the store removes it",
        )
        for entry in leftovers
    ]


def _size(entry: Path) -> str:
    try:
        return f"{os.lstat(entry).st_size} bytes"
    except OSError:
        return "gone"


# ---------------------------------------------------------------- proofs


class _Reference(NamedTuple):
    sha256: str
    size: int
    filename: str
    user: str
    certification: str


def _references(doc: Document) -> Iterator[_Reference]:
    for enrollment in doc.enrollments:
        for fact in enrollment.facts:
            if fact.type == PROOF_SUBMITTED and fact.proof is not None:
                proof = fact.proof
                yield _Reference(proof.sha256, proof.size, proof.filename, enrollment.user, enrollment.certification)


def _check_proofs(doc: Document, proofs_dir: Path) -> list[Finding]:
    references: dict[str, list[_Reference]] = {}
    for reference in _references(doc):
        references.setdefault(reference.sha256, []).append(reference)
    problems = _folder_problems(proofs_dir, len(references))
    if problems is not None:
        return problems
    problems = [
        Finding("proofs", False, problem)
        for sha256, refs in references.items()
        for problem in _proof_problems(proofs_dir / sha256, refs)
    ]
    for entry in _entries(proofs_dir):
        if entry.name not in references:
            problem = _unreferenced_entry_problem(entry)
            if problem is not None:
                problems.append(Finding("proofs", False, problem))
    if problems:
        return problems
    present = number(len(references), "referenced proof file")
    return [passed("proofs", f"{present} present, each matching its SHA-256")]


def _unreferenced_entry_problem(entry: Path) -> str | None:
    """What is wrong with an entry of the proofs folder no enrollment refers to (None: a whole proof
    file whose upload was not recorded, which does no harm)."""
    from certcli.proofs import is_temp_file

    if not stat.S_ISREG(_lmode(entry)):
        return f"{entry} in the proofs folder is not a plain file; remove it"
    if is_temp_file(entry):
        return f"orphan temp file {entry} ({_size(entry)}) left by a killed upload; the next change removes it"
    if _sha256_of(entry) != entry.name:
        return (
            f"{entry} does not hold the file its name promises (cut short or changed); "
            "the next upload of that file replaces it, or remove it"
        )
    return None


def _sha256_of(target: Path) -> str | None:
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, CHUNK_BYTES):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def kept_proofs_findings(doc: Document, proof_content: Callable[[str], bytes | None]) -> list[Finding]:
    """A database store keeps proofs as rows: each referenced one must be there with its SHA-256."""
    references = {reference.sha256: reference for reference in _references(doc)}
    problems = []
    for sha256, reference in references.items():
        content = proof_content(sha256)
        where = f"proof {reference.filename!r} of {reference.user} in {reference.certification} ({sha256[:12]}…)"
        if content is None:
            problems.append(Finding("proofs", False, f"{where} is missing from the store"))
        elif hashlib.sha256(content).hexdigest() != sha256:
            problems.append(Finding("proofs", False, f"{where} no longer matches its SHA-256"))
    if problems:
        return problems
    return [passed("proofs", f"{number(len(references), 'referenced proof')} present, each matching its SHA-256")]


def _folder_problems(proofs_dir: Path, referenced: int) -> list[Finding] | None:
    """Findings that stop the per-file checks: a proofs folder that is a link, or not a folder."""
    try:
        info = os.lstat(proofs_dir)
    except FileNotFoundError:  # each referenced proof is then reported missing
        return None if referenced else [passed("proofs", "no proofs referenced, no proofs folder")]
    except OSError as exc:
        return [Finding("proofs", False, f"cannot inspect the proofs folder {proofs_dir}: {exc.strerror}")]
    if stat.S_ISLNK(info.st_mode):
        return [
            Finding(
                "proofs",
                False,
                f"the proofs folder {proofs_dir} is a symbolic link (to {os.readlink(proofs_dir)}); certcli does "
                f"not follow it, so {number(referenced, 'proof')} not checked; replace it with a plain folder",
            )
        ]
    if not stat.S_ISDIR(info.st_mode):
        return [Finding("proofs", False, f"the proofs folder {proofs_dir} is not a folder; move it out of the way")]
    return None


def _proof_problems(target: Path, refs: list[_Reference]) -> list[str]:
    first = refs[0]
    who = ", ".join(f"{ref.user} in {ref.certification}" for ref in refs)
    name = f"proof {first.sha256[:12]}… ({first.filename!r}, {who})"
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return [f"{name} is missing: {target} does not exist"]
    except OSError as exc:
        if stat.S_ISLNK(_lmode(target)):
            return [f"{name}: {target} is a symbolic link, not the stored file; remove it and have the proof uploaded"]
        return [f"{name}: cannot read {target}: {exc.strerror}"]
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return [f"{name}: {target} is not a plain file"]
        sizes = sorted({ref.size for ref in refs})
        if sizes != [info.st_size]:
            recorded = " or ".join(str(size) for size in sizes)
            return [f"{name}: {target} holds {info.st_size} bytes, the store records {recorded}"]
        digest = hashlib.sha256()
        while chunk := os.read(fd, CHUNK_BYTES):
            digest.update(chunk)
    finally:
        os.close(fd)
    if digest.hexdigest() != first.sha256:
        return [f"{name}: the content of {target} changed: its SHA-256 is now {digest.hexdigest()}"]
    return []


def _lmode(target: Path) -> int:
    try:
        return os.lstat(target).st_mode
    except OSError:
        return 0


# ---------------------------------------------------------------- audit trail


