"""Suite on vod_quality_scores: scores in range and centred, abuse share in range."""

import great_expectations as gx

SUITE = "vod_quality_scores"
FRAME = "quality"


def expectations(params: dict) -> list:
    """params: dbt var quality_mean_quality_score = [low, high] (engagement is centred on 0.5)."""
    e = gx.expectations
    low, high = params["quality_mean_quality_score"]
    return [
        e.ExpectColumnValuesToBeBetween(column="quality_score", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="abuse_share", min_value=0, max_value=1),
        e.ExpectColumnMeanToBeBetween(column="quality_score", min_value=low, max_value=high),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="quality_score", column_B="quality_score_lower", or_equal=True
        ),
    ]
