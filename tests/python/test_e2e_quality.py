"""Great Expectations inside `make build`: results in data_quality_results (one run per batch),
Data Docs written; an error-level check failing the batch loudly, unpublished; a caught attack
publishing with its warn-level checks and the entities they are about named."""

from __future__ import annotations

import pytest

from e2e import mart, run_watchhouse
from watchhouse.generate.config import AbuseConfig, GeneratorConfig
from watchhouse.generate.platform import generate

pytestmark = pytest.mark.e2e
SUITES = {"vod_quality_scores", "view_valuations", "watch_time_concentration", "batch_health"}


def test_checkpoint_results_and_data_docs_after_build(batches):
    _, home, _ = batches  # three batches, 11-20 built twice, one run killed
    results = mart(home, "data_quality_results")
    latest = results[results.run_at == results.run_at.max()]
    assert set(latest.suite) == SUITES
    assert latest.success.all(), latest[~latest.success]
    assert set(latest.severity) == {"error", "warn"} and latest.message.str.match(r"(ok|skipped): ").all()
    # reconciliation raw = clean + flagged + quarantined is a recorded number, and it is zero
    gap = latest[(latest.suite == "batch_health") & (latest.column_name == "reconciliation_gap")]
    assert gap.observed_number.tolist() == [0.0]
    assert (home / "ge" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").is_file()
    # one run per batch: a rerun of a batch (the `batches` fixture reruns 11-20) replaces its results
    runs = results.groupby(results.batch_date.astype(str)).run_id.nunique()
    assert (runs == 1).all(), runs
    assert len(results) == len(latest) * results.run_id.nunique()


def test_an_error_level_check_blocks_the_publish_and_a_caught_attack_publishes_with_named_warnings(tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "home"
    attack = AbuseConfig(share=0.45, bot_fraction=0.8, farm_fraction=0.1)
    generate(GeneratorConfig(users=1500, days=2, seed=5, abuse=attack), landing, progress=False)

    # 1. an error-level check (the quarantine share, here bounded to nothing) fails: nothing is published
    failed = run_watchhouse(
        "build", "--select", "+landing_reconciliation", "--vars", '{"ml_enabled": false, "quarantine_share_max": 0.0}',
        landing=landing, home=home,
    )  # fmt: skip
    assert failed.returncode != 0
    assert "quarantine share over bound: watch_events:" in failed.stderr
    assert "was not published; readers still see nothing" in failed.stderr
    assert not (home / "warehouse").exists()

    # 2. the attack itself: 45% of views are abusive, the filter flags them, the clean marts hold.
    # Warn-level checks fail, and the batch publishes, saying so. A tight account-share bound makes the
    # per-VOD concentration check name its VODs.
    done = run_watchhouse(
        "build", "--select", "+data_quality_results quality_exceptions",
        "--vars", '{"ml_enabled": false, "quality_max_account_share": 0.05}', landing=landing, home=home,
    )  # fmt: skip  # the GE checkpoint and what it reads: no lists, ML or unit tests needed
    assert done.returncode == 0, done.stderr[-3000:]
    assert "published batch" in done.stdout
    results = mart(home, "data_quality_results")
    band = results[(results.suite == "batch_health") & (results.column_name == "abuse_share")]
    assert band.success.tolist() == [False] and band.severity.tolist() == ["warn"]
    share = band.observed_number.iloc[0]
    assert share > 0.15
    line = (
        "WARNING data-quality check: batch_health.expect_column_values_to_be_between(abuse_share): "
        f"abuse_share = {share:.4g}, outside [0, 0.15]"
    )
    assert line in done.stderr
    assert not results[results.severity == "error"].success.eq(False).any()

    # the VODs over the account-share bound, recomputed here from the published clean views
    views = mart(home, "view_valuations")
    viewers = views.groupby("vod_id").user_id.nunique()
    per_account = views.groupby(["vod_id", "user_id"]).watched_seconds.sum()
    top = (per_account.groupby("vod_id").max() / views.groupby("vod_id").watched_seconds.sum())[viewers >= 20]
    want = top[top > 0.05]
    assert len(want) > 0  # the bound was chosen to catch some: the check must name exactly these
    named = mart(home, "quality_exceptions").query("column_name == 'max_account_share'")
    assert set(named.severity) == {"warn"}
    got = named.set_index("entity_id").observed_number.sort_index()
    assert list(got.index) == sorted(want.index)
    assert got.to_numpy() == pytest.approx(want.sort_index().to_numpy())
    check = results[results.column_name == "max_account_share"].iloc[0]
    assert check.message.startswith(f"{len(want)} of {check.element_count} vod_ids have max_account_share outside")
    # the entities are named in the line, the furthest over the bound first
    assert check.message.split(": ", 1)[1].startswith(f"{want.idxmax()} ")
    assert f"WARNING data-quality check: watch_time_concentration.expect_column_values_to_be_between(" \
           f"max_account_share): {check.message}" in done.stderr  # fmt: skip
