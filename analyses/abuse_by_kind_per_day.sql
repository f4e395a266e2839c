-- How many views were flagged as abuse per day and kind, and what share of the day's accepted views is that?
-- vars: days (default 28): days shown, ending at the latest day with accepted views.
-- Every kind seen (and the four known ones) appears on every day, with 0 where nothing was flagged.
with flags as (
    select * from {{ ref('abuse_flags') }}
),

reconciliation as (
    select * from {{ ref('landing_reconciliation') }}
),

accepted_views_per_day as (
    select
        batch_date,
        accepted_rows as accepted_views
    from reconciliation
    where landing_table = 'watch_events'
),

latest_day as (
    select max(batch_date) as batch_date from accepted_views_per_day
),

days_in_window as (
    select accepted_views_per_day.*
    from accepted_views_per_day
    cross join latest_day
    where accepted_views_per_day.batch_date > latest_day.batch_date - {{ var('days', 28) }}
),

kinds as (
    select known_kinds.abuse_kind from (
        values ('bot'), ('view_farm'), ('replay_loop'), ('overlong_watch')
    ) as known_kinds (abuse_kind)
    union
    select abuse_kind from flags
),

flags_per_day_and_kind as (
    select
        batch_date,
        abuse_kind,
        count(*) as flagged_views,
        count(distinct user_id) as flagged_users
    from flags
    group by batch_date, abuse_kind
),

days_and_kinds as (
    select
        days_in_window.batch_date,
        kinds.abuse_kind,
        days_in_window.accepted_views
    from days_in_window
    cross join kinds
),

shares_computed as (
    select
        days_and_kinds.batch_date,
        days_and_kinds.abuse_kind,
        days_and_kinds.accepted_views,
        coalesce(flagged.flagged_views, 0) as flagged_views,
        coalesce(flagged.flagged_users, 0) as flagged_users,
        coalesce(flagged.flagged_views, 0) / nullif(days_and_kinds.accepted_views, 0) as share_of_accepted_views
    from days_and_kinds
    left join flags_per_day_and_kind as flagged
        on
            days_and_kinds.batch_date = flagged.batch_date
            and days_and_kinds.abuse_kind = flagged.abuse_kind
)

select * from shares_computed
order by batch_date desc, abuse_kind asc
