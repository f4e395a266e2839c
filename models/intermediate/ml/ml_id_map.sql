-- Integer ids for the models trained in the DAG (item2vec, two-tower, ranker, ALS): one row per
-- entity, idx = 0..n-1 in id order within each entity_type. Rebuilt per batch from data up to the
-- batch: VODs (and their streamers, categories, VOD types) of the batch's catalogue, users with a
-- clean view in the last ml_window_days.
-- a VOD with no category (the contract allows it) or type gets the unknown member (macro unknown_member):
-- the same literal as watchhouse.ml.data.UNKNOWN_ENTITY
with vods as (
    select
        vod_id,
        streamer_id,
        coalesce(category, {{ unknown_member() }}) as category,
        coalesce(vod_type, {{ unknown_member() }}) as vod_type
    from {{ ref('int_vods_accepted') }}
),

viewers as (
    select distinct user_id
    from {{ ref('view_valuations') }}
    where
        started_at >= cast(date_sub({{ as_of_date() }}, {{ var('ml_window_days') }} - 1) as timestamp)
        and started_at < cast(date_add({{ as_of_date() }}, 1) as timestamp)
),

entities as (
    select
        'user' as entity_type,
        user_id as entity_id
    from viewers
    union all
    select
        'vod' as entity_type,
        vod_id as entity_id
    from vods
    union all
    select distinct
        'streamer' as entity_type,
        streamer_id as entity_id
    from vods
    union all
    select distinct
        'category' as entity_type,
        category as entity_id
    from vods
    union all
    select distinct
        'vod_type' as entity_type,
        vod_type as entity_id
    from vods
)

select
    entity_type,
    entity_id,
    cast(row_number() over (partition by entity_type order by entity_id) - 1 as int) as idx,
    {{ as_of_date() }} as batch_date
from entities
