"""Suite on view_valuations, per VOD type: view values centred, watch ratios plausible."""

import great_expectations as gx

SUITE = "view_valuations"
FRAME = "valuation_by_type"


def expectations(params: dict) -> list:
    """params: quality_mean_view_value = [low, high] per VOD type (0.5 = as usual)."""
    e = gx.expectations
    low, high = params["quality_mean_view_value"]
    return [
        e.ExpectColumnValuesToBeBetween(column="mean_view_value", min_value=low, max_value=high),
        e.ExpectColumnValuesToBeBetween(column="mean_watch_ratio", min_value=0.01, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="median_watch_ratio", min_value=0, max_value=1),
    ]
