with events as (
    select * from {{ ref('stg_platform__live_watch_events') }}
),

-- raw ids: the accepted users' view holds pseudonyms
users as (
    select user_id from {{ ref('int_users_validated') }}
    where quarantine_reason is null
),

broadcasts as (
    select broadcast_id from {{ ref('int_broadcasts_accepted') }}
),

prechecked as (
    select
        *,
        coalesce(
            case when event_id is null or user_id is null or broadcast_id is null then 'null_key' end,
            {{ timestamp_reason('joined_at') }},
            case when left_at < joined_at then 'invalid_interval' end,
            {{ late_arrival_reason() }}
        ) as pre_reason
    from events
),

ranked as (
    select
        *,
        {{ key_rank(['event_id'], ['joined_at', 'left_at', 'user_id', 'broadcast_id', 'ip_hash']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        ranked.event_id,
        ranked.user_id,
        ranked.broadcast_id,
        ranked.joined_at,
        ranked.left_at,
        ranked.client,
        ranked.ip_hash,
        ranked.batch_date,
        ranked.landing_file,
        ranked.arrived_batch,
        coalesce(
            ranked.pre_reason,
            case
                when ranked.key_rank > 1 then 'duplicate_key'
                when users.user_id is null then 'unknown_user'
                when broadcasts.broadcast_id is null then 'unknown_broadcast'
            end
        ) as quarantine_reason
    from ranked
    left join users on ranked.user_id = users.user_id
    left join broadcasts on ranked.broadcast_id = broadcasts.broadcast_id
)

-- pseudonyms for int_live_watch_events_accepted (macro accepted_rows); quarantine keeps the raw ids
select
    *,
    {{ pseudonym('user_id') }} as user_id_pseudonym,
    {{ pseudonym('ip_hash') }} as ip_hash_pseudonym
from reasons_assigned
