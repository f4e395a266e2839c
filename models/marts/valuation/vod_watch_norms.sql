-- One row per VOD with at least one clean view up to the end of the batch day.
with views as (
    select * from {{ ref('int_views_duration_quantiles') }}
),

per_viewer as (
    -- two-stage distinct count: (vod, user) first, then per VOD (cheap on 2 cores)
    select
        vod_id,
        user_id,
        count(*) as viewer_views
    from views
    group by vod_id, user_id
),

viewers_counted as (
    select
        vod_id,
        count(*) as unique_viewers
    from per_viewer
    group by vod_id
),

aggregated as (
    select
        vod_id,
        first(streamer_id) as streamer_id,
        first(category) as category,
        first(vod_type) as vod_type,
        first(duration_seconds) as duration_seconds,
        first(duration_bucket) as duration_bucket,
        count(*) as views,
        sum(watched_seconds) as total_watched_seconds,
        avg(watched_seconds) as mean_watched_seconds,
        percentile_approx(watched_seconds, 0.5, 10000) as median_watched_seconds,
        avg(watch_ratio) as mean_watch_ratio,
        sum(duration_quantile) as sum_duration_quantile
    from views
    group by vod_id
),

final as (
    select
        aggregated.vod_id,
        aggregated.streamer_id,
        aggregated.category,
        aggregated.vod_type,
        aggregated.duration_seconds,
        aggregated.duration_bucket,
        aggregated.views,
        viewers_counted.unique_viewers,
        aggregated.total_watched_seconds,
        aggregated.mean_watched_seconds,
        aggregated.median_watched_seconds,
        aggregated.mean_watch_ratio,
        (aggregated.sum_duration_quantile + {{ var('norm_prior_views') }} * 0.5)
        / (aggregated.views + {{ var('norm_prior_views') }}) as baseline_duration_quantile,
        {{ as_of_date() }} as batch_date
    from aggregated
    inner join viewers_counted on aggregated.vod_id = viewers_counted.vod_id
)

select * from final
