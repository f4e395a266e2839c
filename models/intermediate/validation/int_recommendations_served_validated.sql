-- Served lists with their contract checks: keys, time, rank >= 1, a known item type and
-- item, and one row per (model, user, batch, rank) and per (model, user, batch, item).
with served as (
    select * from {{ ref('stg_platform__recommendations_served') }}
),

-- raw ids: the accepted users' view holds pseudonyms
users as (
    select user_id from {{ ref('int_users_validated') }}
    where quarantine_reason is null
),

items as (
    select
        'vod' as item_type,
        vod_id as item_id
    from {{ ref('int_vods_accepted') }}
    union all
    select
        'streamer' as item_type,
        streamer_id as item_id
    from {{ ref('int_streamers_known') }}
    union all
    select
        'broadcast' as item_type,
        broadcast_id as item_id
    from {{ ref('int_broadcasts_accepted') }}
),

prechecked as (
    select
        *,
        coalesce(
            case
                when model_name is null or user_id is null or item_type is null or item_id is null or rank is null
                    then 'null_key'
            end,
            {{ timestamp_reason('served_at') }},
            case when rank < 1 then 'invalid_rank' end,
            case when item_type not in ('vod', 'streamer', 'broadcast') then 'unknown_item_type' end
        ) as pre_reason
    from served
),

ranked as (
    select
        *,
        {{ key_rank(['model_name', 'user_id', 'batch_date', 'rank'], ['served_at', 'item_type', 'item_id']) }}
            as rank_copy,
        {{ key_rank(['model_name', 'user_id', 'batch_date', 'item_type', 'item_id'], ['rank', 'served_at']) }}
            as item_copy
    from prechecked
),

reasons_assigned as (
    select
        ranked.served_at,
        ranked.model_name,
        ranked.user_id,
        ranked.item_type,
        ranked.item_id,
        ranked.rank,
        ranked.batch_date,
        coalesce(
            ranked.pre_reason,
            case
                when ranked.rank_copy > 1 or ranked.item_copy > 1 then 'duplicate_key'
                when users.user_id is null then 'unknown_user'
                when items.item_id is null then 'unknown_item'
            end
        ) as quarantine_reason
    from ranked
    left join users on ranked.user_id = users.user_id
    left join items on ranked.item_type = items.item_type and ranked.item_id = items.item_id
)

-- pseudonyms for int_recommendations_served_accepted (macro accepted_rows); quarantine keeps the raw ids
select
    *,
    {{ pseudonym('user_id') }} as user_id_pseudonym
from reasons_assigned
