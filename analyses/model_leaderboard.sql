-- Which recommender wins offline: NDCG and HitRate at k, 95% intervals, difference to popularity (latest batch)?
-- vars: k (default 10): the cut-off (1, 5, 10, 20 or 50). beats_popularity: the NDCG difference's interval is above 0.
-- Models recommend different item types (vod, streamer, broadcast): compare within an item_type.
with intervals as (
    select * from {{ ref('offline_eval_intervals') }}
),

metrics as (
    select * from {{ ref('offline_eval_metrics') }}
),

latest_batch as (
    select max(batch_date) as batch_date from intervals
),

intervals_at_k as (
    select intervals.*
    from intervals
    inner join latest_batch on intervals.batch_date = latest_batch.batch_date
    where intervals.k = {{ var('k', 10) }} and intervals.metric in ('ndcg', 'hit_rate')
),

intervals_pivoted_to_model as (
    select
        model_name,
        item_type,
        batch_date,
        k,
        max(case when metric = 'ndcg' then estimate end) as ndcg,
        max(case when metric = 'ndcg' then ci_low end) as ndcg_ci_low,
        max(case when metric = 'ndcg' then ci_high end) as ndcg_ci_high,
        max(case when metric = 'ndcg' then diff_vs_baseline end) as ndcg_diff_vs_popularity,
        max(case when metric = 'ndcg' then diff_ci_low end) as ndcg_diff_ci_low,
        max(case when metric = 'ndcg' then diff_ci_high end) as ndcg_diff_ci_high,
        max(case when metric = 'hit_rate' then estimate end) as hit_rate,
        max(case when metric = 'hit_rate' then ci_low end) as hit_rate_ci_low,
        max(case when metric = 'hit_rate' then ci_high end) as hit_rate_ci_high,
        max(case when metric = 'hit_rate' then diff_vs_baseline end) as hit_rate_diff_vs_popularity,
        max(case when metric = 'hit_rate' then diff_ci_low end) as hit_rate_diff_ci_low,
        max(case when metric = 'hit_rate' then diff_ci_high end) as hit_rate_diff_ci_high
    from intervals_at_k
    group by model_name, item_type, batch_date, k
),

leaderboard as (
    select
        pivoted.model_name,
        pivoted.item_type,
        pivoted.batch_date,
        pivoted.k,
        metrics.users_evaluated,
        metrics.users_with_list,
        pivoted.ndcg,
        pivoted.ndcg_ci_low,
        pivoted.ndcg_ci_high,
        pivoted.ndcg_diff_vs_popularity,
        pivoted.ndcg_diff_ci_low,
        pivoted.ndcg_diff_ci_high,
        pivoted.hit_rate,
        pivoted.hit_rate_ci_low,
        pivoted.hit_rate_ci_high,
        pivoted.hit_rate_diff_vs_popularity,
        pivoted.hit_rate_diff_ci_low,
        pivoted.hit_rate_diff_ci_high,
        metrics.coverage,
        pivoted.ndcg_diff_ci_low > 0 as beats_popularity,
        row_number() over (order by pivoted.ndcg desc, pivoted.model_name asc) as rank
    from intervals_pivoted_to_model as pivoted
    left join metrics
        on
            pivoted.model_name = metrics.model_name
            and pivoted.batch_date = metrics.batch_date
            and pivoted.k = metrics.k
)

select * from leaderboard
order by rank asc
