"""Rank fusion of the other models' lists as models of their own: fusion_rrf,
fusion_score, fusion_rank (watchhouse.ml.fusion; inputs and weights: var ml_fusion_inputs)."""


def model(dbt, session):
    from watchhouse.ml.jobs import entry

    ml = entry.Settings.of(
        dbt.config.get("as_of"), dbt.config.get("home"), dbt.config.get("ml_enabled"), dbt.config.get("ml_params")
    )

    inputs = [dbt.ref("rec_two_tower"), dbt.ref("rec_item2vec"), dbt.ref("rec_als"), dbt.ref("rec_ranker")]
    preferred = dbt.ref("rec_preferred_newest")
    if not ml.enabled:
        return entry.empty_lists(session)
    from watchhouse.ml.fusion import fuse_all

    params = ml.params
    lists = preferred.select(*inputs[0].columns)
    for frame in inputs:
        lists = lists.unionByName(frame)
    weights = dict(params.fusion_inputs)
    lists = lists.where(lists.model_name.isin(list(weights)) & (lists.batch_date == ml.as_of))
    methods = {f"fusion_{method}": method for method in ("rrf", "score", "rank")}
    return fuse_all(lists, methods, weights, k=params.list_size)  # one read and one shuffle for the three
