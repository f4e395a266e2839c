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
        broadcasts.*,
        case when broadcasts.broadcast_id is null then 'null_key' end as pre_reason,
        -- a streamer no streamers file lists: the broadcast is kept and names an inferred member
        -- (int_streamers_known), so its live views stay accepted; a null streamer_id: kept under the unknown
        -- member (macro unknown_member)
        case
            when broadcasts.streamer_id is null then 'missing_streamer'
            when streamers.streamer_id is null then 'unknown_streamer'
        end as streamer_id_issue,
        coalesce(
            {{ timestamp_reason('broadcasts.started_at') }},
            case when broadcasts.ended_at < broadcasts.started_at then 'invalid_interval' end
        ) as started_at_issue
    from broadcasts
    left join streamers on broadcasts.streamer_id = streamers.streamer_id
),

ranked as (
    select
        *,
        {{ key_rank(
            ['broadcast_id'], ['started_at', 'ended_at', 'streamer_id', 'category', 'title'],
            ['started_at_issue', 'streamer_id_issue']
        ) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        *,
        coalesce(pre_reason, case when key_rank > 1 then 'duplicate_key' end) as quarantine_reason
    from ranked
)

select
    broadcast_id,
    -- accepted without a streamer: the unknown member; quarantined rows keep every column as landed
    case when quarantine_reason is null then coalesce(streamer_id, {{ unknown_member() }}) else streamer_id end
        as streamer_id,
    category,
    title,
    {{ kept_attribute('started_at', 'started_at_issue') }} as started_at,
    ended_at,
    batch_date,
    quarantine_reason,
    {{ attribute_issues({'streamer_id': 'streamer_id_issue', 'started_at': 'started_at_issue'}) }} as attribute_issues
from reasons_assigned
