"""The exploration bandit per batch: outcomes, posterior and slot allocation per type
(see watchhouse.recs.exploration.posterior_history)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from watchhouse.recs.exploration import posterior_history

    list_size = int(dbt.config.get("list_size"))
    prior = (float(dbt.config.get("prior_alpha")), float(dbt.config.get("prior_beta")))
    return posterior_history(
        candidates=dbt.ref("streamer_exploration_candidates"),
        daily=dbt.ref("int_user_streamer_daily"),
        list_size=list_size,
        prior=prior,
    )
