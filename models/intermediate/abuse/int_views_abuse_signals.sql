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
            as gap_seconds,
        lag(vod_id) over (partition by user_id, view_date order by started_at, event_id) as previous_vod_id
    from views
),

-- the gaps at which the user moved on to another VOD: a replay loop's back-to-back replays of one VOD are
-- regular by nature (its duration, again and again), so they must not make the rest of the day look timed
switches_measured as (
    select
        *,
        case when vod_id != previous_vod_id then gap_seconds end as switch_gap_seconds
    from gaps_measured
),

user_days as (
    select
        user_id,
        view_date,
        count(*) as user_day_views,
        avg(cast(watched_seconds < {{ var('abuse_bot_short_seconds') }} as int)) as short_share,
        stddev_pop(gap_seconds) / nullif(avg(gap_seconds), 0) as gap_cv,
        -- the same regularity, robust to a few long pauses: interquartile range over median of the gaps at
        -- which the user moved to another VOD (a timer at +-20% jitter: ~0.27; memoryless gaps: ~1.6)
        (
            {{ exact_percentile('switch_gap_seconds', 0.75) }} - {{ exact_percentile('switch_gap_seconds', 0.25) }}
        ) / nullif({{ exact_percentile('switch_gap_seconds', 0.5) }}, 0) as gap_iqr_ratio,
        count(switch_gap_seconds) as switch_gaps,
        -- clock hours (UTC) with a view: a person sleeps, a script need not
        count(distinct hour(started_at)) as active_hours,
        -- the share of the day's views (of a known duration) that watched at most half of their VOD
        avg(cast(watch_ratio <= 0.5 as int)) as partial_share
    from switches_measured
    group by user_id, view_date
),

