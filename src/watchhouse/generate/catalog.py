"""The platform's entities: streamers, users, broadcasts, VODs, follows.

Everything is a numpy array indexed by an integer id (ids become strings only
when written). Times are int64 epoch seconds, UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from watchhouse.generate.config import (
    CATEGORIES,
    COMMUNITIES,
    DURATION_LOGNORMAL,
    PLATFORM_START,
    SHORTFORM_DURATION_QUANTILES,
    GeneratorConfig,
)

DAY = 86_400
N_FAVS = 8  # favourite-streamer slots per user (padded with -1)
STREAMER_CENTRIC_MIN_REPEAT = 0.6  # repeat_p of streamer-centric users is in [0.6, 0.9); others < 0.35


def epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@dataclass
class Streamers:
    category: np.ndarray  # (S,) category index
    community: np.ndarray  # (S,) community index
    popularity: np.ndarray  # (S,) weight, sums to 1
    live_rate: np.ndarray  # (S,) probability of going live on a day
    prime_hour: np.ndarray  # (S,) usual start hour, UTC
    created_at: np.ndarray  # (S,) epoch seconds
    country: np.ndarray  # (S,) country index


@dataclass
class Users:
    community: np.ndarray  # (U,) community index
    favs: np.ndarray  # (U, N_FAVS) streamer index or -1
    repeat_p: np.ndarray  # (U,) probability a view goes to a favourite streamer
    active_p: np.ndarray  # (U,) probability of being active on a day of their lifetime
    views_lam: np.ndarray  # (U,) extra views per active day (Poisson mean)
    first_day: np.ndarray  # (U,) first day index (0 = start_date) they may be active
    last_day: np.ndarray  # (U,) last day index
    patience: np.ndarray  # (U,) multiplies watch ratios
    recency: np.ndarray  # (U,) geometric p for picking recent VODs
    client: np.ndarray  # (U,) main client index
    home_ip: np.ndarray  # (U,) index into the ip pool
    created_at: np.ndarray  # (U,)
    country: np.ndarray  # (U,)


@dataclass
class Broadcasts:
    streamer: np.ndarray  # (B,)
    category: np.ndarray  # (B,)
    started_at: np.ndarray  # (B,)
    ended_at: np.ndarray  # (B,) ; > data end means still live (written as null)


@dataclass
class Vods:
    """Sorted by (streamer, created_at) so a streamer's VODs are a contiguous run."""

    streamer: np.ndarray
    vod_type: np.ndarray  # index into VOD_TYPES
    category: np.ndarray
    duration: np.ndarray  # seconds
    created_at: np.ndarray
    broadcast: np.ndarray  # broadcast index, -1 for uploads
    offsets: np.ndarray  # (S+1,) start of each streamer's run


def _community_of_category() -> np.ndarray:
    out = np.empty(len(CATEGORIES), dtype=np.int64)
    i = 0
    for c, cats in enumerate(COMMUNITIES.values()):
        out[i : i + len(cats)] = c
        i += len(cats)
    return out


def make_streamers(cfg: GeneratorConfig, rng: np.random.Generator) -> Streamers:
    n = cfg.n_streamers
    cat = rng.integers(0, len(CATEGORIES), n)
    # rank-size (Zipf) popularity with log-normal noise, in random streamer order
    pop = np.arange(1, n + 1, dtype=float) ** -cfg.popularity_exponent * rng.lognormal(0.0, 0.3, n)
    pop = rng.permutation(pop)
    pop /= pop.sum()
    pct = np.argsort(np.argsort(pop)) / max(n - 1, 1)  # popularity percentile
    live_rate = np.clip(0.08 + 0.45 * pct + rng.normal(0, 0.05, n), 0.03, 0.9)
    first = epoch(cfg.start_date) - (cfg.history_days + 30) * DAY
    created = rng.integers(epoch(PLATFORM_START), first, n)
    return Streamers(
        category=cat,
        community=_community_of_category()[cat],
        popularity=pop,
        live_rate=live_rate,
        prime_hour=rng.normal(11.0, 3.0, n) % 24,
        created_at=created,
        country=rng.choice(8, n, p=(0.55, 0.15, 0.08, 0.06, 0.05, 0.05, 0.03, 0.03)),
    )


