{{ config(materialized='view') }}

{{ accepted_rows('int_recommendations_served_validated') }}
