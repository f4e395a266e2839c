{#- The rows of a validated model that broke the contract, with their reason. -#}
{% macro quarantined_rows(validated_model) %}
    select * from {{ ref(validated_model) }}
    where quarantine_reason is not null
{%- endmacro %}
