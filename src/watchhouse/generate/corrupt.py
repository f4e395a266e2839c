"""Contract-breaking rows (DESIGN.md section 3), planted on purpose.

About `share` of each table's rows break the contract, spread over every kind
that applies to the table. Event tables are corrupted in place (plus appended
duplicates); entity tables get extra bad rows that nothing references, so a
bad entity never drags good events into quarantine. Every planted row is
written to `_generator/contract_violations` with the reason code the
pipeline must give it; the codes are the ones in seeds/quarantine_reasons.csv.

Doubtful non-key attributes of dimension rows (a sign-up in 1975 or 2099, a
broadcast that ends before it starts) are planted in place on existing rows
that facts reference: the pipeline must keep the row with the attribute nulled
and every fact that references it (docs/landing.md "Doubtful attributes").
They are listed in `_generator/doubtful_attributes`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from watchhouse.contract import PLATFORM_START_BOUND, LandingTable

EVENT_KINDS = {
    "watch_events": (
        "null_key", "null_timestamp", "timestamp_before_platform", "timestamp_in_future",
        "duplicate_key", "non_finite_seconds", "negative_seconds", "unknown_user",
        "unknown_vod", "watch_exceeds_duration",
    ),
    "live_watch_events": (
        "null_key", "null_timestamp", "timestamp_before_platform", "timestamp_in_future",
        "duplicate_key", "unknown_user", "unknown_broadcast", "invalid_interval",
    ),
}  # fmt: skip
ENTITY_KINDS = {
    "streamers": ("null_key", "duplicate_key"),
    "users": ("null_key", "duplicate_key"),
    "vods": ("null_key", "duplicate_key", "unknown_streamer", "unknown_vod_type"),
    "broadcasts": ("null_key", "duplicate_key", "unknown_streamer"),
    "follows": ("null_key", "duplicate_key", "unknown_user", "unknown_streamer", "timestamp_before_platform"),
}  # fmt: skip
# extra entity rows whose only fault is one attribute: kept (docs/landing.md "Doubtful attributes"), so
# labelled as a doubtful attribute, not a quarantine reason (split_kept)
KEPT_KINDS = {
    ("vods", "unknown_vod_type"): "vod_type",
    # a streamer no streamers file lists: the VOD or broadcast is kept, its streamer an inferred member
    ("vods", "unknown_streamer"): "streamer_id",
    ("broadcasts", "unknown_streamer"): "streamer_id",
}
# (attribute, reason) planted in place: the row is kept, the attribute nulled
ATTRIBUTE_KINDS = {
    "streamers": (
        ("created_at", "timestamp_before_platform"), ("created_at", "timestamp_in_future"),
        ("created_at", "null_timestamp"),
    ),
    "users": (
        ("created_at", "timestamp_before_platform"), ("created_at", "timestamp_in_future"),
        ("created_at", "null_timestamp"),
    ),
    "vods": (
        ("created_at", "timestamp_before_platform"), ("created_at", "timestamp_in_future"),
        ("duration_seconds", "invalid_duration"), ("broadcast_id", "unknown_broadcast"),
    ),
    "broadcasts": (("started_at", "timestamp_before_platform"), ("started_at", "invalid_interval")),
}  # fmt: skip


def _past(rng, n: int) -> pd.Series:
    """Before the contract's bound: 1970-01-01 (epoch zero, the usual sentinel) or a day of 1970-1989."""
    base = pd.Timestamp(PLATFORM_START_BOUND, tz="UTC")
    days = rng.integers(1, 20 * 365, n)
    days[rng.random(n) < 0.5] = (base - pd.Timestamp("1970-01-01", tz="UTC")).days
    return pd.Series(base - pd.to_timedelta(days, unit="D"))


def _future(rng, end: dt.date, n: int) -> pd.Series:
    base = pd.Timestamp(end, tz="UTC")
    return pd.Series(base + pd.to_timedelta(rng.integers(30, 3650, n), unit="D"))


def _split(rng, candidates: np.ndarray, kinds: tuple[str, ...], share: float, n_rows: int) -> dict[str, np.ndarray]:
    """Disjoint row positions per kind, together ~share of n_rows (at least one each)."""
    per_kind = max(1, round(n_rows * share / len(kinds)))
    take = min(len(candidates), per_kind * len(kinds))
    chosen = rng.choice(candidates, take, replace=False)
    return {k: chosen[i * per_kind : (i + 1) * per_kind] for i, k in enumerate(kinds)}


