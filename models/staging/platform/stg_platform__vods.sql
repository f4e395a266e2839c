with source as (
    select * from {{ source('platform', 'vods') }}
),

renamed as (
    select
        cast(vod_id as string) as vod_id,
        cast(streamer_id as string) as streamer_id,
        cast(vod_type as string) as vod_type,
        cast(category as string) as category,
        cast(title as string) as title,
        cast(duration_seconds as double) as duration_seconds,
        cast(created_at as timestamp) as created_at,
        cast(broadcast_id as string) as broadcast_id,
        {{ batch_date_of('created_at', 'vods') }} as batch_date
    from source
)

select * from renamed
where batch_date <= {{ as_of_date() }}
