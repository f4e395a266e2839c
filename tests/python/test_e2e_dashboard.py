"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, opening the page from disk.

`make test` installs chromium first (Makefile target `browser`) and passes its path in
WATCHHOUSE_CHROMIUM; without it these tests fail and say how to get it (never skip)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from watchhouse.dashboard import DASHBOARD_MARTS, SECTIONS, build_dashboard

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("WATCHHOUSE_CHROMIUM", "/usr/bin/chromium"))
OUTPUT = Path(os.environ.get("WATCHHOUSE_TEST_OUTPUT", REPO / ".watchhouse" / "test-output"))


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium (apt-get install chromium); "
            "or set WATCHHOUSE_CHROMIUM to a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def open_page(browser, page_path: Path):
    """Open the page from disk; return it with the console errors and uncaught exceptions seen."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
    page.goto(page_path.as_uri(), wait_until="load")
    return page, errors


def panel_kinds(page) -> dict[str, str]:
    return {el.get_attribute("id"): el.get_attribute("data-kind") for el in page.locator(".panel").all()}


@pytest.mark.e2e
def test_dashboard_of_a_build_renders_every_section_with_charts(browser, batches):
    _, home, _ = batches
    page_path = home / "dashboard" / "index.html"
    assert page_path.is_file(), "`watchhouse build` did not write the dashboard"
    page, errors = open_page(browser, page_path)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    for key, title, _, specs in SECTIONS:
        section = page.locator(f"section#{key}")
        assert section.count() == 1 and title in section.locator("h2").inner_text()
        for spec in specs:
            assert section.locator(f"#{spec.key}").count() == 1, f"panel {spec.key} missing from {key}"
    kinds = panel_kinds(page)
    # the replayed batches have GE runs, quarantine, abuse, valuations, scored lists, the bandit and
    # trained models: every panel has data except the failures table (no check failed)
    empty = {key for key, kind in kinds.items() if kind == "empty"}
    assert empty <= {"dq-failures"}, f"panels without data after the build: {empty}"
    charts = [key for key, kind in kinds.items() if kind == "chart"]
    for key in charts:  # plotly drew an SVG with at least one trace in every chart panel
        assert page.locator(f"#{key} .main-svg").count() >= 1, f"chart {key} not rendered"
        assert page.locator(f"#{key} .trace, #{key} .hm").count() >= 1, f"chart {key} has no trace"
        title = page.locator(f"#{key} .gtitle").first.text_content() or ""
        assert title.strip(), f"chart {key} has no title"
        assert page.locator(f"#{key} .g-xtitle, #{key} .g-x2title").count() >= 1, f"chart {key}: no x axis title"
    assert page.locator("#val-top table.data tbody tr").count() >= 1
    ge_link = page.locator("#dq-failures a")
    assert ge_link.count() == 1 and (page_path.parent / ge_link.get_attribute("href")).resolve().is_file()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    assert errors == []


def test_an_empty_dashboard_opens_without_errors_and_says_why(browser, tmp_path):
    result = build_dashboard(tmp_path)
    page, errors = open_page(browser, result.path)
    notes = page.locator(".panel .empty")
    assert notes.count() == len(result.panels)
    assert all("No data yet" in text for text in notes.all_inner_texts())
    assert page.locator(".js-plotly-plot").count() == 0
    page.screenshot(path=str(tmp_path / "empty.png"))
    assert errors == []


@pytest.mark.e2e
def test_docs_lineage_shows_who_uses_which_marts(batches):
    """`watchhouse docs` (make docs / make build) writes dbt docs into WATCHHOUSE_HOME with the exposures."""
    from e2e import run_watchhouse

    landing, home, _ = batches
    done = run_watchhouse("docs", landing=landing, home=home, as_of="2026-11-20")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    manifest = json.loads((home / "docs" / "manifest.json").read_text())
    assert (home / "docs" / "index.html").is_file() and (home / "docs" / "catalog.json").is_file()
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"data_quality_dashboard", "analyst_queries", "recommendation_serving"} <= set(exposures)
    dashboard = exposures["data_quality_dashboard"]
    assert sorted(dashboard["depends_on"]["nodes"]) == sorted(f"model.watchhouse.{m}" for m in DASHBOARD_MARTS)
    assert dashboard["url"] == (home / "dashboard" / "index.html").as_uri()
    # every analysis is compiled with the docs (the analyst queries of analyses/)
    analyses = [n for n in manifest["nodes"].values() if n["resource_type"] == "analysis"]
    assert {n["name"] for n in analyses} == {p.stem for p in (REPO / "analyses").glob("*.sql")}
    # the analyst exposure declares exactly the marts the analyses read
    read = {node for n in analyses for node in n["depends_on"]["nodes"]}
    assert sorted(exposures["analyst_queries"]["depends_on"]["nodes"]) == sorted(read)
