"""`watchhouse server`: settings, startup failures with clear messages and no stray process, stop
by recorded pid only, and the cluster target's checks (the whole server: test_e2e_cluster)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from e2e import REPO, WATCHHOUSE, free_port, server_pids
from watchhouse import cluster, server
from watchhouse.errors import UserError


def _config(**changes) -> server.ServerConfig:
    env = {"WATCHHOUSE_THRIFT_PORT": str(free_port()), "WATCHHOUSE_CONNECT_PORT": str(free_port())}
    return server.ServerConfig.from_env({**env, **changes})


def _marked_process(home: Path) -> subprocess.Popen:
    """A process whose command line names `home`'s server, as the real driver's does."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", f"spark.watchhouse.home={home}"],
        start_new_session=True,
    )
    while not server_pids(home):  # until it has exec'd
        assert proc.poll() is None
    return proc


def test_the_server_runs_the_local_targets_spark_settings_bound_to_loopback(tmp_path):
    env = {"WATCHHOUSE_HOME": str(tmp_path), "WATCHHOUSE_PROJECT_DIR": str(REPO), "WATCHHOUSE_SHUFFLE_PARTITIONS": "5"}
    config = _config()
    cmd = server.server_command(tmp_path, REPO, config, env)
    confs = dict(cmd[i + 1].split("=", 1) for i, arg in enumerate(cmd) if arg == "--conf")
    # what makes both targets compute the same tables
    assert confs["spark.sql.session.timeZone"] == "UTC"
    assert confs["spark.sql.sources.partitionOverwriteMode"] == "dynamic"
    assert confs["spark.sql.shuffle.partitions"] == "5"
    assert confs["spark.sql.warehouse.dir"] == f"{tmp_path}/build/warehouse"
    assert f"databaseName={tmp_path}/metastore_db" in confs["spark.hadoop.javax.jdo.option.ConnectionURL"]
    # loopback only, on the configured ports, Spark Connect in the same driver
    assert confs["spark.hadoop.hive.server2.thrift.bind.host"] == "127.0.0.1"
    assert confs["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert confs["spark.hadoop.hive.server2.thrift.port"] == str(config.thrift_port)
    assert confs["spark.connect.grpc.binding.port"] == str(config.connect_port)
    assert confs["spark.plugins"] == server.CONNECT_PLUGIN
    assert cmd[cmd.index("--master") + 1] == "local[*]" and "spark.master" not in confs
    assert cmd[-1] == "spark-internal" and cmd[cmd.index("--class") + 1] == server.THRIFT_CLASS


def test_standalone_sends_the_server_to_its_own_master(tmp_path):
    config = _config(WATCHHOUSE_MASTER_PORT="7199", WATCHHOUSE_SPARK_CORES="2")
    config = server.ServerConfig(**{**config.__dict__, "standalone": True})
    env = {"WATCHHOUSE_HOME": str(tmp_path), "WATCHHOUSE_PROJECT_DIR": str(REPO)}
    cmd = server.server_command(tmp_path, REPO, config, env)
    assert cmd[cmd.index("--master") + 1] == "spark://127.0.0.1:7199"
    worker = server._standalone_commands(tmp_path, config)["worker"]
    assert worker[-1] == "spark://127.0.0.1:7199" and worker[worker.index("--cores") + 1] == "2"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("WATCHHOUSE_THRIFT_PORT", "ten", "is not a TCP port"),
        ("WATCHHOUSE_CONNECT_PORT", "70000", "from 1 to 65535"),
        ("WATCHHOUSE_SERVER_TIMEOUT", "soon", "number of seconds"),
    ],
)
def test_bad_settings_are_refused_with_what_would_be_right(variable, value, says):
    with pytest.raises(UserError, match=says):
        server.ServerConfig.from_env({variable: value})


def test_a_taken_port_is_named_and_nothing_is_started(tmp_path):
    config = _config()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", config.connect_port))
        taken.listen()
        with pytest.raises(UserError) as refused:
            server.start(tmp_path, REPO, config)
    message = str(refused.value)
    assert f"port {config.connect_port} on 127.0.0.1 (connect) is taken" in message
    assert "WATCHHOUSE_CONNECT_PORT=<port>" in message
    assert not (tmp_path / "server" / "server.json").exists() and not server_pids(tmp_path)


