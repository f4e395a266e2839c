-- Every in-scope landing row is accepted or quarantined, exactly once: counts
-- straight from the sources (not from staging) against the accepted views plus
-- the quarantine marts, per table and batch. Returns the tables/batches that
-- do not add up (a join fan-out or a lost row would show here).
{%- set tables = landing_tables() %}

with
{% for table in tables %}
    {%- set ts = {'streamers': 'created_at', 'users': 'created_at', 'vods': 'created_at',
        'watch_events': 'started_at', 'broadcasts': 'started_at', 'live_watch_events': 'joined_at',
        'follows': 'followed_at'}[table] %}
    source_{{ table }} as (
        select
            batch_date,
            count(*) as source_rows
        from (
            select {{ batch_date_of(ts, table) }} as batch_date
            from {{ source('platform', table) }}
        ) as dated
        where batch_date <= {{ as_of_date() }}
        group by batch_date
    ),

    split_{{ table }} as (
        select
            batch_date,
            count(*) as split_rows
        from (
            select batch_date from {{ ref('int_' ~ table ~ '_accepted') }}
            union all
            select batch_date from {{ ref('quarantine_' ~ table) }}
        ) as both_sides
        group by batch_date
    ),

    compared_{{ table }} as (
        select
            '{{ table }}' as landing_table,
            coalesce(source_{{ table }}.batch_date, split_{{ table }}.batch_date) as batch_date,
            source_{{ table }}.source_rows,
            split_{{ table }}.split_rows
        from source_{{ table }}
        full outer join split_{{ table }} on source_{{ table }}.batch_date = split_{{ table }}.batch_date
    ),
{% endfor %}

all_compared as (
    {% for table in tables %}
        select * from compared_{{ table }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from all_compared
where source_rows is null or split_rows is null or source_rows != split_rows
