{#- Layers get plain schema names (landing, staging, intermediate, marts,
    reference) so an analyst finds a mart at <warehouse>/marts.db/<mart>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
