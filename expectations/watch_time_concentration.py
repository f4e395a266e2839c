"""Suite on clean watch time per VOD: no single account or IP hash carries too much of it."""

import great_expectations as gx

from watchhouse.quality import frames

SUITE = "watch_time_concentration"
READS = ("view_valuations", "int_views_clean")
ENTITY = "vod_id"


def frame(marts, batch):
    """One row per VOD with enough clean viewers: the largest share of its clean watch time carried
    by one account and by one IP hash."""
    return frames.concentration_frame(marts["view_valuations"], marts["int_views_clean"])


def expectations(params: dict) -> list:
    """params: quality_max_account_share, quality_max_ip_share of a VOD's clean watch time.

    Per VOD, so a warning: one VOD with one devoted viewer must not withhold the whole batch; the
    VODs over the bound are named in the message and in quality_exceptions."""
    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeBetween(
            column="max_account_share", min_value=0, max_value=params["quality_max_account_share"], severity="warning"
        ),
        e.ExpectColumnValuesToBeBetween(
            column="max_ip_share", min_value=0, max_value=params["quality_max_ip_share"], severity="warning"
        ),
    ]
