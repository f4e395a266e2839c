"""The exploration bandit per batch: outcomes, posterior and slot allocation per type
(see watchhouse.recs.exploration.posterior_history)."""

import datetime as dt


def model(dbt, session):
    dbt.config(materialized="table")
    from watchhouse.recs.exploration import posterior_history

    as_of = dt.date.fromisoformat(dbt.config.get("as_of"))
    list_size = int(dbt.config.get("list_size"))
    prior = (float(dbt.config.get("prior_alpha")), float(dbt.config.get("prior_beta")))
    return posterior_history(
        candidates=dbt.ref("streamer_exploration_candidates"),
        daily=dbt.ref("int_user_streamer_daily"),
        as_of=as_of,
        list_size=list_size,
        prior=prior,
    )
