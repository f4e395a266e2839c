{#- The exact value at `fraction` of `column` (nearest rank: the smallest value whose cumulative share
    is >= fraction), as Spark's percentile_disc computes it: from the count of each distinct value, so
    the result does not depend on the order rows arrive in. percentile_approx over more rows than its
    accuracy merges sketches in arrival order, and a rerun of a batch could then differ.

    sqlfluff's sparksql dialect cannot parse WITHIN GROUP (sqlfluff issue 6621). `target` exists only
    when dbt renders, so the linter is shown percentile_approx, which it parses, and dbt runs the
    exact percentile. -#}
{% macro exact_percentile(column, fraction) -%}
    {%- if target is defined -%}
        percentile_disc({{ fraction }}) within group (order by {{ column }})
    {%- else -%}
        percentile_approx({{ column }}, {{ fraction }})
    {%- endif -%}
{%- endmacro %}
