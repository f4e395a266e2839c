"""Data-quality panels: GE results over runs, quarantine, abuse share, row-count drift, failures."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from watchhouse.dashboard.panel import PanelSpec, colour_map, day, days_axis, styled
from watchhouse.marts import Marts

DRIFT_WINDOW = 7  # batch days in the trailing median a day's row count is compared with
FAILURE_RUNS = 5  # the latest runs with a failure whose failed checks the table lists
RECENT_DAYS = 28  # batch days shown in the per-day charts (landing tables hold years of sign-ups)


def ge_runs(marts: Marts) -> pd.DataFrame:
    """Checks and failures per checkpoint run and suite, oldest run first."""
    return marts.df(
        """
        select run_id, run_at, batch_date, suite, count(*) as checks,
               count(*) filter (where not success) as failed
        from marts.data_quality_results
        group by all
        order by run_at, suite
        """
    )


def _ge_heatmap(marts: Marts) -> go.Figure | str:
    runs = ge_runs(marts)
    if runs.empty:
        return "No Great Expectations run recorded yet: data_quality_results is written by every `make build`."
    runs["run"] = day(runs.batch_date) + " · " + pd.to_datetime(runs.run_at).dt.strftime("%m-%d %H:%M:%S")
    order = runs.drop_duplicates("run_id").sort_values("run_at").run.tolist()
    grid = runs.pivot_table(index="suite", columns="run", values=["checks", "failed"], aggfunc="sum")
    checks, failed = grid["checks"][order], grid["failed"][order]
    passed_share = (checks - failed) / checks
    label = (checks - failed).astype("Int64").astype(str) + "/" + checks.astype("Int64").astype(str)
    fig = go.Figure(
        go.Heatmap(
            z=passed_share.values,
            x=order,
            y=list(passed_share.index),
            text=label.where(checks.notna(), "").values,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale=[[0, "#c0392b"], [0.9, "#f5b041"], [0.99, "#f5b041"], [1, "#27ae60"]],
            colorbar={
                "title": {"text": "checks passed"},
                "tickvals": [0, 0.5, 1],
                "ticktext": ["none", "half", "all"],
            },
            hovertemplate="suite %{y}<br>run %{x}<br>passed %{text}<extra></extra>",
        )
    )
    return styled(
        fig,
        "Great Expectations: checks passed per checkpoint run and suite",
        "checkpoint run (batch day · run time, UTC)",
        "suite",
        height=320,
    )


def latest_failures(marts: Marts, runs: int = FAILURE_RUNS) -> pd.DataFrame:
    """The failed checks of the latest `runs` runs that had any failure, newest first."""
    return marts.df(
        """
        with failing_runs as (
            select run_id, max(run_at) as run_at from marts.data_quality_results
            where not success group by run_id order by run_at desc limit ?
        )
        select r.run_at, r.batch_date, coalesce(r.severity, 'error') as severity, r.suite, r.check_name,
               r.column_name, r.message, r.observed_value, r.unexpected_count, r.element_count
        from marts.data_quality_results as r inner join failing_runs using (run_id)
        where not r.success
        order by r.run_at desc, severity, r.suite, r.column_name
        """,
        [runs],
    )


def failed_checks_of_batch(marts: Marts, batch: str) -> dict[str, int]:
    """Failed checks of the latest run of `batch`, by severity ({"warn": 2} ...)."""
    rows = marts.df(
        """
        with runs as (select * from marts.data_quality_results where cast(batch_date as string) = ?)
        select coalesce(severity, 'error') as severity, count(*) as n from runs
        where run_at = (select max(run_at) from runs) and not success
        group by all
        """,
        [batch],
    )
    return dict(zip(rows.severity, rows.n.astype(int), strict=True))


def _failures_table(marts: Marts) -> pd.DataFrame | str:
    failures = latest_failures(marts)
    if failures.empty:
        total = marts.df("select count(distinct run_id) as n, max(run_at) as last from marts.data_quality_results")
        if int(total.n[0]) == 0:
            return "No Great Expectations run recorded yet."
        return f"No failed check in any of the {int(total.n[0])} recorded runs (latest run {total['last'][0]} UTC)."
    failures["run_at"] = pd.to_datetime(failures.run_at).dt.strftime("%Y-%m-%d %H:%M:%S")
    failures["batch_date"] = day(failures.batch_date)
    return failures.rename(
        columns={
            "run_at": "run at (UTC)",
            "batch_date": "batch day",
            "check_name": "check",
            "column_name": "column",
            "observed_value": "observed value (GE)",
            "unexpected_count": "unexpected rows",
            "element_count": "rows checked",
        }
    )


def _latest_build(marts: Marts, mart: str, days: int = RECENT_DAYS) -> str:
    """The rows of the latest build of a mart that keeps the whole landing history (built_for_batch),
    for the `days` batch days up to that build's batch."""
    latest = f"(select max(built_for_batch) from marts.{mart})"
    return (
        f"(select * from marts.{mart} where built_for_batch = {latest} "
        f"and batch_date > {latest} - interval {int(days)} day)"
    )


