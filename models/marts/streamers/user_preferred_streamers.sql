-- One row per user x streamer the user watched in the preference window or follows:
-- preference_score = ln(1 + decayed watch minutes) + w_freq * ln(1 + decayed active days)
--                    + w_follow * is_followed, with a day's weight 0.5 ^ (age in days / half-life).
-- user_focus tells streamer-centric users (most of their views and live visits go to a few
-- streamers) from category-centric ones; the live recommender serves the former.
with daily as (
    select * from {{ ref('int_user_streamer_daily') }}
    where watch_date > date_sub({{ as_of_date() }}, {{ var('preference_window_days') }})
),

follows as (
    select distinct
        user_id,
        streamer_id
    from {{ ref('int_follows_accepted') }}
),

weighted as (
    select
        *,
        pow(0.5, datediff({{ as_of_date() }}, watch_date) / {{ var('preference_half_life_days') }}) as day_weight
    from daily
),

watched as (
    select
        user_id,
        streamer_id,
        sum(watched_seconds) as watched_seconds,
        sum(vod_views) as vod_views,
        sum(live_views) as live_views,
        count(*) as active_days,
        max(watch_date) as last_watched_date,
        sum(day_weight * watched_seconds) / 60 as decayed_watch_minutes,
        sum(day_weight) as decayed_active_days
    from weighted
    group by user_id, streamer_id
),

pairs as (
    select
        watched.last_watched_date,
        coalesce(watched.user_id, follows.user_id) as user_id,
        coalesce(watched.streamer_id, follows.streamer_id) as streamer_id,
        coalesce(watched.watched_seconds, 0) as watched_seconds,
        coalesce(watched.vod_views, 0) as vod_views,
        coalesce(watched.live_views, 0) as live_views,
        coalesce(watched.active_days, 0) as active_days,
        coalesce(watched.decayed_watch_minutes, 0) as decayed_watch_minutes,
        coalesce(watched.decayed_active_days, 0) as decayed_active_days,
        follows.user_id is not null as is_followed
    from watched
    full outer join follows
        on watched.user_id = follows.user_id and watched.streamer_id = follows.streamer_id
),

scored as (
    select
        *,
        ln(1 + decayed_watch_minutes)
        + {{ var('preference_frequency_weight') }} * ln(1 + decayed_active_days)
        + case when is_followed then {{ var('preference_follow_weight') }} else 0 end as preference_score,
        row_number() over (
            partition by user_id order by vod_views + live_views desc, watched_seconds desc, streamer_id asc
        ) as visit_rank
    from pairs
),

user_focus as (
    select
        user_id,
        sum(vod_views + live_views) as user_views,
        sum(case when visit_rank <= {{ var('focus_top_streamers') }} then vod_views + live_views else 0 end)
        / nullif(sum(vod_views + live_views), 0) as top_streamer_share
    from scored
    group by user_id
),

final as (
    select
        scored.user_id,
        scored.streamer_id,
        scored.preference_score,
        row_number() over (
            partition by scored.user_id order by scored.preference_score desc, scored.streamer_id asc
        ) as preference_rank,
        scored.watched_seconds,
        scored.vod_views,
        scored.live_views,
        scored.active_days,
        scored.last_watched_date,
        scored.decayed_watch_minutes,
        scored.decayed_active_days,
        scored.is_followed,
        user_focus.top_streamer_share,
        case
            when user_focus.user_views < {{ var('focus_min_views') }} then 'undetermined'
            when user_focus.top_streamer_share >= {{ var('focus_streamer_min_share') }} then 'streamer'
            else 'category'
        end as user_focus,
        {{ as_of_date() }} as batch_date
    from scored
    inner join user_focus on scored.user_id = user_focus.user_id
)

select * from final
