"""Run the Great Expectations suites of expectations/ on the batch's marts.

Called by the dbt Python model `data_quality_results` (inside the dbt process,
so the embedded metastore is never held by a second process). Each suite
validates one small frame of watchhouse.quality.frames through a GE
Checkpoint that also updates the Data Docs under $WATCHHOUSE_HOME/ge. Every
expectation result becomes one row of the returned frame, which dbt writes
as the batch's partition of the mart (a rerun replaces it), with its severity
(error blocks the publish, warn does not), a one-line message, and the
entities a failing per-row check is about (read by the mart quality_exceptions).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pandas as pd

SKIPPED = "skipped: no rows meet the frame's minimum volume"

RESULT_COLUMNS = {
    "run_id": "string",
    "run_at": "timestamp",
    "batch_date": "date",
    "suite": "string",
    "check_name": "string",
    "column_name": "string",
    "success": "boolean",
    "observed_value": "string",
    "observed_number": "double",
    "unexpected_count": "bigint",
    "element_count": "bigint",
    "data_docs_path": "string",
    "severity": "string",
    "message": "string",
    "exceptions": "string",
}
# GE's FailureSeverity -> what it does to the batch (dbt's words): error blocks the publish
SEVERITIES = {"critical": "error", "warning": "warn", "info": "warn"}
SUITE_NEEDS = ("SUITE", "READS", "frame", "expectations")
MESSAGE_ENTITIES = 10  # a failing per-entity check names at most this many in its message


@dataclass(frozen=True)
class Batch:
    """What a suite's frame may know besides the marts: the batch and the previous batch's metrics."""

    as_of: dt.date
    previous: dict[str, float]


def load_suites(expectations_dir: Path) -> list[ModuleType]:
    """The suite modules of expectations/ (every .py but __init__), sorted by name."""
    suites = []
    for path in sorted(Path(expectations_dir).glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"watchhouse_expectations_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        missing = [attr for attr in SUITE_NEEDS if not hasattr(module, attr)]
        if missing:
            raise ValueError(
                f"{path}: a suite module needs SUITE, READS, frame(marts, batch) and expectations(params); "
                f"{', '.join(missing)} missing (expectations/__init__.py)"
            )
        suites.append(module)
    if not suites:
        raise ValueError(f"no suite modules in {expectations_dir}")
    return suites


def build_frames(suites: list[ModuleType], marts: dict, batch: Batch) -> dict[str, pd.DataFrame]:
    """Each suite's frame (suite name -> pandas frame), after checking it reads only what it was given."""
    out = {}
    for module in suites:
        unknown = sorted(set(module.READS) - set(marts))
        if unknown:
            raise ValueError(
                f"suite {module.SUITE} reads {', '.join(unknown)}, which data_quality_results does not ref; "
                f"add dbt.ref('{unknown[0]}') to its marts (python_models/quality/data_quality_results.py)"
            )
        frame = module.frame({name: marts[name] for name in module.READS}, batch)
        entity = getattr(module, "ENTITY", None)
        if entity is not None and entity in frame.columns:
            # rows come from Spark in no fixed order, and GE's means are floating sums: in entity order a
            # rerun of the batch records the same observed values to the last bit
            frame = frame.sort_values(entity, kind="stable").reset_index(drop=True)
        out[module.SUITE] = frame
    return out


