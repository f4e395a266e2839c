{{ quarantined_rows('int_users_validated') }}
