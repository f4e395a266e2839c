with streamers as (
    select * from {{ ref('stg_platform__streamers') }}
),

prechecked as (
    select
        *,
        coalesce(
            case when streamer_id is null then 'null_key' end,
            {{ timestamp_reason('created_at') }}
        ) as pre_reason
    from streamers
),

ranked as (
    select
        *,
        {{ key_rank(['streamer_id'], ['created_at', 'display_name', 'primary_category', 'country']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        streamer_id,
        display_name,
        primary_category,
        country,
        created_at,
        batch_date,
        coalesce(pre_reason, case when key_rank > 1 then 'duplicate_key' end) as quarantine_reason
    from ranked
)

select * from reasons_assigned
