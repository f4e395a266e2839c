"""The model registry for analysts: one row per model trained for the batch, read back
from the MLflow store under $WATCHHOUSE_HOME/mlflow (watchhouse.ml.registry)."""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["batch_date"],
        on_schema_change="append_new_columns",
    )
    from watchhouse.ml import registry
    from watchhouse.ml.jobs import entry

    ml = entry.Settings.of(
        dbt.config.get("as_of"), dbt.config.get("home"), dbt.config.get("ml_enabled"), dbt.config.get("ml_params")
    )

    # the training models run first (these refs order the DAG; their rows are not read here)
    dbt.ref("item2vec_embeddings"), dbt.ref("rec_two_tower"), dbt.ref("rec_als"), dbt.ref("rec_ranker")
    return entry.model_runs_frame(session, registry.model_runs(ml.home, ml.as_of))
