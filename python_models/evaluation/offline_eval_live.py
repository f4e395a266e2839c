"""The lists of the batch before, scored with the LiveRec live protocol on this batch's
live joins (see watchhouse.eval.live). One partition per list batch."""

import datetime as dt


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["batch_date"],
        on_schema_change="append_new_columns",
    )
    from pyspark.sql import functions as F

    from watchhouse.eval.live import live_inputs, live_metrics

    as_of = dt.date.fromisoformat(dbt.config.get("as_of"))
    step_minutes = int(dbt.config.get("step_minutes"))
    list_batch = as_of - dt.timedelta(days=1)
    lists = dbt.ref("recommendation_lists").where(F.col("batch_date") == F.lit(list_batch))
    by_streamer, interactions, live_steps = live_inputs(
        lists,
        dbt.ref("int_vods_accepted"),
        dbt.ref("int_broadcasts_accepted"),
        dbt.ref("int_live_watch_events_accepted"),
        dbt.ref("int_user_streamer_daily"),
        as_of,
        step_minutes,
    )
    return live_metrics(by_streamer, interactions, live_steps).select(
        "model_name",
        "segment",
        "interactions",
        "h1",
        "h10",
        "ndcg10",
        F.lit(step_minutes).alias("step_minutes"),
        F.lit(list_batch).alias("batch_date"),
    )
