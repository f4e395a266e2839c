-- One row per clean view: accepted, with a known VOD, and not flagged as abuse.
with signals as (
    select * from {{ ref('int_views_abuse_signals') }}
),

clean as (
    select
        event_id,
        user_id,
        vod_id,
        streamer_id,
        category,
        vod_type,
        duration_seconds,
        started_at,
        view_date,
        watched_seconds,
        watch_ratio,
        client,
        ip_hash,
        surface,
        batch_date
    from signals
    where not is_flagged
)

select * from clean
