"""Read the marts without Spark: a DuckDB connection whose schemas mirror the warehouse.

Every table folder under ``$WATCHHOUSE_HOME/warehouse/<schema>.db/<table>/`` that holds Parquet
becomes a view ``<schema>.<table>`` (Hive-style ``batch_date=...`` folders become a column), so
the SQL that dbt compiles for Spark (``select ... from marts.vod_quality_scores``) runs as it is,
as long as it keeps to the SQL both engines share. Reading Parquet takes no metastore lock, so
this works while a build runs (a table being rewritten at that moment may be missing or partial:
the dashboard and the analyses read after a build).
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

    def __init__(self, warehouse: Path, schemas: tuple[str, ...] = SCHEMAS):
        self.warehouse = Path(warehouse)
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        self.tables: dict[str, set[str]] = {}
        for schema in schemas:
            self.con.execute(f"create schema if not exists {schema}")
            names = set()
            folder = self.warehouse / f"{schema}.db"
            for table in sorted(folder.iterdir()) if folder.is_dir() else []:
                if not (_NAME.match(table.name) and table.is_dir() and any(table.rglob("*.parquet"))):
                    continue  # a table dbt is rewriting right now, or an empty one: absent, not an error
                glob = str(table / "**" / "*.parquet").replace("'", "''")
                self.con.execute(
                    f"create view {schema}.{table.name} as select * from "
                    f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
                )
                names.add(table.name)
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
