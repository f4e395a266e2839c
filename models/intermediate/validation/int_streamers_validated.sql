with streamers as (
    select * from {{ ref('stg_platform__streamers') }}
),

-- a doubtful created_at is the attribute's problem, not the streamer's: kept, nulled (macro attribute_issues)
prechecked as (
    select
        *,
        case when streamer_id is null then 'null_key' end as pre_reason,
        {{ timestamp_reason('created_at') }} as created_at_issue
    from streamers
),

ranked as (
    select
        *,
        {{ key_rank(
            ['streamer_id'], ['created_at', 'display_name', 'primary_category', 'country'], ['created_at_issue']
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
    streamer_id,
    display_name,
    primary_category,
    country,
    {{ kept_attribute('created_at', 'created_at_issue') }} as created_at,
    batch_date,
    quarantine_reason,
    {{ attribute_issues({'created_at': 'created_at_issue'}) }} as attribute_issues
from reasons_assigned
