-- Which streamers are most co-viewed with streamer X (its neighbours by Jaccard over shared viewers)?
-- vars: streamer_id (default: the streamer with the most viewers in co_viewed_streamers); top_n (default 20).
-- An unknown streamer_id gives no rows: a streamer needs coview_min_co_viewers shared viewers with another.
with pairs as (
    select * from {{ ref('co_viewed_streamers') }}
),

streamer_chosen as (
    {%- if var('streamer_id', none) is not none %}
        select '{{ var("streamer_id") }}' as streamer_id
    {%- else %}
        select streamer_id
        from pairs
        group by streamer_id
        order by max(streamer_viewers) desc, streamer_id asc
        limit 1
    {%- endif %}
),

neighbours_of_chosen as (
    select
        pairs.streamer_id,
        pairs.rank,
        pairs.co_streamer_id,
        pairs.co_viewers,
        pairs.streamer_viewers,
        pairs.co_streamer_viewers,
        pairs.jaccard,
        pairs.lift,
        pairs.batch_date
    from pairs
    inner join streamer_chosen on pairs.streamer_id = streamer_chosen.streamer_id
    where pairs.rank <= {{ var('top_n', 20) }}
)

select * from neighbours_of_chosen
order by rank asc
