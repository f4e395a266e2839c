-- Which exploration type converts: trials, successes and success rate per type, latest batch and all batches?
-- vars: none. The bandit's posterior (Beta mean and sd) is the one the latest batch was ranked with.
with posteriors as (
    select * from {{ ref('exploration_type_posteriors') }}
),

latest_batch as (
    select max(batch_date) as batch_date from posteriors
),

types_in_latest_batch as (
    select posteriors.*
    from posteriors
    inner join latest_batch on posteriors.batch_date = latest_batch.batch_date
),

types_over_batches as (
    select
        exploration_type,
        cast(count(*) as bigint) as batches,
        cast(sum(trials) as bigint) as total_trials,
        cast(sum(successes) as bigint) as total_successes
    from posteriors
    group by exploration_type
),

conversion_compared as (
    select
        latest.exploration_type,
        latest.batch_date as latest_batch_date,
        latest.trials as latest_trials,
        latest.successes as latest_successes,
        latest.success_rate as latest_success_rate,
        totals.batches,
        totals.total_trials,
        totals.total_successes,
        latest.alpha,
        latest.beta,
        latest.posterior_mean,
        latest.slot_share as latest_slot_share,
        totals.total_successes / nullif(totals.total_trials, 0) as overall_success_rate,
        sqrt(
            latest.alpha * latest.beta
            / ((latest.alpha + latest.beta) * (latest.alpha + latest.beta) * (latest.alpha + latest.beta + 1))
        ) as posterior_sd
    from types_in_latest_batch as latest
    inner join types_over_batches as totals on latest.exploration_type = totals.exploration_type
)

select * from conversion_compared
order by posterior_mean desc, exploration_type asc
