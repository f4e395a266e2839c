{%- set tables = landing_tables() + ['recommendations_served'] -%}

with all_quarantined as (
    {% for table in tables %}
        select
            '{{ table }}' as landing_table,
            batch_date,
            quarantine_reason
        from {{ ref('quarantine_' ~ table) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

counted as (
    select
        landing_table,
        batch_date,
        quarantine_reason,
        count(*) as quarantined_rows
    from all_quarantined
    group by landing_table, batch_date, quarantine_reason
),

final as (
    select
        counted.landing_table,
        counted.batch_date,
        counted.quarantine_reason,
        counted.quarantined_rows,
        {{ as_of_date() }} as built_for_batch
    from counted
)

select * from final
