"""Files written whole or not at all: a temp file beside the target, written, fsynced, then renamed
(or linked) into place. A process killed at any moment leaves the old file or the new one, and at most
a temp file that `sweep_temp_files` removes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def is_temp_file_of(path: Path, entry: Path) -> bool:
    """Whether `entry` is a temp file a writer of `path` made (it lies beside `path`)."""
    return entry.parent == path.parent and entry.name.startswith(temp_prefix(path)) and entry.name.endswith(TEMP_SUFFIX)


def write_atomically(path: Path, content: bytes, mode: int, exclusive: bool = False) -> None:
    """Replace `path` with `content`: temp file in the same folder, fsync, rename, fsync the folder.
    With `exclusive`, the temp file is linked in place instead, so anything already at `path`
    (even a file that appeared a moment ago) is left alone and FileExistsError raised.

    On any failure the old file is untouched and the temp file is removed.
    """
    import tempfile  # only commands that write pay for it

    folder = path.parent
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=temp_prefix(path), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        if exclusive:
            os.link(temp_name, path)
            os.unlink(temp_name)
        else:
            os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    # The new content is in place: a folder that cannot be synced (some file
    # systems refuse) must not turn a done write into a reported failure.
    with contextlib.suppress(OSError):
        fsync_folder(folder)


def sweep_temp_files(path: Path) -> list[Path]:
    """Remove the temp files killed writers of `path` left beside it; call only while no writer of
    `path` can be mid-write (with the store's lock held). Returns what was removed."""
    swept = []
    with contextlib.suppress(OSError):
        for leftover in path.parent.iterdir():
            if is_temp_file_of(path, leftover) and not leftover.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
                    swept.append(leftover)
    return swept


def fsync_folder(folder: Path) -> None:
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)
    finally:
        os.close(folder_fd)
