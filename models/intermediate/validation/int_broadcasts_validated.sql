with broadcasts as (
    select * from {{ ref('stg_platform__broadcasts') }}
),

streamers as (
    select streamer_id from {{ ref('int_streamers_accepted') }}
),

-- a doubtful start (implausible, or after the end) is the attribute's problem, not the broadcast's: the
-- broadcast is kept with started_at nulled (macro attribute_issues), so its live views stay accepted
prechecked as (
    select
        *,
        case when broadcast_id is null or streamer_id is null then 'null_key' end as pre_reason,
        coalesce(
            {{ timestamp_reason('started_at') }},
            case when ended_at < started_at then 'invalid_interval' end
        ) as started_at_issue
    from broadcasts
),

ranked as (
    select
        *,
        {{ key_rank(
            ['broadcast_id'], ['started_at', 'ended_at', 'streamer_id', 'category', 'title'], ['started_at_issue']
        ) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        ranked.*,
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

select
    broadcast_id,
    streamer_id,
    category,
    title,
    {{ kept_attribute('started_at', 'started_at_issue') }} as started_at,
    ended_at,
    batch_date,
    quarantine_reason,
    {{ attribute_issues({'started_at': 'started_at_issue'}) }} as attribute_issues
from reasons_assigned
