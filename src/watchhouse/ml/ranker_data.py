"""Features and training pairs of the multi-task ranker, from the watch log as of a
cut-off time (numpy only; no Spark).

The ranker learns on the batch day D: features from the views before D, labels
from D (did the user watch the candidate, with what view value); at serving the
same features are computed from the views up to the end of D for candidates of
D + 1. A feature never reads a view at or after its cut-off. Negatives are drawn
the way candidates arrive: half from VODs of streamers the user watched (hard),
half by popularity (easy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from watchhouse.ml.data import Catalogue, WatchLog

FEATURES = (
    "user_views",  # log1p(views before the cut-off in the window)
    "user_streamer_views",  # log1p(the user's views of the item's streamer)
    "user_streamer_value",  # log1p(summed view value of those views)
    "user_streamer_days_since",  # days since the user last watched the streamer (capped at 30; 30 = never)
    "user_category_share",  # share of the user's views in the item's category
    "user_type_share",  # share of the user's views of the item's VOD type
    "user_seen_item",  # 1 if the user watched this VOD before
    "item_viewers_7d",  # log1p(distinct viewers in the 7 days before the cut-off)
    "item_mean_value",  # mean view value, shrunk toward the global mean with 5 pseudo-views
    "item_age_days",  # days from creation to the cut-off (0 for items created later: never served)
    "streamer_viewers_7d",  # log1p(distinct viewers of the streamer in those 7 days)
)
CATEGORICAL = ("vod_type", "duration_bucket")
DAY = 86_400


def _key(a: np.ndarray, b: np.ndarray, width: int) -> np.ndarray:
    return a.astype(np.int64) * width + b.astype(np.int64)


@dataclass(frozen=True)
class _Table:
    """Sorted int64 keys -> values: a vectorised lookup with a default."""

    keys: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, keys: np.ndarray, values: np.ndarray) -> _Table:
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], values[order])

    def get(self, query: np.ndarray, default: float) -> np.ndarray:
        if len(self.keys) == 0:
            return np.full(len(query), default, dtype=np.float64)
        pos = np.clip(np.searchsorted(self.keys, query), 0, len(self.keys) - 1)
        found = self.keys[pos] == query
        return np.where(found, self.values[pos], default)


def _grouped(keys: np.ndarray, values: np.ndarray | None = None, how: str = "count") -> _Table:
    unique, inverse = np.unique(keys, return_inverse=True)
    if how == "count":
        out = np.bincount(inverse).astype(np.float64)
    elif how == "sum":
        out = np.bincount(inverse, weights=values)
    else:  # max
        out = np.full(len(unique), -np.inf)
        np.maximum.at(out, inverse, values)
    return _Table(unique, out)


@dataclass(frozen=True)
class History:
    """Aggregates of the views before `cutoff` (epoch seconds)."""

    cutoff: int
    user_views: np.ndarray
    user_streamer_views: _Table
    user_streamer_value: _Table
    user_streamer_last: _Table
    user_category: _Table
    user_type: _Table
    seen: np.ndarray  # sorted user x item keys
    item_viewers_7d: np.ndarray
    item_mean_value: np.ndarray
    streamer_viewers_7d: np.ndarray
    widths: tuple[int, int, int, int]  # items, streamers, categories, types


def history_at(log: WatchLog, catalogue: Catalogue, cutoff: int, n_users: int) -> History:
    before = log.ts < cutoff
    u, it, ts, value = log.user[before], log.item[before], log.ts[before], log.value[before].astype(np.float64)
    n_items, n_str = catalogue.n_items, int(catalogue.streamer.max(initial=0)) + 1
    n_cat, n_typ = int(catalogue.category.max(initial=0)) + 1, int(catalogue.vod_type.max(initial=0)) + 1
    s, c, t = catalogue.streamer[it], catalogue.category[it], catalogue.vod_type[it]
    us = _key(u, s, n_str)
    recent = ts >= cutoff - 7 * DAY
    item_pairs = np.unique(_key(u[recent], it[recent], n_items))
    streamer_pairs = np.unique(_key(u[recent], s[recent], n_str))
    views = np.bincount(it, minlength=n_items).astype(np.float64)
    value_sum = np.bincount(it, weights=value, minlength=n_items)
    prior = float(value.mean()) if len(value) else 0.5
    return History(
        cutoff=cutoff,
        user_views=np.bincount(u, minlength=n_users).astype(np.float64),
        user_streamer_views=_grouped(us),
        user_streamer_value=_grouped(us, value, "sum"),
        user_streamer_last=_grouped(us, ts.astype(np.float64), "max"),
        user_category=_grouped(_key(u, c, n_cat)),
        user_type=_grouped(_key(u, t, n_typ)),
        seen=np.unique(_key(u, it, n_items)),
        item_viewers_7d=np.bincount(item_pairs % n_items, minlength=n_items).astype(np.float64),
        item_mean_value=(value_sum + 5.0 * prior) / (views + 5.0),
        streamer_viewers_7d=np.bincount(streamer_pairs % n_str, minlength=n_str).astype(np.float64),
        widths=(n_items, n_str, n_cat, n_typ),
    )


def pair_features(
    hist: History, catalogue: Catalogue, users: np.ndarray, items: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dense [N, len(FEATURES)] float32, categorical [N, 2] int64, preference [N]) for user x item pairs."""
    n_items, n_str, n_cat, n_typ = hist.widths
    s, c, t = catalogue.streamer[items], catalogue.category[items], catalogue.vod_type[items]
    us = _key(users, s, n_str)
    total = np.maximum(hist.user_views[users], 1.0)
    last = hist.user_streamer_last.get(us, -np.inf)
    days_since = np.where(np.isfinite(last), (hist.cutoff - last) / DAY, 30.0)
    seen_keys = _key(users, items, n_items)
    pos = np.clip(np.searchsorted(hist.seen, seen_keys), 0, max(len(hist.seen) - 1, 0))
    seen = (hist.seen[pos] == seen_keys) if len(hist.seen) else np.zeros(len(users), dtype=bool)
    streamer_value = hist.user_streamer_value.get(us, 0.0)
    dense = np.column_stack(
        [
            np.log1p(hist.user_views[users]),
            np.log1p(hist.user_streamer_views.get(us, 0.0)),
            np.log1p(streamer_value),
            np.minimum(days_since, 30.0),
            hist.user_category.get(_key(users, c, n_cat), 0.0) / total,
            hist.user_type.get(_key(users, t, n_typ), 0.0) / total,
            seen.astype(np.float64),
            np.log1p(hist.item_viewers_7d[items]),
            hist.item_mean_value[items],
            np.maximum(hist.cutoff - catalogue.created_ts[items], 0) / DAY,
            np.log1p(hist.streamer_viewers_7d[s]),
        ]
    ).astype(np.float32)
    cats = np.column_stack([t, catalogue.duration_bucket[items]]).astype(np.int64)
    return dense, cats, np.log1p(streamer_value).astype(np.float32)


