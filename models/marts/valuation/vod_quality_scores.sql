-- One row per accepted VOD with at least one accepted view up to the end of the batch day:
-- how engaging its clean viewers found it, relative to their own habits and within its
-- duration bucket, shrunk toward its category x type prior, with a lower confidence bound.
with signals as (
    select * from {{ ref('int_views_abuse_signals') }}
),

valuations as (
    select * from {{ ref('view_valuations') }}
),

vods as (
    select * from {{ ref('int_vods_accepted') }}
),

raw_counted as (
    select
        vod_id,
        count(*) as raw_views,
        count_if(is_flagged) as flagged_views
    from signals
    group by vod_id
),

viewer_engagement as (
    -- one value per distinct viewer, so replays and heavy users weigh as one person
    select
        vod_id,
        user_id,
        count(*) as viewer_views,
        avg(0.5 + (duration_quantile - user_baseline) / 2) as engagement
    from valuations
    group by vod_id, user_id
),

vod_engagement as (
    select
        vod_id,
        count(*) as clean_viewers,
        sum(viewer_views) as clean_views,
        avg(engagement) as mean_engagement,
        stddev_samp(engagement) as sd_engagement
    from viewer_engagement
    group by vod_id
),

with_group as (
    select
        raw_counted.vod_id,
        vods.streamer_id,
        vods.category,
        vods.vod_type,
        raw_counted.raw_views,
        raw_counted.flagged_views,
        vod_engagement.mean_engagement,
        vod_engagement.sd_engagement,
        coalesce(vod_engagement.clean_views, 0) as clean_views,
        coalesce(vod_engagement.clean_viewers, 0) as clean_viewers
    from raw_counted
    inner join vods on raw_counted.vod_id = vods.vod_id
    left join vod_engagement on raw_counted.vod_id = vod_engagement.vod_id
),

priors as (
    -- viewer-weighted mean and spread of engagement per category x VOD type
    select
        vods.category,
        vods.vod_type,
        avg(viewer_engagement.engagement) as prior_engagement,
        coalesce(stddev_samp(viewer_engagement.engagement), 0.25) as prior_sd
    from viewer_engagement
    inner join vods on viewer_engagement.vod_id = vods.vod_id
    group by vods.category, vods.vod_type
),

global_prior as (
    select
        avg(engagement) as prior_engagement,
        coalesce(stddev_samp(engagement), 0.25) as prior_sd
    from viewer_engagement
),

scored as (
    select
        with_group.*,
        coalesce(priors.prior_engagement, global_prior.prior_engagement, 0.5) as prior_engagement,
        coalesce(with_group.sd_engagement, priors.prior_sd, global_prior.prior_sd, 0.25) as engagement_sd
    from with_group
    left join priors
        on with_group.category = priors.category and with_group.vod_type = priors.vod_type
    cross join global_prior
),

final as (
    select
        vod_id,
        streamer_id,
        category,
        vod_type,
        raw_views,
        clean_views,
        clean_viewers,
        flagged_views,
        flagged_views / raw_views as abuse_share,
        mean_engagement,
        prior_engagement,
        (clean_viewers * coalesce(mean_engagement, 0) + {{ var('quality_prior_viewers') }} * prior_engagement)
        / (clean_viewers + {{ var('quality_prior_viewers') }}) as quality_score,
        (clean_viewers * coalesce(mean_engagement, 0) + {{ var('quality_prior_viewers') }} * prior_engagement)
        / (clean_viewers + {{ var('quality_prior_viewers') }})
        - {{ var('quality_lower_z') }} * engagement_sd
        / sqrt(clean_viewers + {{ var('quality_prior_viewers') }}) as quality_score_lower,
        {{ as_of_date() }} as batch_date
    from scored
)

select * from final
