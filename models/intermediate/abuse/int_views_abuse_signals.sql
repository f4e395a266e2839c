-- One row per enriched view with every abuse signal it raises (booleans) and the
-- numbers behind them. Thresholds are vars (dbt_project.yml, docs/valuation.md).
with views as (
    select * from {{ ref('int_views_enriched') }}
),

gaps_measured as (
    select
        *,
        unix_timestamp(started_at)
        - lag(unix_timestamp(started_at)) over (partition by user_id, view_date order by started_at, event_id)
            as gap_seconds
    from views
),

user_days as (
    select
        user_id,
        view_date,
        count(*) as user_day_views,
        avg(cast(watched_seconds < {{ var('abuse_bot_short_seconds') }} as int)) as short_share,
        stddev_pop(gap_seconds) / nullif(avg(gap_seconds), 0) as gap_cv
    from gaps_measured
    group by user_id, view_date
),

ip_vod_days as (
    select
        ip_hash,
        vod_id,
        view_date,
        count(distinct user_id) as ip_accounts,
        count(*) as ip_vod_views
    from views
    where ip_hash is not null
    group by ip_hash, vod_id, view_date
),

user_vod_days as (
    select
        user_id,
        vod_id,
        view_date,
        count(*) as replays
    from views
    group by user_id, vod_id, view_date
),

signals_joined as (
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
        user_days.user_day_views,
        user_days.short_share,
        user_days.gap_cv,
        ip_vod_days.ip_accounts,
        ip_vod_days.ip_vod_views,
        user_vod_days.replays,
        (
            user_days.user_day_views >= {{ var('abuse_bot_min_views_per_day') }}
            and user_days.short_share >= {{ var('abuse_bot_min_short_share') }}
            and coalesce(user_days.gap_cv <= {{ var('abuse_bot_max_gap_cv') }}, false)
        ) as is_bot_signal,
        coalesce(
            ip_vod_days.ip_accounts >= {{ var('abuse_farm_min_accounts') }}
            and ip_vod_days.ip_vod_views >= {{ var('abuse_farm_min_views') }},
            false
        ) as is_farm_signal,
        user_vod_days.replays >= {{ var('abuse_loop_min_replays') }} as is_loop_signal,
        -- false when the VOD's duration is unknown: nothing to be longer than
        coalesce(
            views.watched_seconds > views.duration_seconds * {{ var('abuse_overlong_ratio') }} + 5, false
        ) as is_overlong_signal
    from views
    inner join user_days
        on views.user_id = user_days.user_id and views.view_date = user_days.view_date
    left join ip_vod_days
        on
            views.ip_hash = ip_vod_days.ip_hash
            and views.vod_id = ip_vod_days.vod_id
            and views.view_date = ip_vod_days.view_date
    inner join user_vod_days
        on
            views.user_id = user_vod_days.user_id
            and views.vod_id = user_vod_days.vod_id
            and views.view_date = user_vod_days.view_date
),

flags_combined as (
    select
        *,
        is_bot_signal or is_farm_signal or is_loop_signal or is_overlong_signal as is_flagged
    from signals_joined
)

select * from flags_combined