def community_sampler(st: Streamers) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Per community: member streamers and their cumulative popularity."""
    n_comm = len(COMMUNITIES)
    members = [np.flatnonzero(st.community == c) for c in range(n_comm)]
    cums = []
    for m in members:
        w = st.popularity[m]
        cums.append(np.cumsum(w) / w.sum() if len(m) else np.array([1.0]))
    return np.arange(n_comm), members, cums


def sample_in_community(rng: np.random.Generator, st: Streamers, community: np.ndarray, sampler=None) -> np.ndarray:
    """One streamer per entry of `community`, by popularity within it."""
    _, members, cums = sampler or community_sampler(st)
    out = np.empty(len(community), dtype=np.int64)
    for c, (m, cum) in enumerate(zip(members, cums, strict=True)):
        idx = np.flatnonzero(community == c)
        if len(idx) == 0:
            continue
        if len(m) == 0:  # an empty community borrows from anyone
            out[idx] = rng.choice(len(st.popularity), len(idx), p=st.popularity)
            continue
        pick = np.searchsorted(cum, rng.random(len(idx)), side="right")
        out[idx] = m[np.minimum(pick, len(m) - 1)]
    return out


def make_users(cfg: GeneratorConfig, st: Streamers, rng: np.random.Generator) -> Users:
    n, days = cfg.users, cfg.days
    community = rng.choice(len(COMMUNITIES), n)
    sampler = community_sampler(st)
    n_favs = np.clip(rng.poisson(3.0, n) + 1, 1, N_FAVS)
    favs = np.full((n, N_FAVS), -1, dtype=np.int64)
    for j in range(N_FAVS):
        has = n_favs > j
        # a quarter of favourites come from outside the user's own community
        comm = np.where(rng.random(n) < 0.75, community, rng.choice(len(COMMUNITIES), n))
        favs[has, j] = sample_in_community(rng, st, comm[has], sampler)
    # a streamer counts once among a user's favourites: drop repeats, keep order
    for j in range(1, N_FAVS):
        repeated = (favs[:, :j] == favs[:, [j]]).any(axis=1) & (favs[:, j] >= 0)
        favs[repeated, j] = -1
    favs = np.take_along_axis(favs, np.argsort(favs < 0, axis=1, kind="stable"), axis=1)
    # streamer-centric users (mostly re-watch favourites) vs category-centric
    streamer_centric = rng.random(n) < 0.55
    repeat_p = np.where(streamer_centric, rng.uniform(STREAMER_CENTRIC_MIN_REPEAT, 0.9, n), rng.uniform(0.1, 0.35, n))
    # lifetimes: most users are there from the start and stay (Twitch 100k spans)
    first = np.where(rng.random(n) < 0.7, 0, rng.integers(0, days, n))
    span_left = days - 1 - first
    last = np.where(rng.random(n) < 0.75, days - 1, first + (rng.random(n) * (span_left + 1)).astype(int))
    active_p = rng.beta(1.6, 1.6, n) * 0.9 + 0.05
    views_lam = rng.lognormal(0.0, 0.9, n)
    # scale views so that the expected total matches cfg.n_events
    lifetime = (last - first + 1) * active_p
    expected = float((lifetime * (1.0 + views_lam)).sum())
    target = cfg.n_events * (1.0 - cfg.abuse.share)
    scale = max((target - lifetime.sum()) / max(float((lifetime * views_lam).sum()), 1.0), 0.01)
    views_lam = views_lam * scale if expected > 0 else views_lam
    start = epoch(cfg.start_date)
    created = rng.integers(epoch(PLATFORM_START), start - DAY, n)
    late = first > 0  # users who join during the window register that day
    created[late] = start + first[late] * DAY - rng.integers(60, 3600, int(late.sum()))
    return Users(
        community=community,
        favs=favs,
        repeat_p=repeat_p,
        active_p=active_p,
        views_lam=views_lam,
        first_day=first,
        last_day=last,
        patience=np.clip(rng.lognormal(0.0, 0.35, n), 0.3, 3.0),
        recency=rng.uniform(0.08, 0.5, n),
        client=rng.choice(4, n, p=(0.35, 0.35, 0.2, 0.1)),
        home_ip=rng.integers(0, int(n * 0.8) + 1, n),
        created_at=created,
        country=rng.choice(8, n, p=(0.55, 0.15, 0.08, 0.06, 0.05, 0.05, 0.03, 0.03)),
    )


def make_broadcasts(cfg: GeneratorConfig, st: Streamers, rng: np.random.Generator) -> Broadcasts:
    first_day = epoch(cfg.start_date) - cfg.history_days * DAY
    n_days = cfg.history_days + cfg.days
    live = rng.random((n_days, len(st.popularity))) < st.live_rate  # (D, S)
    day_idx, s = np.nonzero(live)
    hour = (st.prime_hour[s] + rng.normal(0, 1.0, len(s))) % 24
    started = first_day + day_idx * DAY + (hour * 3600).astype(np.int64)
    length = np.clip(rng.lognormal(np.log(3 * 3600), 0.5, len(s)), 1800, 12 * 3600).astype(np.int64)
    # most broadcasts stay in the streamer's category
    cat = np.where(rng.random(len(s)) < 0.85, st.category[s], rng.integers(0, len(CATEGORIES), len(s)))
    order = np.argsort(started, kind="stable")
    return Broadcasts(s[order], cat[order], started[order], (started + length)[order])


def _lognormal_durations(rng, kind: str, n: int) -> np.ndarray:
    median, sigma, lo, hi = DURATION_LOGNORMAL[kind]
    return np.clip(rng.lognormal(np.log(median), sigma, n), lo, hi)


def shortform_durations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Inverse-CDF draw from the KuaiRand quantile curve, log-linear between knots."""
    q = np.linspace(0, 1, len(SHORTFORM_DURATION_QUANTILES))
    return np.exp(np.interp(rng.random(n), q, np.log(SHORTFORM_DURATION_QUANTILES)))


