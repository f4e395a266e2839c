"""How close the demo generator is to real platforms (../shared/data).

Floors, not snapshots: each bound is a fit the generator must keep (measured
figures and the method are in docs/generator.md). The generator never reads
these files; only this test does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from watchhouse.generate import calibration as cal
from watchhouse.generate.config import GeneratorConfig
from watchhouse.generate.platform import generate


@pytest.fixture(scope="module")
def twitch_like(tmp_path_factory) -> Path:
    """Twitch 100k's shape: ~1.6 streamers per user."""
    out = tmp_path_factory.mktemp("cal") / "landing"
    generate(GeneratorConfig(users=6000, streamers=9600, days=14, seed=1), out, progress=False)
    return out


def test_ks_distance_on_hand_cases():
    assert cal.ks_distance(np.array([1, 2, 3]), np.array([1, 2, 3])) == 0.0
    assert cal.ks_distance(np.array([1, 2]), np.array([3, 4])) == 1.0
    # ECDFs of {1,2,3,4} and {3,4,5,6} differ most at x=2 (0.5 vs 0)
    assert cal.ks_distance(np.array([1, 2, 3, 4]), np.array([3, 4, 5, 6])) == 0.5


def test_shortform_durations_follow_kuairand(shared_data, twitch_like):
    real = pd.read_csv(shared_data / "kuairand_pure_features" / "video_features_basic_pure.csv")
    real_seconds = real.video_duration.dropna().to_numpy() / 1000.0
    assert cal.ks_distance(cal.shortform_durations(twitch_like), real_seconds) < 0.05


def test_streamer_popularity_is_heavy_tailed_like_twitch(shared_data, twitch_like):
    real = pd.read_csv(shared_data / "twitch100k_derived_aggregates" / "streamer_viewer_distribution.csv")
    ours = cal.streamer_distinct_viewers(twitch_like)
    assert cal.ks_distance(np.log10(ours), np.log10(real.ViewerCount.to_numpy())) < 0.25
    # heavy tail: the top 1% of streamers reach far more viewers than the median streamer
    assert np.quantile(ours, 0.99) >= 20 * np.median(ours)


def test_user_lifetimes_look_like_twitch(shared_data, twitch_like):
    real = pd.read_csv(shared_data / "twitch100k_derived_aggregates" / "user_lifetime.csv")
    # LifetimeMinutes counts 10-minute steps (max 6148 steps = 42.7 days): span share of the window
    real_share = real.LifetimeMinutes.to_numpy() / real.LifetimeMinutes.max()
    assert cal.ks_distance(cal.user_active_span_share(twitch_like, 14), real_share) < 0.3