def _joined(names: pd.Series) -> str:
    return ", ".join(sorted(set(names)))


def _quarantine(marts: Marts) -> go.Figure | str:
    per_table = marts.df(
        f"""
        select batch_date, quarantine_reason, landing_table, sum(quarantined_rows) as rows_quarantined
        from {_latest_build(marts, "quarantine_summary")} group by all
        """
    )  # the tables are joined here, not in SQL: DuckDB and Spark (ServerMarts) spell string_agg differently
    rows = (
        per_table.groupby(["batch_date", "quarantine_reason"], as_index=False)
        .agg(rows_quarantined=("rows_quarantined", "sum"), tables=("landing_table", _joined))
        .sort_values(["batch_date", "quarantine_reason"])
    )
    if rows.empty or rows.rows_quarantined.sum() == 0:
        return "No landing row was quarantined in any batch day: every row met the landing contract."
    rows["batch_date"] = day(rows.batch_date)
    colours = colour_map(rows.quarantine_reason)
    fig = go.Figure(
        [
            go.Bar(
                x=part.batch_date,
                y=part.rows_quarantined,
                name=reason,
                marker_color=colours[reason],
                customdata=part.tables,
                hovertemplate="%{x}<br>" + reason + ": %{y:,} rows<br>tables: %{customdata}<extra></extra>",
            )
            for reason, part in rows.groupby("quarantine_reason")
        ]
    )
    fig.update_layout(barmode="stack")
    days_axis(fig)
    return styled(fig, "Quarantined landing rows per batch day, by reason", "batch day", "rows quarantined")


def abuse_share(marts: Marts) -> pd.DataFrame:
    """Flagged views per batch day and abuse kind, as a share of the day's accepted view events."""
    return marts.df(
        f"""
        with accepted as (
            select batch_date, accepted_rows from {_latest_build(marts, "landing_reconciliation")}
            where landing_table = 'watch_events'
        ),
        flagged as (select batch_date, abuse_kind, count(*) as flagged_views from marts.abuse_flags group by all)
        select f.batch_date, f.abuse_kind, f.flagged_views, a.accepted_rows as accepted_views,
               f.flagged_views / a.accepted_rows as abuse_share
        from flagged as f inner join accepted as a using (batch_date)
        where a.accepted_rows > 0
        order by f.batch_date, f.abuse_kind
        """
    )


def _line_per_group(rows: pd.DataFrame, group: str, y: str, custom: list[str], hover: str) -> go.Figure:
    """One line per value of `group` over the batch days; the hover names the group, then `hover`
    (a plotly template over %{y} and %{customdata[i]} of the `custom` columns)."""
    rows = rows.assign(batch_date=day(rows.batch_date))
    colours = colour_map(rows[group])
    fig = go.Figure(
        [
            go.Scatter(
                x=part.batch_date,
                y=part[y],
                name=name,
                mode="lines+markers",
                line_color=colours[name],
                customdata=part[custom],
                hovertemplate="%{x}<br>" + str(name) + hover + "<extra></extra>",
            )
            for name, part in rows.groupby(group)
        ]
    )
    days_axis(fig)
    return fig


