-- Lists served by recommenders outside this project (optional landing table
-- recommendations_served): typed and scoped to the batch like the other events. A list
-- served during day D belongs to batch D. Without the table: no rows, same columns.
{%- if 'recommendations_served' in var('landing_optional_tables') %}
    with source as (
        select * from {{ source('platform', 'recommendations_served') }}
    ),

    renamed as (
        select
            cast(served_at as timestamp) as served_at,
            cast(model_name as string) as model_name,
            cast(user_id as string) as user_id,
            cast(item_type as string) as item_type,
            cast(item_id as string) as item_id,
            cast(rank as int) as rank,
            {{ batch_date_of('served_at', 'recommendations_served') }} as batch_date
        from source
    )

    select * from renamed
    where batch_date <= {{ as_of_date() }}
{%- else %}
    select
        cast(null as timestamp) as served_at,
        cast(null as string) as model_name,
        cast(null as string) as user_id,
        cast(null as string) as item_type,
        cast(null as string) as item_id,
        cast(null as int) as rank,
        cast(null as date) as batch_date
    where false
{%- endif %}
