"""watchhouse.hivejars: the Thrift server's hive-llap-common jar (see the module for why).

The JVM test is the failure CI saw: a session close that constructs a Hive object initialises
Hive's FunctionRegistry, whose static initialiser needs LlapSigner$Signable. It runs in a child
process because a py4j gateway with its own classpath cannot share the test process's JVM."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import textwrap

import pytest

from e2e import REPO
from watchhouse import hivejars, server
from watchhouse.errors import UserError

_INIT_FUNCTION_REGISTRY = textwrap.dedent(
    """
    import sys
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway
    conf = SparkConf()
    if sys.argv[1]:
        conf.set("spark.driver.extraClassPath", sys.argv[1])
    gateway = launch_gateway(conf)
    try:
        registry = gateway.jvm.java.lang.Class.forName("org.apache.hadoop.hive.ql.exec.FunctionRegistry")
        print("functions:", len(registry.getMethod("getFunctionNames", None).invoke(None, None)))
    except Exception as exc:
        print("failed:", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        print(exc)
    finally:
        gateway.shutdown()
    """
)


def _init_function_registry(classpath: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _INIT_FUNCTION_REGISTRY, classpath], capture_output=True, text=True, timeout=300
    )
    return done.stdout + done.stderr


def test_hives_function_registry_initialises_only_with_the_jar():
    jar = hivejars.required_jar()  # make setup fetched it
    without = _init_function_registry("")
    assert "LlapSigner$Signable" in without and "functions:" not in without
    with_jar = _init_function_registry(str(jar))
    assert "functions:" in with_jar, with_jar[-3000:]
    # Hive 2.3's built-ins: hundreds of names (upper, concat_ws, get_splits ...), not an empty registry
    assert int(with_jar.split("functions:")[1].split()[0]) > 200


def test_the_server_puts_the_jar_on_the_drivers_classpath(tmp_path):
    config = server.ServerConfig.from_env({"WATCHHOUSE_THRIFT_PORT": "10999", "WATCHHOUSE_CONNECT_PORT": "15999"})
    env = {"WATCHHOUSE_HOME": str(tmp_path), "WATCHHOUSE_PROJECT_DIR": str(REPO)}
    cmd = server.server_command(tmp_path, REPO, config, env)
    assert cmd[cmd.index("--driver-class-path") + 1] == str(hivejars.jar_path())


def test_a_missing_jar_is_named_with_the_command_that_fetches_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    with pytest.raises(UserError, match=r"hive-llap-common-2\.3\.9\.jar.*python -m watchhouse\.hivejars"):
        hivejars.required_jar()


def _archive(tmp_path, content: bytes) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(hivejars.MEMBER)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    path = tmp_path / "pyspark.tar.gz"
    path.write_bytes(buffer.getvalue())
    return path.as_uri()


def test_a_jar_whose_hash_is_not_the_pinned_one_is_not_installed(tmp_path):
    target = tmp_path / "jars" / hivejars.JAR
    with pytest.raises(UserError, match="expected bbc07775"):
        hivejars.fetch(target, source=_archive(tmp_path, b"not the jar"))
    assert not target.exists() and not list(tmp_path.glob("jars/*"))


def test_an_archive_without_the_jar_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("pyspark-3.5.7/README.md"), io.BytesIO(b""))
    (tmp_path / "other.tar.gz").write_bytes(buffer.getvalue())
    with pytest.raises(UserError, match=r"has no pyspark-3\.5\.7/deps/jars"):
        hivejars.fetch(tmp_path / hivejars.JAR, source=(tmp_path / "other.tar.gz").as_uri())
