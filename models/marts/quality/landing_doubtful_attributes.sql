-- One row per accepted dimension row (streamer, user, VOD, broadcast) that was kept with a doubtful
-- non-key attribute nulled instead of being quarantined (docs/landing.md "Doubtful attributes"): its
-- key (a user's pseudonymised, as in every mart outside the quarantine, so it joins the other marts)
-- and which attributes, with their landed values and reasons.
{%- set tables = dimension_tables() %}

with flagged as (
    {% for table, key in tables.items() %}
        select
            '{{ table }}' as landing_table,
            {{ key ~ '_pseudonym' if table == 'users' else key }} as row_key,
            attribute_issues,
            batch_date
        from {{ ref('int_' ~ table ~ '_validated') }}
        where quarantine_reason is null and attribute_issues is not null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    landing_table,
    row_key,
    attribute_issues,
    batch_date,
    {{ as_of_date() }} as built_for_batch
from flagged
