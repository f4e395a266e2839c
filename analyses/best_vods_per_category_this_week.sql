-- Which VODs are the best of each category this week, by quality_score_lower (safe from small samples)?
-- vars: days (default 7): the window of clean views, ending at the latest batch; top_n (default 10): VODs per category.
-- A VOD qualifies with a clean view in the window; its score is the mart's (every clean viewer up
-- to the batch), so a VOD watched this week keeps the evidence of the weeks before.
with scores as (
    select * from {{ ref('vod_quality_scores') }}
),

valuations as (
    select * from {{ ref('view_valuations') }}
),

latest_batch as (
    select max(batch_date) as batch_date from scores
),

views_in_window as (
    select
        valuations.vod_id,
        count(*) as window_clean_views,
        count(distinct valuations.user_id) as window_clean_viewers
    from valuations
    cross join latest_batch
    where
        valuations.batch_date > latest_batch.batch_date - {{ var('days', 7) }}
        and valuations.batch_date <= latest_batch.batch_date
    group by valuations.vod_id
),

vods_ranked_in_category as (
    select
        scores.category,
        scores.vod_id,
        scores.streamer_id,
        scores.vod_type,
        scores.quality_score_lower,
        scores.quality_score,
        scores.clean_viewers,
        scores.abuse_share,
        views_in_window.window_clean_views,
        views_in_window.window_clean_viewers,
        scores.batch_date,
        row_number() over (
            partition by scores.category order by scores.quality_score_lower desc, scores.vod_id asc
        ) as rank
    from scores
    inner join views_in_window on scores.vod_id = views_in_window.vod_id
),

best_vods as (
    select
        category,
        rank,
        vod_id,
        streamer_id,
        vod_type,
        quality_score_lower,
        quality_score,
        clean_viewers,
        abuse_share,
        window_clean_views,
        window_clean_viewers,
        batch_date
    from vods_ranked_in_category
    where rank <= {{ var('top_n', 10) }}
)

select * from best_vods
order by category asc, rank asc