def training_pairs(
    log: WatchLog,
    catalogue: Catalogue,
    label_start: int,
    label_end: int,
    negatives: int,
    seed: int,
    max_positives: int = 200_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, y_watch, y_value): the label window's watched VODs (value = best view
    value) and `negatives` sampled unwatched VODs per positive, existing by label_end."""
    if negatives < 1:
        raise ValueError(f"negatives={negatives}: must be >= 1")
    rng = np.random.default_rng(seed)
    n_items = catalogue.n_items
    label = (log.ts >= label_start) & (log.ts < label_end)
    keys = _key(log.user[label], log.item[label], n_items)
    best = _grouped(keys, log.value[label].astype(np.float64), "max")
    pos_keys, pos_value = best.keys, best.values
    if len(pos_keys) > max_positives:
        pick = np.sort(rng.choice(len(pos_keys), max_positives, replace=False))
        pos_keys, pos_value = pos_keys[pick], pos_value[pick]
    pos_users = pos_keys // n_items
    exists = np.flatnonzero(catalogue.created_ts < label_end)
    if len(pos_keys) == 0 or len(exists) == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0, np.float32), np.empty(0, np.float32)

    # hard negatives: a VOD of the streamer of a random earlier view of the same user
    before = log.ts < label_start
    hu, hi = log.user[before], log.item[before]
    draws = np.repeat(pos_users, negatives)
    hard = _same_streamer_draws(draws, hu, hi, catalogue, exists, rng)
    # easy negatives (and the fallback for users without history): by popularity before the label window
    popularity = np.bincount(hi, minlength=n_items)[exists].astype(np.float64) + 1.0
    easy = exists[rng.choice(len(exists), size=len(draws), p=popularity / popularity.sum())]
    half = rng.random(len(draws)) < 0.5
    neg_items = np.where(half & (hard >= 0), hard, easy)
    neg_keys = np.setdiff1d(np.unique(_key(draws, neg_items, n_items)), pos_keys, assume_unique=True)

    users = np.concatenate([pos_users, neg_keys // n_items])
    items = np.concatenate([pos_keys % n_items, neg_keys % n_items])
    y_watch = np.concatenate([np.ones(len(pos_keys)), np.zeros(len(neg_keys))]).astype(np.float32)
    y_value = np.concatenate([pos_value, np.zeros(len(neg_keys))]).astype(np.float32)
    order = np.lexsort((items, users))
    return users[order], items[order], y_watch[order], y_value[order]


def _same_streamer_draws(draws, hist_users, hist_items, catalogue, exists, rng) -> np.ndarray:
    """For each drawn user: a random existing VOD of the streamer of one of their earlier
    views (uniform over those views); -1 when the user has no earlier view."""
    out = np.full(len(draws), -1, dtype=np.int64)
    if len(hist_users) == 0:
        return out
    order = np.argsort(hist_users, kind="stable")
    hu, hi = hist_users[order], hist_items[order]
    starts = np.searchsorted(hu, draws, side="left")
    counts = np.searchsorted(hu, draws, side="right") - starts
    has = counts > 0
    pick = starts[has] + (rng.random(int(has.sum())) * counts[has]).astype(np.int64)
    streamer = catalogue.streamer[hi[pick]]
    # existing VODs grouped by streamer
    by_streamer = exists[np.argsort(catalogue.streamer[exists], kind="stable")]
    s_sorted = catalogue.streamer[by_streamer]
    first = np.searchsorted(s_sorted, streamer, side="left")
    n = np.searchsorted(s_sorted, streamer, side="right") - first
    chosen = np.where(
        n > 0, by_streamer[np.minimum(first + (rng.random(len(n)) * n).astype(np.int64), len(s_sorted) - 1)], -1
    )
    out[np.flatnonzero(has)] = chosen
    return out
