{#- 1 for the row of a key that is kept, 2.. for later copies. Rows that already
    failed a row-local check (pre_reason not null) rank last so a broken copy never
    displaces a good one; then copies with a doubtful attribute (a non-null column of
    `issue_columns`, macro attribute_issues) rank after clean ones; among the rest the
    earliest wins, ties broken by the remaining columns so reruns choose the same row. -#}
{% macro key_rank(key_columns, order_columns, issue_columns=[]) %}
    {%- if key_columns is string or key_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error("key_rank: key_columns must be a non-empty list, got " ~ key_columns) }}
    {%- endif -%}
    {%- set order = ['case when pre_reason is null then 0 else 1 end'] -%}
    {%- if issue_columns -%}
        {%- do order.append('case when coalesce(' ~ issue_columns | join(', ') ~ ') is null then 0 else 1 end') -%}
    {%- endif -%}
    row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by {{ (order + order_columns) | join(', ') }}
    )
{%- endmacro %}
