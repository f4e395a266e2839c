with users as (
    select * from {{ ref('stg_platform__users') }}
),

prechecked as (
    select
        *,
        coalesce(
            case when user_id is null then 'null_key' end,
            {{ timestamp_reason('created_at') }}
        ) as pre_reason
    from users
),

ranked as (
    select
        *,
        {{ key_rank(['user_id'], ['created_at', 'country']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        user_id,
        created_at,
        country,
        batch_date,
        coalesce(pre_reason, case when key_rank > 1 then 'duplicate_key' end) as quarantine_reason
    from ranked
)

-- pseudonyms for int_users_accepted (macro accepted_rows); quarantine keeps the raw ids
select
    *,
    {{ pseudonym('user_id') }} as user_id_pseudonym
from reasons_assigned
