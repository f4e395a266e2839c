with source as (
    select
        *,
        {{ landing_file('live_watch_events') }} as landing_file
    from {{ source('platform', 'live_watch_events') }}
),

arrivals as (
    {{ landing_arrivals('live_watch_events') }}
),

renamed as (
    select
        cast(event_id as string) as event_id,
        cast(user_id as string) as user_id,
        cast(broadcast_id as string) as broadcast_id,
        cast(joined_at as timestamp) as joined_at,
        cast(left_at as timestamp) as left_at,
        cast(client as string) as client,
        cast(ip_hash as string) as ip_hash,
        landing_file,
        {{ batch_date_of('joined_at', 'live_watch_events') }} as batch_date
    from source
),

arrived as (
    select
        renamed.*,
        arrivals.arrived_batch
    from renamed
    left join arrivals on renamed.landing_file = arrivals.landing_file
)

select * from arrived
where batch_date <= {{ as_of_date() }}
