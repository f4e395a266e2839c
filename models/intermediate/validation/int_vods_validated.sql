with vods as (
    select * from {{ ref('stg_platform__vods') }}
),

streamers as (
    select streamer_id from {{ ref('int_streamers_accepted') }}
),

broadcasts as (
    select broadcast_id from {{ ref('int_broadcasts_accepted') }}
),

vod_types as (
    select vod_type from {{ ref('vod_types') }}
),

-- how a landed duration fits the VOD's views: when most of them watch longer than the contract allows
-- (macro watch_exceeds_duration), the duration is what is wrong (another unit, a truncated file), not each
-- view - the VOD is kept with its duration nulled and its views accepted
vod_copies as (
    select distinct
        vod_id,
        duration_seconds
    from vods
    where duration_seconds > 0
),

view_fit as (
    select
        copies.vod_id,
        copies.duration_seconds,
        count(*) as landed_views,
        count_if({{ watch_exceeds_duration('events.watched_seconds', 'copies.duration_seconds') }}) as overlong_views
    from vod_copies as copies
    inner join {{ ref('stg_platform__watch_events') }} as events on copies.vod_id = events.vod_id
    where events.watched_seconds >= 0 and events.watched_seconds < double('Infinity')
    group by copies.vod_id, copies.duration_seconds
),

-- a doubtful created_at, duration or type, or a broadcast_id no broadcast has, is the attribute's problem, not
-- the VOD's: the VOD is kept with the attribute nulled (macro attribute_issues), so its views stay accepted;
-- a streamer_id no streamers row has is kept as it is, the id of an inferred member (int_streamers_known)
prechecked as (
    select
        vods.*,
        case when vods.vod_id is null then 'null_key' end as pre_reason,
        -- a streamer no streamers file lists: the VOD is kept and names an inferred member (int_streamers_known);
        -- no streamer at all (a null streamer_id): the VOD and its views are kept, the VOD under the unknown
        -- member (macro unknown_member), which streamer-level marts leave out
        case
            when vods.streamer_id is null then 'missing_streamer'
            when streamers.streamer_id is null then 'unknown_streamer'
        end as streamer_id_issue,
        -- a type the seed does not know (another platform's names, a typo): the VOD and its views are
        -- kept, valued in the type '(unknown)' (docs/landing.md "Doubtful attributes")
        case when vod_types.vod_type is null then 'unknown_vod_type' end as vod_type_issue,
        {{ timestamp_reason('vods.created_at') }} as created_at_issue,
        case
            when
                vods.duration_seconds is null or isnan(vods.duration_seconds) or vods.duration_seconds <= 0
                or vods.duration_seconds = double('Infinity')
                then 'invalid_duration'
            when
                view_fit.overlong_views >= {{ var('duration_doubt_min_views') }}
                and view_fit.overlong_views >= {{ var('duration_doubt_min_share') }} * view_fit.landed_views
                then 'shorter_than_its_views'
        end as duration_seconds_issue
    from vods
    left join vod_types on vods.vod_type = vod_types.vod_type
    left join streamers on vods.streamer_id = streamers.streamer_id
    left join view_fit on vods.vod_id = view_fit.vod_id and vods.duration_seconds = view_fit.duration_seconds
),

ranked as (
    select
        *,
        {{ key_rank(
            ['vod_id'], ['created_at', 'streamer_id', 'vod_type', 'duration_seconds', 'title'],
            ['created_at_issue', 'duration_seconds_issue', 'vod_type_issue', 'streamer_id_issue']
        ) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        ranked.*,
        case
            when ranked.broadcast_id is not null and broadcasts.broadcast_id is null then 'unknown_broadcast'
        end as broadcast_id_issue,
        coalesce(
            ranked.pre_reason,
            case when ranked.key_rank > 1 then 'duplicate_key' end
        ) as quarantine_reason
    from ranked
    left join broadcasts on ranked.broadcast_id = broadcasts.broadcast_id
)

select
    vod_id,
    -- accepted without a streamer: the unknown member; quarantined rows keep every column as landed
    case when quarantine_reason is null then coalesce(streamer_id, {{ unknown_member() }}) else streamer_id end
        as streamer_id,
    {{ kept_attribute('vod_type', 'vod_type_issue', unknown_member()) }} as vod_type,
    category,
    title,
    {{ kept_attribute('duration_seconds', 'duration_seconds_issue') }} as duration_seconds,
    {{ kept_attribute('created_at', 'created_at_issue') }} as created_at,
    {{ kept_attribute('broadcast_id', 'broadcast_id_issue') }} as broadcast_id,
    batch_date,
    quarantine_reason,
    {{ attribute_issues({
        'streamer_id': 'streamer_id_issue',
        'vod_type': 'vod_type_issue',
        'created_at': 'created_at_issue',
        'duration_seconds': 'duration_seconds_issue',
        'broadcast_id': 'broadcast_id_issue'
    }) }} as attribute_issues
from reasons_assigned
