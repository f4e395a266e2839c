{{ config(materialized='view') }}

{{ accepted_rows('int_vods_validated') }}
