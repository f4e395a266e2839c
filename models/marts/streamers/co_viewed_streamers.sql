-- One row per ordered streamer pair (streamer_id -> co_streamer_id) watched by at least
-- coview_min_co_viewers of the same users in the preference window; the coview_top_n best
-- neighbours per streamer by Jaccard. Each user contributes only their
-- coview_max_streamers_per_user most preferred watched streamers, so the pair self-join
-- costs at most users x cap^2 rows: linear in users (and events), never quadratic in a heavy
-- user's history. All counts (viewers, co_viewers, audience) are taken on these capped sets.
with capped as (
    select
        user_id,
        streamer_id
    from (
        select
            user_id,
            streamer_id,
            row_number() over (partition by user_id order by preference_score desc, streamer_id asc) as watched_rank
        from {{ ref('user_preferred_streamers') }}
        where watched_seconds > 0
    ) as ranked
    where watched_rank <= {{ var('coview_max_streamers_per_user') }}
),

audience as (
    select count(distinct user_id) as audience_users from capped
),

viewers as (
    select
        streamer_id,
        count(*) as viewers
    from capped
    group by streamer_id
),

pairs as (
    select
        a.streamer_id,
        b.streamer_id as co_streamer_id,
        count(*) as co_viewers
    from capped as a
    inner join capped as b
        on a.user_id = b.user_id and a.streamer_id != b.streamer_id
    group by a.streamer_id, b.streamer_id
    having count(*) >= {{ var('coview_min_co_viewers') }}
),

measured as (
    select
        pairs.streamer_id,
        pairs.co_streamer_id,
        pairs.co_viewers,
        va.viewers as streamer_viewers,
        vb.viewers as co_streamer_viewers,
        pairs.co_viewers / (va.viewers + vb.viewers - pairs.co_viewers) as jaccard,
        pairs.co_viewers * audience.audience_users / (va.viewers * vb.viewers) as lift,
        ln(pairs.co_viewers * audience.audience_users / (va.viewers * vb.viewers)) as pmi
    from pairs
    inner join viewers as va on pairs.streamer_id = va.streamer_id
    inner join viewers as vb on pairs.co_streamer_id = vb.streamer_id
    cross join audience
),

ranked as (
    select
        *,
        row_number() over (
            partition by streamer_id order by jaccard desc, co_viewers desc, co_streamer_id asc
        ) as rank
    from measured
)

select
    *,
    {{ as_of_date() }} as batch_date
from ranked
where rank <= {{ var('coview_top_n') }}
