"""Bootstrap intervals of the offline metrics and of their difference to the popularity
baseline (see watchhouse.eval.offline.bootstrap_intervals). One partition per list batch."""

import datetime as dt


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["batch_date"],
        on_schema_change="append_new_columns",
    )
    from watchhouse.eval.offline import bootstrap_intervals

    as_of = dt.date.fromisoformat(dbt.config.get("as_of"))
    replicates = int(dbt.config.get("replicates"))
    buckets = int(dbt.config.get("buckets"))
    return bootstrap_intervals(
        lists=dbt.ref("recommendation_lists"),
        relevance=dbt.ref("int_eval_relevance"),
        batch=as_of - dt.timedelta(days=1),
        buckets=buckets,
        replicates=replicates,
    )
