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

-- a doubtful created_at or duration, or a broadcast_id no broadcast has, is the attribute's problem, not
-- the VOD's: the VOD is kept with the attribute nulled (macro attribute_issues), so its views stay accepted
prechecked as (
    select
        *,
        case when vod_id is null or streamer_id is null then 'null_key' end as pre_reason,
        {{ timestamp_reason('created_at') }} as created_at_issue,
        case
            when
                duration_seconds is null or isnan(duration_seconds) or duration_seconds <= 0
                or duration_seconds = double('Infinity')
                then 'invalid_duration'
        end as duration_seconds_issue
    from vods
),

ranked as (
    select
        *,
        {{ key_rank(
            ['vod_id'], ['created_at', 'streamer_id', 'vod_type', 'duration_seconds', 'title'],
            ['created_at_issue', 'duration_seconds_issue']
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
            case
                when ranked.key_rank > 1 then 'duplicate_key'
                when vod_types.vod_type is null then 'unknown_vod_type'
                when streamers.streamer_id is null then 'unknown_streamer'
            end
        ) as quarantine_reason
    from ranked
    left join streamers on ranked.streamer_id = streamers.streamer_id
    left join broadcasts on ranked.broadcast_id = broadcasts.broadcast_id
    left join vod_types on ranked.vod_type = vod_types.vod_type
)

select
    vod_id,
    streamer_id,
    vod_type,
    category,
    title,
    {{ kept_attribute('duration_seconds', 'duration_seconds_issue') }} as duration_seconds,
    {{ kept_attribute('created_at', 'created_at_issue') }} as created_at,
    {{ kept_attribute('broadcast_id', 'broadcast_id_issue') }} as broadcast_id,
    batch_date,
    quarantine_reason,
    {{ attribute_issues({
        'created_at': 'created_at_issue',
        'duration_seconds': 'duration_seconds_issue',
        'broadcast_id': 'broadcast_id_issue'
    }) }} as attribute_issues
from reasons_assigned
