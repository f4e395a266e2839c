"""item2vec lists: neighbours of each user's recent VODs (watchhouse.ml.jobs.item2vec_job)."""


def model(dbt, session):
    from watchhouse.ml.jobs import entry

    ml = entry.Settings.of(
        dbt.config.get("as_of"), dbt.config.get("home"), dbt.config.get("ml_enabled"), dbt.config.get("ml_params")
    )

    views, vods, id_map = dbt.ref("view_valuations"), dbt.ref("int_vods_accepted"), dbt.ref("ml_id_map")
    embeddings = dbt.ref("item2vec_embeddings")
    if not ml.enabled:
        return entry.empty_lists(session)
    from watchhouse.ml.jobs.item2vec_job import lists

    return lists(ml.load(session, views, vods, id_map), embeddings)
