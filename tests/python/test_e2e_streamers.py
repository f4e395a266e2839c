"""Streamer marts on the generated landing, against what the generator planted
(communities, favourites, viewing styles) and against recomputations from landing."""

from __future__ import annotations

import pandas as pd
import pytest

from e2e import duck, mart, pseudonym

D_PREV, D = "2026-11-19", "2026-11-20"


def _partition(home, name: str, batch: str) -> pd.DataFrame:
    frame = mart(home, name)
    frame = frame[frame.batch_date.astype(str) == batch].drop(columns="batch_date")
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def two_batches(batches):
    """After the daily runs of 11-18, 11-19 and 11-20 (conftest `batches`)."""
    landing, home, snap = batches
    return landing, home, snap[D], snap[D]["exploration_type_posteriors"]


def test_bandit_learns_from_earlier_batches_only(two_batches):
    _, _, _, posteriors = two_batches
    posteriors = posteriors.assign(batch_date=posteriors.batch_date.astype(str)).set_index(
        ["batch_date", "exploration_type"]
    )
    first, second, third = posteriors.loc["2026-11-18"], posteriors.loc[D_PREV], posteriors.loc[D]
    assert (first.alpha == 1.0).all() and (first.beta == 1.0).all() and (first.trials == 0).all()
    assert second.trials.sum() > 0 and third.trials.sum() > 0
    # pandas aligns the types by label in arithmetic: compare differences
    assert ((third.cumulative_trials - (second.trials + third.trials)) == 0).all()
    assert ((third.alpha - (1.0 + second.successes + third.successes)) == 0).all()
    assert ((third.beta - (1.0 + third.cumulative_trials - third.cumulative_successes)) == 0).all()
    for batch in (first, second, third):
        assert batch.slot_share.sum() == pytest.approx(1.0)


def test_all_four_exploration_types_are_offered_and_shown(two_batches):
    _, home, _, _ = two_batches
    candidates = _partition(home, "streamer_exploration_candidates", D)
    expected = {"co_viewed", "similar_users", "rising_in_category", "fresh_popular_vod"}
    assert set(candidates.exploration_type) == expected
    assert set(candidates[candidates.is_shown].exploration_type) == expected


def test_exploration_never_offers_a_watched_or_followed_streamer(two_batches):
    landing, home, _, _ = two_batches
    candidates = _partition(home, "streamer_exploration_candidates", D)
    daily = pd.read_parquet(home / "warehouse" / "intermediate.db" / "int_user_streamer_daily")
    follows = pd.read_parquet(landing / "follows")
    follows["user_id"] = follows.user_id.map(pseudonym)  # as the marts hold it
    known = pd.concat([daily[["user_id", "streamer_id"]], follows[["user_id", "streamer_id"]]]).drop_duplicates()
    clash = candidates.merge(known, on=["user_id", "streamer_id"])
    assert clash.empty, clash.head()


def test_top_co_viewed_pairs_fall_inside_a_planted_community(two_batches):
    landing, home, _, _ = two_batches
    community = pd.read_parquet(landing / "_generator" / "streamers.parquet").set_index("streamer_id").community
    pairs = mart(home, "co_viewed_streamers")
    top = pairs[pairs["rank"] == 1]
    inside = (top.streamer_id.map(community) == top.co_streamer_id.map(community)).mean()
    # six communities: pairs drawn at random would share one about 1 time in 6
    assert len(top) >= 50 and inside >= 0.8, (len(top), inside)


def _clean_watch_seconds(landing, home) -> pd.DataFrame:
    """User x streamer watch seconds in the batch window, recomputed with DuckDB from the landing
    files and the accepted/flagged marts (not from the models under test)."""
    wh = home / "warehouse"
    end = f"timestamptz '{D} 00:00:00+00' + interval 1 day"
    con = duck()  # kept: a relation dies with its connection
    return con.sql(
        f"""
        with vods as (select distinct vod_id, streamer_id from read_parquet('{landing}/vods/**/*.parquet')),
        broadcasts as (
            select distinct broadcast_id, streamer_id from read_parquet('{landing}/broadcasts/**/*.parquet')
        ),
        refused as (
            select event_id from read_parquet('{wh}/marts.db/quarantine_live_watch_events/**/*.parquet')
            where quarantine_reason != 'duplicate_key'
        ),
        live_rows as (
            select distinct event_id, pseudonym(user_id) as user_id, broadcast_id, joined_at, left_at
            from read_parquet('{landing}/live_watch_events/**/*.parquet', hive_partitioning = true)
            where event_id is not null and joined_at < {end}
        ),
        vod as (
            select v.user_id, vods.streamer_id, v.watched_seconds as seconds
            from read_parquet('{wh}/marts.db/view_valuations/**/*.parquet') as v
            join vods using (vod_id)
        ),
        live as (
            select l.user_id, b.streamer_id, epoch(least(l.left_at, {end})) - epoch(l.joined_at) as seconds
            from live_rows as l
            join broadcasts as b using (broadcast_id)
            anti join refused using (event_id)
        )
        select user_id, streamer_id, sum(seconds) as seconds
        from (select * from vod union all select * from live)
        group by user_id, streamer_id
        """
    ).df()


