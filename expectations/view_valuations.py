"""Suite on view_valuations, per VOD type: view values centred, watch ratios plausible."""

import great_expectations as gx

from watchhouse.quality import frames

SUITE = "view_valuations"
READS = ("view_valuations",)
ENTITY = "vod_type"


def frame(marts, batch):
    """One row per VOD type with enough clean views: mean view value, mean and median watch ratio."""
    return frames.valuation_by_type_frame(marts["view_valuations"])


def expectations(params: dict) -> list:
    """params: quality_mean_view_value = [low, high] per VOD type (0.5 = as usual)."""
    e = gx.expectations
    low, high = params["quality_mean_view_value"]
    return [
        # a drift of one type's values against its norms: worth a look, not a reason to withhold the day
        e.ExpectColumnValuesToBeBetween(column="mean_view_value", min_value=low, max_value=high, severity="warning"),
        # a watch ratio is capped at 1 and never negative: outside [0, 1] the valuation itself is wrong
        e.ExpectColumnValuesToBeBetween(column="mean_watch_ratio", min_value=0, max_value=1, severity="critical"),
        e.ExpectColumnValuesToBeBetween(column="median_watch_ratio", min_value=0, max_value=1, severity="critical"),
        # a type whose viewers on average watch under 1% of a VOD: a duration or unit problem upstream
        e.ExpectColumnValuesToBeBetween(column="mean_watch_ratio", min_value=0.01, severity="warning"),
    ]
