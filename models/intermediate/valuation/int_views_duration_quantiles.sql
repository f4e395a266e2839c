-- One row per clean view with its duration bucket and its watch-time quantile within
-- that bucket (D2Q, Zhan et al. KDD 2022: compare watch time only among VODs of similar
-- duration). Buckets are the 20 view-weighted duration quantiles (vigintiles).
with views as (
    select * from {{ ref('int_views_clean') }}
),

edges_computed as (
    select
        percentile_approx(
            duration_seconds,
            array(
                0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50,
                0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95
            ),
            10000
        ) as edges
    from views
),

-- a VOD whose duration was doubtful (nulled, docs/landing.md) is bucketed by its type's median duration
type_durations as (
    select
        vod_type,
        percentile_approx(duration_seconds, 0.5, 10000) as typical_duration
    from views
    where duration_seconds is not null
    group by vod_type
),

bucketed as (
    select
        views.event_id,
        views.user_id,
        views.vod_id,
        views.streamer_id,
        views.category,
        views.vod_type,
        views.duration_seconds,
        views.started_at,
        views.view_date,
        views.watched_seconds,
        views.watch_ratio,
        views.client,
        views.ip_hash,
        views.surface,
        views.batch_date,
        size(filter(
            edges_computed.edges, edge -> edge < coalesce(views.duration_seconds, type_durations.typical_duration)
        )) as duration_bucket
    from views
    cross join edges_computed
    left join type_durations on views.vod_type = type_durations.vod_type
),

ranked as (
    select
        *,
        cume_dist() over (partition by duration_bucket order by watched_seconds) as duration_quantile
    from bucketed
)

select * from ranked
