-- One row per accepted VOD view of the batch's history, with its VOD's attributes
-- and watch ratio (null when the VOD's duration is unknown). The base every abuse signal and valuation reads.
with views as (
    select * from {{ ref('int_watch_events_accepted') }}
),

vods as (
    select * from {{ ref('int_vods_accepted') }}
),

joined as (
    select
        views.event_id,
        views.user_id,
        views.vod_id,
        vods.streamer_id,
        vods.category,
        vods.vod_type,
        vods.duration_seconds,
        views.started_at,
        views.watched_seconds,
        views.client,
        views.ip_hash,
        views.surface,
        views.batch_date,
        to_date(views.started_at) as view_date,
        -- null when the VOD's duration was doubtful (nulled, docs/landing.md): `least` would skip the null
        case when vods.duration_seconds is not null then least(views.watched_seconds / vods.duration_seconds, 1.0) end
            as watch_ratio
    from views
    inner join vods on views.vod_id = vods.vod_id
)

select * from joined
