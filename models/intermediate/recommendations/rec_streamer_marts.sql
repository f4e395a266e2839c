-- The streamer marts as recommenders, in the common list shape:
--   co_view               neighbours of the user's exploration seeds (co_viewed_streamers),
--                         summed Jaccard, seeds themselves left out; item_type streamer
--   exploration_thompson  streamer_exploration_candidates in blended (Thompson) order
--   exploration_<type>    each exploration type alone, in its own order (per-type evaluation)
--   live_copreference     live_broadcast_recommendations; item_type broadcast
with seeds as (
    select
        user_id,
        streamer_id
    from {{ ref('user_preferred_streamers') }}
    where preference_rank <= {{ var('exploration_seed_streamers') }}
),

co_view_scored as (
    select
        seeds.user_id,
        neighbours.co_streamer_id as item_id,
        sum(neighbours.jaccard) as score
    from seeds
    inner join {{ ref('co_viewed_streamers') }} as neighbours on seeds.streamer_id = neighbours.streamer_id
    left anti join seeds as own
        on seeds.user_id = own.user_id and neighbours.co_streamer_id = own.streamer_id
    group by seeds.user_id, neighbours.co_streamer_id
),

co_view as (
    select
        'co_view' as model_name,
        user_id,
        item_id,
        'streamer' as item_type,
        row_number() over (partition by user_id order by score desc, item_id asc) as rank,
        score
    from co_view_scored
),

exploration as (
    select * from {{ ref('streamer_exploration_candidates') }}
    where batch_date = {{ as_of_date() }}
),

blended as (
    select
        'exploration_thompson' as model_name,
        user_id,
        streamer_id as item_id,
        'streamer' as item_type,
        rank,
        score
    from exploration
),

per_type as (
    select
        concat('exploration_', exploration_type) as model_name,
        user_id,
        streamer_id as item_id,
        'streamer' as item_type,
        type_rank as rank,
        score
    from exploration
),

live as (
    select
        'live_copreference' as model_name,
        user_id,
        broadcast_id as item_id,
        'broadcast' as item_type,
        rank,
        score
    from {{ ref('live_broadcast_recommendations') }}
    where batch_date = {{ as_of_date() }}
),

all_lists as (
    select * from co_view
    union all
    select * from blended
    union all
    select * from per_type
    union all
    select * from live
)

select
    model_name,
    user_id,
    item_id,
    item_type,
    cast(rank as int) as rank,
    cast(score as double) as score,
    {{ as_of_date() }} as batch_date
from all_lists
where rank <= {{ var('recommendation_list_size') }}
