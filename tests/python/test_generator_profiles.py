"""The generator's abuse profiles (watchhouse.generate.profiles) plant the shapes they are named after,
measured on the landing itself: the robustness figures in docs/valuation.md mean what they say only if
a "jittered bot" really has no rhythm and a "proxy farm" really spreads over IPs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from watchhouse.generate.config import GeneratorConfig
from watchhouse.generate.platform import generate
from watchhouse.generate.profiles import PROFILES, profile


def _landing(tmp_path_factory, name: str) -> Path:
    out = tmp_path_factory.mktemp(name) / "landing"
    generate(GeneratorConfig(users=1000, days=3, seed=21, abuse=profile(name)), out, progress=False)
    return out


def _labelled(root: Path) -> pd.DataFrame:
    """Every watch event with its abuse kind (None: normal)."""
    return duckdb.sql(
        f"""select w.*, cast(w.started_at as date) as day, l.abuse_kind
            from read_parquet('{root}/watch_events/**/*.parquet', hive_partitioning = false) as w
            left join read_parquet('{root}/abuse_labels/**/*.parquet') as l using (event_id)"""
    ).df()


@pytest.fixture(scope="module")
def landings(tmp_path_factory) -> dict[str, Path]:
    names = ("jittered_bots", "slow_bots", "proxy_farms", "slow_loops", "heavy_normal")
    return {name: _landing(tmp_path_factory, name) for name in names}


def test_jittered_bots_have_no_rhythm_run_all_day_and_watch_like_people(landings):
    views = _labelled(landings["jittered_bots"])
    bots = views[views.abuse_kind == "bot"].sort_values("started_at")
    days = bots.groupby(["user_id", "day"])
    gaps = days.started_at.diff().dt.total_seconds().dropna()
    per_day = gaps.groupby([bots.user_id, bots.day]).agg(["mean", "std"])
    # exponential gaps: coefficient of variation near 1 (the default bots' is about 0.07)
    assert (per_day["std"] / per_day["mean"]).median() > 0.8
    span_hours = days.started_at.agg(lambda s: (s.max() - s.min()).total_seconds() / 3600)
    assert span_hours.median() > 16  # all day, not a shift
    assert (bots.watched_seconds >= 10).mean() > 0.8  # a short-view rule sees few of them
    # a third of their views are camouflage on content other people watch too
    normal_vods = set(views[views.abuse_kind.isna()].vod_id)
    assert 0.2 < bots.vod_id.isin(normal_vods).mean() < 0.8


def test_slow_bots_view_few_times_a_day_with_long_watches(landings):
    bots = _labelled(landings["slow_bots"]).query("abuse_kind == 'bot'")
    per_day = bots.groupby(["user_id", "day"]).size()
    assert per_day.max() < 50  # a views-per-day rule at 30 sees some days at most
    assert (bots.watched_seconds >= 10).mean() > 0.9  # (a view never outlasts its VOD: short clips end first)


def test_proxy_farms_spread_accounts_over_ips_with_few_views_each(landings):
    farms = _labelled(landings["proxy_farms"]).query("abuse_kind == 'view_farm'")
    accounts_per_ip = farms.groupby("ip_hash").user_id.nunique()
    assert accounts_per_ip.max() == 1  # one residential IP per account
    per_account_vod_day = farms.groupby(["user_id", "vod_id", "day"]).size()
    assert per_account_vod_day.max() <= 2
    # but many accounts converge on the same VODs: the coordination is there to find
    assert farms.groupby(["vod_id", "day"]).user_id.nunique().max() >= 30


def test_slow_loops_replay_the_same_vod_on_consecutive_days_below_ten_a_day(landings):
    loops = _labelled(landings["slow_loops"]).query("abuse_kind == 'replay_loop'")
    per_day = loops.groupby(["user_id", "vod_id", "day"]).size()
    assert per_day.between(6, 11).all()
    days_per_pair = per_day.groupby(level=["user_id", "vod_id"]).size()
    assert (days_per_pair >= 2).mean() > 0.8


def test_heavy_normal_users_are_labelled_normal_and_heavy(landings):
    root = landings["heavy_normal"]
    views = _labelled(root)
    heavy = pd.read_parquet(root / "_generator" / "heavy_use.parquet")
    assert set(heavy.behaviour) == {"binge", "clip_replay", "shared_ip", "pieces"}
    assert heavy.user_id.is_unique
    theirs = views.merge(heavy, on="user_id")
    # binge: dozens of whole VODs on some day; clip replayers: one clip several times in a day
    binge = theirs[theirs.behaviour == "binge"].groupby(["user_id", "day"]).size()
    assert binge.max() >= 40
    replays = theirs[theirs.behaviour == "clip_replay"].groupby(["user_id", "vod_id", "day"]).size()
    assert replays.max() >= 4
    # pieces: 10+ views of one long VOD in a day that together watch it through at most once
    vods = pd.read_parquet(root / "vods", columns=["vod_id", "duration_seconds"])
    pieces = theirs[theirs.behaviour == "pieces"].merge(vods, on="vod_id")
    pieces = pieces[pieces.watched_seconds <= pieces.duration_seconds]  # not the landing's corrupted copies
    days = pieces.groupby(["user_id", "vod_id", "day"]).agg(
        views=("event_id", "size"), watched=("watched_seconds", "sum"), duration=("duration_seconds", "first")
    )
    days = days[days.views >= 10]  # (their ordinary views are in `theirs` too)
    assert days.index.get_level_values("user_id").nunique() == (heavy.behaviour == "pieces").sum()
    assert (days.duration >= 3600).all()
    assert (days.watched <= days.duration * 1.001).all()
    # shared IPs: groups of 20+ people behind one IP hash, all of them normal
    shared = theirs[theirs.behaviour == "shared_ip"]
    assert shared.groupby("ip_hash").user_id.nunique().max() >= 20
    assert np.isclose(theirs.abuse_kind.notna().mean(), 0, atol=0.02)


def test_every_profile_is_a_valid_config_and_names_are_refused_clearly():
    for name in PROFILES:
        GeneratorConfig(users=1000, days=3, abuse=profile(name))
    names = "default, drip_evasion, dusk_evasion, heavy_normal, "
    with pytest.raises(ValueError, match=f"abuse profile 'x' is not one of {names}"):
        profile("x")
