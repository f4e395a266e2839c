with broadcasts as (
    select * from {{ ref('stg_platform__broadcasts') }}
),

streamers as (
    select streamer_id from {{ ref('int_streamers_accepted') }}
),

prechecked as (
    select
        *,
        coalesce(
            case when broadcast_id is null or streamer_id is null then 'null_key' end,
            {{ timestamp_reason('started_at') }},
            case when ended_at < started_at then 'invalid_interval' end
        ) as pre_reason
    from broadcasts
),

ranked as (
    select
        *,
        {{ key_rank(['broadcast_id'], ['started_at', 'ended_at', 'streamer_id', 'category', 'title']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        ranked.broadcast_id,
        ranked.streamer_id,
        ranked.category,
        ranked.title,
        ranked.started_at,
        ranked.ended_at,
        ranked.batch_date,
        coalesce(
            ranked.pre_reason,
            case
                when ranked.key_rank > 1 then 'duplicate_key'
                when streamers.streamer_id is null then 'unknown_streamer'
            end
        ) as quarantine_reason
    from ranked
    left join streamers on ranked.streamer_id = streamers.streamer_id
)

select * from reasons_assigned
