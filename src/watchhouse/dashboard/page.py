"""The dashboard as one static HTML page: plotly.js beside it, no server, no network."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd
import plotly.io as pio

from watchhouse.dashboard.panel import Panel

PLOTLY_JS = "plotly.min.js"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { background: #1f2d3d; color: #fff; padding: 14px 24px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header a { color: #9fd3ff; margin-right: 16px; }
nav { padding: 8px 24px; background: #fff; border-bottom: 1px solid #ddd; position: sticky; top: 0; z-index: 10; }
nav a { margin-right: 18px; }
section { padding: 8px 24px 16px; }
section > h2 { border-bottom: 2px solid #1f2d3d; padding-bottom: 4px; }
.panel { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 14px 0; padding: 10px 14px; }
.panel h3 { margin: 4px 0; }
.caption { color: #555; font-size: 13px; margin: 2px 0 8px; }
.empty { color: #8a5a00; background: #fff8e6; border: 1px dashed #e0b050; padding: 14px; border-radius: 4px; }
.table-wrap { max-height: 420px; overflow: auto; }
table.data { border-collapse: collapse; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid #eee; padding: 3px 10px; text-align: left; }
table.data th { position: sticky; top: 0; background: #f0f2f5; }
footer { color: #666; font-size: 12px; padding: 12px 24px 24px; }
"""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    panels: list[Panel]


def _panel_html(panel: Panel) -> str:
    if panel.figure is not None:
        body = pio.to_html(
            panel.figure,
            include_plotlyjs=False,
            full_html=False,
            div_id=f"{panel.key}-chart",
            config={"displaylogo": False, "responsive": True},
        )
        kind = "chart"
    elif panel.table is not None:
        body = _table_html(panel.table)
        kind = "table"
    else:
        body = f'<p class="empty">{html.escape(panel.empty or "No data.")}</p>'
        kind = "empty"
    links = " ".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a>' for text, href in panel.links)
    return (
        f'<div class="panel" id="{panel.key}" data-kind="{kind}">'
        f"<h3>{html.escape(panel.title)}</h3>"
        f'<p class="caption">{html.escape(panel.caption)} {links}</p>{body}</div>'
    )


def _table_html(frame: pd.DataFrame) -> str:
    table = frame.to_html(index=False, classes="data", border=0, na_rep="", escape=True)
    return f'<div class="table-wrap">{table}</div>'


def render(sections: list[Section], heading: str, links: list[tuple[str, str]], footer: str) -> str:
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    head_links = "".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a>' for text, href in links)
    body = "".join(
        f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2><p class="caption">{html.escape(s.intro)}</p>'
        + "".join(_panel_html(p) for p in s.panels)
        + "</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>watchhouse dashboard</title><style>{STYLE}</style>"
        f'<script src="{PLOTLY_JS}"></script></head><body>'
        f"<header><h1>watchhouse</h1><div>{html.escape(heading)}</div><div>{head_links}</div></header>"
        f"<nav>{nav}</nav>{body}<footer>{html.escape(footer)}</footer></body></html>"
    )
