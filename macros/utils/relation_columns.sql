{#- The column names of a built relation, or [] when it cannot be read yet (parse, or a compile or
    docs on an empty warehouse): callers then fall back to `*`. -#}
{% macro relation_columns(relation) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | list) }}
{% endmacro %}
