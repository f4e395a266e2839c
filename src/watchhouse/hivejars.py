"""The one jar the cluster target's Thrift server needs beyond pyspark's own: hive-llap-common.

Spark 4 stopped shipping hive-llap-common (SPARK-51029), but the Hive 2.3 code inside the
Thrift server still needs it in one place: closing a session can construct a new
`org.apache.hadoop.hive.ql.metadata.Hive`, which registers Hive's built-in functions, and
`FunctionRegistry`'s static initialiser loads `GenericUDTFGetSplits`, which references
`org.apache.hadoop.hive.llap.security.LlapSigner$Signable`. Without the jar that CloseSession
fails with `NoClassDefFoundError` (dbt then marks the node it was closing as an error), and Hive's
"functions registered" flag is left half-set, so the next thread that needs it waits forever.
Whether a close takes that path depends on which server thread served which session earlier, so
the failure is rare and looks random (seen once in CI, in the cluster build's data tests).

No Maven repository is reachable from the machines this project is built on, so the jar comes
from PyPI: the pyspark 3.5.7 source distribution ships it (Spark 3.5 still bundled it). `make
setup` runs ``python -m watchhouse.hivejars``, which streams that archive, extracts only the jar,
and checks the jar's SHA-256 against the pin below before writing it into the virtualenv.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
import urllib.request
from pathlib import Path

from watchhouse.errors import UserError

JAR = "hive-llap-common-2.3.9.jar"
JAR_SHA256 = "bbc07775a0b14180540b44d7879fb35dc92967a1e7a968063ca890c4e604c0b9"
SOURCE = (
    "https://files.pythonhosted.org/packages/cb/65/2764b1840aa6ea5f7e668a36702c3128ac54d0b861d3d57669b2453469a6/"
    "pyspark-3.5.7.tar.gz"
)
MEMBER = f"pyspark-3.5.7/deps/jars/{JAR}"


def jar_path(prefix: Path | None = None) -> Path:
    """Where setup puts the jar: inside the virtualenv, so `make clean`-style resets of a home keep it."""
    return Path(prefix or sys.prefix) / "share" / "watchhouse" / "jars" / JAR


def required_jar() -> Path:
    """The jar for the server's driver classpath; a clear error when setup has not fetched it."""
    path = jar_path()
    if not path.is_file():
        raise UserError(
            f"{path} is missing: the Thrift server needs {JAR} (Spark 4 no longer ships it, and without it "
            "a session close can fail or hang). Run `make setup`, or `python -m watchhouse.hivejars`."
        )
    return path


def fetch(target: Path, source: str = SOURCE, timeout_s: float = 300.0) -> Path:
    """Stream `source` (a .tar.gz), write its member `MEMBER` to `target` if its SHA-256 is the pinned one."""
    with (
        urllib.request.urlopen(source, timeout=timeout_s) as response,
        tarfile.open(fileobj=response, mode="r|gz") as tar,
    ):
        for member in tar:
            if member.name == MEMBER:
                data = tar.extractfile(member).read()
                break
        else:
            raise UserError(f"{source} has no {MEMBER}; the pinned source changed - see watchhouse/hivejars.py")
    digest = hashlib.sha256(data).hexdigest()
    if digest != JAR_SHA256:
        raise UserError(f"{MEMBER} from {source} has SHA-256 {digest}, expected {JAR_SHA256}; not installed")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def main() -> int:
    target = jar_path()
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == JAR_SHA256:
        return 0
    print(f"fetching {JAR} for the cluster target's Thrift server (from the pyspark 3.5.7 sdist on PyPI)")
    try:
        fetch(target)
    except (OSError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
