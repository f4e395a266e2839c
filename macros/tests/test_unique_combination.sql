{#- Generic test: the combination of `columns` is unique (duplicated combinations are returned). -#}
{% test unique_combination(model, columns) %}
    {%- if columns is string or columns | length < 2 -%}
        {{ exceptions.raise_compiler_error("unique_combination: `columns` must list 2+ columns, got " ~ columns) }}
    {%- endif %}
    select {{ columns | join(', ') }}, count(*) as copies
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
