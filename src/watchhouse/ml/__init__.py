"""Models trained inside the dbt DAG (docs/ml.md): item2vec, two-tower retrieval,
a multi-task ranker, ALS, their quantized variants, rank fusion and the registry.

Each torch module works on numpy arrays of integer indices; watchhouse.ml.data
turns Spark tables into those arrays in bounded Arrow batches."""
