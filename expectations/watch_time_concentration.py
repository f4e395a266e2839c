"""Suite on clean watch time per VOD: no single account or IP hash carries too much of it."""

import great_expectations as gx

SUITE = "watch_time_concentration"
FRAME = "concentration"


def expectations(params: dict) -> list:
    """params: quality_max_account_share, quality_max_ip_share of a VOD's clean watch time."""
    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeBetween(
            column="max_account_share", min_value=0, max_value=params["quality_max_account_share"]
        ),
        e.ExpectColumnValuesToBeBetween(column="max_ip_share", min_value=0, max_value=params["quality_max_ip_share"]),
    ]
