-- One row per user x exploration type x candidate streamer: streamers the user has neither
-- watched (ever, up to the end of the batch day) nor follows, from four exploration types,
-- the exploration_candidates_per_type best of each type per user (type_rank, type_score).
--   co_viewed          sum over the user's seed streamers of co_viewed_streamers.jaccard
--   similar_users      sum over seeds of preference share x co_preference (users who prefer
--                      the user's streamers also prefer this one)
--   rising_in_category (clean viewers in the last N days + 1) / (in the N days before + 1),
--                      for streamers whose primary category is one of the user's top two
--   fresh_popular_vod  clean viewers of the streamer's most watched VOD created in the last
--                      exploration_fresh_vod_days days (the same ranking for everyone)
with preferred as (
    select * from {{ ref('user_preferred_streamers') }}
),

daily as (
    select * from {{ ref('int_user_streamer_daily') }}
),

streamers as (
    select * from {{ ref('int_streamers_known') }}
),

explorers as (
    select distinct user_id from preferred
    where watched_seconds > 0
),

known as (
    select distinct
        user_id,
        streamer_id
    from daily
    union
    select
        user_id,
        streamer_id
    from {{ ref('int_follows_accepted') }}
),

seeds as (
    select
        user_id,
        streamer_id,
        preference_score / sum(preference_score) over (partition by user_id) as seed_share
    from preferred
    where preference_rank <= {{ var('exploration_seed_streamers') }}
),

co_viewed as (
    select
        seeds.user_id,
        neighbours.co_streamer_id as streamer_id,
        'co_viewed' as exploration_type,
        sum(neighbours.jaccard) as type_score
    from seeds
    inner join {{ ref('co_viewed_streamers') }} as neighbours on seeds.streamer_id = neighbours.streamer_id
    group by seeds.user_id, neighbours.co_streamer_id
),

similar_users as (
    select
        seeds.user_id,
        copreference.co_streamer_id as streamer_id,
        'similar_users' as exploration_type,
        sum(seeds.seed_share * copreference.co_preference) as type_score
    from seeds
    inner join {{ ref('int_streamer_copreference') }} as copreference
        on seeds.streamer_id = copreference.streamer_id
    group by seeds.user_id, copreference.co_streamer_id
),

user_categories as (
    select
        user_id,
        category
    from (
        select
            preferred.user_id,
            streamers.primary_category as category,
            row_number() over (
                partition by preferred.user_id
                order by sum(preferred.watched_seconds) desc, streamers.primary_category
            ) as category_rank
        from preferred
        inner join streamers on preferred.streamer_id = streamers.streamer_id
        where preferred.watched_seconds > 0
        group by preferred.user_id, streamers.primary_category
    ) as ranked
    where category_rank <= 2
),

growth as (
    select
        streamer_id,
        count(distinct case
            when watch_date > date_sub({{ as_of_date() }}, {{ var('exploration_rising_window_days') }})
                then user_id
        end) as recent_viewers,
        count(distinct case
            when watch_date <= date_sub({{ as_of_date() }}, {{ var('exploration_rising_window_days') }})
                then user_id
        end) as previous_viewers
    from daily
    where watch_date > date_sub({{ as_of_date() }}, 2 * {{ var('exploration_rising_window_days') }})
    group by streamer_id
),

rising_streamers as (
    select
        streamers.primary_category as category,
        growth.streamer_id,
        (growth.recent_viewers + 1) / (growth.previous_viewers + 1) as growth_ratio
    from growth
    inner join streamers on growth.streamer_id = streamers.streamer_id
    where
        growth.recent_viewers >= {{ var('exploration_rising_min_viewers') }}
        and growth.recent_viewers > growth.previous_viewers
),

rising as (
    -- the 5 x exploration_candidates_per_type fastest risers of each category, in the order the
    -- users' lists use: joining every riser to every user of the category grows as users x
    -- streamers (46M rows at 5M events); a user still gets their best unknown risers unless they
    -- already know more than 4 x exploration_candidates_per_type of the category's top
    select *
    from (
        select
            *,
            row_number() over (
                partition by category order by growth_ratio desc, streamer_id asc
            ) as category_rank
        from rising_streamers
    ) as ranked_risers
    where category_rank <= {{ 5 * var('exploration_candidates_per_type') | int }}
),

rising_in_category as (
    select
        user_categories.user_id,
        rising.streamer_id,
        'rising_in_category' as exploration_type,
        max(rising.growth_ratio) as type_score
    from user_categories
    inner join rising on user_categories.category = rising.category
    group by user_categories.user_id, rising.streamer_id
),

fresh_vod_viewers as (
    select
        views.streamer_id,
        views.vod_id,
        count(distinct views.user_id) as viewers
    from {{ ref('int_views_clean') }} as views
    inner join {{ ref('int_vods_accepted') }} as vods on views.vod_id = vods.vod_id
    where
        vods.created_at >= cast(date_sub({{ as_of_date() }}, {{ var('exploration_fresh_vod_days') }} - 1) as timestamp)
        and {{ is_known_streamer('views.streamer_id') }}
    group by views.streamer_id, views.vod_id
),

fresh_streamers as (
    -- enough of the top for every user to keep exploration_candidates_per_type after
    -- removing the streamers they already know; a top-N (order by + limit: each task keeps
    -- its own top N, then they merge), not a global window that sends every row to one task
    select
        streamer_id,
        max(viewers) as fresh_viewers
    from fresh_vod_viewers
    group by streamer_id
    order by fresh_viewers desc, streamer_id asc
    limit {{ 5 * var('exploration_candidates_per_type') | int }}
),

fresh_popular_vod as (
    select
        explorers.user_id,
        fresh_streamers.streamer_id,
        'fresh_popular_vod' as exploration_type,
        cast(fresh_streamers.fresh_viewers as double) as type_score
    from explorers
    cross join fresh_streamers
),

all_types as (
    select * from co_viewed
    union all
    select * from similar_users
    union all
    select * from rising_in_category
    union all
    select * from fresh_popular_vod
),

unexplored as (
    select all_types.*
    from all_types
    inner join explorers on all_types.user_id = explorers.user_id
    left anti join known
        on all_types.user_id = known.user_id and all_types.streamer_id = known.streamer_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by user_id, exploration_type order by type_score desc, streamer_id asc
        ) as type_rank
    from unexplored
)

select
    user_id,
    streamer_id,
    exploration_type,
    type_score,
    type_rank,
    {{ as_of_date() }} as batch_date
from ranked
where type_rank <= {{ var('exploration_candidates_per_type') }}