def _abuse(marts: Marts) -> go.Figure | str:
    rows = abuse_share(marts)
    if rows.empty:
        return "No view was flagged as abuse in any batch day."
    rows["abuse_percent"] = rows.abuse_share * 100
    fig = _line_per_group(
        rows, "abuse_kind", "abuse_percent", ["flagged_views", "accepted_views"],
        ": %{y:.2f}% (%{customdata[0]:,} of %{customdata[1]:,} views)",
    )  # fmt: skip
    return styled(
        fig, "Abuse share per batch day and kind", "batch day", "flagged views (% of the day's accepted views)"
    )


def row_count_drift(marts: Marts, window: int = DRIFT_WINDOW) -> pd.DataFrame:
    """In-scope landing rows per table and batch day against the median of the `window` days before."""
    rows = marts.df(
        f"""select landing_table, batch_date, raw_rows
            from {_latest_build(marts, "landing_reconciliation", RECENT_DAYS + window)}
            order by landing_table, batch_date"""
    )
    rows["baseline"] = rows.groupby("landing_table").raw_rows.transform(
        lambda s: s.shift(1).rolling(window, min_periods=1).median()
    )
    recent = rows.batch_date > rows.batch_date.max() - pd.Timedelta(days=RECENT_DAYS) if len(rows) else []
    rows = rows[recent & (rows.baseline > 0)].copy()
    rows["ratio"] = rows.raw_rows / rows.baseline
    return rows.reset_index(drop=True)


def _drift(marts: Marts) -> go.Figure | str:
    rows = row_count_drift(marts)
    if rows.empty:
        return "Row-count drift needs at least two batch days of landing data."
    fig = _line_per_group(
        rows, "landing_table", "ratio", ["raw_rows", "baseline"],
        ": %{customdata[0]:,} rows = %{y:.2f} x median %{customdata[1]:,.0f}",
    )  # fmt: skip
    fig.add_hline(y=1, line_dash="dot", line_color="#555")
    return styled(
        fig,
        f"Row-count drift: landing rows per batch day against the median of the previous {DRIFT_WINDOW} days",
        "batch day",
        f"rows / median of previous {DRIFT_WINDOW} batch days (ratio)",
    )


PANELS = (
    PanelSpec(
        "dq-ge-runs",
        "Great Expectations results",
        "Share of checks that passed, per checkpoint run (every `make build` is one run) and suite; the text is "
        "passed/total. From data_quality_results.",
        ("data_quality_results",),
        _ge_heatmap,
    ),
    PanelSpec(
        "dq-failures",
        "Latest failed checks",
        f"The failed checks of the latest {FAILURE_RUNS} runs that had any. Severity error: the batch was not "
        "published; warn: it was published, and this is worth a look. The message names the entities a "
        "per-entity check is about (all of them in quality_exceptions). From data_quality_results.",
        ("data_quality_results",),
        _failures_table,
    ),
    PanelSpec(
        "dq-quarantine",
        "Quarantine",
        f"Landing rows that broke the contract, per batch day and reason, last {RECENT_DAYS} days (all landing "
        "tables; hover for which). From quarantine_summary (latest build).",
        ("quarantine_summary",),
        _quarantine,
    ),
    PanelSpec(
        "dq-abuse",
        "Abuse share",
        "Views flagged per abuse kind as a percentage of the day's accepted view events. From abuse_flags and "
        "landing_reconciliation.",
        ("abuse_flags", "landing_reconciliation"),
        _abuse,
    ),
    PanelSpec(
        "dq-drift",
        "Row-count drift",
        "In-scope landing rows per table and batch day divided by the median of the previous "
        f"{DRIFT_WINDOW} batch days (1 = as usual), last {RECENT_DAYS} days. From landing_reconciliation "
        "(latest build).",
        ("landing_reconciliation",),
        _drift,
    ),
)
