"""Suite on vod_quality_scores: scores in range and centred, abuse share in range."""

import great_expectations as gx

from watchhouse.quality import frames

SUITE = "vod_quality_scores"
READS = ("vod_quality_scores",)
ENTITY = "vod_id"


def frame(marts, batch):
    """One row per VOD with enough clean viewers: its scores and abuse share."""
    return frames.quality_frame(marts["vod_quality_scores"])


def expectations(params: dict) -> list:
    """params: dbt var quality_mean_quality_score = [low, high] (engagement is centred on 0.5)."""
    e = gx.expectations
    low, high = params["quality_mean_quality_score"]
    return [
        # invariants of the score's formula: a violation is a wrong published score
        e.ExpectColumnValuesToBeBetween(column="quality_score", min_value=0, max_value=1, severity="critical"),
        e.ExpectColumnValuesToBeBetween(column="abuse_share", min_value=0, max_value=1, severity="critical"),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="quality_score", column_B="quality_score_lower", or_equal=True, severity="critical"
        ),
        # the distribution drifted: recorded and shown, the scores are still what the formula says
        e.ExpectColumnMeanToBeBetween(column="quality_score", min_value=low, max_value=high, severity="warning"),
    ]
