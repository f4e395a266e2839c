"""A landing written without the generator's code, shaped the way another platform's export might be.

- Real videos: durations and authors of 700 KuaiRand-Pure videos, and 600 of its users' account ages
  (tests/data/kuairand_pure: a copy of what the tests need, CC BY-SA 4.0, Gao et al., CIKM 2022), so
  the project never reads ../shared at run time.
- Integer-looking ids, in every table: user "18" and VOD "18" are different things.
- Old accounts: users registered up to 2,801 days before the data (2014) and a few from 2007;
  streamers created 2009-2021.
- Times recorded in Korea Standard Time and converted to UTC by the exporter, written as millisecond
  timestamps that carry the zone name `Asia/Seoul`: a view at 07:00 KST belongs to the previous UTC day.
- The exporter's own vocabulary: clients `android` / `iphone` / `pc`, surfaces `feed` / `search` /
  `profile`, VOD types mapped from KuaiRand's upload types where one fits and landed raw where none
  does (`UNKNOWN`, `ShareFromOtherApp`, `FollowShoot`: the contract keeps those VODs as `(unknown)`).
- Korean display names, households on one IP hash (3 people on average, up to 8), and no planted abuse: every view is
  honest, so whatever the abuse filter flags here is a false positive.

Viewing follows a model of its own: Poisson views per day by KuaiRand activity degree, videos by a
Zipf law over a shuffled catalogue, watched share Beta(1.2, 2), sessions in the local evening.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parents[1] / "data" / "kuairand_pure"
AS_OF = "2022-05-04"  # the UTC day of the last views; local (KST) days run 05-01 .. the morning of 05-05
KST = dt.timezone(dt.timedelta(hours=9), "KST")
LOCAL_START = dt.datetime(2022, 5, 1, tzinfo=KST)
SEOUL_MS = pa.timestamp("ms", tz="Asia/Seoul")
UTC_US = pa.timestamp("us", tz="UTC")
VOD_TYPES = {
    "LongImport": "upload",
    "Web": "upload",
    "Kmovie": "clip",
    "ShortImport": "shortform",
    "ShortCamera": "shortform",
    "LongCamera": "replay",
}
VIEWS_PER_DAY = {"full_active": 7.0, "high_active": 4.0, "middle_active": 2.5, "low_active": 1.0, "2_14_day_new": 2.0}
OLD_USERS_EVERY = 40  # every 40th user registered in 2007


def _ip(n: int) -> str:
    return hashlib.sha1(f"household-{n}".encode()).hexdigest()


def _write(root: Path, name: str, frame: pd.DataFrame, types: dict[str, pa.DataType], by_day: str | None = None):
    table = pa.Table.from_pandas(frame, schema=pa.schema([(c, types[c]) for c in frame.columns]), preserve_index=False)
    folder = root / name
    if by_day is None:
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "export-000.parquet")
        return
    days = frame[by_day].dt.tz_convert("UTC").dt.date.astype(str)
    for day in sorted(days.unique()):
        part = folder / f"event_date={day}"
        part.mkdir(parents=True)
        pq.write_table(table.filter(pa.array((days == day).to_numpy())), part / "export-000.parquet")


def _category(tag) -> str | None:
    """KuaiRand's first tag of a video ("42,18" -> "tag-42"); none when it has no tag."""
    return None if pd.isna(tag) else f"tag-{str(tag).split(',')[0]}"


