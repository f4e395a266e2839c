{{ quarantined_rows('int_live_watch_events_validated') }}
