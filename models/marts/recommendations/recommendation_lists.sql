{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by=['batch_date'],
        on_schema_change='append_new_columns',
    )
}}

{#- Every recommender's top-K lists for the batch, one partition per batch:
    a rerun of batch D replaces D's partition and leaves other batches alone. -#}

with popularity as (
    select * from {{ ref('rec_popularity') }}
),

all_models as (
    select * from popularity
),

final as (
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from all_models
    where batch_date = {{ as_of_date() }}
)

select * from final
