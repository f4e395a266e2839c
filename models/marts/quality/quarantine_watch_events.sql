{{ quarantined_rows('int_watch_events_validated') }}
