{{ quarantined_rows('int_follows_validated') }}
