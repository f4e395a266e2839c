"""Exploration candidates ranked by Thompson sampling over the four exploration types
(see watchhouse.recs.exploration). One partition per batch; the bandit's evidence is
this table's own earlier partitions scored on the watching that followed them."""

import datetime as dt


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["batch_date"],
        on_schema_change="append_new_columns",
    )
    from watchhouse.recs.exploration import exploration_candidates

    as_of = dt.date.fromisoformat(dbt.config.get("as_of"))
    list_size = int(dbt.config.get("list_size"))
    prior = (float(dbt.config.get("prior_alpha")), float(dbt.config.get("prior_beta")))
    seed = int(dbt.config.get("seed"))
    history = session.table(str(dbt.this)) if dbt.is_incremental else None
    return exploration_candidates(
        pool=dbt.ref("int_exploration_pool"),
        daily=dbt.ref("int_user_streamer_daily"),
        history=history,
        as_of=as_of,
        list_size=list_size,
        prior=prior,
        seed=seed,
    )
