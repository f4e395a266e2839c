{{ config(materialized='view') }}

{{ accepted_rows('int_streamers_validated') }}
