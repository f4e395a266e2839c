"""The landing contract (DESIGN.md section 3) as Arrow schemas.

One definition, used by the demo generator (to write), by the landing check
(to validate before Spark starts) and by the docs. Column order is the
contract's order. All timestamps are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class LandingTable:
    """One landing table: its schema, key, and the column that dates a row."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    dated_by: str
    required: bool = True
    partitioned: bool = False


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in cols])


STREAMERS = LandingTable(
    "streamers",
    _schema(
        ("streamer_id", pa.string()),
        ("display_name", pa.string()),
        ("primary_category", pa.string()),
        ("country", pa.string()),
        ("created_at", TS),
    ),
    key=("streamer_id",),
    dated_by="created_at",
)
USERS = LandingTable(
    "users",
    _schema(("user_id", pa.string()), ("created_at", TS), ("country", pa.string())),
    key=("user_id",),
    dated_by="created_at",
)
VODS = LandingTable(
    "vods",
    _schema(
        ("vod_id", pa.string()),
        ("streamer_id", pa.string()),
        ("vod_type", pa.string()),
        ("category", pa.string()),
        ("title", pa.string()),
        ("duration_seconds", pa.float64()),
        ("created_at", TS),
        ("broadcast_id", pa.string()),
    ),
    key=("vod_id",),
    dated_by="created_at",
)
WATCH_EVENTS = LandingTable(
    "watch_events",
    _schema(
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("vod_id", pa.string()),
        ("started_at", TS),
        ("watched_seconds", pa.float64()),
        ("client", pa.string()),
        ("ip_hash", pa.string()),
        ("surface", pa.string()),
    ),
    key=("event_id",),
    dated_by="started_at",
    partitioned=True,
)
BROADCASTS = LandingTable(
    "broadcasts",
    _schema(
        ("broadcast_id", pa.string()),
        ("streamer_id", pa.string()),
        ("category", pa.string()),
        ("title", pa.string()),
        ("started_at", TS),
        ("ended_at", TS),
    ),
    key=("broadcast_id",),
    dated_by="started_at",
)
LIVE_WATCH_EVENTS = LandingTable(
    "live_watch_events",
    _schema(
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("broadcast_id", pa.string()),
        ("joined_at", TS),
        ("left_at", TS),
        ("client", pa.string()),
        ("ip_hash", pa.string()),
    ),
    key=("event_id",),
    dated_by="joined_at",
    partitioned=True,
)
FOLLOWS = LandingTable(
    "follows",
    _schema(("user_id", pa.string()), ("streamer_id", pa.string()), ("followed_at", TS)),
    key=("user_id", "streamer_id"),
    dated_by="followed_at",
)
ABUSE_LABELS = LandingTable(
    "abuse_labels",
    _schema(("event_id", pa.string()), ("abuse_kind", pa.string())),
    key=("event_id",),
    dated_by="",
    required=False,
)

TABLES: tuple[LandingTable, ...] = (
    STREAMERS,
    USERS,
    VODS,
    WATCH_EVENTS,
    BROADCASTS,
    LIVE_WATCH_EVENTS,
    FOLLOWS,
)
RECOMMENDATIONS_SERVED = LandingTable(
    "recommendations_served",
    _schema(
        ("served_at", TS),
        ("model_name", pa.string()),
        ("user_id", pa.string()),
        ("item_type", pa.string()),
        ("item_id", pa.string()),
        ("rank", pa.int64()),
    ),
    key=("model_name", "user_id", "served_at", "rank"),
    dated_by="served_at",
    required=False,
)

OPTIONAL_TABLES: tuple[LandingTable, ...] = (ABUSE_LABELS, RECOMMENDATIONS_SERVED)
BY_NAME = {t.name: t for t in TABLES + OPTIONAL_TABLES}

VOD_TYPES = ("replay", "highlight", "clip", "shortform", "upload")
# dbt var platform_start_date's default: a timestamp before it is a sentinel (1970-01-01, 1900-01-01), not an
# old account; a platform's history can reach back decades (docs/landing.md)
PLATFORM_START_BOUND = "1990-01-01"