def _jsonable(value) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value, default=str)
    except TypeError:
        return str(value)


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _bounds(kwargs: dict, inside: bool) -> str:
    """'within [0, 0.5]' / 'outside [0, 0.5]', or one-sided 'at least 0.01' / 'below 0.01'."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        return f"{'within' if inside else 'outside'} [{_number(low)}, {_number(high)}]"
    if low is not None:
        return f"{'at least' if inside else 'below'} {_number(low)}"
    return f"{'at most' if inside else 'above'} {_number(high)}"


def _exceptions(result, entity: str | None, column: str) -> list[dict]:
    """The failing rows of a per-row check on a frame with an ENTITY column: entity and value, worst first."""
    found = result.result.get("unexpected_index_list") or []
    rows = [
        {"entity_id": str(row[entity]), "observed_number": _plain(row.get(column))}
        for row in found
        if isinstance(row, dict) and entity in row
    ]
    # the furthest out first (by distance from the bound it broke), so the message names the worst
    low, high = result.expectation_config.kwargs.get("min_value"), result.expectation_config.kwargs.get("max_value")

    def distance(row: dict) -> float:
        value = row["observed_number"]
        if value is None:
            return float("inf")
        return max((low - value) if low is not None else 0, (value - high) if high is not None else 0)

    return sorted(rows, key=lambda row: (-distance(row), row["entity_id"]))


def _message(config, result, column: str, number, exceptions: list[dict], entity: str | None) -> str:
    """One line a person can act on: what was observed, against which bound, and about whom."""
    kwargs, observed = config.kwargs, result.result.get("observed_value", number)
    pair = config.type == "expect_column_pair_values_a_to_be_greater_than_b"
    if pair:
        wanted, failed = (">=", "<") if kwargs.get("or_equal") else (">", "<=")
        what = f"{kwargs['column_A']} {{}} {kwargs['column_B']}"
        what, ok_text = what.format(failed), "ok: " + what.format(wanted)
    else:
        what, ok_text = f"{column} {_bounds(kwargs, False)}", f"ok: {column} {_bounds(kwargs, True)}"
    if result.success:
        return ok_text
    if config.type == "expect_column_mean_to_be_between":
        return f"mean {column} = {_number(observed)}, {_bounds(kwargs, False)}"
    if not exceptions:
        count = result.result.get("unexpected_count")
        if pair or (number is None and count is not None):
            return f"{count} of {result.result.get('element_count')} rows have {what}"
        return f"{column} = {_number(number if number is not None else observed)}, {_bounds(kwargs, False)}"
    shown = ", ".join(f"{e['entity_id']} {_number(e['observed_number'])}" for e in exceptions[:MESSAGE_ENTITIES])
    more = len(exceptions) - MESSAGE_ENTITIES
    rest = f" (+{more} more in marts.quality_exceptions)" if more > 0 else ""
    return f"{len(exceptions)} of {result.result.get('element_count')} {entity}s have {what}: {shown}{rest}"


def run_suites(
    frames: dict[str, pd.DataFrame], suites: list[ModuleType], params: dict, ge_root: Path, as_of: dt.date
) -> pd.DataFrame:
    """Validate each suite's frame (frames[suite name]); one result row per expectation (RESULT_COLUMNS)."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ge_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(ge_root))
    # GE draws a "Calculating Metrics" bar per expectation batch (17 lines a suite in every build log)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_or_update_pandas("watchhouse_marts")
    run_id, run_at = uuid.uuid4().hex, dt.datetime.now(dt.UTC).replace(tzinfo=None)
    docs = ge_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    rows = []
    for module in suites:
        if module.SUITE not in frames:
            raise ValueError(f"no frame for suite {module.SUITE}; frames are {sorted(frames)}")
        frame, entity = frames[module.SUITE], getattr(module, "ENTITY", None)
        if frame.empty:
            # below the frame's minimum volume nothing can be judged: recorded as skipped, not run
            rows += [
                _skipped_row(run_id, run_at, as_of, module.SUITE, expectation, docs)
                for expectation in module.expectations(params)
            ]
            continue
        if entity is not None and entity not in frame.columns:
            raise ValueError(f"suite {module.SUITE}: ENTITY {entity!r} is not a column of its frame {list(frame)}")
        batch_def = source.add_dataframe_asset(module.SUITE).add_batch_definition_whole_dataframe("batch")
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=module.SUITE, expectations=module.expectations(params))
        )
        validation = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=module.SUITE, data=batch_def, suite=suite)
        )
        # with an ENTITY, GE lists every failing row with that column (per-entity exceptions)
        result_format = (
            {"result_format": "COMPLETE", "unexpected_index_column_names": [entity]} if entity else "SUMMARY"
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=module.SUITE,
                validation_definitions=[validation],
                actions=[UpdateDataDocsAction(name="docs")],
                result_format=result_format,
            )
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        for validation_result in outcome.run_results.values():
            for result in validation_result.results:
                config = result.expectation_config
                column = config.kwargs.get("column") or config.kwargs.get("column_A")
                single = len(frame) == 1 and column in frame.columns
                number = frame[column].iloc[0] if single else None
                exceptions = [] if result.success or not entity else _exceptions(result, entity, column)
                rows.append(
                    {
                        "run_id": run_id,
                        "run_at": run_at,
                        "batch_date": as_of,
                        "suite": module.SUITE,
                        "check_name": config.type,
                        "column_name": column,
                        "success": bool(result.success),
                        "observed_value": _jsonable(result.result.get("observed_value", number)),
                        "observed_number": None if number is None or pd.isna(number) else float(number),
                        "unexpected_count": result.result.get("unexpected_count"),
                        "element_count": result.result.get("element_count", len(frame)),
                        "data_docs_path": str(docs),
                        "severity": SEVERITIES[str(getattr(config.severity, "value", config.severity))],
                        "message": _message(config, result, column, number, exceptions, entity),
                        "exceptions": json.dumps(exceptions) if exceptions else None,
                    }
                )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _skipped_row(run_id, run_at, as_of, suite: str, expectation, docs: Path) -> dict:
    config = expectation.configuration
    return {
        "run_id": run_id,
        "run_at": run_at,
        "batch_date": as_of,
        "suite": suite,
        "check_name": config.type,
        "column_name": config.kwargs.get("column") or config.kwargs.get("column_A"),
        "success": True,
        "observed_value": json.dumps(SKIPPED),
        "observed_number": None,
        "unexpected_count": None,
        "element_count": 0,
        "data_docs_path": str(docs),
        "severity": SEVERITIES[str(getattr(config.severity, "value", config.severity))],
        "message": SKIPPED,
        "exceptions": None,
    }