def test_missing_java_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env.update(PATH=str(Path(WATCHHOUSE).parent), WATCHHOUSE_HOME=str(tmp_path))
    done = subprocess.run([WATCHHOUSE, "server", "start"], env=env, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.startswith("watchhouse: error: Java 17+ is needed for Spark and was not found")
    assert not server_pids(tmp_path)


def test_a_server_that_dies_at_start_is_reported_with_its_log_and_leaves_nothing(tmp_path):
    config = server.ServerConfig(**{**_config().__dict__, "memory": "1x"})  # the JVM refuses this heap size
    with pytest.raises(UserError) as died:
        server.start(tmp_path, REPO, config)
    message = str(died.value)
    assert "the Spark server exited (status 1) before it answered" in message
    assert "Could not create the Java Virtual Machine" in message and str(tmp_path / "server" / "server.log") in message
    assert not (tmp_path / "server" / "server.json").exists() and not server_pids(tmp_path)


def _record(home: Path, pid: int, config: server.ServerConfig) -> None:
    folder = home / "server"
    folder.mkdir(parents=True, exist_ok=True)
    ports = {"thrift": config.thrift_port, "connect": config.connect_port}
    state = {"home": str(home), "pids": {"server": pid}, "config": config.__dict__, "started_at": "then",
             "ports": ports, "logs": {"server": "x"}}  # fmt: skip
    (folder / "server.json").write_text(json.dumps(state))


def test_stop_kills_the_recorded_server_only_while_the_pid_still_runs_it(tmp_path):
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        _record(tmp_path, stranger.pid, _config())  # a recycled pid: it runs something else now
        assert server.status(tmp_path) is None
        assert server.stop(tmp_path) == []
        assert stranger.poll() is None, "stop killed a process that is not the server"
    finally:
        stranger.kill()
        stranger.wait()
    ours = _marked_process(tmp_path)
    _record(tmp_path, ours.pid, _config())
    assert server.status(tmp_path)["pids"]["server"] == ours.pid
    assert server.stop(tmp_path) == [f"server (pid {ours.pid})"]
    assert not server_pids(tmp_path)  # stop waits for its process group to end (and reaps it)
    assert not (tmp_path / "server" / "server.json").exists()


def test_the_local_target_is_refused_while_this_homes_server_holds_the_metastore(tmp_path, monkeypatch):
    from watchhouse import runner

    monkeypatch.setenv("WATCHHOUSE_HOME", str(tmp_path))
    monkeypatch.delenv("WATCHHOUSE_TARGET", raising=False)
    ours = _marked_process(tmp_path)
    try:
        _record(tmp_path, ours.pid, _config())
        with pytest.raises(UserError, match=r"holds its metastore.*WATCHHOUSE_TARGET=cluster.*watchhouse server stop"):
            cluster.check(tmp_path, "local")
        with pytest.raises(UserError, match="holds its metastore"):
            runner.docs()  # dbt docs generate opens the metastore too
        assert cluster.check(tmp_path, "local", building=False) is None  # the dashboard reads Parquet
    finally:
        ours.kill()
        ours.wait()


def test_the_cluster_target_without_a_server_says_how_to_start_one(tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("WATCHHOUSE_THRIFT_PORT", str(port))
    with pytest.raises(UserError, match=f"nothing answers on 127.0.0.1:{port} \\(thrift\\).*watchhouse server start"):
        cluster.check(tmp_path, "cluster")


def test_an_unknown_target_is_refused():
    with pytest.raises(UserError, match="'prod' is not one of local, cluster"):
        cluster.resolve_target("prod")
    assert cluster.resolve_target(None) in cluster.TARGETS


def test_server_marts_send_parameters_as_quoted_literals():
    from watchhouse.marts import _literal

    assert [_literal(v) for v in (3, 0.5, True, None, "it's")] == ["3", "0.5", "true", "null", "'it\\'s'"]


def test_status_of_a_home_without_a_server_is_none_and_the_cli_exits_3(tmp_path):
    assert server.status(tmp_path) is None
    env = dict(os.environ, WATCHHOUSE_HOME=str(tmp_path))
    done = subprocess.run([WATCHHOUSE, "server", "status"], env=env, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 3 and "no server of" in done.stdout
