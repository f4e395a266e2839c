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
from watchhouse.generate.config import CATEGORIES, CLIENTS, COUNTRIES, SURFACES, GeneratorConfig
from watchhouse.generate.corrupt import bad_entity_rows, corrupt_events
from watchhouse.generate.writer import LandingWriter, id_pool, take, to_arrow, to_frame, ts

GENERATOR_DIR = "_generator"  # side outputs only the generator knows (not part of the contract)


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


def _write_entities(cfg, w, ids, st, us_all, bc, vods, follows, rng, labels) -> None:
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
    for table, cols in frames.items():
        df, lab = bad_entity_rows(to_frame(table, cols), table, cfg.bad_row_share, end, rng)
        labels += lab
        w.write(table, to_arrow(table, df))


def _write_events(table, w, cols, day, cfg, rng, labels) -> pa.Table:
    df = to_frame(table, cols)
    df, lab = corrupt_events(df, table, cfg.bad_row_share, cfg.end_date, rng)
    labels += lab
    w.write(table, to_arrow(table, df), day=day)


def generate(cfg: GeneratorConfig, out: Path, progress: bool = True) -> dict:
    """Write a full landing folder for `cfg` under `out` and return a manifest."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    rng = np.random.default_rng(cfg.seed)
    st = cat.make_streamers(cfg, rng)
    bc = cat.make_broadcasts(cfg, st, rng)
    vods = cat.make_vods(cfg, st, bc, rng)
    us = cat.make_users(cfg, st, rng)
    n_ips = 2 * cfg.users
    plan = ab.plan_abuse(cfg, st.popularity, n_ips, rng)
    n_users = cfg.users + plan.n_extra_users
    start = cat.epoch(cfg.start_date)
    extra_created = start - rng.integers(3600, 20 * cat.DAY, plan.n_extra_users)
    us_all = {
        "created_at": np.concatenate([us.created_at, extra_created]),
        "country": np.concatenate([us.country, rng.choice(8, plan.n_extra_users)]),
    }
    ids = Ids(n_users, len(st.popularity), len(vods.streamer), len(bc.streamer), plan.datacenter_ip0 + 3)
    follows = cat.make_follows(cfg, us, rng)
    w = LandingWriter(out)
    labels: list[tuple[str, str, str | None]] = []
    _write_entities(cfg, w, ids, st, us_all, bc, vods, follows, rng, labels)

    keys = ev.vod_keys(vods)
    sampler = cat._community_sampler(st)
    fans = ev.fans_index(us, len(st.popularity))
    data_end = cat.epoch(cfg.end_date) + cat.DAY
    in_window = bc.started_at >= start
    per_pop = cfg.live_share * cfg.n_events / max(float(st.popularity[bc.streamer[in_window]].sum()), 1e-9)
    spill: dict[str, np.ndarray] | None = None
    abuse_rows: list[pa.Table] = []
    days = range(cfg.days)
    for d in tqdm(days, desc="generating days", unit="day", disable=not progress):
        day = cfg.start_date + dt.timedelta(days=d)
        day_start = start + d * cat.DAY
        active = np.flatnonzero((us.first_day <= d) & (us.last_day >= d) & (rng.random(cfg.users) < us.active_p))
        weight = np.cumsum(1.0 + us.views_lam[active])
        n_slices = max(1, int(np.ceil(weight[-1] / cfg.chunk_rows))) if len(active) else 1
        bounds = np.searchsorted(weight, np.linspace(0, weight[-1] if len(active) else 0, n_slices + 1)[1:-1])
        seq = 0
        for part, users in enumerate(np.split(active, bounds)):
            v = ev.vod_views(rng, d, day_start, users, st, us, vods, keys, sampler)
            v["kind"] = np.full(len(v["user"]), -1)
            if part == n_slices - 1:
                a = ab.abuse_views(cfg, plan, d, day_start, vods, np.flatnonzero(us.active_p > 0), us.home_ip, rng)
                a["client"] = np.zeros(len(a["user"]), dtype=np.int64)
                a["surface"] = np.full(len(a["user"]), 2)
                v = {k: np.concatenate([v[k], a[k]]) for k in v}
            order = np.argsort(v["started_at"], kind="stable")
            v = {k: x[order] for k, x in v.items()}
            n = len(order)
            event_ids = pa.array([f"e{day:%Y%m%d}{i:08d}" for i in range(seq, seq + n)])
            seq += n
            is_abuse = v["kind"] >= 0
            abuse_rows.append(
                pa.table({"event_id": event_ids.filter(pa.array(is_abuse)),
                          "abuse_kind": take(pa.array(ab.KINDS), v["kind"][is_abuse])})
            )  # fmt: skip
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
                "_duration": vods.duration[v["vod"]],
            }
            _write_events(c.WATCH_EVENTS, w, cols, day, cfg, rng, labels)

        todays = np.flatnonzero((bc.started_at >= day_start) & (bc.started_at < day_start + cat.DAY))
        lv = ev.live_views(rng, todays, bc, st, us, fans, per_pop, data_end)
        if spill is not None:
            lv = {k: np.concatenate([spill[k], lv[k]]) for k in lv}
        today = lv["joined_at"] < day_start + cat.DAY
        spill = {k: x[~today] for k, x in lv.items()}
        lv = {k: x[today] for k, x in lv.items()}
        order = np.argsort(lv["joined_at"], kind="stable")
        lv = {k: x[order] for k, x in lv.items()}
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
        _write_events(c.LIVE_WATCH_EVENTS, w, cols, day, cfg, rng, labels)

    w.write(c.ABUSE_LABELS, pa.concat_tables(abuse_rows))
    side = out / GENERATOR_DIR
    side.mkdir(parents=True, exist_ok=True)
    viol = pd.DataFrame(labels, columns=["table_name", "reason", "row_key"])
    viol.to_parquet(side / "contract_violations.parquet", index=False)
    manifest = {
        "config": json.loads(json.dumps(asdict(cfg), default=str)),
        "rows": w.rows,
        "contract_violations": len(viol),
        "abuse_views": int(sum(t.num_rows for t in abuse_rows)),
    }
    (side / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
