"""item2vec VOD and streamer embeddings of the batch (watchhouse.ml.jobs.item2vec_job)."""


def model(dbt, session):
    from watchhouse.ml.jobs import entry

    ml = entry.Settings.of(
        dbt.config.get("as_of"), dbt.config.get("home"), dbt.config.get("ml_enabled"), dbt.config.get("ml_params")
    )

    views, vods, id_map = dbt.ref("view_valuations"), dbt.ref("int_vods_accepted"), dbt.ref("ml_id_map")
    if not ml.enabled:
        return session.createDataFrame(
            [], "batch_date date, entity_type string, entity_id string, views long, embedding array<float>"
        )
    from watchhouse.ml.jobs.item2vec_job import train_embeddings

    return train_embeddings(ml.load(session, views, vods, id_map))
