"""`watchhouse server start|stop|status`: the `cluster` target's Spark server on loopback (docs/cluster.md).

One JVM serves both halves of the dbt project: the Spark Thrift Server (HiveServer2 protocol:
dbt-spark's `method: thrift` for the SQL models, PyHive and beeline for analysts) with the Spark
Connect plugin in the same driver (the Python models, `submission_method: connect`). Both bind to
127.0.0.1 only. Its warehouse and Derby metastore are the home's build state, the same folders
the local target writes (watchhouse.publish), and it runs with the local target's Spark settings
(read from profiles/profiles.yml), so both targets build the same tables. With `--standalone`,
a Spark standalone master and one worker on loopback run its executors, so the work leaves the
driver process as it does on a real cluster.

Everything lives in ``$WATCHHOUSE_HOME/server/``: ``server.json`` (pids, ports, settings),
``server.log``, ``master.log``, ``worker.log``. `stop` signals only the process groups it
started, after checking each pid still runs the command it recorded (no broad kill).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2
import yaml

from watchhouse import hivejars, privacy
from watchhouse.errors import UserError

BIND = "127.0.0.1"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
# set by `start` and by the driver only; `spark.master` and the memory come from the command line
_PROFILE_SKIP = {"spark.master", "spark.driver.memory"}


def _port(env: dict, name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UserError(f"{name}={text!r} is not a TCP port; use a number from 1 to 65535, e.g. {default}")
    return int(text)


@dataclass(frozen=True)
class ServerConfig:
    thrift_port: int
    connect_port: int
    standalone: bool
    master_port: int
    cores: str
    memory: str
    timeout_s: float

    @classmethod
    def from_env(cls, env: dict | None = None, standalone: bool | None = None) -> ServerConfig:
        env = dict(os.environ if env is None else env)
        flag = env.get("WATCHHOUSE_SERVER_STANDALONE", "0") not in ("", "0", "false")
        timeout = env.get("WATCHHOUSE_SERVER_TIMEOUT", "180")
        if not timeout.replace(".", "", 1).isdigit():
            raise UserError(f"WATCHHOUSE_SERVER_TIMEOUT={timeout!r} is not a number of seconds; use e.g. 180")
        return cls(
            thrift_port=_port(env, "WATCHHOUSE_THRIFT_PORT", 10000),
            connect_port=_port(env, "WATCHHOUSE_CONNECT_PORT", 15002),
            standalone=flag if standalone is None else standalone,
            master_port=_port(env, "WATCHHOUSE_MASTER_PORT", 7077),
            cores=env.get("WATCHHOUSE_SPARK_CORES", "*"),
            memory=env.get("WATCHHOUSE_DRIVER_MEMORY", "6g"),
            timeout_s=float(timeout),
        )

    def ports(self) -> dict[str, int]:
        ports = {
            "thrift (WATCHHOUSE_THRIFT_PORT)": self.thrift_port,
            "connect (WATCHHOUSE_CONNECT_PORT)": self.connect_port,
        }
        if self.standalone:
            ports["standalone master (WATCHHOUSE_MASTER_PORT)"] = self.master_port
        return ports


@dataclass(frozen=True)
class ServerFiles:
    home: Path

    @property
    def folder(self) -> Path:
        return self.home / "server"

    @property
    def state(self) -> Path:
        return self.folder / "server.json"

    def log(self, role: str) -> Path:
        return self.folder / f"{role}.log"


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def profile_settings(project: Path, env: dict) -> dict[str, str]:
    """The local target's Spark settings (profiles.yml, rendered as dbt renders it), less the
    master and memory: the server runs the SQL exactly as the embedded session does."""
    text = (project / "profiles" / "profiles.yml").read_text()
    jenv = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jenv.filters["as_number"] = lambda value: value

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise UserError(f"profiles.yml needs the environment variable {name}")
        return default

    rendered = yaml.safe_load(jenv.from_string(text).render(env_var=env_var))
    local = rendered["watchhouse"]["outputs"]["local"]["server_side_parameters"]
    return {key: str(value) for key, value in local.items() if key not in _PROFILE_SKIP}


def server_env(home: Path, project: Path) -> dict[str, str]:
    """The server's environment: the pseudonym pads (Spark substitutes `${env:...}` in the server),
    this venv's Python for any Python worker, and the paths profiles.yml names."""
    env = dict(os.environ)
    env.update(
        WATCHHOUSE_HOME=str(home),
        WATCHHOUSE_PROJECT_DIR=str(project),
        SPARK_LOCAL_IP=env.get("SPARK_LOCAL_IP", BIND),
        PYSPARK_PYTHON=env.get("PYSPARK_PYTHON", sys.executable),
        PYARROW_IGNORE_TIMEZONE="1",
        SPARK_HOME=str(spark_home()),
    )
    return privacy.with_pads(env)


