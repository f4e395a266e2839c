"""The analyst queries in analyses/*.sql: list them, compile them with dbt, run them on the marts.

dbt compiles analyses but never builds them. `compile_analyses` runs one `dbt compile` of every
analysis into $WATCHHOUSE_HOME/analyses/target (with --no-populate-cache dbt opens no Spark session
and no metastore, so it works beside a running build); `run` executes one compiled query with DuckDB
on `watchhouse.marts.Marts`, whose views carry the names dbt-spark renders refs to (marts.<mart>).
The same compiled SQL runs on Spark against the metastore (tests/python/test_analyses.py checks both).

Each analysis starts with `-- ` lines: the question it answers, then the vars it takes. A var's type
comes from its default in the SQL: `var('days', 7)` takes a positive whole number, `var('x', none)`
a plain value (an id, a date or a number). Vars are pasted into SQL, so nothing else is accepted.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pandas as pd

from watchhouse.buildvars import refuse_batch_vars
from watchhouse.errors import UserError
from watchhouse.landing import inspect_landing
from watchhouse.runner import Paths, dbt, project_dir

PROJECT_NAME = "watchhouse"  # dbt_project.yml `name`: the compiled/<name>/ folder
_VAR_USE = re.compile(r"""\bvar\(\s*['"]([A-Za-z_]\w*)['"]\s*(?:,\s*([^)]*?))?\s*\)""")
_PLAIN = re.compile(r"^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$")  # s000090, co_viewed, 2026-11-20, 42
_WHOLE = re.compile(r"^\d+$")
_FLOAT = re.compile(r"^\d*\.\d+$")
_TABLE_REF = re.compile(r"\b(marts|intermediate)\.([a-z_][a-z0-9_]*)\b")
PLAIN_RULE = "letters, digits and underscores, with single hyphens inside (an id like s000090, a date like 2026-11-20)"


def _folder(project: Path | None) -> Path:
    return (project or project_dir()) / "analyses"


def available(project: Path | None = None) -> list[tuple[str, str]]:
    """(name, question) of every analysis: the file name and its first `-- ` line."""
    out = []
    for path in sorted(_folder(project).glob("*.sql")):
        lines = path.read_text().splitlines()
        first = lines[0] if lines else ""
        out.append((path.stem, first[3:].strip() if first.startswith("-- ") else ""))
    return out


def takes(name: str, project: Path | None = None) -> dict[str, str]:
    """The vars analysis `name` reads, each with its default as written in the SQL ('' if none)."""
    found: dict[str, str] = {}
    for var, default in _VAR_USE.findall((_folder(project) / f"{name}.sql").read_text()):
        if default or var not in found:
            found[var] = default.strip()
    return found


def _check_value(name: str, var: str, value: object, default: str) -> None:
    """Refuse a value that is not of the var's kind (from its default) or could carry SQL."""
    shown = f"analysis {name}: var {var}={value!r}"
    if _WHOLE.match(default):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{shown}: give a positive whole number (JSON, unquoted), e.g. {default}")
    elif _FLOAT.match(default):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(f"{shown}: give a number (JSON, unquoted), e.g. {default}")
    elif value is not None and not (
        (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and _PLAIN.match(value))
    ):
        raise UserError(f"{shown}: give a plain value: {PLAIN_RULE}, or a whole number")


def check_vars(dbt_vars: dict | None, batch_vars: dict, names: list[str], project: Path | None = None) -> dict:
    """`dbt_vars` checked against the analyses `names`: every var read by one of them, of its kind,
    and none of the batch vars (they come from the landing data). Returns a copy."""
    if dbt_vars is not None and not isinstance(dbt_vars, dict):
        raise UserError(f'analysis vars must be a JSON object, e.g. {{"top_n": 5}}, got {dbt_vars!r}')
    dbt_vars = dict(dbt_vars or {})
    if not all(isinstance(key, str) for key in dbt_vars):
        raise UserError(f"analysis vars must be a JSON object with string names, got {dbt_vars!r}")
    refuse_batch_vars(dbt_vars, batch_vars)
    readers: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        for var, default in takes(name, project).items():
            readers.setdefault(var, []).append((name, default))
    for var, value in dbt_vars.items():
        if var not in readers:
            offered = ", ".join(sorted(readers)) or "none"
            what = f"analysis {names[0]} takes" if len(names) == 1 else "the analyses take"
            raise UserError(f"{what} no var {var!r}; vars taken: {offered} (second line of analyses/<name>.sql)")
        for name, default in readers[var]:
            _check_value(name, var, value, default)
    return dbt_vars


def compile_analyses(
    dbt_vars: dict | None = None, paths: Paths | None = None, batch_vars: dict | None = None
) -> dict[str, str]:
    """Compile every analysis in one `dbt compile`; returns {name: compiled SQL}. The batch vars
    come from the landing data (as for `watchhouse docs`) unless given."""
    paths = paths or Paths.from_env()
    names = [name for name, _ in available(paths.project)]
    batch_vars = batch_vars if batch_vars is not None else inspect_landing(paths.landing).as_vars()
    extra = check_vars(dbt_vars, batch_vars, names, paths.project)
    target = paths.home / "analyses" / "target"
    compiled = target / "compiled" / PROJECT_NAME / "analyses"
    shutil.rmtree(compiled, ignore_errors=True)  # nothing stale survives a failed compile
    args = ["compile", "--select", "resource_type:analysis", "--no-populate-cache", "--quiet"]
    rc = dbt([*args, "--target-path", str(target)], paths, {**batch_vars, **extra}, lock=False)
    if rc != 0:
        raise UserError(
            f"dbt compile of the analyses failed (exit {rc}): the error is above; "
            f"full log in {paths.home / 'dbt' / 'logs' / 'dbt.log'}"
        )
    missing = [name for name in names if not (compiled / f"{name}.sql").is_file()]
    if missing:
        raise UserError(f"dbt compile wrote no SQL for {', '.join(missing)} under {compiled}")
    return {name: (compiled / f"{name}.sql").read_text() for name in names}


def tables_read(sql: str) -> list[tuple[str, str]]:
    """(schema, table) of every marts./intermediate. relation a compiled query names."""
    return sorted(set(_TABLE_REF.findall(sql)))


def run(name: str, dbt_vars: dict | None = None, limit: int | None = None) -> pd.DataFrame:
    """Compile the analyses and run `name` on the marts with DuckDB; the first `limit` rows if given."""
    import duckdb

    from watchhouse.marts import Marts

    paths = Paths.from_env()
    names = [known for known, _ in available(paths.project)]
    if name not in names:
        raise UserError(f"no analysis {name!r}; available: {', '.join(names)} (files in {_folder(paths.project)})")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(f"--limit {limit!r}: give a positive number of rows, e.g. 20")
    batch_vars = inspect_landing(paths.landing).as_vars()
    check_vars(dbt_vars, batch_vars, [name], paths.project)  # this analysis's vars, before dbt starts
    sql = compile_analyses(dbt_vars, paths, batch_vars)[name]
    with Marts(paths.warehouse) as marts:
        absent = [f"{schema}.{table}" for schema, table in tables_read(sql) if not marts.has(table, schema)]
        if absent:
            raise UserError(
                f"analysis {name} reads {', '.join(absent)}, not built under {paths.warehouse}; "
                "run `watchhouse build` (or check WATCHHOUSE_HOME)"
            )
        try:
            frame = marts.df(sql)
        except duckdb.Error as exc:
            where = paths.home / "analyses" / "target" / "compiled" / PROJECT_NAME / "analyses" / f"{name}.sql"
            raise UserError(f"analysis {name} failed on the marts: {str(exc).splitlines()[0]} (SQL: {where})") from None
    return frame if limit is None else frame.head(limit).reset_index(drop=True)
