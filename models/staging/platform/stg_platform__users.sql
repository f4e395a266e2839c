with source as (
    select * from {{ source('platform', 'users') }}
),

renamed as (
    select
        cast(user_id as string) as user_id,
        cast(created_at as timestamp) as created_at,
        cast(country as string) as country,
        {{ batch_date_of('created_at', 'users') }} as batch_date
    from source
)

select * from renamed
where batch_date <= {{ as_of_date() }}
