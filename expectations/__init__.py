"""Great Expectations suites as code, one module per mart (or batch view) they guard.

Each module defines SUITE (its name), FRAME (which frame of
watchhouse.quality.frames it validates) and expectations(params): the list of
GE expectations. They check the abuse-filtered metrics' ranges, distributions,
concentration and batch-to-batch stability - not what dbt's not_null/unique
already test. Bounds are dbt vars quality_* (dbt_project.yml), passed in as
params; documented in docs/quality.md.
"""