def test_rank_one_preferred_streamer_is_the_clear_favourite(two_batches):
    landing, home, _, _ = two_batches
    watched = _clean_watch_seconds(landing, home).sort_values(["user_id", "seconds"], ascending=[True, False])
    first = watched.groupby("user_id").nth(0).set_index("user_id")
    second = watched.groupby("user_id").nth(1).set_index("user_id").seconds.reindex(first.index).fillna(0.0)
    clear = first[first.seconds >= 2 * second]
    prefs = mart(home, "user_preferred_streamers")
    rank_one = prefs[prefs.preference_rank == 1].set_index("user_id").streamer_id
    agree = (rank_one.reindex(clear.index) == clear.streamer_id).mean()
    assert len(clear) >= 200 and agree >= 0.95, (len(clear), agree)


def test_user_focus_finds_the_planted_streamer_centric_users(two_batches):
    landing, home, _, _ = two_batches
    truth = pd.read_parquet(landing / "_generator" / "users.parquet")
    truth = truth.set_index(truth.user_id.map(pseudonym)).is_streamer_centric  # the marts' user ids
    prefs = mart(home, "user_preferred_streamers").drop_duplicates("user_id")
    decided = prefs[prefs.user_focus != "undetermined"]
    said_streamer = decided.set_index("user_id").user_focus.eq("streamer")
    actual = truth.reindex(said_streamer.index)
    base_rate = actual.mean()
    precision = actual[said_streamer].mean()
    # better than guessing: streamer-centric users are far more common among those it calls so
    assert precision >= base_rate + 0.1, (precision, base_rate)


def test_representative_vods_belong_to_their_streamer_one_per_broadcast(two_batches):
    landing, home, _, _ = two_batches
    reps = mart(home, "streamer_representative_vods")
    vods = pd.read_parquet(landing / "vods", columns=["vod_id", "streamer_id", "broadcast_id"]).drop_duplicates(
        "vod_id"
    )
    joined = reps.merge(vods, on="vod_id", suffixes=("", "_landing"))
    assert len(joined) == len(reps) > 0
    assert (joined.streamer_id == joined.streamer_id_landing).all()
    from_broadcasts = joined[joined.broadcast_id_landing.notna()]
    assert not from_broadcasts.duplicated(["streamer_id", "broadcast_id_landing"]).any()
    assert reps.groupby("streamer_id")["rank"].max().max() <= 5


def test_live_recommendations_are_live_in_the_window_for_streamer_centric_users(two_batches):
    landing, home, _, _ = two_batches
    recs = _partition(home, "live_broadcast_recommendations", D)
    broadcasts = pd.read_parquet(landing / "broadcasts").drop_duplicates("broadcast_id").set_index("broadcast_id")
    start, end = pd.Timestamp(D), pd.Timestamp(D) + pd.Timedelta(days=1)
    started = broadcasts.started_at.reindex(recs.broadcast_id).dt.tz_localize(None)
    ended = broadcasts.ended_at.reindex(recs.broadcast_id).dt.tz_localize(None)
    assert len(recs) > 0
    assert (started.to_numpy() < end).all()
    assert (ended.isna() | (ended >= start)).all()
    focus = mart(home, "user_preferred_streamers").drop_duplicates("user_id").set_index("user_id").user_focus
    assert (recs.user_id.map(focus) == "streamer").all()
    # favourites live now come before anything else in each list
    firsts = recs.sort_values("rank").groupby("user_id").recommendation_source.apply(list)
    assert all(src == sorted(src, key=lambda s: s != "favourite") for src in firsts)
