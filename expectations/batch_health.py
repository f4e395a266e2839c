"""Suite on the batch: watch events reconcile, abuse share in a band and steady, volume steady."""

import great_expectations as gx

SUITE = "batch_health"
FRAME = "batch"


def expectations(params: dict) -> list:
    """params: quality_abuse_share = [low, high], quality_abuse_share_change_max,
    quality_batch_views_ratio = [low, high] against the previous batch."""
    e = gx.expectations
    share_low, share_high = params["quality_abuse_share"]
    change = params["quality_abuse_share_change_max"]
    ratio_low, ratio_high = params["quality_batch_views_ratio"]
    return [
        # raw = clean + flagged + quarantined, for every watch event in scope
        e.ExpectColumnValuesToBeBetween(column="reconciliation_gap", min_value=0, max_value=0),
        e.ExpectColumnValuesToBeBetween(column="abuse_share", min_value=share_low, max_value=share_high),
        e.ExpectColumnValuesToBeBetween(column="abuse_share_change", min_value=-change, max_value=change),
        e.ExpectColumnValuesToBeBetween(column="batch_views_ratio", min_value=ratio_low, max_value=ratio_high),
    ]