def server_command(home: Path, project: Path, config: ServerConfig, env: dict) -> list[str]:
    settings = profile_settings(project, env)
    settings.update(
        {
            "spark.watchhouse.home": str(home),  # names this home's server in `ps` (stop checks it)
            "spark.plugins": CONNECT_PLUGIN,
            "spark.connect.grpc.binding.address": BIND,
            "spark.connect.grpc.binding.port": str(config.connect_port),
            "spark.hadoop.hive.server2.thrift.bind.host": BIND,
            "spark.hadoop.hive.server2.thrift.port": str(config.thrift_port),
            "spark.driver.host": BIND,
            "spark.driver.bindAddress": BIND,
        }
    )
    if config.standalone:  # one executor per worker, with the worker's memory
        settings["spark.executor.memory"] = config.memory
    master = f"spark://{BIND}:{config.master_port}" if config.standalone else f"local[{config.cores}]"
    cmd = [str(spark_home() / "bin" / "spark-submit"), "--class", THRIFT_CLASS, "--name", "watchhouse-server"]
    cmd += ["--master", master, "--driver-memory", config.memory]
    # Hive's FunctionRegistry, which a session close may initialise, needs it (watchhouse.hivejars)
    cmd += ["--driver-class-path", str(hivejars.required_jar())]
    for key, value in settings.items():
        cmd += ["--conf", f"{key}={value}"]
    return [*cmd, "spark-internal"]


def _standalone_commands(home: Path, config: ServerConfig) -> dict[str, list[str]]:
    spark_class = str(spark_home() / "bin" / "spark-class")
    work = ServerFiles(home).folder / "work"
    cores = str(os.cpu_count() or 2) if config.cores == "*" else config.cores
    return {
        "master": [spark_class, MASTER_CLASS, "--host", BIND, "--port", str(config.master_port), "--webui-port", "0"],
        "worker": [
            spark_class, WORKER_CLASS, "--host", BIND, "--webui-port", "0", "--cores", cores,
            "--memory", config.memory, "--work-dir", str(work), f"spark://{BIND}:{config.master_port}",
        ],
    }  # fmt: skip