def make_vods(cfg: GeneratorConfig, st: Streamers, bc: Broadcasts, rng: np.random.Generator) -> Vods:
    """VODs cut from broadcasts (replay, highlight, clip, shortform) plus uploads."""
    data_end = epoch(cfg.end_date) + DAY
    ended = bc.ended_at < data_end
    b_idx = np.arange(len(bc.streamer))
    pct = np.argsort(np.argsort(st.popularity)) / max(len(st.popularity) - 1, 1)
    bpct = pct[bc.streamer]
    parts = []  # (broadcast index, type, duration, created_at)
    rep = b_idx[ended & (rng.random(len(b_idx)) < 0.9)]
    parts.append((rep, 0, (bc.ended_at - bc.started_at)[rep].astype(float), bc.ended_at[rep] + 300))
    for t, (kind, base, slope) in enumerate(
        [("highlight", 0.15, 0.5), ("clip", 0.2, 1.5), ("shortform", 0.1, 0.6)], start=1
    ):
        k = rng.poisson(base + slope * bpct)
        src = np.repeat(b_idx, k)
        dur = shortform_durations(rng, len(src)) if kind == "shortform" else _lognormal_durations(rng, kind, len(src))
        created = bc.started_at[src] + rng.integers(600, 36 * 3600, len(src))
        parts.append((src, t, dur, created))
    # uploads: most streamers upload rarely (KuaiRand: 87 % of authors post one video a month)
    n_up = rng.geometric(0.6, len(st.popularity)) - 1
    up_s = np.repeat(np.arange(len(st.popularity)), n_up)
    first = epoch(cfg.start_date) - cfg.history_days * DAY
    up_created = rng.integers(first, data_end, len(up_s))
    streamer = np.concatenate([bc.streamer[p[0]] for p in parts] + [up_s])
    vtype = np.concatenate([np.full(len(p[0]), p[1]) for p in parts] + [np.full(len(up_s), 4)])
    duration = np.concatenate([p[2] for p in parts] + [_lognormal_durations(rng, "upload", len(up_s))])
    created = np.concatenate([p[3] for p in parts] + [up_created])
    broadcast = np.concatenate([p[0] for p in parts] + [np.full(len(up_s), -1)])
    category = np.where(broadcast >= 0, bc.category[np.maximum(broadcast, 0)], st.category[streamer])
    keep = created < data_end
    order = np.lexsort((created[keep], streamer[keep]))
    sel = np.flatnonzero(keep)[order]
    offsets = np.searchsorted(streamer[sel], np.arange(len(st.popularity) + 1))
    return Vods(
        streamer=streamer[sel],
        vod_type=vtype[sel],
        category=category[sel],
        duration=np.round(duration[sel], 1),
        created_at=created[sel],
        broadcast=broadcast[sel],
        offsets=offsets,
    )


def make_follows(cfg: GeneratorConfig, us: Users, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Users follow about half of their favourites, mostly before the window."""
    u, j = np.nonzero((us.favs >= 0) & (rng.random(us.favs.shape) < 0.5))
    s = us.favs[u, j]
    start = epoch(cfg.start_date)
    end = epoch(cfg.end_date) + DAY
    lo = np.maximum(us.created_at[u], epoch(PLATFORM_START))
    during = rng.random(len(u)) < 0.15
    at = np.where(
        during,
        rng.integers(start, end, len(u)),
        lo + (rng.random(len(u)) * np.maximum(start - lo, 1)).astype(np.int64),
    )
    at = np.maximum(at, us.created_at[u] + 60)
    return u, s, at
