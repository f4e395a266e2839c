"""Normal viewing: VOD views and live views, one day at a time.

Each function returns a dict of equal-length numpy arrays ("columns") with
integer entity indices; the writer turns them into contract strings.
"""

from __future__ import annotations

import numpy as np

from watchhouse.contract import VOD_TYPES
from watchhouse.generate.catalog import DAY, Broadcasts, Streamers, Users, Vods, sample_in_community
from watchhouse.generate.config import HOURLY_PROFILE, WATCH_RATIO_BETA

Columns = dict[str, np.ndarray]
_HOUR_P = HOURLY_PROFILE / HOURLY_PROFILE.sum()


def vod_keys(vods: Vods) -> np.ndarray:
    """Sort key (streamer, created_at) packed in one int64 for searchsorted."""
    return (vods.streamer.astype(np.int64) << 32) + vods.created_at


def pick_vods(
    rng: np.random.Generator, vods: Vods, keys: np.ndarray, streamer: np.ndarray, at: np.ndarray, recency: np.ndarray
) -> np.ndarray:
    """A VOD of each streamer created before `at`, recent ones favoured; -1 if none."""
    lo = vods.offsets[streamer]
    hi = np.searchsorted(keys, (streamer.astype(np.int64) << 32) + at, side="left")
    count = hi - lo
    back = rng.geometric(recency) - 1
    idx = hi - 1 - back % np.maximum(count, 1)
    return np.where(count > 0, idx, -1)


def _occurrence(user: np.ndarray, vod: np.ndarray, n_vods: int) -> np.ndarray:
    """0 for the first (user, vod) pair in array order, 1 for the second, ..."""
    key = user.astype(np.int64) * (n_vods + 1) + vod
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.r_[0, np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1]
    out = np.empty(len(key), dtype=np.int64)
    out[order] = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    return out


def watch_seconds(rng: np.random.Generator, vods: Vods, vod: np.ndarray, patience: np.ndarray) -> np.ndarray:
    ratio = np.empty(len(vod))
    vtype = vods.vod_type[vod]
    for t, name in enumerate(VOD_TYPES):
        m = vtype == t
        a, b = WATCH_RATIO_BETA[name]
        ratio[m] = rng.beta(a, b, int(m.sum()))
    dur = vods.duration[vod]
    return np.round(np.clip(ratio * patience * dur, 1.0, dur), 1)


def vod_views(
    rng: np.random.Generator,
    day_start: int,
    users: np.ndarray,
    st: Streamers,
    us: Users,
    vods: Vods,
    keys: np.ndarray,
    sampler,
) -> Columns:
    """The normal VOD views of the given active users on one day."""
    nv = 1 + rng.poisson(us.views_lam[users])
    user = np.repeat(users, nv)
    n = len(user)
    fav_n = (us.favs[user] >= 0).sum(axis=1)
    repeat = rng.random(n) < us.repeat_p[user]
    j = np.minimum(rng.geometric(0.45, n) - 1, fav_n - 1)
    streamer = us.favs[user, j]
    explore = ~repeat
    comm = np.where(rng.random(n) < 0.85, us.community[user], rng.integers(0, len(sampler[1]), n))
    streamer[explore] = sample_in_community(rng, st, comm[explore], sampler)
    # one session per active user-day, starting at an hour drawn from the daily rhythm
    t0 = day_start + rng.choice(24, len(users), p=_HOUR_P) * 3600 + rng.integers(0, 3600, len(users))
    t0_view = np.repeat(t0, nv)
    vod = pick_vods(rng, vods, keys, streamer, t0_view, us.recency[user])
    # a viewer rarely opens the same VOD more than twice a day: a third pick explores
    # another streamer instead, and what still repeats is dropped
    again = _occurrence(user, vod, len(vods.streamer)) >= 2
    streamer[again] = sample_in_community(rng, st, comm[again], sampler)
    vod[again] = pick_vods(rng, vods, keys, streamer[again], t0_view[again], us.recency[user[again]])
    watched = np.zeros(n)
    ok = (vod >= 0) & (_occurrence(user, vod, len(vods.streamer)) < 2)
    watched[ok] = watch_seconds(rng, vods, vod[ok], us.patience[user[ok]])
    # views of a session follow each other: start = session start + what came before
    step = watched + rng.exponential(90.0, n)
    cs = np.cumsum(step)
    first = np.repeat(np.cumsum(nv) - nv, nv)
    started = t0_view + (cs - step - (cs[first] - step[first])).astype(np.int64)
    keep = ok & (started < day_start + DAY)
    vtype = vods.vod_type[np.maximum(vod, 0)]
    short = (vtype == 2) | (vtype == 3)
    surface = np.where(
        short & (rng.random(n) < 0.6),
        5,
        np.where(repeat, rng.choice([2, 3], n), rng.choice([0, 1, 4], n, p=[0.5, 0.15, 0.35])),
    )
    out = {
        "user": user,
        "vod": vod,
        "started_at": started,
        "watched_seconds": watched,
        "client": np.where(rng.random(n) < 0.85, us.client[user], rng.integers(0, 4, n)),
        "ip": np.where(rng.random(n) < 0.85, us.home_ip[user], rng.integers(len(us.home_ip), 2 * len(us.home_ip), n)),
        "surface": surface,
    }
    return {k: v[keep] for k, v in out.items()}


def fans_index(us: Users, n_streamers: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR index streamer -> users who count the streamer among their favourites."""
    u, j = np.nonzero(us.favs >= 0)
    s = us.favs[u, j]
    order = np.argsort(s, kind="stable")
    return np.searchsorted(s[order], np.arange(n_streamers + 1)), u[order]


def live_views(
    rng: np.random.Generator,
    bc_idx: np.ndarray,
    bc: Broadcasts,
    st: Streamers,
    us: Users,
    fans: tuple[np.ndarray, np.ndarray],
    per_popularity: float,
    data_end: int,
) -> Columns:
    """Live views of the given broadcasts: mostly their streamer's fans."""
    s = bc.streamer[bc_idx]
    k = rng.poisson(per_popularity * st.popularity[s])
    b = np.repeat(bc_idx, k)
    sb = bc.streamer[b]
    n = len(b)
    off, members = fans
    lo, hi = off[sb], off[sb + 1]
    has_fans = hi > lo
    fan = members[np.minimum(lo + (rng.random(n) * (hi - lo)).astype(np.int64), len(members) - 1)]
    user = np.where(has_fans & (rng.random(n) < 0.7), fan, rng.integers(0, len(us.community), n))
    length = bc.ended_at[b] - bc.started_at[b]
    joined = bc.started_at[b] + (rng.random(n) * 0.85 * length).astype(np.int64)
    stay = np.clip(rng.lognormal(np.log(1500), 0.9, n), 30, None).astype(np.int64)
    left = np.minimum(np.minimum(joined + stay, bc.ended_at[b]), data_end - 1)
    keep = left > joined
    out = {
        "user": user,
        "broadcast": b,
        "joined_at": joined,
        "left_at": left,
        "client": np.where(rng.random(n) < 0.85, us.client[user], rng.integers(0, 4, n)),
        "ip": us.home_ip[user],
    }
    return {key: v[keep] for key, v in out.items()}
