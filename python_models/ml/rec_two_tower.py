"""Two-tower retrieval lists, fp32 and dynamic int8 (watchhouse.ml.jobs.two_tower_job)."""


def model(dbt, session):
    from watchhouse.ml.jobs import entry

    ml = entry.Settings.of(
        dbt.config.get("as_of"), dbt.config.get("home"), dbt.config.get("ml_enabled"), dbt.config.get("ml_params")
    )

    views, vods, id_map = dbt.ref("view_valuations"), dbt.ref("int_vods_accepted"), dbt.ref("ml_id_map")
    if not ml.enabled:
        return entry.empty_lists(session)
    from watchhouse.ml.jobs.two_tower_job import train_and_list

    return train_and_list(ml.load(session, views, vods, id_map))
