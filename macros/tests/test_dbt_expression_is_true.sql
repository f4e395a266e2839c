{#- Generic test: every row satisfies a boolean SQL expression (rows that do not are returned). -#}
{% test dbt_expression_is_true(model, expression, column_name=none) %}
    {%- if not expression -%}
        {{ exceptions.raise_compiler_error("dbt_expression_is_true: pass a non-empty `expression`") }}
    {%- endif %}
    select * from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}
