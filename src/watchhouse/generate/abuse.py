"""Planted abuse: bot accounts, view farms sharing IP hashes, replay loops.

Every abusive view is labelled in `abuse_labels` with its kind. Bots and farm
accounts are extra users (ids after the normal ones); replay loops are run by
ordinary users on some days, so only the loop views are labelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from watchhouse.generate.catalog import DAY, Vods
from watchhouse.generate.config import GeneratorConfig

KINDS = ("bot", "view_farm", "replay_loop")


@dataclass
class AbusePlan:
    bot_users: np.ndarray  # user indices of bots
    bot_days: np.ndarray  # (n_bots, days) bool: bot active that day
    bot_targets: np.ndarray  # streamer indices the bots inflate
    farm_users: np.ndarray  # (n_farms, accounts) user indices
    farm_ips: np.ndarray  # (n_farms, ips) ip indices
    farm_streamer: np.ndarray  # (n_farms,) the customer streamer
    farm_days: np.ndarray  # (n_farms, days) bool
    loop_days: np.ndarray  # (days,) number of replay-loop user-days
    n_extra_users: int
    datacenter_ip0: int  # first ip index of the abusers' pool
    popular_streamers: np.ndarray  # the most popular streamers: where camouflage views go
    # multi-day loops (loop_days > 1): (start day, days) per actor; its (user, VOD) is picked on its first day
    loop_actors: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    loop_picks: dict[int, tuple[int, int]] = field(default_factory=dict)


def _actor_days(actor_days: int, days: int, rng: np.random.Generator) -> np.ndarray:
    """(actors, days) bool: as few actors as needed to cover `actor_days`, each on random days."""
    n = math.ceil(actor_days / days) if actor_days else 0
    active = np.zeros((n, days), dtype=bool)
    for i in range(n):
        active[i, rng.choice(days, min(days, max(1, actor_days - i * days)), replace=False)] = True
    return active


def plan_abuse(cfg: GeneratorConfig, popularity: np.ndarray, n_ips: int, rng: np.random.Generator) -> AbusePlan:
    a = cfg.abuse
    total = cfg.n_events * a.share
    days = cfg.days
    # bots: a working shift (default 4..12 h) at one view per interval
    bot_per_day = float(np.mean(a.bot_shift_hours)) * 3600 / a.bot_interval_seconds
    bot_days = _actor_days(math.ceil(total * a.bot_fraction / bot_per_day) if a.share > 0 else 0, days, rng)
    n_bots = len(bot_days)
    farm_per_day = a.farm_accounts * a.farm_target_vods * (a.farm_views_per_vod[0] + a.farm_views_per_vod[1] - 1) / 2
    farm_days = _actor_days(math.ceil(total * a.farm_fraction / farm_per_day) if a.share > 0 else 0, days, rng)
    n_farms = len(farm_days)
    loop_total = total * max(0.0, 1 - a.bot_fraction - a.farm_fraction)
    loop_days_total = math.ceil(loop_total / np.mean(a.loop_replays)) if a.share > 0 else 0
    if a.loop_days > 1:  # the same user replays the same VOD on consecutive days
        n_actors = math.ceil(loop_days_total / a.loop_days)
        starts = rng.integers(0, max(1, days - a.loop_days + 1), n_actors)
        loop_actors = np.column_stack([starts, np.full(n_actors, a.loop_days)])
        loop_days_total = 0
    else:
        loop_actors = np.zeros((0, 2), dtype=np.int64)
    loop_days = np.bincount(rng.integers(0, days, loop_days_total), minlength=days)
    u0 = cfg.users
    bot_users = np.arange(u0, u0 + n_bots)
    farm_users = np.arange(u0 + n_bots, u0 + n_bots + n_farms * a.farm_accounts).reshape(n_farms, a.farm_accounts)
    # the less popular half of streamers buy views; bots inflate a handful
    lower = np.argsort(popularity)[: max(1, len(popularity) // 2)]
    farm_ips = n_ips + np.arange(n_farms * a.farm_ips).reshape(n_farms, a.farm_ips)
    return AbusePlan(
        bot_users=bot_users,
        bot_days=bot_days,
        bot_targets=rng.choice(lower, min(10, len(lower)), replace=False),
        farm_users=farm_users,
        farm_ips=farm_ips,
        farm_streamer=rng.choice(lower, n_farms),
        farm_days=farm_days,
        loop_days=loop_days,
        n_extra_users=n_bots + n_farms * a.farm_accounts,
        datacenter_ip0=n_ips + n_farms * a.farm_ips,
        popular_streamers=np.argsort(popularity)[::-1][: max(1, min(10, len(popularity) // 10))],
        loop_actors=loop_actors,
    )


def _streamer_vods(vods: Vods, s: int, before: int) -> np.ndarray:
    lo, hi = vods.offsets[s], vods.offsets[s + 1]
    idx = np.arange(lo, hi)
    return idx[vods.created_at[idx] < before]


def abuse_views(
    cfg: GeneratorConfig,
    plan: AbusePlan,
    day: int,
    day_start: int,
    vods: Vods,
    normal_users: np.ndarray,
    home_ip: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """All abusive views of one day, with a `kind` column (index into KINDS)."""
    a = cfg.abuse
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("user", "vod", "started_at", "watched_seconds", "ip", "kind")}

    def add(user, vod, started, watched, ip, kind):
        n = len(vod)
        cols["user"].append(np.broadcast_to(user, n).astype(np.int64))
        cols["vod"].append(vod)
        cols["started_at"].append(started.astype(np.int64))
        cols["watched_seconds"].append(np.round(np.minimum(watched, vods.duration[vod]), 1))
        cols["ip"].append(np.broadcast_to(ip, n).astype(np.int64))
        cols["kind"].append(np.full(n, kind))

    target_vods = np.concatenate([_streamer_vods(vods, s, day_start) for s in plan.bot_targets])
    popular_vods = np.concatenate([_streamer_vods(vods, s, day_start) for s in plan.popular_streamers])
    for i in np.flatnonzero(plan.bot_days[:, day]):
        if len(target_vods) == 0:
            break
        shift = rng.uniform(*a.bot_shift_hours) * 3600
        n = int(shift / a.bot_interval_seconds)
        if a.bot_gaps == "exponential":
            gaps = rng.exponential(a.bot_interval_seconds, n)
        else:
            gaps = a.bot_interval_seconds + rng.normal(0, a.bot_jitter_seconds, n)
        start = day_start + rng.integers(0, max(1, DAY - int(shift)))
        vod = rng.choice(target_vods, n)
        watched = rng.uniform(*a.bot_watch_seconds, n)
        if a.bot_camouflage > 0 and len(popular_vods):
            # camouflage: some views on popular content, watched for a plausible share of the VOD
            camo = rng.random(n) < a.bot_camouflage
            vod[camo] = rng.choice(popular_vods, int(camo.sum()))
            watched[camo] = vods.duration[vod[camo]] * rng.uniform(0.2, 0.9, int(camo.sum()))
        add(plan.bot_users[i], vod, start + np.cumsum(gaps), watched, plan.datacenter_ip0 + i % 3, 0)
    for f in np.flatnonzero(plan.farm_days[:, day]):
        cand = _streamer_vods(vods, plan.farm_streamer[f], day_start)
        if len(cand) == 0:
            continue
        targets = rng.choice(cand, min(a.farm_target_vods, len(cand)), replace=False)
        for acc_i, acc in enumerate(plan.farm_users[f]):
            k = rng.integers(a.farm_views_per_vod[0], a.farm_views_per_vod[1], len(targets))
            vod = np.repeat(targets, k)
            started = day_start + rng.integers(10 * 3600, 22 * 3600, len(vod))
            watched = vods.duration[vod] * rng.uniform(0.3, 0.8, len(vod))
            add(acc, vod, np.sort(started), watched, plan.farm_ips[f, acc_i % a.farm_ips], 1)
    short = np.flatnonzero(vods.duration < 600)
    short = short[vods.created_at[short] < day_start]

    def loop(user: int, vod: int) -> None:
        n = int(rng.integers(*a.loop_replays))
        watched = vods.duration[vod] * rng.uniform(0.9, 1.0, n)
        started = day_start + rng.integers(0, DAY // 2) + np.cumsum(watched + rng.uniform(1, 8, n)) - watched
        add(user, np.full(n, vod), started, watched, home_ip[user], 2)

    for _ in range(int(plan.loop_days[day])):
        if len(short) == 0 or len(normal_users) == 0:
            break
        loop(rng.choice(normal_users), rng.choice(short))
    for actor, (first, span) in enumerate(plan.loop_actors):
        if not first <= day < first + span or len(short) == 0 or len(normal_users) == 0:
            continue
        if actor not in plan.loop_picks:  # picked on its first day, kept for the days after
            plan.loop_picks[actor] = (int(rng.choice(normal_users)), int(rng.choice(short)))
        loop(*plan.loop_picks[actor])
    out = {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in cols.items()}
    keep = out["started_at"] < day_start + DAY
    return {k: v[keep] for k, v in out.items()}
