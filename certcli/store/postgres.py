"""PostgreSQL stores: a database (or the schema its URL names) shared by many machines, through
psycopg2, which is imported only when such a store is opened."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from certcli.errors import DataError
from certcli.model import AuditHead
from certcli.store import redact, scrub
from certcli.store.sql import NOTHING, OWN_TABLES, ROW_TABLES, STORE, Connection, listed
from certcli.store.sql_paging import PagedSqlStore


def _lock_key(name: str) -> int:
    """A 64-bit advisory lock key for `name`."""
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresStore(PagedSqlStore):
    """A PostgreSQL database (or the schema its URL's search_path names), shared by many machines."""

    blob = "BYTEA"
    elsewhere_hint = "give the store a schema of its own: add ?options=-csearch_path%3DNAME to the URL"

    def __init__(self, url: str, lock_timeout: float) -> None:
        super().__init__()
        self.url = url
        self.location = redact(url)
        self.lock_timeout = lock_timeout

    def own_files(self) -> list[Path]:
        return []

    def shown(self, text: str) -> str:
        return scrub(text, self.url)

    def _connect(self, write: bool) -> Connection:
        try:
            import psycopg2
        except ImportError:
            raise DataError(
                "PostgreSQL stores need the psycopg2 package", hint="pip install 'certcli[postgresql]'"
            ) from None
        try:
            conn = psycopg2.connect(self.url, connect_timeout=max(1, int(self.lock_timeout)))
        except psycopg2.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"cannot connect to {self.location}: {self.shown(first_line)}",
                hint="start the server, or check the URL (postgresql://[USER@]HOST[:PORT]/DATABASE)",
            ) from None
        return PostgresConnection(conn, self)

    def _sql(self, text: str) -> str:
        return text.replace("%", "%%").replace("?", "%s")

    def _in(self, column: str, values: Collection[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _begin(self, conn: Any, write: bool) -> None:
        if write:
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(self.lock_timeout * 1000)}ms"])
        else:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", [])

    _org_row_lock = " FOR UPDATE"

    def _row_lock(self, table: str) -> str:
        """A change locks the enrollments it loads against other changes, and the users, courses and
        certifications it loads against changing under it while other changes may read them too."""
        return " FOR UPDATE" if table == "enrollments" else " FOR SHARE"

    def _lock_tables(self, conn: Any) -> None:
        """EXCLUSIVE mode: readers go on; changes, which lock rows, wait (and locking a million rows
        one by one is not an option)."""
        conn.execute(f"LOCK TABLE {', '.join(ROW_TABLES)} IN EXCLUSIVE MODE", [])

    def _locked_head(self, conn: Any, head: AuditHead | None) -> AuditHead | None:
        """Changes append one at a time: the row lock on the layout is the chain's lock, and the
        head read under it is the one the last change committed."""
        conn.execute("SELECT value FROM certcli_meta WHERE key = 'layout' FOR UPDATE", [])
        rows = self._rows(conn, "SELECT value FROM certcli_meta WHERE key = 'head'")
        if not rows:
            return head
        return self._document({"audit": self._parsed(rows[0][0], "certcli_meta 'head'")}, whole=False).audit_head

    def _contents(self, conn: Any) -> str:
        found = {
            name
            for (name,) in self._rows(
                conn,
                "SELECT name FROM unnest(?::text[]) AS name WHERE to_regclass(name) IS NOT NULL",
                [list(OWN_TABLES)],
            )
        }
        if "certcli_meta" in found:
            return STORE
        if found:
            ours = [name for name in OWN_TABLES if name in found]
            return f"tables named like certcli's ({listed(ours)}) but no certcli_meta"
        return NOTHING

    def _first_schema(self, conn: Any) -> str:
        """The first name of the connection's search_path, as written."""
        return str(conn.execute("SHOW search_path", [])[0][0]).split(",")[0].strip().strip('"')

    def _insert(self, conn: Any, table: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
        conn.copy_rows(table, columns, rows)

    def _lock_creation(self, conn: Any) -> None:
        """Creations of one store queue on a lock named after its schema, taken before looking for its
        tables: the second finds the first's tables and says so, instead of clashing in the catalog."""
        key = _lock_key(f"certcli store in schema {self._first_schema(conn)}")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [key])

    def _prepare_new(self, conn: Any) -> None:
        """Create the schema the URL's search_path names, when it is not there yet."""
        if conn.execute("SELECT current_schema()", [])[0][0] is not None:
            return
        first = self._first_schema(conn)
        if first and first != "$user":
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{first}"', [])


class PostgresConnection(Connection):
    """A batch goes to the server in pages of statements, not one round trip per row."""

    problems = (
        (("42501",), "cannot be used by this database user", "grant the user access to the store's schema and tables"),
        (("42", "23", "22"), "is damaged", "restore it from a backup"),
        (("53",), "cannot be written", "free some space on the server; the store was left as it was"),
        (("25006",), "cannot be changed", "connect to the primary server, not a read-only standby"),
    )
    fallback = ("cannot be used", "check the server and retry; run `certcli doctor` if it persists")
    _cursors = 0  # server-side cursors opened so far, to name the next

    @contextlib.contextmanager
    def _errors(self, statement: str) -> Iterator[None]:
        import psycopg2
        import psycopg2.errors

        try:
            yield
        except psycopg2.errors.LockNotAvailable:
            raise self._busy("another change") from None
        except (
            psycopg2.errors.SerializationFailure,
            psycopg2.errors.DeadlockDetected,
            # a row this change did not find was added meanwhile (two first assignments of one learner)
            psycopg2.errors.UniqueViolation,
        ):
            raise self._clash() from None
        except psycopg2.Error as exc:
            raise self._converted(exc.pgcode or "", str(exc), statement) from None

    def executemany(self, text: str, rows: list[list[Any]]) -> None:
        from psycopg2.extras import execute_batch

        with self._errors(text), contextlib.closing(self.conn.cursor()) as cursor:
            execute_batch(cursor, text, rows, page_size=1000)

    def copy_rows(self, table: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
        """Insert rows with COPY, the server's bulk load: one stream of text, not a statement a row."""
        import io

        text = "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows)
        with self._errors(f"INSERT INTO {table}"), contextlib.closing(self.conn.cursor()) as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text))

    def _streaming_cursor(self) -> Any:
        """A server-side cursor: the rows stay on the server until fetched."""
        PostgresConnection._cursors += 1
        return self.conn.cursor(name=f"certcli_stream_{PostgresConnection._cursors}")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    """A value in COPY's text format: NULL as \\N, the separators escaped."""
    if value is None:
        return "\\N"
    return str(value).translate(_COPY_ESCAPES)
