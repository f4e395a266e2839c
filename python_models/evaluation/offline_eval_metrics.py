"""The lists of the batch before, scored on this batch (see watchhouse.eval.offline.evaluate).
One partition per list batch."""

import datetime as dt


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["batch_date"],
        on_schema_change="append_new_columns",
    )
    from watchhouse.eval.offline import evaluate

    as_of = dt.date.fromisoformat(dbt.config.get("as_of"))
    return evaluate(
        lists=dbt.ref("recommendation_lists"),
        relevance=dbt.ref("int_eval_relevance"),
        items=dbt.ref("int_eval_items"),
        batch=as_of - dt.timedelta(days=1),
    )
