"""Read the marts without Spark: a DuckDB connection whose schemas mirror the warehouse; or,
on the cluster target, through its Spark Thrift server (ServerMarts, the same interface).

Every table folder under ``$WATCHHOUSE_HOME/warehouse/<schema>.db/<table>/`` that holds Parquet
becomes a view ``<schema>.<table>`` (Hive-style ``batch_date=...`` folders become a column), so
the SQL that dbt compiles for Spark (``select ... from marts.vod_quality_scores``) runs as it is,
as long as it keeps to the SQL both engines share. Reading Parquet takes no metastore lock, and
``$WATCHHOUSE_HOME/warehouse`` is the published version (watchhouse.publish), so this works while a
build runs and always sees one whole batch.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

SCHEMAS = ("marts", "intermediate")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class Marts:
    """A DuckDB view per mart (and intermediate table) of one warehouse."""

    def __init__(self, warehouse: Path, schemas: tuple[str, ...] = SCHEMAS, overrides: dict[str, Path] | None = None):
        """`overrides` maps "schema.table" to another folder to read that table from (the dashboard
        after a failed run reads its data-quality results from the unpublished build state)."""
        self.warehouse = Path(warehouse)
        overrides = {key: Path(folder) for key, folder in (overrides or {}).items()}
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        self.tables: dict[str, set[str]] = {}
        for schema in schemas:
            self.con.execute(f"create schema if not exists {schema}")
            names = set()
            folder = self.warehouse / f"{schema}.db"
            tables = {t.name: t for t in (folder.iterdir() if folder.is_dir() else [])}
            tables.update({k.split(".", 1)[1]: f for k, f in overrides.items() if k.split(".", 1)[0] == schema})
            for name in sorted(tables):
                table = tables[name]
                if not (_NAME.match(name) and table.is_dir() and any(table.rglob("*.parquet"))):
                    continue  # an empty table: absent, not an error
                glob = str(table / "**" / "*.parquet").replace("'", "''")
                self.con.execute(
                    f"create view {schema}.{name} as select * from "
                    f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
                )
                names.add(name)
            self.tables[schema] = names

    def has(self, name: str, schema: str = "marts") -> bool:
        return name in self.tables.get(schema, set())

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The result of `sql` as a pandas DataFrame (keep results small: aggregate in SQL)."""
        return self.con.execute(sql, params or []).df()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Marts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# PyHive's type codes of the columns DuckDB returns as datetime64 / float (the panels compare both)
_TEMPORAL = {"DATE_TYPE", "TIMESTAMP_TYPE"}
_DECIMAL = {"DECIMAL_TYPE"}


def _literal(value) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


THRIFT_TIMEOUT_SECONDS = 300  # a call the server never answers fails the reader instead of hanging it


def thrift_connect(host: str, port: int, timeout_s: float = THRIFT_TIMEOUT_SECONDS):
    """A PyHive connection to a Spark Thrift server whose socket times out after timeout_s (PyHive
    and thrift wait forever by default: a server that never answers a call, e.g. a CloseSession
    under load, would hang the reader). PyHive builds its socket as
    thrift.transport.TSocket.TSocket(host, port); a subclass that sets the timeout stands in for it
    during the connect (single-threaded callers: the dashboard, the tests' analyst)."""
    import thrift.transport.TSocket as tsocket
    from pyhive import hive

    class TimedSocket(tsocket.TSocket):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setTimeout(timeout_s * 1000)

    plain, tsocket.TSocket = tsocket.TSocket, TimedSocket
    try:
        return hive.connect(host=host, port=port)
    finally:
        tsocket.TSocket = plain


class ServerMarts:
    """The marts as the cluster target's Spark server holds them, through its Thrift port (PyHive):
    what the dashboard reads after a cluster build (docs/cluster.md). Same interface as Marts; the
    SQL runs on Spark, so the dashboard keeps to SQL both engines share; `?` parameters are sent as
    literals, and dates, timestamps and decimals come back typed as DuckDB returns them."""

    def __init__(self, host: str, port: int, schemas: tuple[str, ...] = SCHEMAS):
        self.con = thrift_connect(host, port)
        self.tables: dict[str, set[str]] = {}
        for schema in schemas:
            listed = self._rows(f"show tables in {schema}") if self._has_schema(schema) else []
            self.tables[schema] = {name for _, name, temporary in listed if not temporary and _NAME.match(name)}
        self._empty: set[str] = set()

    def _rows(self, sql: str) -> list[tuple]:
        cursor = self.con.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchall()
        finally:
            cursor.close()

    def _has_schema(self, schema: str) -> bool:
        return any(row[0] == schema for row in self._rows("show schemas"))

    def has(self, name: str, schema: str = "marts") -> bool:
        """Like Marts.has: a table without rows counts as absent."""
        if name not in self.tables.get(schema, set()) or f"{schema}.{name}" in self._empty:
            return False
        if not self._rows(f"select 1 from {schema}.{name} limit 1"):
            self._empty.add(f"{schema}.{name}")
            return False
        return True

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        pieces = sql.split("?")
        if len(pieces) - 1 != len(params or []):
            raise ValueError(f"{len(pieces) - 1} placeholders, {len(params or [])} parameters: {sql}")
        sql = pieces[0] + "".join(_literal(value) + rest for value, rest in zip(params or [], pieces[1:], strict=True))
        cursor = self.con.cursor()
        try:
            cursor.execute(sql)
            columns = [(d[0].split(".")[-1], d[1]) for d in cursor.description]
            frame = pd.DataFrame(cursor.fetchall(), columns=[name for name, _ in columns])
        finally:
            cursor.close()
        for name, kind in columns:
            if kind in _TEMPORAL:
                frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
            elif kind in _DECIMAL:
                frame[name] = frame[name].astype(float)
        return frame

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> ServerMarts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
