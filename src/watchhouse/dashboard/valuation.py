"""Valuation panels: watch ratios by VOD type, quality scores, abused VODs, top VODs per category."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from watchhouse.dashboard.panel import PanelSpec, colour_map, styled
from watchhouse.marts import Marts

RATIO_BINS = 20  # watch ratio bins of 0.05; ratio 1 (watched to the end) gets a bin of its own
SCORE_BIN = 0.02
ABUSED_VODS = 15
TOP_PER_CATEGORY = 3


def watch_ratio_histogram(marts: Marts, bins: int = RATIO_BINS) -> pd.DataFrame:
    """Share of each VOD type's clean views per watch-ratio bin [i/bins, (i+1)/bins); bin `bins` = ratio >= 1."""
    rows = marts.df(
        f"""
        select vod_type, least(floor(watch_ratio * {bins}), {bins}) as bin, count(*) as views
        from marts.view_valuations where watch_ratio is not null
        group by all order by vod_type, bin
        """
    )
    rows["share"] = rows.views / rows.groupby("vod_type").views.transform("sum")
    rows["ratio_from"] = rows["bin"] / bins
    return rows


def _watch_ratio(marts: Marts) -> go.Figure | str:
    rows = watch_ratio_histogram(marts)
    if rows.empty:
        return "No clean view has been valued yet (view_valuations is empty)."
    colours = colour_map(rows.vod_type)
    fig = go.Figure(
        [
            go.Scatter(
                x=part.ratio_from,
                y=part.share * 100,
                name=f"{vod_type} ({part.views.sum():,} views)",
                mode="lines+markers",
                line={"shape": "hv", "color": colours[vod_type]},
                hovertemplate=vod_type + ": %{y:.1f}% of views from ratio %{x:.2f}<extra></extra>",
            )
            for vod_type, part in rows.groupby("vod_type")
        ]
    )
    return styled(
        fig,
        "Watch-ratio distribution by VOD type (clean views)",
        f"watch ratio = watched seconds / VOD duration (bins of {1 / RATIO_BINS:.2f}; 1.0 = watched to the end)",
        "share of the type's clean views (%)",
    )


def _latest(mart: str) -> str:
    return f"(select * from marts.{mart} where batch_date = (select max(batch_date) from marts.{mart}))"


def _quality(marts: Marts) -> go.Figure | str:
    rows = marts.df(
        f"""
        select floor(quality_score / {SCORE_BIN}) * {SCORE_BIN} as score_from, 'quality_score' as measure,
               count(*) as vods
        from {_latest("vod_quality_scores")} where clean_viewers > 0 group by all
        union all
        select floor(quality_score_lower / {SCORE_BIN}) * {SCORE_BIN}, 'quality_score_lower', count(*)
        from {_latest("vod_quality_scores")} where clean_viewers > 0 group by all
        order by 2, 1
        """
    )
    if rows.empty:
        return "No VOD has a clean viewer yet, so no quality score."
    names = {"quality_score": "quality score", "quality_score_lower": "lower bound (score - 1.645 s.e.)"}
    fig = go.Figure(
        [
            go.Bar(x=part.score_from + SCORE_BIN / 2, y=part.vods, name=names[measure], opacity=0.7, width=SCORE_BIN)
            for measure, part in rows.groupby("measure")
        ]
    )
    fig.update_layout(barmode="overlay")
    return styled(
        fig,
        "Quality-score distribution (VODs with at least one clean viewer)",
        "quality score (0-1; 0.5 = as engaging as its category x type prior)",
        "VODs",
    )


def _abused(marts: Marts) -> go.Figure | str:
    rows = marts.df(
        f"""
        select vod_id, streamer_id, raw_views, clean_views, flagged_views, abuse_share, quality_score
        from {_latest("vod_quality_scores")} where flagged_views > 0
        order by flagged_views desc, vod_id limit {ABUSED_VODS}
        """
    )
    if rows.empty:
        return "No VOD has a flagged view: nothing was abused."
    rows = rows.iloc[::-1]  # largest on top of a horizontal bar chart
    label = rows.vod_id + " (" + rows.streamer_id + ")"
    fig = go.Figure(
        [
            go.Bar(y=label, x=rows.raw_views, name="raw views", orientation="h", marker_color="#c0392b"),
            go.Bar(
                y=label,
                x=rows.clean_views,
                name="clean views",
                orientation="h",
                marker_color="#27ae60",
                customdata=rows[["abuse_share", "quality_score"]],
                hovertemplate="%{y}<br>clean %{x:,} views; abuse share %{customdata[0]:.0%}; "
                "quality %{customdata[1]:.3f}<extra></extra>",
            ),
        ]
    )
    fig.update_layout(barmode="group")
    return styled(
        fig,
        f"Raw vs clean views of the {len(rows)} most-abused VODs",
        "views (count)",
        "VOD (streamer)",
        height=max(420, 28 * len(rows) + 120),
    )


def top_vods_per_category(marts: Marts, per_category: int = TOP_PER_CATEGORY) -> pd.DataFrame:
    """The best VODs of each category by quality_score_lower (ties: more clean viewers, then vod_id)."""
    return marts.df(
        f"""
        select category, rank, vod_id, streamer_id, vod_type, quality_score_lower, quality_score, clean_viewers
        from (
            select *, row_number() over (
                partition by category order by quality_score_lower desc, clean_viewers desc, vod_id
            ) as rank
            from {_latest("vod_quality_scores")} where clean_viewers > 0
        ) where rank <= {per_category}
        order by category, rank
        """
    )


def _top_table(marts: Marts) -> pd.DataFrame | str:
    rows = top_vods_per_category(marts)
    if rows.empty:
        return "No VOD has a clean viewer yet, so there is no quality ranking."
    for column in ("quality_score_lower", "quality_score"):
        rows[column] = rows[column].round(3)
    return rows.rename(
        columns={
            "quality_score_lower": "quality lower bound",
            "quality_score": "quality score",
            "clean_viewers": "clean viewers",
            "vod_type": "type",
        }
    )


PANELS = (
    PanelSpec(
        "val-watch-ratio",
        "Watch ratio by VOD type",
        "How far into a VOD its clean views get, as a distribution per VOD type (raw seconds lie: a 30-second "
        "clip and a 4-hour replay cannot be compared by seconds). From view_valuations.",
        ("view_valuations",),
        _watch_ratio,
    ),
    PanelSpec(
        "val-quality",
        "Quality scores",
        "Distribution of the shrunk quality score and its lower bound across VODs (latest batch). "
        "From vod_quality_scores.",
        ("vod_quality_scores",),
        _quality,
    ),
    PanelSpec(
        "val-abused",
        "Most-abused VODs",
        "Raw views against the clean views that count for quality, for the VODs with the most flagged views. "
        "From vod_quality_scores.",
        ("vod_quality_scores",),
        _abused,
    ),
    PanelSpec(
        "val-top",
        "Top VODs by quality per category",
        f"The {TOP_PER_CATEGORY} best VODs of each category by quality lower bound (abuse cannot buy it: flagged "
        "views never count). From vod_quality_scores (latest batch).",
        ("vod_quality_scores",),
        _top_table,
    ),
)
