{#- A view longer than its VOD allows: watched_seconds > duration x max_watch_duration_multiple +
    watch_duration_slack_seconds (a view session counts playing time, so even with pauses and seeks a watch
    beyond that is not one viewing). False when the duration is null (unknown: nothing to exceed). One
    definition for the view rule (int_watch_events_validated) and the duration check it feeds
    (int_vods_validated: a VOD most of whose views exceed it has a doubtful duration). -#}
{% macro watch_exceeds_duration(watched_seconds, duration_seconds) -%}
    coalesce(
        {{ watched_seconds }} > {{ duration_seconds }} * {{ var('max_watch_duration_multiple') }}
        + {{ var('watch_duration_slack_seconds') }},
        false
    )
{%- endmacro %}
