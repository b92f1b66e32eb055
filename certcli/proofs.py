"""Proof files: checked by their open descriptor and content, stored under their SHA-256."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from pathlib import Path

from certcli.atomic import TEMP_SUFFIX, write_atomically
from certcli.errors import DataError
from certcli.model import Proof

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
CHUNK_BYTES = 64 * 1024

# Content type → the file name endings that agree with it.
ACCEPTED = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}


def _read_regular_file(source: Path, max_bytes: int) -> tuple[bytes, str]:
    """The file's content and SHA-256, read in chunks from one open descriptor."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(source, flags)
    except FileNotFoundError:
        raise DataError(f"proof file {str(source)!r} does not exist", hint="check the path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(
                f"proof {str(source)!r} is a symbolic link", hint="upload the file itself, not a link to it"
            ) from None
        raise DataError(f"cannot open proof file {str(source)!r}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"proof {str(source)!r} is not a regular file", hint="upload a PDF, PNG or JPEG file")
        if info.st_size > max_bytes:
            raise _too_large(source, max_bytes)
        digest, content = hashlib.sha256(), bytearray()
        while chunk := os.read(fd, CHUNK_BYTES):
            content += chunk
            if len(content) > max_bytes:  # the file grew while we read it
                raise _too_large(source, max_bytes)
            digest.update(chunk)
        return bytes(content), digest.hexdigest()
    finally:
        os.close(fd)


def _too_large(source: Path, max_bytes: int) -> DataError:
    return DataError(
        f"proof {str(source)!r} is larger than {max_bytes} bytes",
        hint="upload a smaller file, or raise CERTCLI_PROOF_MAX_BYTES",
    )


def _check_type(source: Path, content: bytes) -> None:
    import filetype

    kind = filetype.guess(content[:8192])
    mime = kind.mime if kind is not None else None
    if mime not in ACCEPTED:
        raise DataError(
            f"proof {str(source)!r} is not a PDF, PNG or JPEG file by its content",
            hint="upload a PDF, PNG or JPEG file",
        )
    if source.suffix.lower() not in ACCEPTED[mime]:
        raise DataError(
            f"proof {str(source)!r} holds {mime} but its name ends in {source.suffix or 'nothing'!r}",
            hint=f"rename it to end in {ACCEPTED[mime][0]}",
        )


def _prepare_folder(folder: Path) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise DataError(f"proof folder {folder} is not a plain folder", hint="move whatever is there out of the way")


def _holds(target: Path, content: bytes) -> bool:
    """Whether `target` is a plain file (not a link) holding exactly `content`."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(content):
            return False
        stored = bytearray()
        while chunk := os.read(fd, CHUNK_BYTES):
            stored += chunk
        return stored == content
    finally:
        os.close(fd)


def _publish(target: Path, content: bytes) -> None:
    """Make `target` a plain owner-only file holding `content`, appearing only once whole (written to a
    temp file, fsynced, then linked under its name). Whatever else is found there (a file cut short by
    a killed upload, or planted) is replaced, never followed; a file with these very bytes is kept."""
    try:
        write_atomically(target, content, 0o600, exclusive=True)
    except FileExistsError:
        if not _holds(target, content):
            write_atomically(target, content, 0o600)  # renames over the entry itself: a link is not followed


def sweep_temp_files(folder: Path) -> list[Path]:
    """Remove the temp files killed uploads left in a proofs folder; call only with the store's lock
    held, when no upload can be mid-write. Returns what was removed."""
    swept: list[Path] = []
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if is_temp_file(entry) and stat.S_ISREG(os.lstat(entry).st_mode):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    swept.append(entry)
    return swept


def is_temp_file(entry: Path) -> bool:
    """Whether a proofs folder's `entry` is the temp file of an upload (proofs themselves are named
    by their SHA-256, temp files `.SHA256.RANDOM.tmp`)."""
    return entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)


def checked_proof(source: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Proof, bytes]:
    """A proof file's record and content, once it is a PDF, PNG or JPEG within the size limit."""
    content, sha256 = _read_regular_file(source, max_bytes)
    _check_type(source, content)
    return Proof(sha256=sha256, size=len(content), filename=source.name), content


def keep_in_folder(folder: Path, sha256: str, content: bytes) -> None:
    """Keep `content` in `folder` under its SHA-256 (a file store's proofs); call with the store's lock held."""
    if hashlib.sha256(content).hexdigest() != sha256:
        raise ValueError("the content does not match the SHA-256 it is to be kept under")
    try:
        _prepare_folder(folder)
        _publish(folder / sha256, content)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DataError(f"no space left to store the proof in {folder}") from None
        raise DataError(f"cannot store the proof in {folder}: {exc.strerror}") from None
