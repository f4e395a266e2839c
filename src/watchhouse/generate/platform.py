"""`generate()`: the demo platform's landing data, written day by day.

Memory stays bounded: entity tables are small; event tables are produced one
day at a time, in slices of at most `chunk_rows` expected views.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from watchhouse import contract as c
from watchhouse.generate import abuse as ab
from watchhouse.generate import catalog as cat
from watchhouse.generate import events as ev
from watchhouse.generate import heavy_use as hu
from watchhouse.generate.catalog import STREAMER_CENTRIC_MIN_REPEAT
from watchhouse.generate.config import CATEGORIES, CLIENTS, COMMUNITIES, COUNTRIES, SURFACES, GeneratorConfig
from watchhouse.generate.corrupt import bad_entity_rows, corrupt_events, doubtful_attributes, split_kept
from watchhouse.generate.writer import LandingWriter, id_pool, take, to_arrow, to_frame, ts

GENERATOR_DIR = "_generator"  # side outputs only the generator knows (not part of the contract)
COMMUNITY_NAMES = tuple(COMMUNITIES)


class Ids:
    """String pools for every id space, built once."""

    def __init__(self, n_users: int, n_streamers: int, n_vods: int, n_broadcasts: int, n_ips: int) -> None:
        self.user = id_pool("u", n_users)
        self.streamer = id_pool("s", n_streamers, 6)
        self.vod = id_pool("v", n_vods, 8)
        self.broadcast = id_pool("b", n_broadcasts, 8)
        rng = np.random.default_rng(12345)
        self.ip = pa.array([f"{x:016x}" for x in rng.integers(0, 2**63, n_ips)])
        self.category = pa.array(CATEGORIES)
        self.country = pa.array(COUNTRIES)
        self.client = pa.array(CLIENTS)
        self.surface = pa.array(SURFACES)
        self.vod_type = pa.array(c.VOD_TYPES)


def _write_entities(cfg, w, ids, st, us_all, bc, vods, follows, rng, labels, doubtful) -> None:
    end = cfg.end_date
    data_end = cat.epoch(end) + cat.DAY
    s_idx = np.arange(len(st.popularity))
    frames = {
        c.STREAMERS: {
            "streamer_id": ids.streamer,
            "display_name": pa.array([f"streamer {i}" for i in s_idx]),
            "primary_category": take(ids.category, st.category),
            "country": take(ids.country, st.country),
            "created_at": ts(st.created_at),
        },
        c.USERS: {
            "user_id": ids.user,
            "created_at": ts(us_all["created_at"]),
            "country": take(ids.country, us_all["country"]),
        },
        c.BROADCASTS: {
            "broadcast_id": ids.broadcast,
            "streamer_id": take(ids.streamer, bc.streamer),
            "category": take(ids.category, bc.category),
            "title": pa.array([f"live #{i}" for i in range(len(bc.streamer))]),
            "started_at": ts(bc.started_at),
            "ended_at": ts(bc.ended_at, null_mask=bc.ended_at >= data_end),
        },
        c.VODS: {
            "vod_id": ids.vod,
            "streamer_id": take(ids.streamer, vods.streamer),
            "vod_type": take(ids.vod_type, vods.vod_type),
            "category": take(ids.category, vods.category),
            "title": pa.array([f"vod #{i}" for i in range(len(vods.streamer))]),
            "duration_seconds": vods.duration,
            "created_at": ts(vods.created_at),
            "broadcast_id": take(ids.broadcast, vods.broadcast),
        },
        c.FOLLOWS: {
            "user_id": take(ids.user, follows[0]),
            "streamer_id": take(ids.streamer, follows[1]),
            "followed_at": ts(follows[2]),
        },
    }
    # a stream of its own: planting the attributes draws nothing from the main stream `rng`
    attribute_rng = np.random.default_rng([cfg.seed, 17])
    for table, cols in frames.items():
        df, lab = doubtful_attributes(to_frame(table, cols), table, cfg.bad_row_share, end, attribute_rng)
        doubtful += lab
        df, lab = bad_entity_rows(df, table, cfg.bad_row_share, end, rng)
        quarantined, kept = split_kept(lab)
        labels += quarantined
        doubtful += kept
        w.write(table, to_arrow(table, df))


def _write_events(table, w, cols, day, cfg, rng, labels) -> None:
    df = to_frame(table, cols)
    df, lab = corrupt_events(df, table, cfg.bad_row_share, cfg.end_date, rng)
    labels += lab
    w.write(table, to_arrow(table, df), day=day)


class _World:
    """Everything that exists before the first event day, plus the writers."""

    def __init__(self, cfg: GeneratorConfig, out: Path) -> None:
        self.cfg = cfg
        self.rng = rng = np.random.default_rng(cfg.seed)
        self.st = cat.make_streamers(cfg, rng)
        self.bc = cat.make_broadcasts(cfg, self.st, rng)
        self.vods = cat.make_vods(cfg, self.st, self.bc, rng)
        self.us = cat.make_users(cfg, self.st, rng)
        self.plan = ab.plan_abuse(cfg, self.st.popularity, 2 * cfg.users, rng)
        # heavy honest use (profiles only), from a stream of its own: the default landing draws nothing here
        a = cfg.abuse
        self.heavy_rng = np.random.default_rng([cfg.seed, 23])
        wants_heavy = a.binge_users or a.clip_replayers or a.shared_ip_groups or a.piece_watchers
        self.heavy = hu.plan_heavy_use(cfg, self.us, self.heavy_rng) if wants_heavy else None
        self.start = cat.epoch(cfg.start_date)
        self.data_end = cat.epoch(cfg.end_date) + cat.DAY
        n_extra = self.plan.n_extra_users
        self.users_table = {
            "created_at": np.concatenate([self.us.created_at, self.start - rng.integers(3600, 20 * cat.DAY, n_extra)]),
            "country": np.concatenate([self.us.country, rng.choice(8, n_extra)]),
        }
        n_ips = self.plan.datacenter_ip0 + 3
        self.ids = Ids(
            cfg.users + n_extra, len(self.st.popularity), len(self.vods.streamer), len(self.bc.streamer), n_ips
        )
        self.follows = cat.make_follows(cfg, self.us, rng)
        self.keys = ev.vod_keys(self.vods)
        self.sampler = cat.community_sampler(self.st)
        self.fans = ev.fans_index(self.us, len(self.st.popularity))
        in_window = self.bc.started_at >= self.start
        live_pop = float(self.st.popularity[self.bc.streamer[in_window]].sum())
        self.live_per_popularity = cfg.live_share * cfg.n_events / max(live_pop, 1e-9)
        self.writer = LandingWriter(out)
        self.labels: list[tuple[str, str, str | None]] = []
        self.doubtful: list[tuple[str, str, str, str]] = []
        self.abuse_rows: list[pa.Table] = []
        self.live_spill: dict[str, np.ndarray] | None = None

    def write_vod_views(self, d: int) -> None:
        """Day d's normal and abusive VOD views, in slices of at most chunk_rows expected views."""
        cfg, rng, us = self.cfg, self.rng, self.us
        day = cfg.start_date + dt.timedelta(days=d)
        day_start = self.start + d * cat.DAY
        active = np.flatnonzero((us.first_day <= d) & (us.last_day >= d) & (rng.random(cfg.users) < us.active_p))
        weight = np.cumsum(1.0 + us.views_lam[active])
        total = weight[-1] if len(active) else 0.0
        n_slices = max(1, int(np.ceil(total / cfg.chunk_rows)))
        bounds = np.searchsorted(weight, np.linspace(0, total, n_slices + 1)[1:-1])
        seq = 0
        for part, users in enumerate(np.split(active, bounds)):
            v = ev.vod_views(rng, day_start, users, self.st, us, self.vods, self.keys, self.sampler)
            v["kind"] = np.full(len(v["user"]), -1)
            if part == n_slices - 1:
                a = ab.abuse_views(cfg, self.plan, d, day_start, self.vods, np.arange(cfg.users), us.home_ip, rng)
                a["client"] = np.zeros(len(a["user"]), dtype=np.int64)
                a["surface"] = np.full(len(a["user"]), 2)
                v = {k: np.concatenate([v[k], a[k]]) for k in v}
                if self.heavy is not None:
                    h = hu.heavy_views(self.heavy, day_start, self.vods, us.home_ip, self.heavy_rng)
                    h["client"] = us.client[h["user"]]
                    h["surface"] = np.zeros(len(h["user"]), dtype=np.int64)
                    v = {k: np.concatenate([v[k], h[k]]) for k in v}
            order = np.argsort(v["started_at"], kind="stable")
            v = {k: x[order] for k, x in v.items()}
            event_ids = pa.array([f"e{day:%Y%m%d}{i:08d}" for i in range(seq, seq + len(order))])
            seq += len(order)
            is_abuse = v["kind"] >= 0
            self.abuse_rows.append(
                pa.table({"event_id": event_ids.filter(pa.array(is_abuse)),
                          "abuse_kind": take(pa.array(ab.KINDS), v["kind"][is_abuse])})
            )  # fmt: skip
            ids = self.ids
            cols = {
                "event_id": event_ids,
                "user_id": take(ids.user, v["user"]),
                "vod_id": take(ids.vod, v["vod"]),
                "started_at": ts(v["started_at"]),
                "watched_seconds": v["watched_seconds"],
                "client": take(ids.client, v["client"]),
                "ip_hash": take(ids.ip, v["ip"]),
                "surface": take(ids.surface, v["surface"]),
                "_clean": ~is_abuse,
                "_duration": self.vods.duration[v["vod"]],
            }
            _write_events(c.WATCH_EVENTS, self.writer, cols, day, cfg, rng, self.labels)

    def write_live_views(self, d: int) -> None:
        """Live views joined on day d (views of late broadcasts that cross midnight spill over)."""
        day = self.cfg.start_date + dt.timedelta(days=d)
        day_start = self.start + d * cat.DAY
        bc = self.bc
        todays = np.flatnonzero((bc.started_at >= day_start) & (bc.started_at < day_start + cat.DAY))
        lv = ev.live_views(self.rng, todays, bc, self.st, self.us, self.fans, self.live_per_popularity, self.data_end)
        if self.live_spill is not None:
            lv = {k: np.concatenate([self.live_spill[k], lv[k]]) for k in lv}
        today = lv["joined_at"] < day_start + cat.DAY
        self.live_spill = {k: x[~today] for k, x in lv.items()}
        order = np.argsort(lv["joined_at"][today], kind="stable")
        lv = {k: x[today][order] for k, x in lv.items()}
        ids = self.ids
        cols = {
            "event_id": pa.array([f"l{day:%Y%m%d}{i:08d}" for i in range(len(order))]),
            "user_id": take(ids.user, lv["user"]),
            "broadcast_id": take(ids.broadcast, lv["broadcast"]),
            "joined_at": ts(lv["joined_at"]),
            "left_at": ts(lv["left_at"]),
            "client": take(ids.client, lv["client"]),
            "ip_hash": take(ids.ip, lv["ip"]),
            "_clean": np.ones(len(order), dtype=bool),
        }
        _write_events(c.LIVE_WATCH_EVENTS, self.writer, cols, day, self.cfg, self.rng, self.labels)


