"""What a run does differently on the `cluster` target (docs/cluster.md).

The SQL models go to a Spark Thrift server and the Python models to Spark Connect at
WATCHHOUSE_SPARK_HOST (default 127.0.0.1) on WATCHHOUSE_THRIFT_PORT / WATCHHOUSE_CONNECT_PORT.
Two kinds of server:

- *this home's own* (`watchhouse server start`): its warehouse and metastore are the home's build
  state, so atomic publish and recovery work as on the local target; recovery restarts it, since
  the metastore it holds open is put back from the published copy;
- *any other* (a real cluster): its warehouse and metastore belong to the cluster. The run builds
  through it and reads the dashboard through it; watchhouse does not version, publish or recover
  the cluster's tables (the run says so).

The local target refuses to run while this home's server holds the Derby metastore.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from watchhouse import server
from watchhouse.errors import UserError

TARGETS = ("local", "cluster")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def resolve_target(target: str | None) -> str:
    target = target or os.environ.get("WATCHHOUSE_TARGET") or "local"
    if target not in TARGETS:
        raise UserError(
            f"target {target!r} is not one of {', '.join(TARGETS)}: local (embedded Spark, the default) or "
            "cluster (a Spark Thrift + Connect server, e.g. `watchhouse server start`)"
        )
    return target


@dataclass(frozen=True)
class Endpoint:
    host: str
    thrift_port: int
    connect_port: int

    @classmethod
    def from_env(cls) -> Endpoint:
        config = server.ServerConfig.from_env()
        return cls(os.environ.get("WATCHHOUSE_SPARK_HOST") or "127.0.0.1", config.thrift_port, config.connect_port)


@dataclass(frozen=True)
class ClusterRun:
    endpoint: Endpoint
    own: dict | None  # this home's server record (watchhouse.server.status), None for another server

    def restart_own(self, home: Path, project: Path) -> None:
        """Stop this home's server and start it again with the settings it was started with."""
        server.stop(home)
        server.start(home, project, server.ServerConfig(**self.own["config"]))


def check(home: Path, target: str, building: bool = True) -> ClusterRun | None:
    """Before a run: for the cluster target, that both ports answer (which server it is, too);
    for a local build, that this home's server does not hold the metastore."""
    own = server.status(home)
    if target == "local":
        if own and building:
            raise UserError(
                f"this home's Spark server (pid {own['pids']['server']}) holds its metastore, so the embedded "
                "Spark of the local target cannot open it: build through the server (WATCHHOUSE_TARGET=cluster), "
                "or stop it first (watchhouse server stop)"
            )
        return None
    endpoint = Endpoint.from_env()
    for name, port in (("thrift", endpoint.thrift_port), ("connect", endpoint.connect_port)):
        if not server.port_answers(port, endpoint.host, timeout=5):
            raise UserError(
                f"the cluster target needs a Spark server, and nothing answers on {endpoint.host}:{port} ({name}); "
                "start this home's with `watchhouse server start` (make server-start), or point "
                "WATCHHOUSE_SPARK_HOST / WATCHHOUSE_THRIFT_PORT / WATCHHOUSE_CONNECT_PORT at your cluster's"
            )
    ours = (
        own is not None
        and endpoint.host in LOOPBACK
        and (own["ports"]["thrift"], own["ports"]["connect"]) == (endpoint.thrift_port, endpoint.connect_port)
    )
    return ClusterRun(endpoint, own if ours else None)
