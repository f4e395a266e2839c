{{ quarantined_rows('int_recommendations_served_validated') }}
