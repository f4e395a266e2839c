with follows as (
    select * from {{ ref('stg_platform__follows') }}
),

-- raw ids: the accepted users' view holds pseudonyms
users as (
    select user_id from {{ ref('int_users_validated') }}
    where quarantine_reason is null
),

streamers as (
    select streamer_id from {{ ref('int_streamers_known') }}
),

prechecked as (
    select
        *,
        coalesce(
            case when user_id is null or streamer_id is null then 'null_key' end,
            {{ timestamp_reason('followed_at') }}
        ) as pre_reason
    from follows
),

ranked as (
    select
        *,
        {{ key_rank(['user_id', 'streamer_id'], ['followed_at']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        ranked.user_id,
        ranked.streamer_id,
        ranked.followed_at,
        ranked.batch_date,
        coalesce(
            ranked.pre_reason,
            case
                when ranked.key_rank > 1 then 'duplicate_key'
                when users.user_id is null then 'unknown_user'
                when streamers.streamer_id is null then 'unknown_streamer'
            end
        ) as quarantine_reason
    from ranked
    left join users on ranked.user_id = users.user_id
    left join streamers on ranked.streamer_id = streamers.streamer_id
)

-- pseudonyms for int_follows_accepted (macro accepted_rows); quarantine keeps the raw ids
select
    *,
    {{ pseudonym('user_id') }} as user_id_pseudonym
from reasons_assigned
