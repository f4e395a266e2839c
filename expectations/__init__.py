"""Great Expectations suites as code, one module per mart (or batch view) they guard.

A suite module is one file, and declares:

- SUITE: its name (the `suite` of data_quality_results);
- READS: the dbt relations its frame is built from (each must be a `dbt.ref` of the model
  data_quality_results, since dbt only knows a Python model's refs from its code);
- frame(marts, batch): the small pandas frame it validates, built with Spark from `marts`
  (name -> Spark DataFrame) and `batch` (watchhouse.quality.checkpoint.Batch);
- ENTITY (optional): the frame's column naming what each row is about (a VOD, a VOD type). A failing
  per-row check then names its entities and their values, in its message and in quality_exceptions;
- expectations(params): its GE expectations, each with `severity`:
  "critical" (error: the batch is not published) or "warning" (warn: published, recorded and shown).

They check the abuse-filtered metrics' ranges, distributions, concentration and batch-to-batch
stability - not what dbt's not_null/unique already test. Bounds are dbt vars quality_*
(dbt_project.yml), passed in as params; severities and why are in docs/quality.md.
"""
