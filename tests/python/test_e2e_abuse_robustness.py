"""The abuse filter on generators it was not tuned to: different bot rhythms,
farm sizes and loop lengths, and the evasive shapes of the generator's profiles.
Precision >= 0.95 and recall >= 0.90 overall (issue 3), each kind found at least
85% of the time, and no farmed VOD keeping its farm's views (issue 18)."""

from __future__ import annotations

import pandas as pd
import pytest

from e2e import mart, run_watchhouse
from watchhouse.generate.config import AbuseConfig, GeneratorConfig
from watchhouse.generate.platform import generate
from watchhouse.quality.abuse_eval import abuse_scores
from watchhouse.quality.abuse_robustness import BUILD_SELECT, farm_gain

pytestmark = pytest.mark.e2e

VARIANTS = {
    "fast_bots_big_farms": AbuseConfig(
        share=0.06, bot_interval_seconds=20, bot_jitter_seconds=6, bot_watch_seconds=(1.0, 5.0),
        farm_accounts=15, farm_ips=2, farm_target_vods=2, loop_replays=(12, 40),
    ),
    "slow_bots_spread_farms": AbuseConfig(
        share=0.03, bot_fraction=0.3, farm_fraction=0.4, bot_interval_seconds=90, bot_jitter_seconds=10,
        bot_watch_seconds=(4.0, 9.0), farm_accounts=24, farm_ips=4, farm_target_vods=6, loop_replays=(15, 60),
    ),
    # the evasive shapes the rules of 2026-12-07 were chosen on (generator profiles jittered_bots,
    # proxy_farms, slow_loops), together: a regression test of those rules, not evidence that they
    # generalise - that is the held-out table in docs/valuation.md "Robustness"
    "tuning_shapes_mixed": AbuseConfig(
        share=0.05, bot_fraction=0.4, farm_fraction=0.4, bot_interval_seconds=120.0, bot_gaps="exponential",
        bot_shift_hours=(20.0, 24.0), bot_watch_seconds=(15.0, 60.0), bot_camouflage=0.35, farm_accounts=60,
        farm_ips=60, farm_target_vods=6, farm_views_per_vod=(1, 3), loop_replays=(6, 12), loop_days=4,
    ),
}  # fmt: skip


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_precision_and_recall_hold_when_abuse_changes_shape(variant, tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "home"
    generate(GeneratorConfig(users=1000, days=3, seed=21, abuse=VARIANTS[variant]), landing, progress=False)
    done = run_watchhouse("build", "--select", BUILD_SELECT, landing=landing, home=home)
    assert done.returncode == 0, done.stdout[-4000:]
    views = pd.read_parquet(landing / "watch_events")
    quarantined = set(mart(home, "quarantine_watch_events").event_id.dropna())
    labels = pd.read_parquet(landing / "abuse_labels")
    labels = labels[labels.event_id.isin(set(views.event_id) - quarantined)]
    scores = abuse_scores(mart(home, "abuse_flags"), labels)
    assert scores["overall"]["precision"] >= 0.95, scores
    assert scores["overall"]["recall"] >= 0.90, scores
    for kind in ("bot", "view_farm", "replay_loop"):
        assert scores[kind]["recall"] >= 0.85, (kind, scores)
    # and the quality scores' input: no farmed VOD keeps more than 10% over its organic views (issue 18)
    gain = farm_gain(landing, home / "warehouse" / "marts.db")
    assert gain is not None and gain["within_10pct"] == 1.0, gain
