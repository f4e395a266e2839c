"""Multi-task ranker lists over the retrieval candidates, fp32 + three quantized variants
(watchhouse.ml.jobs.ranker_job)."""


def model(dbt, session):
    from watchhouse.ml.jobs import entry

    ml = entry.Settings.of(
        dbt.config.get("as_of"), dbt.config.get("home"), dbt.config.get("ml_enabled"), dbt.config.get("ml_params")
    )

    views, vods, id_map = dbt.ref("view_valuations"), dbt.ref("int_vods_accepted"), dbt.ref("ml_id_map")
    retrieved = dbt.ref("rec_two_tower").unionByName(dbt.ref("rec_item2vec"))
    candidates = retrieved.unionByName(dbt.ref("rec_preferred_newest").select(*retrieved.columns))
    if not ml.enabled:
        return entry.empty_lists(session)
    from watchhouse.ml.jobs.ranker_job import train_and_list

    return train_and_list(ml.load(session, views, vods, id_map), candidates, id_map)
