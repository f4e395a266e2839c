{#- Refuse a run whose batch vars are missing or malformed, before any model. -#}
{% macro check_batch_vars() %}
    {% if execute %}
        {% set date_re = '^\\d{4}-\\d{2}-\\d{2}$' %}
        {% for name in ['as_of', 'landing_horizon_date', 'landing_first_date'] %}
            {% set value = var(name) | string %}
            {% if not modules.re.match(date_re, value) %}
                {{ exceptions.raise_compiler_error(
                    "var " ~ name ~ "=" ~ (value | tojson) ~ " is not a YYYY-MM-DD date. "
                    ~ "Run through `make build` / `watchhouse build`, which resolves the batch from "
                    ~ "the landing data, or pass --vars with as_of, landing_first_date and landing_horizon_date."
                ) }}
            {% endif %}
        {% endfor %}
        {% if var('as_of') > var('landing_horizon_date') or var('as_of') < var('landing_first_date') %}
            {{ exceptions.raise_compiler_error(
                "as_of=" ~ var('as_of') ~ " is outside the landing data ("
                ~ var('landing_first_date') ~ " .. " ~ var('landing_horizon_date') ~ ")"
            ) }}
        {% endif %}
        {% set root = var('landing_root') | string %}
        {% if not root.startswith('/') or modules.re.search("['`\\\\;]", root) %}
            {{ exceptions.raise_compiler_error(
                "var landing_root=" ~ (root | tojson) ~ " must be an absolute path without quotes, "
                ~ "backticks, backslashes or semicolons (set WATCHHOUSE_LANDING)"
            ) }}
        {% endif %}
    {% endif %}
{% endmacro %}
