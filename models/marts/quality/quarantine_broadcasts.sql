{{ quarantined_rows('int_broadcasts_validated') }}
