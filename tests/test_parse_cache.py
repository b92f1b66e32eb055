"""The parse cache of TOML stores: faster reads, never stale, never needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from certcli.errors import DataError
from certcli.store import open_store
from certcli.store.parse_cache import cache_folder

STORE = """\
[[users]]
id = "root"
name = "Rosa"
role = "admin"

[[courses]]
id = "c1"
title = "One"
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CERTCLI_CACHE_DIR", str(folder))
    return folder


def test_a_read_leaves_one_entry_per_store_and_reads_it_back(tmp_path: Path, cache: Path) -> None:
    store_path = tmp_path / "s.toml"
    store_path.write_text(STORE)
    first = open_store(store_path).read()
    entries = list(cache.iterdir())
    assert len(entries) == 1 and entries[0].name.endswith("-s.toml.marshal")
    assert open_store(store_path).read() == first
    assert list(cache.iterdir()) == entries


def test_a_changed_store_is_never_served_from_the_cache(tmp_path: Path, cache: Path) -> None:
    store_path = tmp_path / "s.toml"
    store_path.write_text(STORE)
    open_store(store_path).read()
    store_path.write_text(STORE.replace('title = "One"', 'title = "Uno"'))  # same length, new content
    assert open_store(store_path).read().courses["c1"].title == "Uno"


def test_cached_data_is_still_validated(tmp_path: Path, cache: Path) -> None:
    store_path = tmp_path / "s.toml"
    store_path.write_text(STORE + 'colour = "red"\n')
    for _ in range(2):  # the second read comes from the cache and must fail the same way
        with pytest.raises(DataError, match="colour: unknown key"):
            open_store(store_path).read()


def test_a_damaged_cache_entry_is_ignored(tmp_path: Path, cache: Path) -> None:
    store_path = tmp_path / "s.toml"
    store_path.write_text(STORE)
    open_store(store_path).read()
    (entry,) = cache.iterdir()
    entry.write_bytes(b"\x00garbage")
    assert "c1" in open_store(store_path).read().courses


def test_an_empty_setting_turns_the_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTCLI_CACHE_DIR", "")
    assert cache_folder() is None
    store_path = tmp_path / "s.toml"
    store_path.write_text(STORE)
    assert "c1" in open_store(store_path).read().courses


def test_the_default_folder_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "certcli"
