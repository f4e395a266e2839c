"""A tiny landing folder written by hand (not by the generator), with one row
per contract rule and the reason each row must get. Unpartitioned event
tables, so the timestamp-dating path of the pipeline is the one exercised."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from watchhouse import contract as c


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


AS_OF = "2026-11-02"
NAN, INF = float("nan"), float("inf")

# rows: (values..., expected reason or None). Days: 2026-11-01 and 2026-11-02 hold data; 11-03 is "tomorrow".
STREAMERS = [
    ("s1", "One", "music", "KR", t("2025-01-01 00:00"), None),
    ("s2", "Two", "chess", "US", t("2025-02-01 00:00"), None),
    ("s2", "Two again", "chess", "US", t("2025-03-01 00:00"), "duplicate_key"),
    (None, "Nobody", "chess", "US", t("2025-03-01 00:00"), "null_key"),
    ("s3", "Old", "chess", "US", t("2012-03-01 00:00"), None),  # an old account is an ordinary account
    ("s4", "Epoch", "chess", "US", t("1970-01-01 00:00"), None),  # a sentinel date: kept, created_at nulled
]
USERS = [
    ("u1", t("2024-01-01 00:00"), "KR", None),
    ("u2", t("2024-01-01 00:00"), "KR", None),
    ("u3", t("2099-01-01 00:00"), "KR", None),  # doubtful created_at: kept, nulled
    ("u4", None, "KR", None),  # no created_at: kept
    ("u5", t("2026-11-03 05:00"), "KR", "after_batch"),  # registers tomorrow: not in this batch at all
]
BROADCASTS = [
    ("b1", "s1", "music", "live", t("2026-11-01 10:00"), t("2026-11-01 12:00"), None),
    ("b2", "s2", "chess", "live", t("2026-11-02 10:00"), None, None),  # still live
    # s9 is in no streamers file: the broadcast is kept, its streamer an inferred member (docs/landing.md)
    ("b3", "s9", "chess", "live", t("2026-11-02 10:00"), t("2026-11-02 11:00"), None),
    ("b4", "s1", "music", "live", t("2026-11-02 10:00"), t("2026-11-02 09:00"), None),  # ends first: start nulled
    # no streamer at all: kept under the unknown member '(unknown)', and so are its live views
    ("b5", None, "music", "live", t("2026-11-02 12:00"), t("2026-11-02 13:00"), None),
]
VODS = [
    ("v1", "s1", "replay", "music", "r", 7200.0, t("2026-11-01 12:05"), "b1", None),
    ("v2", "s1", "clip", "music", "c", 30.0, t("2026-11-01 12:30"), "b1", None),
    ("v3", "s2", "upload", None, "u", 600.0, t("2026-10-01 00:00"), None, None),  # no category: allowed
    ("v4", "s2", "upload", "chess", "u", -1.0, t("2026-10-01 00:00"), None, None),  # kept, duration nulled
    ("v5", "s2", "stream", "chess", "u", 60.0, t("2026-10-01 00:00"), None, None),  # kept, as type '(unknown)'
    ("v6", "s2", "clip", "chess", "u", 60.0, t("2026-10-01 00:00"), "b99", None),  # kept, broadcast_id nulled
    ("v7", "s3", "clip", "chess", "u", 60.0, t("2026-10-01 00:00"), None, None),  # its streamer is old, not bad
    ("v8", "s9", "clip", "chess", "u", 60.0, t("2026-10-01 00:00"), None, None),  # kept, like b3
    # a duration landed in minutes: every view is longer than it allows - the duration is doubtful, not the views
    ("v10", "s2", "clip", "chess", "u", 2.0, t("2026-10-01 00:00"), None, None),
    # no streamer at all: kept under the unknown member '(unknown)', like b5
    ("v11", None, "clip", "music", "u", 60.0, t("2026-10-01 00:00"), None, None),
]
WATCH = [
    ("e1", "u1", "v1", t("2026-11-01 13:00"), 600.0, "web", "ip1", "home", None),
    ("e2", "u2", "v2", t("2026-11-02 13:00"), 30.0, "ios", "ip2", "home", None),
    ("e3", "u1", "v3", t("2026-11-02 23:30"), 100.0, "web", "ip1", "home", None),
    ("e3", "u1", "v3", t("2026-11-02 23:30"), 100.0, "web", "ip1", "home", "duplicate_key"),
    ("e4", "u1", "v2", t("2026-11-02 14:00"), -3.0, "web", "ip1", "home", "negative_seconds"),
    ("e5", "u1", "v2", t("2026-11-02 14:00"), NAN, "web", "ip1", "home", "non_finite_seconds"),
    ("e6", "u1", "v2", t("2026-11-02 14:00"), INF, "web", "ip1", "home", "non_finite_seconds"),
    ("e7", "u9", "v2", t("2026-11-02 14:00"), 10.0, "web", "ip1", "home", "unknown_user"),
    ("e8", "u1", "v9", t("2026-11-02 14:00"), 10.0, "web", "ip1", "home", "unknown_vod"),
    # its VOD's duration is doubtful: the VOD is kept, and so is the view (valued in its type's typical bucket)
    ("e9", "u1", "v4", t("2026-11-02 14:00"), 10.0, "web", "ip1", "home", None),
    ("e10", "u1", "v2", t("2026-11-02 14:00"), 30.0 * 3 + 60 + 1, "web", "ip1", "home", "watch_exceeds_duration"),
    ("e11", "u1", "v2", t("2026-11-02 14:00"), 30.0 * 3 + 60, "web", "ip1", "home", None),  # exactly at the limit
    ("e12", None, "v2", t("2026-11-02 14:00"), 10.0, "web", "ip1", "home", "null_key"),
    ("e13", "u1", "v2", t("1985-11-02 14:00"), 10.0, "web", "ip1", "home", "timestamp_before_platform"),
    ("e14", "u1", "v2", t("2031-11-02 14:00"), 10.0, "web", "ip1", "home", "timestamp_in_future"),
    ("e15", "u1", "v2", None, 10.0, "web", "ip1", "home", "null_timestamp"),
    ("e16", "u2", "v1", t("2026-11-03 02:00"), 50.0, "web", "ip1", "home", "after_batch"),
    # u3's created_at is doubtful: the user is kept, and so are its views
    ("e17", "u3", "v1", t("2026-11-02 02:00"), 50.0, "web", "ip1", "home", None),
    # v5's type is one the seed does not know: the VOD is kept, and so are its views
    ("e18", "u2", "v5", t("2026-11-02 15:00"), 40.0, "web", "ip2", "home", None),
    # v8's streamer is in no streamers file: the VOD is kept, and so are its views
    ("e19", "u2", "v8", t("2026-11-02 16:00"), 40.0, "web", "ip2", "home", None),
    # v10's duration (2.0) is doubtful: its views are accepted, valued without a watch ratio
    ("e20", "u1", "v10", t("2026-11-02 17:00"), 100.0, "web", "ip1", "home", None),
    ("e21", "u2", "v10", t("2026-11-02 17:00"), 110.0, "web", "ip2", "home", None),
    ("e22", "u3", "v10", t("2026-11-02 17:00"), 120.0, "web", "ip1", "home", None),
    # v11 landed without a streamer: the VOD is kept, and so is its view
    ("e23", "u2", "v11", t("2026-11-02 18:00"), 45.0, "web", "ip2", "home", None),
]
LIVE = [
    ("l1", "u1", "b1", t("2026-11-01 10:30"), t("2026-11-01 11:00"), "web", "ip1", None),
    ("l2", "u2", "b2", t("2026-11-02 10:30"), t("2026-11-02 11:00"), "web", "ip2", None),
    ("l3", "u2", "b3", t("2026-11-02 10:30"), t("2026-11-02 11:00"), "web", "ip2", None),  # b3 is kept
    ("l4", "u2", "b1", t("2026-11-01 10:30"), t("2026-11-01 10:00"), "web", "ip2", "invalid_interval"),
    ("l5", "u7", "b1", t("2026-11-01 10:30"), t("2026-11-01 11:00"), "web", "ip2", "unknown_user"),
    ("l6", "u1", "b5", t("2026-11-02 12:10"), t("2026-11-02 12:40"), "web", "ip1", None),  # b5 is kept
]
FOLLOWS = [
    ("u1", "s1", t("2025-06-01 00:00"), None),
    ("u1", "s1", t("2025-07-01 00:00"), "duplicate_key"),
    ("u2", "s8", t("2025-06-01 00:00"), "unknown_streamer"),  # s8: in no file at all
    ("u2", "s9", t("2025-06-01 00:00"), None),  # s9: named by v8 and b3, an inferred member
    ("u8", "s1", t("2025-06-01 00:00"), "unknown_user"),
    ("u2", None, t("2025-06-01 00:00"), "null_key"),
]

# accepted dimension rows kept with a doubtful attribute nulled: (table, key) -> landing_doubtful_attributes
DOUBTFUL = {
    ("streamers", "s4"): "created_at 1970-01-01 00:00:00: timestamp_before_platform",
    ("users", "u3"): "created_at 2099-01-01 00:00:00: timestamp_in_future",
    ("users", "u4"): "created_at null: null_timestamp",
    ("broadcasts", "b4"): "started_at 2026-11-02 10:00:00: invalid_interval",
    ("vods", "v4"): "duration_seconds -1.0: invalid_duration",
    ("vods", "v6"): "broadcast_id b99: unknown_broadcast",
    ("vods", "v5"): "vod_type stream: unknown_vod_type",
    ("vods", "v8"): "streamer_id s9: unknown_streamer",
    ("vods", "v10"): "duration_seconds 2.0: shorter_than_its_views",
    ("broadcasts", "b3"): "streamer_id s9: unknown_streamer",
    ("vods", "v11"): "streamer_id null: missing_streamer",
    ("broadcasts", "b5"): "streamer_id null: missing_streamer",
}

TABLES = {
    c.STREAMERS: STREAMERS,
    c.USERS: USERS,
    c.BROADCASTS: BROADCASTS,
    c.VODS: VODS,
    c.WATCH_EVENTS: WATCH,
    c.LIVE_WATCH_EVENTS: LIVE,
    c.FOLLOWS: FOLLOWS,
}


def write(root: Path) -> dict[str, list[tuple]]:
    """Write the landing folder; return, per table, (row key, expected reason) pairs."""
    expected = {}
    for table, rows in TABLES.items():
        cols = list(zip(*[r[:-1] for r in rows], strict=True))
        data = pa.table({f.name: pa.array(list(col), type=f.type) for f, col in zip(table.schema, cols, strict=True)})
        (root / table.name).mkdir(parents=True)
        pq.write_table(data, root / table.name / "part-0.parquet")
        expected[table.name] = [(r[: len(table.key)] if table.name == "follows" else r[0], r[-1]) for r in rows]
    return expected
