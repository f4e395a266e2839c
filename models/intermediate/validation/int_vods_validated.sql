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

prechecked as (
    select
        *,
        coalesce(
            case when vod_id is null or streamer_id is null then 'null_key' end,
            {{ timestamp_reason('created_at') }},
            case
                when
                    duration_seconds is null or isnan(duration_seconds) or duration_seconds <= 0
                    or duration_seconds = double('Infinity')
                    then 'invalid_duration'
            end
        ) as pre_reason
    from vods
),

ranked as (
    select
        *,
        {{ key_rank(['vod_id'], ['created_at', 'streamer_id', 'vod_type', 'duration_seconds', 'title']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        ranked.vod_id,
        ranked.streamer_id,
        ranked.vod_type,
        ranked.category,
        ranked.title,
        ranked.duration_seconds,
        ranked.created_at,
        ranked.broadcast_id,
        ranked.batch_date,
        coalesce(
            ranked.pre_reason,
            case
                when ranked.key_rank > 1 then 'duplicate_key'
                when vod_types.vod_type is null then 'unknown_vod_type'
                when streamers.streamer_id is null then 'unknown_streamer'
                when ranked.broadcast_id is not null and broadcasts.broadcast_id is null then 'unknown_broadcast'
            end
        ) as quarantine_reason
    from ranked
    left join streamers on ranked.streamer_id = streamers.streamer_id
    left join broadcasts on ranked.broadcast_id = broadcasts.broadcast_id
    left join vod_types on ranked.vod_type = vod_types.vod_type
)

select * from reasons_assigned
