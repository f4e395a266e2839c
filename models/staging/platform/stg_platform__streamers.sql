with source as (
    select * from {{ source('platform', 'streamers') }}
),

renamed as (
    select
        cast(streamer_id as string) as streamer_id,
        cast(display_name as string) as display_name,
        cast(primary_category as string) as primary_category,
        cast(country as string) as country,
        cast(created_at as timestamp) as created_at,
        {{ batch_date_of('created_at', 'streamers') }} as batch_date
    from source
)

select * from renamed
where batch_date <= {{ as_of_date() }}
