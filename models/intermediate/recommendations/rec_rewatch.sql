-- REP baseline (LiveRec): the streamers the user watched in the last rewatch_window_days,
-- most recently watched first (ties: more watch time that day). item_type streamer.
with daily as (
    select * from {{ ref('int_user_streamer_daily') }}
    where watch_date > date_sub({{ as_of_date() }}, {{ var('rewatch_window_days') }})
),

last_watch as (
    select
        user_id,
        streamer_id,
        max(watch_date) as last_date,
        max_by(watched_seconds, watch_date) as last_day_seconds
    from daily
    group by user_id, streamer_id
),

ranked as (
    select
        user_id,
        streamer_id,
        last_date,
        last_day_seconds,
        row_number() over (
            partition by user_id order by last_date desc, last_day_seconds desc, streamer_id asc
        ) as rank
    from last_watch
)

select
    'rewatch' as model_name,
    user_id,
    streamer_id as item_id,
    'streamer' as item_type,
    rank,
    cast(-datediff({{ as_of_date() }}, last_date) as double) as score,
    {{ as_of_date() }} as batch_date
from ranked
where rank <= {{ var('recommendation_list_size') }}
