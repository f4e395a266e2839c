{{ config(materialized='view') }}

{{ accepted_rows('int_follows_validated') }}
