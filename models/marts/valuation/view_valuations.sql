-- One row per clean view (event_id) up to the end of the batch day, valued against
-- what this user and this VOD usually get, within the VOD's duration bucket.
with views as (
    select * from {{ ref('int_views_duration_quantiles') }}
),

users as (
    select
        user_id,
        baseline_duration_quantile as user_baseline
    from {{ ref('user_watch_norms') }}
),

vods as (
    select
        vod_id,
        baseline_duration_quantile as item_baseline
    from {{ ref('vod_watch_norms') }}
),

valued as (
    select
        views.event_id,
        views.user_id,
        views.vod_id,
        views.streamer_id,
        views.vod_type,
        views.started_at,
        views.batch_date,
        views.watched_seconds,
        views.duration_seconds,
        views.watch_ratio,
        views.duration_bucket,
        views.duration_quantile,
        users.user_baseline,
        vods.item_baseline,
        0.5 + (2 * views.duration_quantile - users.user_baseline - vods.item_baseline) / 4 as view_value
    from views
    inner join users on views.user_id = users.user_id
    inner join vods on views.vod_id = vods.vod_id
)

select * from valued
