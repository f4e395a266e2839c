with source as (
    select * from {{ source('platform', 'broadcasts') }}
),

renamed as (
    select
        cast(broadcast_id as string) as broadcast_id,
        cast(streamer_id as string) as streamer_id,
        cast(category as string) as category,
        cast(title as string) as title,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        {{ batch_date_of('started_at', 'broadcasts') }} as batch_date
    from source
)

select * from renamed
where batch_date <= {{ as_of_date() }}
