-- Every item a list of the batch before (D - 1) could hold, with what existed by the end of
-- D - 1: created_at (a VOD's publication, a broadcast's start, a streamer's sign-up),
-- engaged_users (distinct users who engaged with it up to D - 1), and per item type the
-- catalogue_size (items existing by then) and audience (users who engaged with any). An item whose
-- created_at is unknown existed by D - 1 when someone had engaged with it by then.
with cutoff as (
    select cast({{ as_of_date() }} as timestamp) as list_batch_end
),

vod_views as (
    select * from {{ ref('int_views_clean') }}
    where view_date < {{ as_of_date() }}
),

live as (
    select
        live_views.user_id,
        live_views.broadcast_id,
        broadcasts.streamer_id
    from {{ ref('int_live_watch_events_accepted') }} as live_views
    inner join {{ ref('int_broadcasts_accepted') }} as broadcasts
        on live_views.broadcast_id = broadcasts.broadcast_id
    where live_views.joined_at < cast({{ as_of_date() }} as timestamp)
),

items as (
    select
        'vod' as item_type,
        vod_id as item_id,
        created_at
    from {{ ref('int_vods_accepted') }}
    union all
    select
        'streamer' as item_type,
        streamer_id as item_id,
        created_at
    from {{ ref('int_streamers_known') }}
    -- the unknown streamer (VODs and broadcasts that landed without one) is no item a list can hold
    where {{ is_known_streamer('streamer_id') }}
    union all
    select
        'broadcast' as item_type,
        broadcast_id as item_id,
        started_at as created_at
    from {{ ref('int_broadcasts_accepted') }}
),

engaged as (
    select
        'vod' as item_type,
        vod_id as item_id,
        user_id
    from vod_views
    union
    select
        'streamer' as item_type,
        streamer_id as item_id,
        user_id
    from vod_views
    where {{ is_known_streamer('streamer_id') }}
    union
    select
        'streamer' as item_type,
        streamer_id as item_id,
        user_id
    from live
    where {{ is_known_streamer('streamer_id') }}
    union
    select
        'broadcast' as item_type,
        broadcast_id as item_id,
        user_id
    from live
),

engaged_counts as (
    select
        item_type,
        item_id,
        count(*) as engaged_users
    from engaged
    group by item_type, item_id
),

audiences as (
    select
        item_type,
        count(distinct user_id) as audience
    from engaged
    group by item_type
),

existing as (
    select
        items.item_type,
        items.item_id,
        items.created_at,
        coalesce(engaged_counts.engaged_users, 0) as engaged_users
    from items
    cross join cutoff
    left join engaged_counts
        on items.item_type = engaged_counts.item_type and items.item_id = engaged_counts.item_id
    -- an item whose created_at was doubtful (nulled, docs/landing.md) existed if someone engaged with it
    where
        items.created_at < cutoff.list_batch_end
        or (items.created_at is null and engaged_counts.engaged_users > 0)
)

select
    existing.item_type,
    existing.item_id,
    existing.created_at,
    existing.engaged_users,
    audiences.audience,
    count(*) over (partition by existing.item_type) as catalogue_size,
    date_sub({{ as_of_date() }}, 1) as batch_date
from existing
inner join audiences on existing.item_type = audiences.item_type
