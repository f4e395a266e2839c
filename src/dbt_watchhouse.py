"""dbt Python models on plain Spark: `session` and `connect` submission methods.

dbt-spark 1.11 submits Python models only to Databricks. dbt-core imports every
top-level module whose name starts with ``dbt_`` (its plugin discovery), so
installing this module with the watchhouse package is enough to add:

- ``submission_method: session`` - exec the compiled model in the SparkSession
  that dbt-spark's ``method: session`` already runs in this process;
- ``submission_method: connect`` - exec it against a Spark Connect server at
  ``sc://$WATCHHOUSE_SPARK_HOST:$WATCHHOUSE_CONNECT_PORT`` (default
  127.0.0.1:15002), the same server whose Thrift port serves the SQL models.

The compiled code is dbt-spark's own (``py_write_table``): it calls
``model(dbt, spark)`` and writes the result with ``saveAsTable``.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.base.impl import PythonJobHelper
from dbt.adapters.spark.impl import SparkAdapter

plugins: list = []  # no dbtPlugin hooks; importing this module is what matters


class _ExecHelper(PythonJobHelper):
    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    def spark(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def submit(self, compiled_code: str) -> None:
        name = f"<dbt python model {self.parsed_model.get('unique_id', '?')}>"
        scope: dict[str, Any] = {"spark": self.spark(), "__name__": "__dbt_model__"}
        exec(compile(compiled_code, name, "exec"), scope)


class SessionPythonJobHelper(_ExecHelper):
    """Run the model in this process's SparkSession (dbt-spark method: session)."""

    def spark(self):
        from pyspark.sql import SparkSession

        # dbt runs models on worker threads; the active session is thread-local
        session = SparkSession.getActiveSession() or SparkSession._instantiatedSession
        if session is None:
            raise RuntimeError(
                "submission_method 'session' needs the profile's `method: session` (an in-process SparkSession); "
                "for a thrift target use submission_method 'connect'"
            )
        return session


class ConnectPythonJobHelper(_ExecHelper):
    """Run the model through Spark Connect against the cluster target's server."""

    def spark(self):
        from pyspark.sql import SparkSession

        host = os.environ.get("WATCHHOUSE_SPARK_HOST", getattr(self.credentials, "host", "127.0.0.1"))
        port = os.environ.get("WATCHHOUSE_CONNECT_PORT", "15002")
        return SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()


_original = SparkAdapter.python_submission_helpers.fget


def _helpers(self) -> dict:
    helpers = dict(_original(self))
    helpers.update(session=SessionPythonJobHelper, connect=ConnectPythonJobHelper)
    return helpers


SparkAdapter.python_submission_helpers = property(_helpers)
