"""Suite on the batch: watch events reconcile, abuse share in a band and steady, volume steady."""

import great_expectations as gx

from watchhouse.quality import frames

SUITE = "batch_health"
READS = ("landing_reconciliation", "view_valuations", "abuse_flags", "quarantine_watch_events")


def frame(marts, batch):
    """One row: the watch-event reconciliation, the batch's abuse share and volume, their changes."""
    return frames.batch_frame(
        batch.as_of,
        marts["landing_reconciliation"],
        marts["view_valuations"],
        marts["abuse_flags"],
        marts["quarantine_watch_events"],
        batch.previous,
    )


def expectations(params: dict) -> list:
    """params: quality_abuse_share = [low, high], quality_abuse_share_change_max,
    quality_batch_views_ratio = [low, high] against the previous batch."""
    e = gx.expectations
    share_low, share_high = params["quality_abuse_share"]
    change = params["quality_abuse_share_change_max"]
    ratio_low, ratio_high = params["quality_batch_views_ratio"]
    return [
        # raw = clean + flagged + quarantined, for every watch event in scope: a view lost is an error
        e.ExpectColumnValuesToBeBetween(column="reconciliation_gap", min_value=0, max_value=0, severity="critical"),
        # an attack the filter caught: its views are flagged, the clean marts hold; publish and say so
        e.ExpectColumnValuesToBeBetween(
            column="abuse_share", min_value=share_low, max_value=share_high, severity="warning"
        ),
        e.ExpectColumnValuesToBeBetween(
            column="abuse_share_change", min_value=-change, max_value=change, severity="warning"
        ),
        # a quiet or busy day is not a wrong one; an export that failed upstream is caught by the landing
        # check (empty table) and the quarantine share, both errors
        e.ExpectColumnValuesToBeBetween(
            column="batch_views_ratio", min_value=ratio_low, max_value=ratio_high, severity="warning"
        ),
    ]
