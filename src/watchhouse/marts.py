"""Read the marts without Spark: a DuckDB connection whose schemas mirror the warehouse.

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
