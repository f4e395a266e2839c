{{ config(materialized='view') }}

{{ accepted_rows('int_watch_events_validated') }}
