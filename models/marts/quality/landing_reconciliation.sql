{%- set tables = ['streamers', 'users', 'vods', 'watch_events', 'broadcasts', 'live_watch_events', 'follows'] -%}

with
{% for table in tables %}
raw_{{ table }} as (
    select
        batch_date,
        count(*) as raw_rows
    from {{ ref('stg_platform__' ~ table) }}
    group by batch_date
),

accepted_{{ table }} as (
    select
        batch_date,
        count(*) as accepted_rows
    from {{ ref('int_' ~ table ~ '_accepted') }}
    group by batch_date
),

quarantined_{{ table }} as (
    select
        batch_date,
        count(*) as quarantined_rows
    from {{ ref('quarantine_' ~ table) }}
    group by batch_date
),

counts_{{ table }} as (
    select
        '{{ table }}' as table_name,
        raw_{{ table }}.batch_date,
        raw_{{ table }}.raw_rows,
        coalesce(accepted_{{ table }}.accepted_rows, 0) as accepted_rows,
        coalesce(quarantined_{{ table }}.quarantined_rows, 0) as quarantined_rows
    from raw_{{ table }}
    left join accepted_{{ table }} on raw_{{ table }}.batch_date = accepted_{{ table }}.batch_date
    left join quarantined_{{ table }} on raw_{{ table }}.batch_date = quarantined_{{ table }}.batch_date
),
{% endfor %}

all_tables as (
    {% for table in tables %}
        select * from counts_{{ table }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        table_name,
        batch_date,
        raw_rows,
        accepted_rows,
        quarantined_rows,
        raw_rows = accepted_rows + quarantined_rows as is_balanced,
        {{ as_of_date() }} as built_for_batch
    from all_tables
)

select * from final
