with source as (
    select * from {{ source('platform', 'live_watch_events') }}
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
        {{ batch_date_of('joined_at', 'live_watch_events') }} as batch_date
    from source
)

select * from renamed
where batch_date <= {{ as_of_date() }}
