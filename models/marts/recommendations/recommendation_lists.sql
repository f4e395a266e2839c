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

with all_models as (
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_popularity') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_rewatch') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_preferred_newest') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_streamer_marts') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_served') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_item2vec') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_two_tower') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_als') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_ranker') }}
    union all
    select
        model_name,
        user_id,
        item_id,
        item_type,
        rank,
        score,
        batch_date
    from {{ ref('rec_fusion') }}
),

final as (
    select
        model_name,
        user_id,
        item_id,
        item_type,
        cast(rank as int) as rank,
        cast(score as double) as score,
        batch_date
    from all_models
    where batch_date = {{ as_of_date() }}
)

select * from final
