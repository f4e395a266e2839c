"""Heavy but honest use, labelled normal: binge watchers, people replaying a short clip, people who watch
one long VOD in many pieces (pauses, seeks, a dropped connection: many views, one pass through it), and
campuses or mobile carriers where many people share one IP hash. An abuse filter must leave them clean; the users
are listed in `_generator/heavy_use.parquet` (user_id, behaviour) so their false-positive rate can be
measured (docs/valuation.md "Robustness"). Drawn from a random stream of their own, and only when a
profile asks for them, so the default landing is unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from watchhouse.generate.catalog import DAY, Users, Vods
from watchhouse.generate.config import GeneratorConfig

BEHAVIOURS = ("binge", "clip_replay", "shared_ip", "pieces")


@dataclass
class HeavyUse:
    binge: np.ndarray  # normal user indices
    replayers: np.ndarray
    shared: np.ndarray  # users moved onto a shared IP hash
    pieces: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def labels(self) -> list[tuple[int, str]]:
        return [
            (int(u), name)
            for name, users in zip(BEHAVIOURS, (self.binge, self.replayers, self.shared, self.pieces), strict=True)
            for u in users
        ]


def plan_heavy_use(cfg: GeneratorConfig, us: Users, rng: np.random.Generator) -> HeavyUse:
    """Pick disjoint normal users per behaviour; move each shared-IP group onto one of its members' IPs."""
    a = cfg.abuse
    sizes = rng.integers(20, 61, a.shared_ip_groups)
    wanted = a.binge_users + a.clip_replayers + a.piece_watchers + int(sizes.sum())
    if wanted > cfg.users // 2:
        raise ValueError(f"heavy-use profile wants {wanted} users; the landing has {cfg.users}: use more users")
    chosen = rng.choice(cfg.users, wanted, replace=False)
    binge, rest = chosen[: a.binge_users], chosen[a.binge_users :]
    replayers, rest = rest[: a.clip_replayers], rest[a.clip_replayers :]
    pieces, shared = rest[: a.piece_watchers], rest[a.piece_watchers :]
    start = 0
    for size in sizes:
        group = shared[start : start + size]
        us.home_ip[group] = us.home_ip[group[0]]
        start += size
    return HeavyUse(binge, replayers, shared, pieces)


def heavy_views(
    plan: HeavyUse, day_start: int, vods: Vods, home_ip: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """One day's extra views of the binge watchers and clip replayers (kind -1: normal)."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("user", "vod", "started_at", "watched_seconds", "ip", "kind")}
    existing = np.flatnonzero(vods.created_at < day_start)

    def add(user: int, vod: np.ndarray, watched: np.ndarray, start: int, pause: tuple = (5, 120)) -> None:
        started = start + np.cumsum(watched + rng.uniform(*pause, len(vod))) - watched
        keep = started < day_start + DAY
        cols["user"].append(np.full(int(keep.sum()), user, dtype=np.int64))
        cols["vod"].append(vod[keep])
        cols["started_at"].append(started[keep].astype(np.int64))
        cols["watched_seconds"].append(np.round(watched[keep], 1))
        cols["ip"].append(np.full(int(keep.sum()), home_ip[user], dtype=np.int64))
        cols["kind"].append(np.full(int(keep.sum()), -1))

    watchable = existing[vods.duration[existing] <= 1800]  # a binge day is many whole VODs of up to 30 min
    clips = existing[vods.duration[existing] <= 120]
    for user in plan.binge:
        if len(watchable):
            vod = rng.choice(watchable, int(rng.integers(40, 91)))
            add(int(user), vod, vods.duration[vod] * rng.uniform(0.85, 1.0, len(vod)), day_start + 8 * 3600)
    for user in plan.replayers:
        if len(clips):
            vod = np.full(int(rng.integers(4, 10)), rng.choice(clips))
            start = day_start + int(rng.integers(0, DAY - 3600))
            add(int(user), vod, vods.duration[vod] * rng.uniform(0.5, 1.0, len(vod)), start)
    long_vods = existing[vods.duration[existing] >= 3600]
    for user in plan.pieces:  # one long VOD in 10-20 pieces of irregular length, adding up to 60-100% of it
        if len(long_vods):
            n = int(rng.integers(10, 21))
            vod = np.full(n, rng.choice(long_vods))
            watched = vods.duration[vod[0]] * rng.uniform(0.6, 1.0) * rng.dirichlet(np.ones(n))
            add(int(user), vod, watched, day_start + int(rng.integers(0, DAY // 4)), pause=(30, 1800))
    return {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in cols.items()}
