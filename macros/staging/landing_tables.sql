{#- The landing contract's required tables (DESIGN.md section 3), in build order. -#}
{% macro landing_tables() %}
    {{ return(['streamers', 'users', 'vods', 'watch_events', 'broadcasts', 'live_watch_events', 'follows']) }}
{% endmacro %}

{#- The optional landing tables (read only when present: var landing_optional_tables). -#}
{% macro optional_landing_tables() %}
    {{ return(['abuse_labels', 'recommendations_served']) }}
{% endmacro %}

{#- The dimension tables whose rows are kept, with a doubtful non-key attribute nulled, instead of
    quarantined (macro attribute_issues): table -> key column. -#}
{% macro dimension_tables() %}
    {{ return({'streamers': 'streamer_id', 'users': 'user_id', 'vods': 'vod_id', 'broadcasts': 'broadcast_id'}) }}
{% endmacro %}