def port_answers(port: int, host: str = BIND, timeout: float = 1.0) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def _check_port_free(name: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as the JVM binds: connections of a server just stopped (TIME_WAIT) do not block it, a listener does
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((BIND, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            variable = name.split("(")[-1].rstrip(")")
            raise UserError(
                f"port {port} on {BIND} ({name.split(' (')[0]}) is taken by another process; stop it, "
                f"or choose a free port with {variable}=<port> (then use the same value for the build)"
            ) from None


def _alive(pid: int, marker: str) -> bool:
    """Whether `pid` still runs a command line containing `marker` (a recycled pid does not)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


def _tail(path: Path, lines: int = 25) -> str:
    if not path.is_file():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    keep = [line for line in text if any(word in line for word in ("ERROR", "Exception", "Caused by", "Error:"))]
    return "\n".join((keep or text)[-lines:])


def _kill_group(pid: int, grace_s: float = 20.0) -> None:
    """SIGTERM the process group `pid` leads (start_new_session made it one), then SIGKILL it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _marker(role: str, home: Path) -> str:
    """What the command line of `role`'s process contains (stop checks it before signalling)."""
    return {"server": f"spark.watchhouse.home={home}", "master": MASTER_CLASS, "worker": WORKER_CLASS}[role]


def status(home: Path) -> dict | None:
    """The recorded server of `home` if its driver still runs (with which ports answer), else None."""
    files = ServerFiles(Path(home))
    if not files.state.is_file():
        return None
    state = json.loads(files.state.read_text())
    if not _alive(state["pids"]["server"], _marker("server", Path(home))):
        return None
    state["answering"] = {name: port_answers(port) for name, port in state["ports"].items()}
    return state


def describe(state: dict) -> str:
    """What `server start` and `server status` print."""
    pids = ", ".join(f"{role} {pid}" for role, pid in state["pids"].items())
    lines = [
        f"watchhouse: server of {state['home']} (pids {pids}, since {state['started_at']})",
        f"  SQL (thrift, dbt target `cluster`, PyHive/beeline): {BIND}:{state['ports']['thrift']}",
        f"  Spark Connect (Python models): sc://{BIND}:{state['ports']['connect']}",
        f"  executors: {state.get('master_url', 'in the driver (local mode)')}",
        f"  log: {state['logs']['server']}",
    ]
    for name, ok in state.get("answering", {}).items():
        if not ok:
            lines.append(f"  NOT answering: {name} port {state['ports'][name]}")
    return "\n".join(lines)


def start(home: Path, project: Path, config: ServerConfig) -> dict:
    """Start the server of `home` and wait until the thrift and connect ports answer. On any
    failure everything it started is stopped and the error says why (with the log's tail)."""
    from watchhouse.runner import check_java  # the runner's message: which Java, and how to get 17

    home = Path(home).resolve()
    running = status(home)
    if running:
        print(f"watchhouse: server of {home} already running (pid {running['pids']['server']})")
        return running
    check_java()
    for name, port in config.ports().items():
        _check_port_free(name, port)
    files = ServerFiles(home)
    files.folder.mkdir(parents=True, exist_ok=True)
    (home / "build" / "warehouse").mkdir(parents=True, exist_ok=True)
    env = server_env(home, project)
    pids: dict[str, int] = {}
    try:
        if config.standalone:
            for role, cmd in _standalone_commands(home, config).items():
                pids[role] = _spawn(cmd, files.log(role), env, home)
                if role == "master":
                    _wait(lambda: port_answers(config.master_port), pids, home, files, config, "master")
        pids["server"] = _spawn(server_command(home, project, config, env), files.log("server"), env, home)
        _wait(
            lambda: port_answers(config.thrift_port) and port_answers(config.connect_port),
            pids, home, files, config, "server",
        )  # fmt: skip
    except BaseException:
        for pid in reversed(pids.values()):
            _kill_group(pid, grace_s=5)
        raise
    state = {
        "home": str(home),
        "pids": pids,
        "ports": {"thrift": config.thrift_port, "connect": config.connect_port},
        "config": asdict(config),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "logs": {role: str(files.log(role)) for role in pids},
    }
    if config.standalone:
        state["master_url"] = f"spark://{BIND}:{config.master_port}"
    files.state.write_text(json.dumps(state, indent=1))
    return state


def _spawn(cmd: list[str], log: Path, env: dict, home: Path) -> int:
    with open(log, "ab") as out:
        out.write(f"\n==== {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} {' '.join(cmd[:3])} ...\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env, cwd=home,
            start_new_session=True,
        )  # fmt: skip
    return proc.pid


def _wait(ready, pids: dict[str, int], home: Path, files: ServerFiles, config: ServerConfig, role: str) -> None:
    deadline = time.monotonic() + config.timeout_s
    pid = pids[role]
    while not ready():
        try:
            done, code = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, code = pid, 0
        if done:
            raise UserError(
                f"the Spark {role} exited (status {os.waitstatus_to_exitcode(code)}) before it answered on "
                f"{BIND}; its log {files.log(role)} ends:\n{_tail(files.log(role))}"
            )
        if time.monotonic() > deadline:
            raise UserError(
                f"the Spark {role} did not answer on {BIND} within {config.timeout_s:.0f} s "
                f"(WATCHHOUSE_SERVER_TIMEOUT); it was stopped. Its log {files.log(role)} ends:\n"
                f"{_tail(files.log(role))}"
            )
        time.sleep(0.5)


def stop(home: Path) -> list[str]:
    """Stop every process the server record of `home` names that still runs what it recorded;
    returns what was stopped, in words."""
    home = Path(home).resolve()
    files = ServerFiles(home)
    if not files.state.is_file():
        return []
    state = json.loads(files.state.read_text())
    stopped = []
    for role in ("server", "worker", "master"):
        pid = state["pids"].get(role)
        if pid and _alive(pid, _marker(role, home)):
            _kill_group(pid)
            stopped.append(f"{role} (pid {pid})")
    files.state.unlink()
    return stopped
