"""The data-quality and recommender dashboard: a static site built from the marts only.

`build_dashboard(home)` reads `$WATCHHOUSE_HOME/warehouse` with DuckDB (watchhouse.marts),
renders every panel with plotly and writes `$WATCHHOUSE_HOME/dashboard/index.html` with
plotly.js copied beside it from the plotly package, so the page opens from disk with no
server and no network. docs/dashboard.md.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from watchhouse.dashboard import quality, recommenders, valuation
from watchhouse.dashboard.page import PLOTLY_JS, Section, render
from watchhouse.dashboard.panel import Panel, PanelSpec
from watchhouse.marts import Marts, ServerMarts

SECTIONS: tuple[tuple[str, str, str, tuple[PanelSpec, ...]], ...] = (
    (
        "data-quality",
        "Data quality",
        "Is today's batch trustworthy? Great Expectations results across runs, quarantined landing rows, "
        "abuse and row-count drift.",
        quality.PANELS,
    ),
    (
        "valuation",
        "Valuation",
        "Watch time valued relative to what each user and VOD usually get, and VOD quality scores abuse cannot buy.",
        valuation.PANELS,
    ),
    (
        "recommenders",
        "Recommenders",
        "Every recommender scored offline on the next day's history, the exploration bandit, and quantized models.",
        recommenders.PANELS,
    ),
)

# the marts the dashboard reads: models/exposures.yml declares exactly these (a test compares them)
DASHBOARD_MARTS = tuple(sorted({m for *_, specs in SECTIONS for spec in specs for m in spec.marts}))


@dataclass(frozen=True)
class DashboardResult:
    path: Path
    panels: dict[str, str]  # panel key -> chart / table / empty

    def summary(self) -> str:
        filled = sum(kind != "empty" for kind in self.panels.values())
        return f"dashboard: {self.path} ({filled} of {len(self.panels)} panels with data)"


def _ge_docs_link(marts: Marts, home: Path, out: Path) -> str | None:
    path = None
    if marts.has("data_quality_results"):
        rows = marts.df(
            "select data_docs_path from marts.data_quality_results where data_docs_path <> '' "
            "order by run_at desc limit 1"
        )
        path = Path(rows.data_docs_path[0]) if len(rows) else None
    if path is None or not path.exists():
        default = home / "ge" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
        path = default if default.exists() else None
    return os.path.relpath(path, out) if path else None


def _write_plotly_js(out: Path) -> None:
    from plotly.offline import get_plotlyjs

    target = out / PLOTLY_JS
    script = get_plotlyjs()
    if not target.exists() or target.stat().st_size != len(script.encode()):
        target.write_text(script, encoding="utf-8")


def build_dashboard(
    home: Path,
    out: Path | None = None,
    batch: str | None = None,
    failed_run: Path | None = None,
    server: tuple[str, int] | None = None,
) -> DashboardResult:
    """Render every panel from the published marts of `home` into `out` (default home/dashboard).
    `failed_run`: the build warehouse of a run that failed (and published nothing): its
    data-quality results are shown instead, under a notice. `server`: (host, thrift port) of the
    cluster target's Spark server: the marts are read through it (ServerMarts), as it holds them."""
    home = Path(home)
    out = Path(out) if out else home / "dashboard"
    out.mkdir(parents=True, exist_ok=True)
    overrides = {"marts.data_quality_results": failed_run / "marts.db" / "data_quality_results"} if failed_run else {}
    source = ServerMarts(*server) if server else Marts(home / "warehouse", overrides=overrides)
    with source as marts:
        sections = [
            Section(key, title, intro, [spec.render(marts) for spec in specs]) for key, title, intro, specs in SECTIONS
        ]
        ge_docs = _ge_docs_link(marts, home, out)
        if batch is None and marts.has("data_quality_results"):
            latest = marts.df("select max(batch_date) as d from marts.data_quality_results").d[0]
            batch = None if latest is None else str(latest)[:10]
        failed = quality.failed_checks_of_batch(marts, batch) if batch and marts.has("data_quality_results") else {}
    links = [("dbt docs (lineage, column docs)", os.path.relpath(home / "docs" / "index.html", out))]
    if ge_docs:
        links.append(("Great Expectations Data Docs (latest run)", ge_docs))
        _panel(sections, "dq-failures").links.append(("GE Data Docs of the latest run", ge_docs))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    heading = f"Batch {batch} · built {now}" if batch else f"Built {now}"
    if failed_run and server:
        heading += f" · the run of batch {batch} FAILED and was not published: the panels show the server's tables"
    elif failed_run:
        heading += (
            f" · the run of batch {batch} FAILED and was not published: the data-quality panels show that run,"
            " the others the last published batch"
        )
    if failed.get("warn"):  # published with warnings: as visible as a failure, on every page load
        heading += f" · WARNING: {failed['warn']} data-quality check(s) of batch {batch} failed (Latest failed checks)"
    where = f"the Spark server at {server[0]}:{server[1]}" if server else f"the marts under {home / 'warehouse'}"
    footer = f"Generated from {where} by `watchhouse dashboard` at {now}."
    _write_plotly_js(out)
    page = out / "index.html"
    tmp = out / "index.html.tmp"
    tmp.write_text(render(sections, heading, links, footer), encoding="utf-8")
    tmp.replace(page)  # readers never see half a page
    kinds = {p.key: _kind(p) for s in sections for p in s.panels}
    return DashboardResult(page, kinds)


def _panel(sections: list[Section], key: str) -> Panel:
    return next(p for s in sections for p in s.panels if p.key == key)


def _kind(panel: Panel) -> str:
    return "chart" if panel.figure is not None else "table" if panel.table is not None else "empty"
