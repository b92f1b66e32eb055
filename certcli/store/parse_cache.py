"""A cache of parsed TOML stores, for commands that only read.

Python's TOML parser is pure Python: for a store of a few dozen kilobytes it
costs more than the rest of a command. Reading commands therefore keep the
parsed data (before validation, which always runs) in the user cache folder,
one file per store, keyed by the content's length and two checksums. Writes
never use it. Set CERTCLI_CACHE_DIR to choose the folder, or to an empty value
to turn the cache off.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_VERSION = 1


def cache_folder() -> Path | None:
    configured = os.environ.get("CERTCLI_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "certcli"


def _content_key(raw: bytes) -> tuple[int, int, int, int]:
    return (CACHE_VERSION, len(raw), zlib.crc32(raw), zlib.adler32(raw))


def parse_cached(raw: bytes, store_path: Path, parse: Callable[[bytes], Any]) -> Any:
    """`parse(raw)`, or the data it gave last time for the same content."""
    folder = cache_folder()
    if folder is None:
        return parse(raw)
    entry = folder / f"{zlib.crc32(str(store_path.resolve()).encode()):08x}-{store_path.name}.marshal"
    key = _content_key(raw)
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
        cached_key, data = marshal.loads(entry.read_bytes())
        if cached_key == key:
            return data
    data = parse(raw)
    _save(entry, marshal.dumps((key, data)))
    return data


def _save(entry: Path, blob: bytes) -> None:
    """Best effort: a cache that cannot be written only costs time."""
    import tempfile

    with contextlib.suppress(OSError, ValueError):
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(temp_name, entry)
        except OSError:
            os.unlink(temp_name)
            raise
