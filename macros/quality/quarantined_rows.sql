{#- The rows of a validated model that broke the contract, with their reason, as landed: raw ids
    and IP hashes for the data team (docs/landing.md), without the X_pseudonym columns. -#}
{% macro quarantined_rows(validated_model) %}
    {%- set relation = ref(validated_model) -%}
    {%- set cols = [] -%}
    {%- for name in relation_columns(relation) if not name.endswith('_pseudonym') -%}
        {%- do cols.append(name) -%}
    {%- endfor %}
    select {{ cols | join(', ') if cols else '*' }}
    from {{ relation }}
    where quarantine_reason is not null
{%- endmacro %}