def previous_batch_metrics(history: pd.DataFrame | None, as_of: dt.date) -> dict[str, float]:
    """The latest earlier batch's recorded batch_health numbers (abuse_share, batch_views)."""
    if history is None or history.empty:
        return {}
    earlier = history[(history.suite == "batch_health") & (pd.to_datetime(history.batch_date).dt.date < as_of)]
    earlier = earlier[earlier.observed_number.notna()]
    if earlier.empty:
        return {}
    latest = earlier[earlier.batch_date == earlier.batch_date.max()]
    latest = latest[latest.run_at == latest.run_at.max()]
    return dict(zip(latest.column_name, latest.observed_number, strict=True))


def _plain(value):
    """A pandas / numpy scalar as the plain Python value Spark's createDataFrame accepts."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def parse_params(params: dict) -> dict:
    """dbt renders vars inside a model's YAML config as text: "0.5" or "[0.4, 0.6]" -> numbers / lists."""
    out = {}
    for key, value in params.items():
        out[key] = json.loads(value) if isinstance(value, str) else value
    return out


def run_batch_checkpoint(
    spark, as_of: dt.date, marts: dict, history, params: dict, ge_root: Path, expectations_dir: Path
):
    """Frames from the marts -> suites -> a Spark DataFrame of result rows."""
    params = parse_params(params)
    suites = load_suites(expectations_dir)
    frames = build_frames(suites, marts, Batch(as_of, previous_batch_metrics(history, as_of)))
    results = run_suites(frames, suites, params, ge_root, as_of)
    schema = ", ".join(f"{name} {kind}" for name, kind in RESULT_COLUMNS.items())
    kinds = list(RESULT_COLUMNS.values())
    records = [
        tuple(int(v) if k == "bigint" and v is not None else v for k, v in zip(kinds, map(_plain, row), strict=True))
        for row in results.itertuples(index=False)
    ]
    return spark.createDataFrame(records, schema)
