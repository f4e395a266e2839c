{#- Quarantine reason for a timestamp that cannot be true, else null. -#}
{% macro timestamp_reason(timestamp_column) %}
    case
        when {{ timestamp_column }} is null then 'null_timestamp'
        when {{ timestamp_column }} < timestamp'{{ var("platform_start_date") }} 00:00:00'
            then 'timestamp_before_platform'
        when {{ timestamp_column }} >= date_add(date'{{ var("landing_horizon_date") }}', {{ var("future_tolerance_days") | int + 1 }})
            then 'timestamp_in_future'
    end
{%- endmacro %}
