"""Files a command writes with `-o`: never one of the store's own files, a regular file replaced
atomically, and never anything else replaced by a file."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from certcli.atomic import write_atomically
from certcli.errors import DataError, StateError, UsageError
from certcli.store import Store


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _same_file(path: Path, other: Path) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


# FIFOs and devices opened when their output was checked, before the command did its work.
_opened: dict[Path, int] = {}


def check_output_path(path: Path, store: Store) -> None:
    """Refuse, before any work, an output that is the store, its log, its lock, its journal or anything
    in its proofs folder, however it is named (through a link, `..` or another hard link) (exit 2); that
    is a folder or another thing certcli never writes to (exit 2); that lies in a missing folder (exit 6).
    A FIFO is opened now, so that one nobody reads fails the command before it changes anything."""
    real = Path(os.path.realpath(path))
    for own in store.own_files():
        if _inside(real, own) or _same_file(path, own):
            raise UsageError(
                f"{path} is part of the store {store.location} ({own.name}); writing there would destroy it",
                hint="write the output to another file",
            )
    found = _found(path)
    if found is None:
        _require_folder(_final_target(path).parent, path)
    elif not stat.S_ISREG(found.st_mode):
        earlier = _opened.pop(path, None)  # left by a command that failed in this process
        if earlier is not None:
            os.close(earlier)
        _opened[path] = _open_into(path, fifo=stat.S_ISFIFO(found.st_mode))


def write_output(path: Path, content: bytes, store: Store, replace: bool = True) -> None:
    """Write `content` to `path`, never replacing what is not a regular file: a regular file is replaced
    atomically (a temp file renamed over it) and keeps its mode, a new one follows the umask; through a
    link, the file it leads to is the one replaced, and the link stays; a FIFO or a character device is
    written into. With `replace` False an existing regular file is refused (exit 5)."""
    if path not in _opened:  # else checked and opened before the command's work
        check_output_path(path, store)
    if path in _opened:
        _write_into(path, _opened.pop(path), content)
    else:
        _replace_file(_final_target(path), content, _found(path), replace)


def _found(path: Path) -> os.stat_result | None:
    """What is at `path`, through any link (None: nothing yet); a usage error when it is something
    certcli neither replaces nor writes into (a folder, a block device, a socket)."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unwritable(path, exc) from None
    mode = found.st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        kind = "a folder" if stat.S_ISDIR(mode) else "neither a file, a FIFO nor a character device"
        raise UsageError(f"{path} is {kind}: certcli does not write there", hint="name a file to write")
    return found


def _require_folder(folder: Path, path: Path) -> None:
    if not folder.is_dir():
        raise DataError(f"cannot write {path}: its folder {folder} does not exist", hint="create the folder first")


def _final_target(path: Path) -> Path:
    """The file a chain of links at `path` ends at (`path` itself when it is no link), so that the file
    is replaced and the links are kept."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _replace_file(target: Path, content: bytes, found: os.stat_result | None, replace: bool) -> None:
    if found is not None:
        mode = found.st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        write_atomically(target, content, mode, exclusive=not replace)
    except FileExistsError:
        hint = "choose another file, or pass --force to replace it"
        raise StateError(f"{target} already exists", hint=hint) from None
    except OSError as exc:
        raise _unwritable(target, exc) from None


def _open_into(path: Path, fifo: bool) -> int:
    """A FIFO or a character device opened for writing as it is (never created, never truncated). A FIFO
    is opened without waiting, so that one nobody reads is an error at once, not a command that hangs."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | (os.O_NONBLOCK if fifo else 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO and fifo:
            hint = "start its reader first, or write to a file"
            raise UsageError(f"nobody is reading FIFO {path}", hint=hint) from None
        raise _unwritable(path, exc) from None
    if stat.S_ISREG(os.fstat(fd).st_mode):  # a file took its place since it was looked at: never written in place
        os.close(fd)
        raise UsageError(f"{path} changed while it was opened", hint="run the command again")
    os.set_blocking(fd, True)
    return fd


def _write_into(path: Path, fd: int, content: bytes) -> None:
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise _unwritable(path, exc, hint="check that it can still be written (its reader, its space)") from None
    finally:
        os.close(fd)


def _unwritable(path: Path, error: OSError, hint: str = "check that its folder exists and is writable") -> DataError:
    return DataError(f"cannot write {path}: {error.strerror}", hint=hint)
