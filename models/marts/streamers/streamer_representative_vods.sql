-- One row per streamer x representative VOD: the representative_vods_per_streamer best VODs of
-- each streamer by
--   representative_score = w_f * freshness_score + w_p * popularity_score + w_q * quality_component
-- freshness_score  = 0.5 ^ (age in days at the end of the batch day / half-life); 0 if the age is unknown
-- popularity_score = ln(1 + clean views) / ln(1 + the most clean views of any VOD of the streamer)
-- quality_component = quality_score_lower clipped to [0, 1]; 0 for a VOD no clean viewer has seen.
-- Near-duplicates: at most representative_max_per_broadcast VODs cut from one broadcast (its
-- replay, highlights, clips and shortforms); each upload is its own group.
with vods as (
    select * from {{ ref('int_vods_accepted') }}
    where {{ is_known_streamer('streamer_id') }}  -- VODs that landed without a streamer represent no one
),

quality as (
    select * from {{ ref('vod_quality_scores') }}
),

measured as (
    select
        vods.streamer_id,
        vods.vod_id,
        vods.broadcast_id,
        vods.vod_type,
        vods.category,
        vods.created_at,
        (unix_timestamp(cast(date_add({{ as_of_date() }}, 1) as timestamp)) - unix_timestamp(vods.created_at))
        / 86400.0 as age_days,
        coalesce(quality.clean_views, 0) as clean_views,
        quality.quality_score_lower,
        greatest(least(coalesce(quality.quality_score_lower, 0), 1), 0) as quality_component
    from vods
    left join quality on vods.vod_id = quality.vod_id
),

components as (
    select
        *,
        -- 0 when created_at was doubtful (nulled, docs/landing.md): an unknown age earns no freshness
        coalesce(pow(0.5, age_days / {{ var('representative_half_life_days') }}), 0) as freshness_score,
        coalesce(
            ln(1 + clean_views) / nullif(ln(1 + max(clean_views) over (partition by streamer_id)), 0), 0
        ) as popularity_score
    from measured
),

scored as (
    select
        *,
        {{ var('representative_weight_freshness') }} * freshness_score
        + {{ var('representative_weight_popularity') }} * popularity_score
        + {{ var('representative_weight_quality') }} * quality_component as representative_score
    from components
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by streamer_id, coalesce(broadcast_id, vod_id)
            order by representative_score desc, vod_id asc
        ) as broadcast_pick
    from scored
),

ranked as (
    select
        *,
        row_number() over (partition by streamer_id order by representative_score desc, vod_id asc) as rank
    from deduplicated
    where broadcast_pick <= {{ var('representative_max_per_broadcast') }}
)

select
    streamer_id,
    vod_id,
    rank,
    representative_score,
    freshness_score,
    popularity_score,
    quality_component,
    quality_score_lower,
    clean_views,
    age_days,
    broadcast_id,
    vod_type,
    category,
    created_at,
    {{ as_of_date() }} as batch_date
from ranked
where rank <= {{ var('representative_vods_per_streamer') }}
