{{ quarantined_rows('int_vods_validated') }}
