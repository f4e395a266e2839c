"""Popularity baseline lists for the batch (see watchhouse.recs.popularity)."""

import datetime as dt


def model(dbt, session):
    dbt.config(materialized="table")
    from watchhouse.recs.popularity import popularity_lists

    return popularity_lists(
        views=dbt.ref("int_views_clean"),
        users=dbt.ref("int_users_accepted"),
        as_of=dt.date.fromisoformat(dbt.config.get("as_of")),
        k=int(dbt.config.get("list_size")),
        window_days=int(dbt.config.get("window_days")),
    )
