with source as (
    select * from {{ source('platform', 'follows') }}
),

renamed as (
    select
        cast(user_id as string) as user_id,
        cast(streamer_id as string) as streamer_id,
        cast(followed_at as timestamp) as followed_at,
        {{ batch_date_of('followed_at', 'follows') }} as batch_date
    from source
)

select * from renamed
where batch_date <= {{ as_of_date() }}
