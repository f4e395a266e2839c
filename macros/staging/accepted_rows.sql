{#- The rows of a validated model that passed every contract check, without
    the quarantine column. The column list is read from the built relation;
    before it exists (parse, a compile or docs on an empty warehouse) the
    query falls back to `*`. -#}
{% macro accepted_rows(validated_model) %}
    {%- set relation = ref(validated_model) -%}
    {%- set cols = [] -%}
    {%- if execute -%}
        {%- set cols = adapter.get_columns_in_relation(relation) | map(attribute='name')
            | reject('equalto', 'quarantine_reason') | list -%}
    {%- endif %}
    select {{ cols | join(', ') if cols else '*' }}
    from {{ relation }}
    where quarantine_reason is null
{%- endmacro %}
