{#- A dimension row (users, streamers, vods, broadcasts) is never quarantined for a doubtful non-key
    attribute: the facts that reference its key would follow it into quarantine (docs/landing.md
    "Doubtful attributes"). The row is kept, the attribute is nulled in the accepted row, and the row
    carries `attribute_issues`, one `column landed-value: reason` entry per doubtful attribute.

    `issues` maps each attribute column to the column holding its reason (null when it is fine).
    `replacement`: SQL for what a doubtful value becomes instead of null (a grouping key such as
    vod_type gets the member '(unknown)', so its rows still group and join). -#}
{% macro kept_attribute(column, issue_column, replacement='null') %}
    case when quarantine_reason is not null or {{ issue_column }} is null then {{ column }} else {{ replacement }} end
{%- endmacro %}

{% macro attribute_issues(issues) %}
    {%- if issues is not mapping or issues | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "attribute_issues: `issues` must map attribute columns to reason columns, got " ~ issues
        ) }}
    {%- endif -%}
    {%- set entries = [] -%}
    {%- for column, issue_column in issues.items() -%}
        {%- do entries.append("case when " ~ issue_column ~ " is not null then concat('" ~ column ~ " ', coalesce(cast("
            ~ column ~ " as string), 'null'), ': ', " ~ issue_column ~ ") end") -%}
    {%- endfor -%}
    nullif(concat_ws('; ', {{ entries | join(', ') }}), '')
{%- endmacro %}
