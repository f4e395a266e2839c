"""Great Expectations checkpoint on the batch's marts; its results replace the batch's partition
(a rerun of a batch leaves one run per batch; every run stays in the GE Data Docs). See watchhouse.quality."""

import datetime as dt
from pathlib import Path


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["batch_date"],
        on_schema_change="append_new_columns",
    )
    from watchhouse.quality.checkpoint import run_batch_checkpoint

    home = dbt.config.get("home")
    project_dir = dbt.config.get("project_dir")
    history = session.table(str(dbt.this)).toPandas() if dbt.is_incremental else None
    return run_batch_checkpoint(
        session,
        as_of=dt.date.fromisoformat(dbt.config.get("as_of")),
        marts={
            "vod_quality_scores": dbt.ref("vod_quality_scores"),
            "view_valuations": dbt.ref("view_valuations"),
            "int_views_clean": dbt.ref("int_views_clean"),
            "abuse_flags": dbt.ref("abuse_flags"),
            "quarantine_watch_events": dbt.ref("quarantine_watch_events"),
            "landing_reconciliation": dbt.ref("landing_reconciliation"),
        },
        history=history,
        params=dbt.config.get("quality_params"),
        ge_root=Path(home) / "ge",
        expectations_dir=Path(project_dir) / "expectations",
    )
