{%- set tables = landing_tables() -%}
{%- set dimensions = dimension_tables() -%}

with row_states as (
    {% for table in tables %}
        select
            '{{ table }}' as landing_table,
            batch_date,
            'raw' as row_state
        from {{ ref('stg_platform__' ~ table) }}
        union all
        select
            '{{ table }}' as landing_table,
            batch_date,
            'accepted' as row_state
        from {{ ref('int_' ~ table ~ '_accepted') }}
        union all
        select
            '{{ table }}' as landing_table,
            batch_date,
            'quarantined' as row_state
        from {{ ref('quarantine_' ~ table) }}
        {% if table in dimensions %}
            union all
            select
                '{{ table }}' as landing_table,
                batch_date,
                'doubtful' as row_state
            from {{ ref('landing_doubtful_attributes') }}
            where landing_table = '{{ table }}'
        {% endif %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

counted as (
    select
        landing_table,
        batch_date,
        count_if(row_state = 'raw') as raw_rows,
        count_if(row_state = 'accepted') as accepted_rows,
        count_if(row_state = 'quarantined') as quarantined_rows,
        count_if(row_state = 'doubtful') as doubtful_attribute_rows
    from row_states
    group by landing_table, batch_date
),

final as (
    select
        landing_table,
        batch_date,
        raw_rows,
        accepted_rows,
        quarantined_rows,
        raw_rows = accepted_rows + quarantined_rows as is_balanced,
        doubtful_attribute_rows,
        quarantined_rows / raw_rows as quarantine_share,
        -- error-level (tested for the batch being built): a batch that quarantines most of a table fails
        raw_rows < {{ var('quarantine_share_min_rows') }}
        or quarantined_rows <= {{ var('quarantine_share_max') }} * raw_rows as is_quarantine_share_within_bound,
        {{ as_of_date() }} as built_for_batch
    from counted
)

select * from final
