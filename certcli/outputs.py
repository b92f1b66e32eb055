"""Files a command writes with `-o`: never one of the store's own files, always replaced atomically."""

from __future__ import annotations

import os
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


def check_output_path(path: Path, store: Store) -> None:
    """Refuse (exit 2) an output that is the store, its log, its lock, its journal or anything in
    its proofs folder, however it is named: through a link, `..` or another hard link."""
    real = Path(os.path.realpath(path))
    for own in store.own_files():
        if _inside(real, own) or _same_file(path, own):
            raise UsageError(
                f"{path} is part of the store {store.location} ({own.name}); writing there would destroy it",
                hint="write the output to another file",
            )


def write_output(path: Path, content: bytes, store: Store, replace: bool = True) -> None:
    """Write `content` to `path` atomically (a temp file renamed over it): an existing file keeps its
    mode, a new one follows the umask. With `replace` False an existing file is refused (exit 5)."""
    check_output_path(path, store)
    try:
        if path.exists():
            mode = path.stat().st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        write_atomically(path, content, mode, exclusive=not replace)
    except FileExistsError:
        raise StateError(f"{path} already exists", hint="choose another file, or pass --force to replace it") from None
    except OSError as exc:
        raise DataError(
            f"cannot write {path}: {exc.strerror}", hint="check that its folder exists and is writable"
        ) from None
