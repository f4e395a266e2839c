{#- The member a grouping key gets when the landing gave none or one the project does not know: a VOD's type
    outside the vod_types seed, a VOD's missing category, and the streamer of a VOD or broadcast that landed
    with a null streamer_id (int_streamers_known lists it as an inferred member). Streamer-level marts and the
    offline evaluation leave the unknown streamer out (macro is_known_streamer): it is no one to recommend or
    explore. A landing whose own id is this string shares the member (docs/landing.md "Doubtful attributes"). -#}
{% macro unknown_member() -%}
    '(unknown)'
{%- endmacro %}

{% macro is_known_streamer(column) -%}
    {{ column }} <> {{ unknown_member() }}
{%- endmacro %}
