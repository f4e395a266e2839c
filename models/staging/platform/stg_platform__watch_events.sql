with source as (
    select
        *,
        {{ landing_file('watch_events') }} as landing_file
    from {{ source('platform', 'watch_events') }}
),

arrivals as (
    {{ landing_arrivals('watch_events') }}
),

renamed as (
    select
        cast(event_id as string) as event_id,
        cast(user_id as string) as user_id,
        cast(vod_id as string) as vod_id,
        cast(started_at as timestamp) as started_at,
        cast(watched_seconds as double) as watched_seconds,
        cast(client as string) as client,
        cast(ip_hash as string) as ip_hash,
        cast(surface as string) as surface,
        landing_file,
        {{ batch_date_of('started_at', 'watch_events') }} as batch_date
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
