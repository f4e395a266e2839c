{{ config(materialized='view') }}

{{ accepted_rows('int_broadcasts_validated') }}
