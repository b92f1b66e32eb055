"""The four store backends for tests: where to create a store of each, and its whole state."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BACKENDS = ("toml", "json", "sqlite", "postgresql")
POSTGRES_URL_VARIABLE = "CERTCLI_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def in_schema(url: str, schema: str) -> str:
    """`url` with its search_path set to `schema`: one store per test in one database."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A store URL in a new, empty PostgreSQL schema, dropped afterwards."""
    import psycopg2

    url = postgres_url()
    assert url is not None, f"{POSTGRES_URL_VARIABLE} is not set"
    schema = f"certcli_test_{uuid.uuid4().hex[:12]}"
    try:
        yield in_schema(url, schema)
    finally:
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def is_database(location: str) -> bool:
    return location.startswith("postgresql://") or location.endswith(".db")


def store_state(location: str) -> Any:
    """Everything a store holds, to compare before and after a command: a file store's
    folder byte for byte; a database's document, audit trail and proofs."""
    if not is_database(location):  # the store and every file beside it, except lock files
        folder = Path(location).parent
        return {
            str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.name.endswith(".lock")
        }
    from certcli.store import open_store
    from certcli.store.document import document_to_data

    store = open_store(location)
    doc = store.read()
    proofs = {
        fact.proof.sha256: store.proof_content(fact.proof.sha256)
        for enrollment in doc.enrollments
        for fact in enrollment.facts
        if fact.proof is not None
    }
    return document_to_data(doc), store.read_audit(), proofs


@contextlib.contextmanager
def write_lock_held(location: str) -> Iterator[None]:
    """Hold the store's write lock the way another certcli changing it would."""
    if location.startswith("postgresql://"):
        import psycopg2

        conn = psycopg2.connect(location)
        try:
            conn.cursor().execute("SELECT value FROM certcli_meta WHERE key = 'layout' FOR UPDATE")
            yield
        finally:
            conn.rollback()
            conn.close()
    elif location.endswith(".db"):
        import sqlite3

        conn = sqlite3.connect(location, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    else:
        from filelock import FileLock

        with FileLock(f"{location}.lock"):
            yield


def copied(source: Any, target_location: str, admin: str, now: Any) -> Any:
    """`source` (a Store) copied by `migrate` to a new store at `target_location`, opened."""
    from certcli import usecases
    from certcli.store import open_store
    from certcli.usecases.migration import migrate

    target = open_store(target_location)
    migrate(usecases.Context(store=source, actor_id=admin, now=now), target)
    return target


@contextlib.contextmanager
def location_for(backend: str, folder: Path) -> Iterator[str]:
    """Where a new store of `backend` can be created (a PostgreSQL schema lives until the block ends)."""
    if backend == "postgresql":
        with postgres_schema() as url:
            yield url
    else:
        yield str(folder / f"store.{'db' if backend == 'sqlite' else backend}")


class RawDatabase:
    """A database store's tables as an outsider edits them: `?` placeholders on either driver."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn, self.postgres = conn, postgres

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        cursor = self.conn.cursor()
        cursor.execute(statement.replace("?", "%s") if self.postgres else statement, params)
        return cursor.fetchall() if cursor.description is not None else []

    def drop(self, table: str) -> None:
        self.run(f"DROP TABLE {table}{' CASCADE' if self.postgres else ''}")


@contextlib.contextmanager
def raw_database(location: str) -> Iterator[RawDatabase]:
    """The tables of a database store, with foreign keys not enforced (as in the sqlite3 shell, or a
    PostgreSQL session replicating rows), committed when the block ends without an exception."""
    if location.startswith("postgresql://"):
        import psycopg2

        conn = psycopg2.connect(location)
        conn.cursor().execute("SET session_replication_role = replica")
    else:
        import sqlite3

        conn = sqlite3.connect(location)
    try:
        yield RawDatabase(conn, location.startswith("postgresql://"))
        conn.commit()
    finally:
        conn.close()


def database_dump(location: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a database store (readable or not to certcli), to compare before
    and after a command: table name -> rows, sorted."""
    with raw_database(location) as db:
        if db.postgres:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = sorted(name for (name,) in db.run(query))
        return {
            table: sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                           for row in db.run(f'SELECT * FROM "{table}"')), key=repr)
            for table in tables
        }  # fmt: skip


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, size: str, why_root: str = "mounting a tmpfs needs root") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (made here) until the block ends; the test is skipped where
    mounting is not allowed (not root, or a container without CAP_SYS_ADMIN)."""
    import shutil
    import subprocess

    import pytest

    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(why_root)
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if mount is None or umount is None:
        pytest.skip("no mount/umount command on this machine")
    folder.mkdir()
    result = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): {result.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run([umount, str(folder)], capture_output=True).returncode != 0:
            subprocess.run([umount, "-l", str(folder)], capture_output=True)
