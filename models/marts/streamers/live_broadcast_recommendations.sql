{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by=['batch_date'],
        on_schema_change='append_new_columns',
    )
}}

{#- One row per streamer-centric user x broadcast live in the batch's live window (the last
    live_window_hours of the batch day): the live_list_size best, one broadcast per streamer
    (its latest in the window). Repeat consumption first: a favourite's broadcast scores
    1 + the favourite's share of the user's top preference scores (in (1, 2]); any other live
    streamer scores the co-preference sum_p share(p) * P(prefers s | prefers p) over the user's
    top preferred streamers p (in [0, 1]). One partition per batch. -#}

with preferred as (
    select * from {{ ref('user_preferred_streamers') }}
    where preference_rank <= {{ var('copreference_top_m') }}
),

copreference as (
    select * from {{ ref('int_streamer_copreference') }}
),

window_bounds as (
    select
        cast(date_add({{ as_of_date() }}, 1) as timestamp) as window_end,
        cast(date_add({{ as_of_date() }}, 1) as timestamp)
        - make_interval(0, 0, 0, 0, {{ var('live_window_hours') }}, 0, 0) as window_start
),

live as (
    -- started before the window ends and not ended before it starts (an end after the
    -- batch is not used, only the fact that the broadcast had not ended by then)
    select
        broadcasts.broadcast_id,
        broadcasts.streamer_id,
        broadcasts.started_at,
        broadcasts.ended_at is null or broadcasts.ended_at >= window_bounds.window_end as is_live_at_batch_end,
        row_number() over (
            partition by broadcasts.streamer_id order by broadcasts.started_at desc, broadcasts.broadcast_id asc
        ) as streamer_pick
    from {{ ref('int_broadcasts_accepted') }} as broadcasts
    cross join window_bounds
    where
        broadcasts.started_at < window_bounds.window_end
        and (broadcasts.ended_at is null or broadcasts.ended_at >= window_bounds.window_start)
),

audience as (
    -- streamer-centric users with their top preferred streamers' shares of preference
    select
        user_id,
        streamer_id,
        preference_score / sum(preference_score) over (partition by user_id) as preference_share
    from preferred
    where user_focus = 'streamer'
),

favourites as (
    select
        audience.user_id,
        audience.streamer_id,
        'favourite' as recommendation_source,
        1 + audience.preference_share as score
    from audience
),

co_preferred as (
    select
        audience.user_id,
        copreference.co_streamer_id as streamer_id,
        'co_preference' as recommendation_source,
        sum(audience.preference_share * copreference.co_preference) as score
    from audience
    inner join copreference on audience.streamer_id = copreference.streamer_id
    left anti join audience as own
        on audience.user_id = own.user_id and copreference.co_streamer_id = own.streamer_id
    group by audience.user_id, copreference.co_streamer_id
),

candidates as (
    select * from favourites
    union all
    select * from co_preferred
),

ranked as (
    select
        candidates.user_id,
        live.broadcast_id,
        live.streamer_id,
        candidates.recommendation_source,
        candidates.score,
        live.started_at as broadcast_started_at,
        live.is_live_at_batch_end,
        row_number() over (
            partition by candidates.user_id order by candidates.score desc, live.broadcast_id asc
        ) as rank
    from candidates
    inner join live on candidates.streamer_id = live.streamer_id and live.streamer_pick = 1
)

select
    *,
    {{ as_of_date() }} as batch_date
from ranked
where rank <= {{ var('live_list_size') }}
