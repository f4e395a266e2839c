-- One row per user x streamer x day with clean watching up to the end of the batch day:
-- clean VOD views of the streamer's VODs and accepted live views of their broadcasts.
-- A live view that is still open at the end of the batch day counts only up to then,
-- so nothing after the batch leaks into what is learned for it.
with vod_views as (
    select * from {{ ref('int_views_clean') }}
),

live_views as (
    select * from {{ ref('int_live_watch_events_accepted') }}
),

broadcasts as (
    select * from {{ ref('int_broadcasts_accepted') }}
),

vod_daily as (
    select
        user_id,
        streamer_id,
        view_date as watch_date,
        count(*) as vod_views,
        sum(watched_seconds) as vod_seconds
    from vod_views
    group by user_id, streamer_id, view_date
),

live_capped as (
    select
        live_views.user_id,
        broadcasts.streamer_id,
        to_date(live_views.joined_at) as watch_date,
        unix_timestamp(least(live_views.left_at, cast(date_add({{ as_of_date() }}, 1) as timestamp)))
        - unix_timestamp(live_views.joined_at) as live_seconds
    from live_views
    inner join broadcasts on live_views.broadcast_id = broadcasts.broadcast_id
),

live_daily as (
    select
        user_id,
        streamer_id,
        watch_date,
        cast(sum(live_seconds) as double) as live_seconds,
        count(*) as live_views
    from live_capped
    group by user_id, streamer_id, watch_date
),

combined as (
    select
        coalesce(vod_daily.user_id, live_daily.user_id) as user_id,
        coalesce(vod_daily.streamer_id, live_daily.streamer_id) as streamer_id,
        coalesce(vod_daily.watch_date, live_daily.watch_date) as watch_date,
        coalesce(vod_daily.vod_views, 0) as vod_views,
        coalesce(vod_daily.vod_seconds, 0) as vod_seconds,
        coalesce(live_daily.live_views, 0) as live_views,
        coalesce(live_daily.live_seconds, 0) as live_seconds
    from vod_daily
    full outer join live_daily
        on
            vod_daily.user_id = live_daily.user_id
            and vod_daily.streamer_id = live_daily.streamer_id
            and vod_daily.watch_date = live_daily.watch_date
)

select
    *,
    vod_seconds + live_seconds as watched_seconds
from combined
-- watching of VODs and broadcasts that landed without a streamer is nobody's: preferences, co-viewing,
-- exploration and the streamer lists all start here
where {{ is_known_streamer('streamer_id') }}
