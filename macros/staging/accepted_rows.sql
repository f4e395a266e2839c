{#- The rows of a validated model that passed every contract check, without
    the quarantine column. -#}
{% macro accepted_rows(validated_model) %}
    {%- set cols = adapter.get_columns_in_relation(ref(validated_model)) | map(attribute='name')
        | reject('equalto', 'quarantine_reason') | list if execute else ['*'] -%}
    select {{ cols | join(', ') }}
    from {{ ref(validated_model) }}
    where quarantine_reason is null
{%- endmacro %}
