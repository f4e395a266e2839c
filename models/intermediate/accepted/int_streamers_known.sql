{{ config(materialized='view') }}

-- One row per streamer the batch knows: every accepted streamers row, and an inferred member for each
-- streamer id that a VOD or broadcast of the landing names but no streamers file lists (a late or lost
-- dimension row: the VODs, broadcasts and views are real, so they are kept and join here). An inferred
-- member has only its id; the VODs and broadcasts naming it list `streamer_id <id>: unknown_streamer` in
-- landing_doubtful_attributes. A VOD or broadcast without a streamer_id names the unknown member
-- '(unknown)' (macro unknown_member), listed here like an inferred one. What "does this streamer exist"
-- means for every later model.
with accepted as (
    select
        streamer_id,
        display_name,
        primary_category,
        country,
        created_at,
        batch_date,
        false as is_inferred
    from {{ ref('int_streamers_accepted') }}
),

-- a VOD or broadcast with a null streamer_id names the unknown member (int_vods_validated)
named as (
    select
        coalesce(streamer_id, {{ unknown_member() }}) as streamer_id,
        batch_date
    from {{ ref('stg_platform__vods') }}
    where vod_id is not null
    union all
    select
        coalesce(streamer_id, {{ unknown_member() }}) as streamer_id,
        batch_date
    from {{ ref('stg_platform__broadcasts') }}
    where broadcast_id is not null
),

inferred as (
    select
        named.streamer_id,
        cast(null as string) as display_name,
        cast(null as string) as primary_category,
        cast(null as string) as country,
        cast(null as timestamp) as created_at,
        min(named.batch_date) as batch_date,
        true as is_inferred
    from named
    left anti join accepted on named.streamer_id = accepted.streamer_id
    group by named.streamer_id
)

select * from accepted
union all
select * from inferred