-- the day's own population of user-days: how many views a heavy user-day has on this platform, this day
day_populations as (
    select
        view_date,
        {{ exact_percentile('user_day_views', 0.99) }} as day_views_p99
    from user_days
    group by view_date
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

-- passes: how many times over the day's views watched the VOD (all of them when its duration is unknown).
-- One long VOD watched in many pieces is many views but one pass; a loop watches it again and again
user_vod_days as (
    select
        user_id,
        vod_id,
        view_date,
        count(*) as replays,
        coalesce(sum(watched_seconds) / nullif(max(duration_seconds), 0), count(*)) as passes
    from views
    group by user_id, vod_id, view_date
),

-- a loop day: many views that add up to watching the VOD through more than once (abuse_loop_min_passes);
-- an intense day: fewer views, the same test
user_vod_days_judged as (
    select
        *,
        replays >= {{ var('abuse_loop_min_replays') }}
        and passes >= {{ var('abuse_loop_min_passes') }} as is_loop_day,
        replays >= {{ var('abuse_loop_min_daily_replays') }}
        and passes >= {{ var('abuse_loop_min_passes') }} as is_intense_day
    from user_vod_days
),

-- lockstep (CopyCatch, WWW 2013, in one pass): accounts whose whole day is the same set of >= 3 VODs.
-- A group of them is a farm when it is most of each of those VODs' audience that day - the test is
-- relative to the VOD's own viewers, so the fans of a big streamer watching its new VODs are not one
user_day_vod_sets as (
    select
        user_id,
        view_date,
        array_sort(collect_list(vod_id)) as day_vods
    from user_vod_days
    group by user_id, view_date
),

lockstep_groups as (
    select
        view_date,
        day_vods,
        count(*) as lockstep_accounts
    from user_day_vod_sets
    where size(day_vods) >= {{ var('abuse_lockstep_min_vods') }}
    group by view_date, day_vods
    having count(*) >= {{ var('abuse_lockstep_min_accounts') }}
),

vod_day_viewers as (
    select
        vod_id,
        view_date,
        count(*) as vod_viewers,
        sum(replays) as vod_views
    from user_vod_days
    group by vod_id, view_date
),

lockstep_group_vods as (
    select
        view_date,
        day_vods,
        lockstep_accounts,
        explode(day_vods) as vod_id
    from lockstep_groups
),

lockstep_shares as (
    select
        lockstep_group_vods.view_date,
        lockstep_group_vods.day_vods,
        lockstep_group_vods.lockstep_accounts,
        min(lockstep_group_vods.lockstep_accounts / vod_day_viewers.vod_viewers) as lockstep_share
    from lockstep_group_vods
    inner join vod_day_viewers
        on
            lockstep_group_vods.vod_id = vod_day_viewers.vod_id
            and lockstep_group_vods.view_date = vod_day_viewers.view_date
    group by lockstep_group_vods.view_date, lockstep_group_vods.day_vods, lockstep_group_vods.lockstep_accounts
),

-- one row per user x VOD x day (the day joins itself): its replays and passes, and for a loop spread over
-- days, the same user's replays of the same VOD within abuse_loop_window_days either side of the day and
-- how many of those days were intense
loop_windows as (
    select
        this_day.user_id,
        this_day.vod_id,
        this_day.view_date,
        this_day.replays,
        this_day.passes,
        this_day.is_loop_day,
        sum(other_day.replays) as window_replays,
        count_if(other_day.is_intense_day) as intense_days
    from user_vod_days_judged as this_day
    inner join user_vod_days_judged as other_day
        on
            this_day.user_id = other_day.user_id
            and this_day.vod_id = other_day.vod_id
            and abs(datediff(this_day.view_date, other_day.view_date)) <= {{ var('abuse_loop_window_days') }}
    group by
        this_day.user_id, this_day.vod_id, this_day.view_date, this_day.replays, this_day.passes, this_day.is_loop_day
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
        user_days.gap_iqr_ratio,
        user_days.switch_gaps,
        user_days.active_hours,
        user_days.partial_share,
        day_populations.day_views_p99,
        loop_windows.window_replays,
        loop_windows.intense_days,
        ip_vod_days.ip_accounts,
        ip_vod_days.ip_vod_views,
        ip_vod_days.ip_vod_views / vod_day_viewers.vod_views as ip_vod_share,
        size(user_day_vod_sets.day_vods) as user_day_vod_count,
        coalesce(lockstep_shares.lockstep_accounts, 0) as lockstep_accounts,
        lockstep_shares.lockstep_share,
        loop_windows.replays,
        loop_windows.passes,
        -- a script of short views on a timer
        coalesce(
            user_days.user_day_views >= {{ var('abuse_bot_min_views_per_day') }}
            and user_days.short_share >= {{ var('abuse_bot_min_short_share') }}
            and user_days.gap_cv <= {{ var('abuse_bot_max_gap_cv') }},
            false
        ) as is_bot_script_signal,
        -- a timer, however long each view and whatever pauses it takes: a person's gaps follow what they
        -- watched and when they pause
        coalesce(
            user_days.user_day_views >= {{ var('abuse_bot_timer_min_views') }}
            and (
                user_days.gap_cv <= {{ var('abuse_bot_timer_max_gap_cv') }}
                or (
                    user_days.gap_iqr_ratio <= {{ var('abuse_bot_timer_max_gap_iqr_ratio') }}
                    and user_days.switch_gaps >= {{ var('abuse_bot_timer_min_switches') }}
                )
            ),
            false
        ) as is_bot_timer_signal,
        -- awake around the clock, and not bursty: a person who watches all day does it in sessions
        -- (gap CV well above 1, Goh & Barabasi 2008), a random timer's gaps have CV near 1
        coalesce(
            user_days.user_day_views >= {{ var('abuse_bot_min_views_per_day') }}
            and user_days.active_hours >= {{ var('abuse_bot_min_active_hours') }}
            and user_days.gap_cv <= {{ var('abuse_bot_awake_max_gap_cv') }},
            false
        ) as is_bot_awake_signal,
        -- restless: far more views than the day's heavy users (a multiple of the day's 99th percentile of
        -- views per user-day, so the bar follows the platform's own population), mostly partial watches, over
        -- half a day's clock hours; memoryless gaps and human-length watches hide a bot from the timer and
        -- script tests, not its volume. A binge watcher watches whole VODs; a zapper does not zap all day
        coalesce(
            user_days.user_day_views >= {{ var('abuse_bot_min_views_per_day') }}
            and user_days.user_day_views
            >= {{ var('abuse_bot_restless_volume_factor') }} * day_populations.day_views_p99
            and user_days.partial_share >= {{ var('abuse_bot_restless_min_partial_share') }}
            and user_days.active_hours >= {{ var('abuse_bot_restless_min_hours') }},
            false
        ) as is_bot_restless_signal,
        -- many accounts behind one IP hash carrying a large share of a VOD's views that day: a household or
        -- a campus watching a popular VOD is a small share of its audience, a farm is much of it
        coalesce(
            ip_vod_days.ip_accounts >= {{ var('abuse_farm_min_accounts') }}
            and ip_vod_days.ip_vod_views >= {{ var('abuse_farm_min_views') }}
            and ip_vod_days.ip_vod_views >= {{ var('abuse_farm_min_vod_share') }} * vod_day_viewers.vod_views,
            false
        ) as is_farm_ip_signal,
        coalesce(lockstep_shares.lockstep_share >= {{ var('abuse_lockstep_min_share') }}, false)
            as is_farm_lockstep_signal,
        (
            loop_windows.is_loop_day
            or loop_windows.intense_days >= {{ var('abuse_loop_min_intense_days') }}
            or (
                loop_windows.window_replays >= {{ var('abuse_loop_min_window_replays') }}
                and loop_windows.intense_days >= 2
            )
        ) as is_loop_signal,
        -- false when the VOD's duration is unknown: nothing to be longer than
        coalesce(
            views.watched_seconds > views.duration_seconds * {{ var('abuse_overlong_ratio') }} + 5, false
        ) as is_overlong_signal
    from views
    inner join user_days
        on views.user_id = user_days.user_id and views.view_date = user_days.view_date
    inner join day_populations on views.view_date = day_populations.view_date
    left join ip_vod_days
        on
            views.ip_hash = ip_vod_days.ip_hash
            and views.vod_id = ip_vod_days.vod_id
            and views.view_date = ip_vod_days.view_date
    inner join vod_day_viewers
        on views.vod_id = vod_day_viewers.vod_id and views.view_date = vod_day_viewers.view_date
    inner join user_day_vod_sets
        on views.user_id = user_day_vod_sets.user_id and views.view_date = user_day_vod_sets.view_date
    left join lockstep_shares
        on
            user_day_vod_sets.view_date = lockstep_shares.view_date
            and user_day_vod_sets.day_vods = lockstep_shares.day_vods
    inner join loop_windows
        on
            views.user_id = loop_windows.user_id
            and views.vod_id = loop_windows.vod_id
            and views.view_date = loop_windows.view_date
),

bots_combined as (
    select
        *,
        is_bot_script_signal or is_bot_timer_signal or is_bot_awake_signal or is_bot_restless_signal as is_bot_signal,
        is_farm_ip_signal or is_farm_lockstep_signal as is_farm_signal
    from signals_joined
),

flags_combined as (
    select
        *,
        is_bot_signal or is_farm_signal or is_loop_signal or is_overlong_signal as is_flagged
    from bots_combined
)

select * from flags_combined
