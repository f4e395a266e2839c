"""Run the Great Expectations suites of expectations/ on the batch's marts.

Called by the dbt Python model `data_quality_results` (inside the dbt process,
so the embedded metastore is never held by a second process). Each suite
validates one small frame of watchhouse.quality.frames through a GE
Checkpoint that also updates the Data Docs under $WATCHHOUSE_HOME/ge. Every
expectation result becomes one row of the returned frame, which dbt writes
as the batch's partition of the mart (a rerun replaces it).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType

import pandas as pd

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
}


def load_suites(expectations_dir: Path) -> list[ModuleType]:
    """The suite modules of expectations/ (every .py but __init__), sorted by name."""
    suites = []
    for path in sorted(Path(expectations_dir).glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"watchhouse_expectations_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for attr in ("SUITE", "FRAME", "expectations"):
            if not hasattr(module, attr):
                raise ValueError(f"{path}: a suite module needs SUITE, FRAME and expectations(); {attr} is missing")
        suites.append(module)
    if not suites:
        raise ValueError(f"no suite modules in {expectations_dir}")
    return suites


def _jsonable(value) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value, default=str)
    except TypeError:
        return str(value)


def run_suites(
    frames: dict[str, pd.DataFrame], suites: list[ModuleType], params: dict, ge_root: Path, as_of: dt.date
) -> pd.DataFrame:
    """Validate each suite's frame; one result row per expectation (RESULT_COLUMNS)."""
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
        if module.FRAME not in frames:
            raise ValueError(f"suite {module.SUITE} wants frame {module.FRAME!r}; frames are {sorted(frames)}")
        frame = frames[module.FRAME]
        if frame.empty:
            # below the frame's minimum volume nothing can be judged: recorded as skipped, not run
            rows += [
                _skipped_row(run_id, run_at, as_of, module.SUITE, expectation, docs)
                for expectation in module.expectations(params)
            ]
            continue
        batch_def = source.add_dataframe_asset(module.SUITE).add_batch_definition_whole_dataframe("batch")
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=module.SUITE, expectations=module.expectations(params))
        )
        validation = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=module.SUITE, data=batch_def, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=module.SUITE, validation_definitions=[validation], actions=[UpdateDataDocsAction(name="docs")]
            )
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        for validation_result in outcome.run_results.values():
            for result in validation_result.results:
                config = result.expectation_config
                column = config.kwargs.get("column") or config.kwargs.get("column_A")
                single = len(frame) == 1 and column in frame.columns
                number = frame[column].iloc[0] if single else None
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
        "observed_value": json.dumps("skipped: no rows meet the frame's minimum volume"),
        "observed_number": None,
        "unexpected_count": None,
        "element_count": 0,
        "data_docs_path": str(docs),
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
    from watchhouse.quality import frames as fr

    params = parse_params(params)
    previous = previous_batch_metrics(history, as_of)
    frames = {
        "quality": fr.quality_frame(marts["vod_quality_scores"]),
        "valuation_by_type": fr.valuation_by_type_frame(marts["view_valuations"]),
        "concentration": fr.concentration_frame(marts["view_valuations"], marts["int_views_clean"]),
        "batch": fr.batch_frame(
            as_of,
            marts["landing_reconciliation"],
            marts["view_valuations"],
            marts["abuse_flags"],
            marts["quarantine_watch_events"],
            previous,
        ),
    }
    results = run_suites(frames, load_suites(expectations_dir), params, ge_root, as_of)
    schema = ", ".join(f"{name} {kind}" for name, kind in RESULT_COLUMNS.items())
    kinds = list(RESULT_COLUMNS.values())
    records = [
        tuple(int(v) if k == "bigint" and v is not None else v for k, v in zip(kinds, map(_plain, row), strict=True))
        for row in results.itertuples(index=False)
    ]
    return spark.createDataFrame(records, schema)
