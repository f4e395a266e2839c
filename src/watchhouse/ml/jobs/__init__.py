"""One module per trained model: read (watchhouse.ml.data), train, validate,
register (watchhouse.ml.registry), write lists. Each is called by one dbt Python
model in python_models/ml/."""
