-- The user's top preferred streamers' newest VODs (created up to the end of the batch day)
-- that the user has not watched: score = preference_score x 0.5 ^ (VOD age in days / 7).
-- item_type vod.
with preferred as (
    select * from {{ ref('user_preferred_streamers') }}
    where preference_rank <= {{ var('preferred_newest_streamers') }}
),

newest as (
    select
        streamer_id,
        vod_id,
        created_at,
        row_number() over (partition by streamer_id order by created_at desc, vod_id asc) as newness
    from {{ ref('int_vods_accepted') }}
    where created_at is not null  -- a VOD whose created_at was doubtful (nulled) cannot be the newest
),

watched as (
    select distinct
        user_id,
        vod_id
    from {{ ref('int_views_clean') }}
),

candidates as (
    select
        preferred.user_id,
        newest.vod_id,
        preferred.preference_score
        * pow(
            0.5,
            (unix_timestamp(cast(date_add({{ as_of_date() }}, 1) as timestamp)) - unix_timestamp(newest.created_at))
            / 86400.0 / 7
        ) as score
    from preferred
    inner join newest
        on
            preferred.streamer_id = newest.streamer_id
            and newest.newness <= {{ var('preferred_newest_vods_per_streamer') }}
    left anti join watched
        on preferred.user_id = watched.user_id and newest.vod_id = watched.vod_id
),

ranked as (
    select
        *,
        row_number() over (partition by user_id order by score desc, vod_id asc) as rank
    from candidates
)

select
    'preferred_newest' as model_name,
    user_id,
    vod_id as item_id,
    'vod' as item_type,
    rank,
    score,
    {{ as_of_date() }} as batch_date
from ranked
where rank <= {{ var('recommendation_list_size') }}