def corrupt_events(
    df: pd.DataFrame, table: LandingTable, share: float, end: dt.date, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[tuple[str, str, str | None]]]:
    """Corrupt an event chunk in place. `df` carries helper columns `_clean`
    (row may be corrupted) and, for watch events, `_duration`. Returns the
    frame and (table, reason, key) labels."""
    kinds = EVENT_KINDS[table.name]
    ts = table.dated_by
    pos = _split(rng, np.flatnonzero(df["_clean"].to_numpy()), kinds, share, len(df))
    labels: list[tuple[str, str, str | None]] = []
    dups = []
    for kind, rows in pos.items():
        if len(rows) == 0:
            continue
        idx = df.index[rows]
        if kind == "null_key":
            for i, col in zip(idx, rng.choice(["event_id", "user_id", table.schema.names[2]], len(idx)), strict=True):
                df.at[i, col] = None
        elif kind == "null_timestamp":
            df.loc[idx, ts] = pd.NaT
        elif kind in ("timestamp_before_platform", "timestamp_in_future"):
            new = _past(rng, len(idx)) if kind == "timestamp_before_platform" else _future(rng, end, len(idx))
            shift = new.to_numpy() - df.loc[idx, ts].to_numpy()
            df.loc[idx, ts] = new.to_numpy()
            if "left_at" in df:
                df.loc[idx, "left_at"] = df.loc[idx, "left_at"].to_numpy() + shift
        elif kind == "duplicate_key":
            dups.append(df.loc[idx])
        elif kind == "non_finite_seconds":
            df.loc[idx, "watched_seconds"] = rng.choice([np.nan, np.inf, -np.inf], len(idx))
        elif kind == "negative_seconds":
            df.loc[idx, "watched_seconds"] = -df.loc[idx, "watched_seconds"] - 1.0
        elif kind == "unknown_user":
            df.loc[idx, "user_id"] = [f"u_missing_{rng.integers(1e9)}" for _ in idx]
        elif kind == "unknown_vod":
            df.loc[idx, "vod_id"] = [f"v_missing_{rng.integers(1e9)}" for _ in idx]
        elif kind == "unknown_broadcast":
            df.loc[idx, "broadcast_id"] = [f"b_missing_{rng.integers(1e9)}" for _ in idx]
        elif kind == "watch_exceeds_duration":
            df.loc[idx, "watched_seconds"] = np.round(df.loc[idx, "_duration"] * 5 + 600, 1)
        elif kind == "invalid_interval":
            df.loc[idx, "left_at"] = df.loc[idx, "joined_at"] - pd.to_timedelta(
                rng.integers(60, 3600, len(idx)), unit="s"
            )
        labels += [(table.name, kind, k) for k in df.loc[idx, "event_id"].tolist()]
    if dups:
        df = pd.concat([df, *dups], ignore_index=True)
    return df, labels