def _local(day: np.ndarray, seconds: np.ndarray) -> pd.Series:
    """Local (KST) day offset + seconds into it, as tz-aware Asia/Seoul times."""
    base = pd.Timestamp(LOCAL_START).tz_convert("Asia/Seoul")
    return pd.Series(base + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s"))


def write(root: Path, seed: int = 11) -> dict[str, pd.DataFrame]:
    """Write the landing under `root`; return every table as written (times tz-aware)."""
    rng = np.random.default_rng(seed)
    videos = pd.read_csv(DATA / "videos.csv")
    kuai_users = pd.read_csv(DATA / "users.csv")
    data_end = pd.Timestamp("2022-05-08", tz="Asia/Seoul")

    users = pd.DataFrame({"user_id": kuai_users.user_id.astype(str)})
    created = data_end - pd.to_timedelta(kuai_users.register_days, unit="D")
    old = np.arange(len(users)) % OLD_USERS_EVERY == 0
    created[old] = pd.Timestamp("2007-03-01", tz="Asia/Seoul") + pd.to_timedelta(rng.integers(0, 300, old.sum()), "D")
    users["created_at"] = created
    users["country"] = np.where(rng.random(len(users)) < 0.9, "KR", None)

    authors = np.sort(videos.author_id.unique())
    streamers = pd.DataFrame({"streamer_id": authors.astype(str)})
    streamers["display_name"] = [f"크리에이터 {a}" for a in authors]
    first_tag = videos.groupby("author_id").tag.first().reindex(authors)
    streamers["primary_category"] = first_tag.map(_category).values
    streamers["country"] = "CN"
    streamers["created_at"] = pd.Timestamp("2009-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 13 * 365, len(authors)), unit="D"
    )

    vods = pd.DataFrame({"vod_id": videos.video_id.astype(str), "streamer_id": videos.author_id.astype(str)})
    vods["vod_type"] = videos.upload_type.map(VOD_TYPES).fillna(videos.upload_type).values
    vods["category"] = videos.tag.map(_category).values
    vods["title"] = [f"영상 {v}" for v in videos.video_id]
    vods["duration_seconds"] = videos.video_duration / 1000.0
    uploaded = pd.to_datetime(videos.upload_dt).dt.tz_localize("Asia/Seoul")
    vods["created_at"] = (uploaded + pd.to_timedelta(rng.integers(0, 86_400, len(videos)), unit="s")).to_numpy()
    vods["created_at"] = vods.created_at.dt.tz_convert("Asia/Seoul")
    vods["broadcast_id"] = None

    # views: Poisson per local day by activity; videos by Zipf over a shuffled catalogue; evening sessions
    rate = kuai_users.user_active_degree.map(VIEWS_PER_DAY).fillna(1.0).to_numpy()
    popularity = 1.0 / np.arange(1, len(vods) + 1) ** 1.1
    popularity = rng.permutation(popularity / popularity.sum())
    household = rng.integers(0, len(users) // 3, len(users))  # ~3 people share a home IP
    rows = []
    for day in range(4):
        counts = rng.poisson(rate)
        for u in np.flatnonzero(counts):
            n = int(counts[u])
            vod = rng.choice(len(vods), n, p=popularity)
            duration = vods.duration_seconds.to_numpy()[vod]
            watched = np.round(duration * rng.beta(1.2, 2.0, n), 1)
            start = rng.normal(21.5, 3.0) * 3600  # local evening, sometimes past midnight
            started = start + np.cumsum(watched + rng.uniform(3, 240, n)) - watched
            for v, s, w in zip(vod, started, watched, strict=True):
                rows.append((u, v, day, s, w))
    u, v, day, s, w = (np.array(c) for c in zip(*rows, strict=True))
    views = pd.DataFrame({"event_id": (9_000_000_000 + np.arange(len(u))).astype(str)})
    views["user_id"] = users.user_id.to_numpy()[u]
    views["vod_id"] = vods.vod_id.to_numpy()[v]
    views["started_at"] = _local(day, np.clip(s, 0, (4 - day) * 86_400 + 8 * 3600)).dt.floor("ms")
    views["watched_seconds"] = w
    views["client"] = rng.choice(["android", "iphone", "pc"], len(u), p=[0.6, 0.3, 0.1])
    views["ip_hash"] = [_ip(h) for h in household[u]]
    views["surface"] = rng.choice(["feed", "search", "profile"], len(u), p=[0.8, 0.1, 0.1])

    # live: the 5 authors with the most videos broadcast every local evening (the last one still live)
    top = videos.author_id.value_counts().index[:5].astype(str)
    casts = []
    for d in range(4):
        for i, streamer in enumerate(top):
            start = _local(np.array([d]), np.array([19 * 3600 + i * 900]))[0]
            end = None if d == 3 and i == 0 else start + pd.Timedelta(hours=3)
            casts.append((f"{700000 + d * 10 + i}", streamer, "tag-live", f"방송 {d}-{i}", start, end))
    columns = ["broadcast_id", "streamer_id", "category", "title", "started_at", "ended_at"]
    broadcasts = pd.DataFrame(casts, columns=columns)
    joiners = rng.choice(len(users), 200)
    cast_of = rng.integers(0, len(broadcasts), len(joiners))
    joined = broadcasts.started_at.iloc[cast_of].reset_index(drop=True) + pd.to_timedelta(
        rng.integers(0, 3600, len(joiners)), "s"
    )
    live = pd.DataFrame({
        "event_id": (8_000_000_000 + np.arange(len(joiners))).astype(str),
        "user_id": users.user_id.to_numpy()[joiners],
        "broadcast_id": broadcasts.broadcast_id.to_numpy()[cast_of],
        "joined_at": joined,
        "left_at": joined + pd.to_timedelta(rng.integers(60, 3600, len(joiners)), "s"),
        "client": rng.choice(["android", "iphone", "pc"], len(joiners)),
        "ip_hash": [_ip(h) for h in household[joiners]],
    })  # fmt: skip

    # follows: a user follows the author of a video they watched twice or more, before the data starts
    pairs = views.merge(vods[["vod_id", "streamer_id"]], on="vod_id").groupby(["user_id", "streamer_id"]).size()
    follows = pairs[pairs >= 2].reset_index()[["user_id", "streamer_id"]]
    follows["followed_at"] = pd.Timestamp("2022-04-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 28 * 86_400, len(follows)), unit="s"
    )

    string = pa.string()
    tables = {
        "users": (users, {"user_id": string, "created_at": SEOUL_MS, "country": string}, None),
        "streamers": (
            streamers,
            {"streamer_id": string, "display_name": string, "primary_category": string, "country": string,
             "created_at": UTC_US},
            None,
        ),
        "vods": (
            vods,
            {"vod_id": string, "streamer_id": string, "vod_type": string, "category": string, "title": string,
             "duration_seconds": pa.float64(), "created_at": SEOUL_MS, "broadcast_id": string},
            None,
        ),
        "watch_events": (
            views,
            {"event_id": string, "user_id": string, "vod_id": string, "started_at": SEOUL_MS,
             "watched_seconds": pa.float64(), "client": string, "ip_hash": string, "surface": string},
            "started_at",
        ),
        "broadcasts": (
            broadcasts,
            {"broadcast_id": string, "streamer_id": string, "category": string, "title": string,
             "started_at": SEOUL_MS, "ended_at": SEOUL_MS},
            None,
        ),
        "live_watch_events": (
            live,
            {"event_id": string, "user_id": string, "broadcast_id": string, "joined_at": SEOUL_MS,
             "left_at": SEOUL_MS, "client": string, "ip_hash": string},
            "joined_at",
        ),
        "follows": (follows, {"user_id": string, "streamer_id": string, "followed_at": UTC_US}, None),
    }  # fmt: skip
    for name, (frame, types, by_day) in tables.items():
        _write(root, name, frame, types, by_day)
    return {name: frame for name, (frame, _, _) in tables.items()}
