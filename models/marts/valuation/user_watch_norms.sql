-- One row per user with at least one clean view up to the end of the batch day.
with views as (
    select * from {{ ref('int_views_duration_quantiles') }}
),

aggregated as (
    select
        user_id,
        count(*) as views,
        count(distinct vod_id) as distinct_vods,
        sum(watched_seconds) as total_watched_seconds,
        avg(watched_seconds) as mean_watched_seconds,
        percentile_approx(watched_seconds, 0.5, 10000) as median_watched_seconds,
        avg(watch_ratio) as mean_watch_ratio,
        sum(duration_quantile) as sum_duration_quantile,
        min(started_at) as first_view_at,
        max(started_at) as last_view_at
    from views
    group by user_id
),

final as (
    select
        user_id,
        views,
        distinct_vods,
        total_watched_seconds,
        mean_watched_seconds,
        median_watched_seconds,
        mean_watch_ratio,
        (sum_duration_quantile + {{ var('norm_prior_views') }} * 0.5)
        / (views + {{ var('norm_prior_views') }}) as baseline_duration_quantile,
        first_view_at,
        last_view_at,
        {{ as_of_date() }} as batch_date
    from aggregated
)

select * from final
