"""Recommender panels: offline metrics with intervals, accuracy trade-offs, the bandit, quantization."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from watchhouse.dashboard.panel import PanelSpec, colour_map, day, days_axis, styled
from watchhouse.marts import Marts

K = 10
METRICS = {"ndcg": "NDCG", "hit_rate": "HitRate", "recall": "Recall", "mrr": "MRR"}
# each quantized model next to the float model it was made from
QUANTIZED = {"ranker": ("ranker_int8", "ranker_qat", "ranker_fst"), "two_tower": ("two_tower_int8",)}


def intervals(marts: Marts, k: int = K) -> pd.DataFrame:
    names = ", ".join(f"'{m}'" for m in METRICS)
    return marts.df(
        f"""
        select batch_date, model_name, item_type, metric, estimate, ci_low, ci_high, diff_vs_baseline,
               diff_ci_low, diff_ci_high, users_evaluated
        from marts.offline_eval_intervals where k = {k} and metric in ({names})
        order by model_name, metric, batch_date
        """
    )


def _metrics(marts: Marts) -> go.Figure | str:
    rows = intervals(marts)
    if rows.empty:
        return (
            "No list has been scored yet: the lists of batch D are scored by the run of D + 1 "
            "(build two consecutive batches, e.g. `make backfill FROM=<day before> `)."
        )
    rows["batch_date"] = day(rows.batch_date)
    colours = colour_map(rows.model_name)
    fig, visible = go.Figure(), []
    for metric in METRICS:
        for model, part in rows[rows.metric == metric].groupby("model_name"):
            fig.add_trace(
                go.Scatter(
                    x=part.batch_date,
                    y=part.estimate,
                    name=f"{model} ({part.item_type.iloc[0]})",
                    mode="lines+markers",
                    line_color=colours[model],
                    error_y={
                        "type": "data",
                        "array": part.ci_high - part.estimate,
                        "arrayminus": part.estimate - part.ci_low,
                        "thickness": 1,
                    },
                    visible=metric == "ndcg",
                    customdata=part[["ci_low", "ci_high", "users_evaluated"]],
                    hovertemplate=f"{model}<br>%{{x}}: %{{y:.3f}} [%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}]"
                    "<br>%{customdata[2]:,} users<extra></extra>",
                )
            )
            visible.append(metric)
    buttons = [
        {
            "label": f"{label}@{K}",
            "method": "update",
            "args": [{"visible": [v == metric for v in visible]}, {"yaxis": {"title": {"text": f"{label}@{K}"}}}],
        }
        for metric, label in METRICS.items()
        if metric in visible
    ]
    days_axis(fig)
    fig.update_layout(updatemenus=[{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.15}])
    return styled(
        fig,
        f"Offline metrics per model at k = {K}, with 95% bootstrap intervals (next-day history)",
        "list batch day (scored on the day after)",
        f"NDCG@{K}",
        height=520,
    )


def latest_metrics(marts: Marts, k: int = K) -> pd.DataFrame:
    return marts.df(
        f"""
        select model_name, item_type, ndcg, hit_rate, coverage, freshness, novelty, users_evaluated
        from marts.offline_eval_metrics
        where k = {k} and batch_date = (select max(batch_date) from marts.offline_eval_metrics)
        order by model_name
        """
    )


def _tradeoff(marts: Marts) -> go.Figure | str:
    rows = latest_metrics(marts)
    if rows.empty:
        return "No list has been scored yet, so there is no accuracy to set against coverage and freshness."
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"coverage vs NDCG@{K}", f"freshness vs NDCG@{K}"),
        horizontal_spacing=0.1,
    )
    colours = colour_map(rows.item_type)
    for item_type, part in rows.groupby("item_type"):
        for col, x in ((1, part.coverage * 100), (2, part.freshness)):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part.ndcg,
                    mode="markers+text",
                    text=part.model_name,
                    textposition="top center",
                    textfont={"size": 9},
                    marker={"size": 9, "color": colours[item_type]},
                    name=f"{item_type} lists",
                    legendgroup=item_type,
                    showlegend=col == 1,
                    hovertemplate="%{text}: x %{x:.2f}, NDCG %{y:.3f}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    batch = day(pd.Series([marts.df("select max(batch_date) as d from marts.offline_eval_metrics").d[0]]))[0]
    fig = styled(fig, f"Accuracy against coverage and freshness (lists of {batch}, k = {K})", "", "", height=480)
    fig.update_xaxes(title_text="catalogue coverage in top-10 lists (%)", row=1, col=1)
    fig.update_xaxes(title_text="mean age of recommended items (days, log scale)", type="log", row=1, col=2)
    fig.update_yaxes(title_text=f"NDCG@{K}", row=1, col=1)
    return fig


def _thompson(marts: Marts) -> go.Figure | str:
    rows = marts.df("select * from marts.exploration_type_posteriors order by batch_date, exploration_type")
    if rows.empty:
        return "The exploration bandit has not run yet (exploration_type_posteriors is empty)."
    rows["batch_date"] = day(rows.batch_date)
    colours = colour_map(rows.exploration_type)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("share of shown exploration slots", "posterior mean success rate"),
        horizontal_spacing=0.1,
    )
    for kind, part in rows.groupby("exploration_type"):
        fig.add_trace(
            go.Bar(
                x=part.batch_date,
                y=part.slot_share * 100,
                name=kind,
                legendgroup=kind,
                marker_color=colours[kind],
                hovertemplate=kind + ": %{y:.1f}% of slots<extra></extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=part.batch_date,
                y=part.posterior_mean * 100,
                name=kind,
                legendgroup=kind,
                showlegend=False,
                mode="lines+markers",
                line_color=colours[kind],
                customdata=part[["cumulative_successes", "cumulative_trials"]],
                hovertemplate=kind + ": %{y:.2f}% (%{customdata[0]:,} of %{customdata[1]:,} trials)<extra></extra>",
            ),
            row=1,
            col=2,
        )
    fig.update_layout(barmode="stack")
    days_axis(fig)
    fig = styled(fig, "Thompson sampling over exploration types", "", "", height=440)
    fig.update_xaxes(title_text="batch day", row=1, col=1)
    fig.update_xaxes(title_text="batch day", row=1, col=2)
    fig.update_yaxes(title_text="shown slots (%)", row=1, col=1)
    fig.update_yaxes(title_text="posterior mean success rate (%)", row=1, col=2)
    return fig


def quantized_runs(marts: Marts) -> pd.DataFrame:
    names = [name for base, quantized in QUANTIZED.items() for name in (base, *quantized)]
    listed = ", ".join(f"'{n}'" for n in names)
    rows = marts.df(
        f"""
        select model_name, size_bytes, scoring_latency_ms, ndcg_at_10, batch_date from marts.model_runs
        where model_name in ({listed}) and batch_date = (select max(batch_date) from marts.model_runs)
        """
    )
    rows["model_name"] = pd.Categorical(rows.model_name, categories=names, ordered=True)
    return rows.sort_values("model_name").reset_index(drop=True)


def _quantized(marts: Marts) -> go.Figure | str:
    rows = quantized_runs(marts)
    if rows.empty:
        return "No trained model has been registered yet (model_runs is empty: the ML models are off or untrained)."
    names = rows.model_name.astype(str)
    colours = ["#2c3e50" if n in QUANTIZED else "#3498db" for n in names]
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("model size", "scoring latency", "validation NDCG@10"),
        horizontal_spacing=0.08,
    )
    for col, values in enumerate((rows.size_bytes / 1e6, rows.scoring_latency_ms, rows.ndcg_at_10), start=1):
        fig.add_trace(go.Bar(x=names, y=values, marker_color=colours, showlegend=False), row=1, col=col)
        fig.update_xaxes(title_text="model (dark = float)", row=1, col=col)
    batch = day(rows.batch_date).iloc[0]
    fig = styled(fig, f"Quantized vs float models (batch {batch})", "", "", height=440)
    fig.update_yaxes(title_text="size (MB)", row=1, col=1)
    fig.update_yaxes(title_text="scoring latency (ms)", row=1, col=2)
    fig.update_yaxes(title_text="NDCG@10 (leave-last-out)", row=1, col=3)
    return fig


PANELS = (
    PanelSpec(
        "rec-metrics",
        "Offline metrics over batches",
        f"Every recommender's lists of day D scored on D + 1's history (k = {K}); error bars are 95% bootstrap "
        "intervals over users. Pick the metric in the menu. From offline_eval_intervals.",
        ("offline_eval_intervals",),
        _metrics,
    ),
    PanelSpec(
        "rec-tradeoff",
        "Coverage and freshness vs accuracy",
        "Each model's latest scored lists: how much of the catalogue its top-10 lists reach and how old its items "
        "are, against NDCG@10. From offline_eval_metrics.",
        ("offline_eval_metrics",),
        _tradeoff,
    ),
    PanelSpec(
        "rec-thompson",
        "Exploration bandit",
        "How Thompson sampling allocated the shown exploration slots over exploration types per batch, and each "
        "type's Beta posterior mean success rate. From exploration_type_posteriors.",
        ("exploration_type_posteriors",),
        _thompson,
    ),
    PanelSpec(
        "rec-quantized",
        "Quantized vs float",
        "Size, scoring latency and validation NDCG@10 of each quantized model beside its float model, latest "
        "batch. From model_runs.",
        ("model_runs",),
        _quantized,
    ),
)
