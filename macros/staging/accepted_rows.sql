{#- The rows of a validated model that passed every contract check, without the quarantine column,
    pseudonymised: a column X with a sibling X_pseudonym (macro `pseudonym`) is replaced by it, under
    the name X, so nothing downstream sees the landing value. The column list is read from the built
    relation; before it exists (parse, a compile or docs on an empty warehouse) the query falls back
    to `*`. -#}
{% macro accepted_rows(validated_model) %}
    {%- set relation = ref(validated_model) -%}
    {%- set names = relation_columns(relation) -%}
    {%- set cols = [] -%}
    {%- for name in names if name != 'quarantine_reason' and not name.endswith('_pseudonym') -%}
        {%- do cols.append(name ~ '_pseudonym as ' ~ name if name ~ '_pseudonym' in names else name) -%}
    {%- endfor %}
    select {{ cols | join(', ') if cols else '*' }}
    from {{ relation }}
    where quarantine_reason is null
{%- endmacro %}