def _write_ground_truth(world: _World, side: Path) -> None:
    """What the generator planted and the pipeline must rediscover: each user's community,
    viewing style (streamer- vs category-centric) and favourites; each streamer's community."""
    us, ids = world.us, world.ids
    n = len(us.community)
    favs = [[ids.streamer[int(s)].as_py() for s in row if s >= 0] for row in us.favs]
    pd.DataFrame({
        "user_id": ids.user.slice(0, n).to_pylist(),
        "community": np.asarray(COMMUNITY_NAMES)[us.community],
        "is_streamer_centric": us.repeat_p >= STREAMER_CENTRIC_MIN_REPEAT,
        "repeat_p": us.repeat_p,
        "favourite_streamers": favs,
    }).to_parquet(side / "users.parquet", index=False)  # fmt: skip
    pd.DataFrame({
        "streamer_id": ids.streamer.to_pylist(),
        "community": np.asarray(COMMUNITY_NAMES)[world.st.community],
    }).to_parquet(side / "streamers.parquet", index=False)  # fmt: skip


def generate(cfg: GeneratorConfig, out: Path, progress: bool = True) -> dict:
    """Write a full landing folder for `cfg` under `out` and return a manifest."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    world = _World(cfg, out)
    _write_entities(
        cfg, world.writer, world.ids, world.st, world.users_table, world.bc, world.vods, world.follows,
        world.rng, world.labels, world.doubtful,
    )  # fmt: skip
    for d in tqdm(range(cfg.days), desc="generating days", unit="day", disable=not progress):
        world.write_vod_views(d)
        world.write_live_views(d)
    w = world.writer
    w.write(c.ABUSE_LABELS, pa.concat_tables(world.abuse_rows))
    side = out / GENERATOR_DIR
    side.mkdir(parents=True, exist_ok=True)
    viol = pd.DataFrame(world.labels, columns=["table_name", "reason", "row_key"])
    viol.to_parquet(side / "contract_violations.parquet", index=False)
    doubtful = pd.DataFrame(world.doubtful, columns=["table_name", "attribute", "reason", "row_key"])
    doubtful.to_parquet(side / "doubtful_attributes.parquet", index=False)
    _write_ground_truth(world, side)
    if world.heavy is not None:
        heavy = pd.DataFrame(world.heavy.labels(), columns=["user", "behaviour"])
        heavy.insert(0, "user_id", [world.ids.user[u].as_py() for u in heavy.pop("user")])
        heavy.to_parquet(side / "heavy_use.parquet", index=False)
    manifest = {
        "config": json.loads(json.dumps(asdict(cfg), default=str)),
        "rows": w.rows,
        "contract_violations": len(viol),
        "doubtful_attributes": len(doubtful),
        "abuse_views": int(sum(t.num_rows for t in world.abuse_rows)),
    }
    (side / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
