{{ quarantined_rows('int_streamers_validated') }}
