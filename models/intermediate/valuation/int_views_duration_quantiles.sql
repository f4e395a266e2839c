-- One row per clean view with its duration bucket and its watch-time quantile within
-- that bucket (D2Q, Zhan et al. KDD 2022: compare watch time only among VODs of similar
-- duration). Buckets are the 20 view-weighted duration quantiles (vigintiles).
with views as (
    select * from {{ ref('int_views_clean') }}
),

-- exact and order-free (macro exact_percentile): a rerun of a batch gets the same edges
edges_computed as (
    select
        array(
            {% for i in range(1, 20) -%}
                {{ exact_percentile('duration_seconds', '%.2f' % (i * 0.05)) }}{{ ',' if not loop.last }}
            {% endfor %}
        ) as edges
    from views
),

-- a VOD whose duration was doubtful (nulled, docs/landing.md) is bucketed by its type's median duration
type_durations as (
    select
        vod_type,
        {{ exact_percentile('duration_seconds', 0.5) }} as typical_duration
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
