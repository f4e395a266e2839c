-- One row per ordered streamer pair (streamer_id -> co_streamer_id) that at least one user
-- counts among their copreference_top_m preferred streamers: how many users prefer both, and
-- the share of streamer_id's preferrers who also prefer co_streamer_id. Summed over a user's
-- preferred streamers this is user-user collaborative filtering with overlap similarity,
-- computed from the streamer side at a cost linear in users (each adds at most top_m^2 pairs).
-- Only the copreference_top_n strongest co-streamers of each streamer are kept.
with preferred as (
    select
        user_id,
        streamer_id
    from {{ ref('user_preferred_streamers') }}
    where preference_rank <= {{ var('copreference_top_m') }}
),

preferrers as (
    select
        streamer_id,
        count(*) as preferrers
    from preferred
    group by streamer_id
),

pairs as (
    select
        a.streamer_id,
        b.streamer_id as co_streamer_id,
        count(*) as co_preferrers
    from preferred as a
    inner join preferred as b
        on a.user_id = b.user_id and a.streamer_id != b.streamer_id
    group by a.streamer_id, b.streamer_id
),

ranked as (
    -- the copreference_top_n strongest per streamer: what exploration and live recommendations
    -- join per user x preferred streamer stays bounded (a popular streamer co-occurs with thousands)
    select
        pairs.streamer_id,
        pairs.co_streamer_id,
        pairs.co_preferrers,
        preferrers.preferrers,
        pairs.co_preferrers / preferrers.preferrers as co_preference,
        row_number() over (
            partition by pairs.streamer_id order by pairs.co_preferrers desc, pairs.co_streamer_id asc
        ) as co_rank
    from pairs
    inner join preferrers on pairs.streamer_id = preferrers.streamer_id
)

select * from ranked
where co_rank <= {{ var('copreference_top_n') }}
