with events as (
    select * from {{ ref('stg_platform__watch_events') }}
),

-- raw ids: the accepted users' view holds pseudonyms
users as (
    select user_id from {{ ref('int_users_validated') }}
    where quarantine_reason is null
),

vods as (
    select
        vod_id,
        duration_seconds
    from {{ ref('int_vods_accepted') }}
),

prechecked as (
    select
        *,
        coalesce(
            case when event_id is null or user_id is null or vod_id is null then 'null_key' end,
            {{ timestamp_reason('started_at') }},
            case
                when watched_seconds is null or isnan(watched_seconds) or abs(watched_seconds) = double('Infinity')
                    then 'non_finite_seconds'
                when watched_seconds < 0 then 'negative_seconds'
            end,
            {{ late_arrival_reason() }}
        ) as pre_reason
    from events
),

ranked as (
    select
        *,
        {{ key_rank(['event_id'], ['started_at', 'watched_seconds', 'user_id', 'vod_id', 'ip_hash']) }} as key_rank
    from prechecked
),

reasons_assigned as (
    select
        ranked.event_id,
        ranked.user_id,
        ranked.vod_id,
        ranked.started_at,
        ranked.watched_seconds,
        ranked.client,
        ranked.ip_hash,
        ranked.surface,
        ranked.batch_date,
        ranked.landing_file,
        ranked.arrived_batch,
        coalesce(
            ranked.pre_reason,
            case
                when ranked.key_rank > 1 then 'duplicate_key'
                when users.user_id is null then 'unknown_user'
                when vods.vod_id is null then 'unknown_vod'
                when {{ watch_exceeds_duration('ranked.watched_seconds', 'vods.duration_seconds') }}
                    then 'watch_exceeds_duration'
            end
        ) as quarantine_reason
    from ranked
    left join users on ranked.user_id = users.user_id
    left join vods on ranked.vod_id = vods.vod_id
)

-- pseudonyms for int_watch_events_accepted (macro accepted_rows); quarantine keeps the raw ids
select
    *,
    {{ pseudonym('user_id') }} as user_id_pseudonym,
    {{ pseudonym('ip_hash') }} as ip_hash_pseudonym
from reasons_assigned
