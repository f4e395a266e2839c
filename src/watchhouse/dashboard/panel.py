"""One dashboard panel: a titled chart or table built from the marts, or a sentence saying why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from watchhouse.marts import Marts

# a colour per category that stays the same across panels (plotly's qualitative "Safe" + "Vivid")
PALETTE = (
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99", "#999933", "#882255",
    "#661100", "#6699CC", "#888888", "#E58606", "#5D69B1", "#52BCA3", "#99C945", "#CC61B0", "#24796C",
    "#DAA51B", "#2F8AC4", "#764E9F", "#ED645A", "#CC3A8E", "#A5AA99",
)  # fmt: skip


@dataclass
class Panel:
    """What one panel shows. Exactly one of figure, table or empty is set."""

    key: str  # html id, stable (the browser test looks panels up by it)
    title: str
    caption: str  # what is plotted, from which mart, in which units
    marts: tuple[str, ...]  # the marts it reads (the dashboard exposure declares them)
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    empty: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href)


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    caption: str
    marts: tuple[str, ...]
    build: Callable[[Marts], go.Figure | pd.DataFrame | str]

    def render(self, marts: Marts) -> Panel:
        panel = Panel(self.key, self.title, self.caption, self.marts)
        missing = [name for name in self.marts if not marts.has(name)]
        if missing:
            panel.empty = f"No data yet: mart {', '.join(missing)} has no rows (run `make build`)."
            return panel
        result = self.build(marts)
        if isinstance(result, str):
            panel.empty = result
        elif isinstance(result, pd.DataFrame):
            panel.table = result
        else:
            panel.figure = result
        return panel


def styled(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 420) -> go.Figure:
    """The house layout: a title, both axis titles (with units), legend on the right."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        height=height,
        margin={"l": 70, "r": 20, "t": 60, "b": 60},
        legend={"title": {"text": ""}},
        font={"size": 12},
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def days_axis(fig: go.Figure) -> go.Figure:
    """Batch days (YYYY-MM-DD strings) as categories in date order: a date axis would draw hours
    between daily points. The order is an explicit array: plotly.js throws on load with
    categoryorder "category ascending" when some traces start hidden (the metric menu's)."""
    days = sorted({str(x) for trace in fig.data if trace.x is not None for x in trace.x})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=days)
    return fig


def colour_map(names) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def day(series: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD strings (plotly then draws a category axis of batch days, no hours)."""
    return pd.to_datetime(series).dt.strftime("%Y-%m-%d")
