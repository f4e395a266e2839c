-- What every user did in the batch being built (D), judged for the lists of the batch
-- before (D - 1): one row per user x item_type x item engaged with on D.
--   vod        a clean view of it; gain = the best view_value of those views
--   streamer   a clean view of any of their VODs (gain = best view_value) or a live view of
--              any of their broadcasts (gain 0.5, the neutral value: live views are not valued)
--   broadcast  a live view of it joined on D; gain 1
-- is_repeat: the user had engaged with the item before D (the LiveRec new / repeat split).
with vod_views as (
    select
        user_id,
        vod_id,
        view_value,
        to_date(started_at) as view_date
    from {{ ref('view_valuations') }}
),

vods as (
    select * from {{ ref('int_vods_accepted') }}
),

live as (
    select
        live_views.user_id,
        live_views.broadcast_id,
        broadcasts.streamer_id,
        to_date(live_views.joined_at) as view_date
    from {{ ref('int_live_watch_events_accepted') }} as live_views
    inner join {{ ref('int_broadcasts_accepted') }} as broadcasts
        on live_views.broadcast_id = broadcasts.broadcast_id
),

engagements as (
    select
        vod_views.user_id,
        'vod' as item_type,
        vod_views.vod_id as item_id,
        vod_views.view_date,
        vod_views.view_value as gain
    from vod_views
    union all
    select
        vod_views.user_id,
        'streamer' as item_type,
        vods.streamer_id as item_id,
        vod_views.view_date,
        vod_views.view_value as gain
    from vod_views
    inner join vods on vod_views.vod_id = vods.vod_id
    union all
    select
        user_id,
        'streamer' as item_type,
        streamer_id as item_id,
        view_date,
        0.5 as gain
    from live
    union all
    select
        user_id,
        'broadcast' as item_type,
        broadcast_id as item_id,
        view_date,
        1.0 as gain
    from live
),

judged as (
    select
        user_id,
        item_type,
        item_id,
        max(case when view_date = {{ as_of_date() }} then gain end) as gain,
        max(view_date < {{ as_of_date() }}) as is_repeat
    from engagements
    where view_date <= {{ as_of_date() }}
    group by user_id, item_type, item_id
)

select
    user_id,
    item_type,
    item_id,
    greatest(gain, 0.000001) as gain,
    is_repeat,
    date_sub({{ as_of_date() }}, 1) as batch_date,
    {{ as_of_date() }} as eval_date
from judged
where
    gain is not null
    -- watching a VOD or broadcast that landed without a streamer is relevant to no streamer a list can hold
    and (item_type <> 'streamer' or {{ is_known_streamer('item_id') }})
