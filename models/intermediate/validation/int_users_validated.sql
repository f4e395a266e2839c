with users as (
    select * from {{ ref('stg_platform__users') }}
),

-- a doubtful created_at is the attribute's problem, not the user's: kept, nulled (macro attribute_issues)
prechecked as (
    select
        *,
        case when user_id is null then 'null_key' end as pre_reason,
        {{ timestamp_reason('created_at') }} as created_at_issue
    from users
),

ranked as (
    select
        *,
        {{ key_rank(['user_id'], ['created_at', 'country'], ['created_at_issue']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        *,
        coalesce(pre_reason, case when key_rank > 1 then 'duplicate_key' end) as quarantine_reason
    from ranked
),

attributes_kept as (
    select
        user_id,
        {{ kept_attribute('created_at', 'created_at_issue') }} as created_at,
        country,
        batch_date,
        quarantine_reason,
        {{ attribute_issues({'created_at': 'created_at_issue'}) }} as attribute_issues
    from reasons_assigned
)

-- pseudonyms for int_users_accepted (macro accepted_rows); quarantine keeps the raw ids
select
    *,
    {{ pseudonym('user_id') }} as user_id_pseudonym
from attributes_kept