def bad_entity_rows(
    df: pd.DataFrame, table: LandingTable, share: float, end: dt.date, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[tuple[str, str, str | None]]]:
    """Extra rows that break the contract, one block per kind, for an entity table."""
    kinds = ENTITY_KINDS[table.name]
    pos = _split(rng, np.arange(len(df)), kinds, share, len(df))
    key = table.key[0]
    ts = table.dated_by
    out, labels = [], []
    for kind, rows in pos.items():
        bad = df.iloc[rows].copy()
        n = len(bad)
        if kind == "null_key":
            col = table.key[int(rng.integers(len(table.key)))]
            bad[col] = None
        elif kind == "duplicate_key":
            # a later, conflicting copy: the earliest row of a key is the one kept
            # (all its timestamps move together, so the copy breaks no other rule)
            late = bad[ts] + pd.to_timedelta(rng.integers(1, 5 * 86400, n), unit="s")
            shift = np.minimum(late, pd.Timestamp(end, tz="UTC")) - bad[ts]
            for col, dtype in zip(table.schema.names, table.schema.types, strict=True):
                if pa.types.is_timestamp(dtype):
                    bad[col] = bad[col] + shift
            bad = bad[shift > pd.Timedelta(0)]
            other = [c for c in table.schema.names if c not in table.key and c != ts]
            if other and bad[other[0]].dtype == object:
                bad[other[0]] = bad[other[0]].fillna("") + " (resent)"
        else:
            if table.name != "follows":
                bad[key] = [f"{k}_bad{i}" for i, k in enumerate(bad[key])]
            if kind == "timestamp_before_platform":
                bad[ts] = _past(rng, n).to_numpy()
            elif kind == "timestamp_in_future":
                bad[ts] = _future(rng, end, n).to_numpy()
            elif kind == "unknown_streamer":
                bad["streamer_id"] = [f"s_missing_{rng.integers(1e9)}" for _ in range(n)]
            elif kind == "unknown_user":
                bad["user_id"] = [f"u_missing_{rng.integers(1e9)}" for _ in range(n)]
            elif kind == "unknown_vod_type":
                bad["vod_type"] = rng.choice(["livestream", "REPLAY", ""], n)
            elif kind == "unknown_broadcast":
                bad["broadcast_id"] = [f"b_missing_{rng.integers(1e9)}" for _ in range(n)]
            elif kind == "invalid_interval":
                bad["ended_at"] = bad["started_at"] - pd.to_timedelta(rng.integers(60, 3600, n), unit="s")
        keys = bad[list(table.key)].astype(object).where(bad[list(table.key)].notna(), None)
        labels += [
            (table.name, kind, None if any(v is None for v in r) else "|".join(r))
            for r in keys.itertuples(index=False, name=None)
        ]
        out.append(bad)
    return pd.concat([df, *out], ignore_index=True), labels


def doubtful_attributes(
    df: pd.DataFrame, table: LandingTable, share: float, end: dt.date, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[tuple[str, str, str, str]]]:
    """Make one attribute doubtful, in place, on about `share` of an entity table's rows (each kind on rows
    where it can apply: a VOD cut from a broadcast, a broadcast that has ended). Returns the frame and
    (table, attribute, reason, key) labels."""
    kinds = ATTRIBUTE_KINDS.get(table.name, ())
    labels: list[tuple[str, str, str, str]] = []
    if not kinds:
        return df, labels
    key = table.key[0]
    per_kind = max(1, round(len(df) * share / len(kinds)))
    free = np.ones(len(df), dtype=bool)
    for attribute, reason in kinds:
        eligible = free.copy()
        if reason == "unknown_broadcast":
            eligible &= df["broadcast_id"].notna().to_numpy()
        if reason == "invalid_interval":
            eligible &= df["ended_at"].notna().to_numpy()
        rows = rng.choice(np.flatnonzero(eligible), min(per_kind, int(eligible.sum())), replace=False)
        free[rows] = False
        idx = df.index[rows]
        if reason == "timestamp_before_platform":
            df.loc[idx, attribute] = _past(rng, len(idx)).to_numpy()
        elif reason == "timestamp_in_future":
            df.loc[idx, attribute] = _future(rng, end, len(idx)).to_numpy()
        elif reason == "null_timestamp":
            df.loc[idx, attribute] = pd.NaT
        elif reason == "invalid_duration":
            df.loc[idx, attribute] = rng.choice([0.0, -30.0, np.nan, np.inf], len(idx))
        elif reason == "unknown_broadcast":
            df.loc[idx, attribute] = [f"b_missing_{rng.integers(1e9)}" for _ in idx]
        elif reason == "invalid_interval":  # ends before it starts: the start is the doubtful attribute
            df.loc[idx, attribute] = df.loc[idx, "ended_at"] + pd.to_timedelta(rng.integers(60, 3600, len(idx)), "s")
        labels += [(table.name, attribute, reason, k) for k in df.loc[idx, key].tolist()]
    return df, labels


def split_kept(
    labels: list[tuple[str, str, str | None]],
) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, str, str, str]]]:
    """bad_entity_rows' labels -> (quarantine labels, doubtful-attribute labels of the KEPT_KINDS rows)."""
    quarantined = [label for label in labels if (label[0], label[1]) not in KEPT_KINDS]
    kept = [(t, KEPT_KINDS[(t, kind)], kind, key) for t, kind, key in labels if (t, kind) in KEPT_KINDS]
    return quarantined, kept
