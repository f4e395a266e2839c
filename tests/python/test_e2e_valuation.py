"""End-to-end valuation checks on the generated landing of test_e2e_build (same
module-scoped build reused through the `generated` fixture), recomputed
independently from the landing files and the marts with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from e2e import mart, pseudonym
from watchhouse.quality.abuse_eval import abuse_scores

pytestmark = pytest.mark.e2e


def _landing_views(landing, home) -> pd.DataFrame:
    """Landing watch events of the batch the shared home was last built for (partitions <= batch)."""
    batch = str(mart(home, "landing_reconciliation").built_for_batch.iloc[0])
    views = pd.read_parquet(landing / "watch_events")
    return views[views.event_date.astype(str) <= batch]


def test_every_watch_event_ends_in_exactly_one_place(generated):
    landing, home, _ = generated
    raw = len(_landing_views(landing, home))
    quarantined = mart(home, "quarantine_watch_events")
    flags = mart(home, "abuse_flags")
    valued = mart(home, "view_valuations")
    assert len(quarantined) + len(flags) + len(valued) == raw
    assert not set(flags.event_id) & set(valued.event_id)
    # an event id in quarantine and downstream can only be a duplicate whose first copy was kept
    overlap = set(quarantined.event_id.dropna()) & (set(flags.event_id) | set(valued.event_id))
    assert set(quarantined[quarantined.event_id.isin(overlap)].quarantine_reason) <= {"duplicate_key"}


def test_norms_equal_a_recomputation_from_clean_events(generated):
    landing, home, _ = generated
    views = _landing_views(landing, home)
    vods = pd.read_parquet(landing / "vods").drop_duplicates("vod_id")[["vod_id", "duration_seconds"]]
    valued_ids = set(mart(home, "view_valuations").event_id)
    # clean = landing rows whose event id ended in view_valuations (one copy per id)
    clean = views[views.event_id.isin(valued_ids)].drop_duplicates("event_id").merge(vods, on="vod_id")
    clean["user_id"] = clean.user_id.map(pseudonym)  # what the marts hold for a landing user id
    # a VOD's invalid duration (null, NaN, inf, <= 0) is nulled and its views have no watch ratio
    duration = clean.duration_seconds.where(np.isfinite(clean.duration_seconds) & (clean.duration_seconds > 0))
    clean["ratio"] = np.minimum(clean.watched_seconds / duration, 1.0)
    want = clean.groupby("user_id").agg(
        views=("event_id", "size"),
        total=("watched_seconds", "sum"),
        mean=("watched_seconds", "mean"),
        ratio=("ratio", "mean"),
    )
    got = mart(home, "user_watch_norms").set_index("user_id").loc[want.index]
    assert (got.views.to_numpy() == want.views.to_numpy()).all()
    np.testing.assert_allclose(got.total_watched_seconds, want.total, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.mean_watched_seconds, want["mean"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.mean_watch_ratio, want.ratio, rtol=0, atol=1e-6)
    assert len(mart(home, "user_watch_norms")) == len(want)

    vwant = clean.groupby("vod_id").agg(
        views=("event_id", "size"), viewers=("user_id", "nunique"), mean=("watched_seconds", "mean")
    )
    vgot = mart(home, "vod_watch_norms").set_index("vod_id").loc[vwant.index]
    assert (vgot.views.to_numpy() == vwant.views.to_numpy()).all()
    assert (vgot.unique_viewers.to_numpy() == vwant.viewers.to_numpy()).all()
    np.testing.assert_allclose(vgot.mean_watched_seconds, vwant["mean"], rtol=0, atol=1e-6)
    # medians are approximate (percentile_approx): within the observed values' range
    assert (vgot.median_watched_seconds <= clean.groupby("vod_id").watched_seconds.max().loc[vwant.index]).all()


def test_abuse_filter_precision_and_recall_on_default_generator(generated):
    landing, home, _ = generated
    in_batch = set(_landing_views(landing, home).event_id)
    labels = pd.read_parquet(landing / "abuse_labels")
    labels = labels[labels.event_id.isin(in_batch)]
    flags = mart(home, "abuse_flags")
    scored = abuse_scores(flags, labels)
    assert scored["overall"]["precision"] >= 0.95
    assert scored["overall"]["recall"] >= 0.90
