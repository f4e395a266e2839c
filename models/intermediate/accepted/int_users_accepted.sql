{{ config(materialized='view') }}

{{ accepted_rows('int_users_validated') }}
