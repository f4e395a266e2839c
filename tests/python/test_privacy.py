"""watchhouse.privacy and the SQL of the pseudonyms.

The key handling needs no Spark: the pads are checked against Python's `hmac` (an independent
implementation) and against published RFC 4231 vectors. The SQL is checked on Spark itself:
Spark substitutes `${env:NAME}` from the environment its JVM started with, so the pytest
process's shared session (conftest `spark`, started without pads) cannot see pads set now.
That session checks the failing path of the on-run-start guard (no pads: refused, naming both);
the passing path and the HMAC values run in one short-lived pyspark child started with the pads
in its environment, on the exact SQL the macros render (jinja2, as dbt renders them). The whole
production path (runner -> dbt -> Spark -> marts) is checked in test_e2e_build.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from watchhouse import cli, privacy, publish
from watchhouse.errors import UserError

REPO = Path(__file__).resolve().parents[2]
SHORT = "e2e-test-key"
EXACT = "k" * 64  # exactly one SHA-256 block: used as is, no padding
LONG = "ключ-" * 20  # 180 UTF-8 bytes: longer than a block, so hashed first (RFC 2104)


def _hmac_from_pads(key: privacy.PseudonymKey, message: bytes) -> str:
    ipad, opad = key.pads()
    return hashlib.sha256(opad + hashlib.sha256(ipad + message).digest()).hexdigest()


@pytest.mark.parametrize("text", [SHORT, EXACT, LONG])
def test_the_pads_reproduce_python_hmac_for_short_block_sized_and_long_keys(text):
    key = privacy.PseudonymKey.from_env({privacy.KEY_ENV: text})
    assert not key.is_demo
    for message in ("u000123", "", "ünïcode-ид", "x" * 200):
        want = hmac.new(text.encode(), message.encode(), hashlib.sha256).hexdigest()
        assert _hmac_from_pads(key, message.encode()) == want
        assert key.pseudonym(message) == want
    pads = key.dbt_env()
    assert set(pads) == {privacy.IPAD_ENV, privacy.OPAD_ENV}
    assert all(len(v) == 128 and bytes.fromhex(v) for v in pads.values())


def test_the_pads_give_the_published_rfc_4231_values():
    # RFC 4231 test case 2 (key "Jefe") and test case 1 (20 bytes 0x0b; "\x0b" is one UTF-8 byte)
    jefe = privacy.PseudonymKey.from_env({privacy.KEY_ENV: "Jefe"})
    assert _hmac_from_pads(jefe, b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    vt = privacy.PseudonymKey.from_env({privacy.KEY_ENV: "\x0b" * 20})
    assert _hmac_from_pads(vt, b"Hi There") == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    # by hand: key "Jefe" = 4a 65 66 65, zero-filled; ipad = key XOR 0x36, opad = key XOR 0x5c
    ipad, opad = jefe.pads()
    assert ipad[:5].hex() == "7c53505336" and ipad[5:] == b"\x36" * 59
    assert opad[:5].hex() == "16393a395c" and opad[5:] == b"\x5c" * 59


def test_an_unset_or_empty_key_is_the_demo_key_and_key_ids_tell_keys_apart():
    for env in ({}, {privacy.KEY_ENV: ""}):
        key = privacy.PseudonymKey.from_env(env)
        assert key.is_demo and key.secret == privacy.DEMO_KEY.encode()
    a = privacy.PseudonymKey.from_env({privacy.KEY_ENV: "a"})
    assert a.key_id == hmac.new(b"a", b"watchhouse pseudonym key id", hashlib.sha256).hexdigest()[:16]
    assert a.key_id != privacy.PseudonymKey.from_env({privacy.KEY_ENV: "b"}).key_id
    assert a.manifest_meta() == {"pseudonym_key_id": a.key_id, "pseudonym_demo_key": False}
    assert repr(a) == "PseudonymKey(is_demo=False)"  # never the key, e.g. in a traceback


def test_the_dbt_child_gets_the_pads_and_not_the_key():
    env = privacy.with_pads({privacy.KEY_ENV: SHORT, privacy.IPAD_ENV: "stale", "PATH": "/bin"})
    assert privacy.KEY_ENV not in env and env["PATH"] == "/bin"
    ipad, opad = privacy.PseudonymKey.from_env({privacy.KEY_ENV: SHORT}).pads()
    assert env[privacy.IPAD_ENV] == ipad.hex() and env[privacy.OPAD_ENV] == opad.hex()


def _landing(tmp_path: Path, generated: bool) -> Path:
    landing = tmp_path / ("generated" if generated else "real")
    landing.mkdir()
    if generated:
        (landing / "_generator").mkdir()
        (landing / "_generator" / "manifest.json").write_text("{}")
    return landing


def test_the_demo_key_is_flagged_loudly_outside_the_generated_demo_only(tmp_path, monkeypatch, capsys):
    real, demo = _landing(tmp_path, False), _landing(tmp_path, True)
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    privacy.key_for_build(tmp_path / "home", real)
    warned = capsys.readouterr()
    assert warned.out == ""
    assert "WARNING" in warned.err and "PUBLIC demo key" in warned.err and f"{privacy.KEY_ENV}=" in warned.err
    assert len(warned.err.splitlines()) >= 5
    assert privacy.key_for_build(tmp_path / "home", demo).is_demo
    assert capsys.readouterr().err == ""  # the generator's demo data: the demo key is what it is for
    monkeypatch.setenv(privacy.KEY_ENV, SHORT)
    assert not privacy.key_for_build(tmp_path / "home", real).is_demo
    assert capsys.readouterr().err == ""


def _published_home(home: Path, meta: dict | None) -> Path:
    """A home with one published batch whose manifest carries `meta` (publish.publish, as a run does)."""
    publish.begin(home, "2026-11-19")
    (home / "build" / "warehouse" / "marts.db" / "lists").mkdir(parents=True)
    (home / "metastore_db").mkdir()
    publish.publish(home, "2026-11-19", meta=meta)
    return home


def test_a_run_with_another_key_than_the_published_batch_is_refused_and_the_same_key_runs(tmp_path):
    first = privacy.PseudonymKey.from_env({privacy.KEY_ENV: SHORT})
    home = _published_home(tmp_path / "home", first.manifest_meta())
    privacy.check_key_unchanged(home, first)  # same key: fine
    privacy.check_key_unchanged(tmp_path / "empty-home", first)  # nothing published: any key
    other = privacy.PseudonymKey.from_env({privacy.KEY_ENV: "Zq9-rotated"})
    with pytest.raises(UserError) as refused:
        privacy.check_key_unchanged(home, other)
    said = str(refused.value)
    assert f"key id {first.key_id}" in said and f"key id {other.key_id}" in said
    assert "would no longer join" in said and "fresh WATCHHOUSE_HOME" in said and "backfill" in said
    assert SHORT not in said and "Zq9-rotated" not in said  # key ids only, never a key
    with pytest.raises(UserError, match=r"would use the demo key \(WATCHHOUSE_PSEUDONYM_KEY unset\)"):
        privacy.check_key_unchanged(home, privacy.PseudonymKey.from_env({}))


def test_a_home_published_before_pseudonyms_is_refused(tmp_path):
    home = _published_home(tmp_path / "home", None)
    with pytest.raises(UserError, match=r"built before ids were pseudonymised: .* hold raw user ids"):
        privacy.check_key_unchanged(home, privacy.PseudonymKey.from_env({privacy.KEY_ENV: SHORT}))


def test_cli_pseudonym_prints_each_ids_hmac_under_the_current_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WATCHHOUSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(privacy.KEY_ENV, SHORT)
    assert cli.main(["pseudonym", "u000001", "ip-7f"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"u000001\t{hmac.new(SHORT.encode(), b'u000001', hashlib.sha256).hexdigest()}",
        f"ip-7f\t{hmac.new(SHORT.encode(), b'ip-7f', hashlib.sha256).hexdigest()}",
    ]
    # under the demo key it says so, and a home built with another key is refused (its marts would not match)
    monkeypatch.delenv(privacy.KEY_ENV)
    assert cli.main(["pseudonym", "u1"]) == 0
    assert "demo key" in capsys.readouterr().err
    key = privacy.PseudonymKey.from_env({privacy.KEY_ENV: SHORT})
    _published_home(tmp_path / "home", key.manifest_meta())
    assert cli.main(["pseudonym", "u1"]) == 2
    said = capsys.readouterr().err
    assert f"built with key id {key.key_id}, this lookup would use the demo key" in said
    assert "would match no row there" in said
    monkeypatch.setenv(privacy.KEY_ENV, SHORT)  # the home's key: fine
    assert cli.main(["pseudonym", "u1"]) == 0


# ---- the SQL, on Spark ---------------------------------------------------------------------------


class _Refused(Exception):
    pass


def _macro(name: str, run_query=None, dbt_vars: dict | None = None):
    """A macro of macros/staging/ rendered with jinja2 as dbt renders it (execute = True), with
    `var()` answering from `dbt_vars` and the other staging macros it calls in scope."""
    exceptions = SimpleNamespace(raise_compiler_error=lambda msg: (_ for _ in ()).throw(_Refused(msg)))
    context = {
        "execute": True,
        "run_query": run_query,
        "exceptions": exceptions,
        "var": lambda key, default=None: (dbt_vars or {}).get(key, default),
    }
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    if name != "pseudonym":
        context["pseudonym"] = _macro("pseudonym")
    source = (REPO / "macros" / "staging" / f"{name}.sql").read_text()
    return getattr(env.from_string(source).make_module(context), name)


def test_the_guard_refuses_a_spark_without_pads(spark):
    # the shared session's JVM started without pads (as a bare `dbt build` would)
    assert privacy.IPAD_ENV not in os.environ, f"unset {privacy.IPAD_ENV} in the shell that runs pytest"
    seen = []

    def run_query(sql):
        seen.append(sql)
        return SimpleNamespace(rows=[tuple(spark.sql(sql).first())])

    with pytest.raises(_Refused) as refused:
        _macro("check_pseudonym_pads", run_query)()
    said = str(refused.value)
    assert "WATCHHOUSE_PSEUDONYM_IPAD and WATCHHOUSE_PSEUDONYM_OPAD missing or not 128 hex digits" in said
    assert "`watchhouse build`" in said and "WATCHHOUSE_PSEUDONYM_KEY" in said
    assert "${env:WATCHHOUSE_PSEUDONYM_IPAD}" in seen[0]  # the SQL names the pads, never holds them


CHILD = textwrap.dedent(
    """
    import json, sys
    from types import SimpleNamespace
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    job = json.loads(sys.stdin.read())
    rows = spark.sql(job["pseudonyms"]).collect()
    guard = [list(spark.sql(sql).first()) for sql in job["guard"]]
    print(json.dumps({"pseudonyms": [[r.c, r.p] for r in rows], "guard": guard}))
    """
)


def test_the_sql_pseudonym_equals_hmac_and_the_guard_passes_when_spark_sees_the_pads(tmp_path):
    key = privacy.PseudonymKey.from_env({privacy.KEY_ENV: LONG})
    values = ["u000042", "ünïcode-ид", "", None]
    literals = ", ".join("(cast(null as string))" if v is None else f"('{v}')" for v in values)
    expression = _macro("pseudonym")("c")
    assert "${env:WATCHHOUSE_PSEUDONYM_OPAD}" in expression and key.dbt_env()[privacy.OPAD_ENV] not in expression
    guard_sql = []  # the guard's query, collected here and run in the child below

    probe = key.probe()

    def run_query(sql):  # answers as a Spark with the key's pads would: checked in the child below
        guard_sql.append(sql)
        return SimpleNamespace(rows=[(True, True)] if len(guard_sql) == 1 else [(probe["pseudonym"],)])

    _macro("check_pseudonym_pads", run_query, {"pseudonym_probe": probe})()
    job = {"pseudonyms": f"select c, {expression} as p from values {literals} as t(c)", "guard": guard_sql}
    env = privacy.with_pads({**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", privacy.KEY_ENV: LONG})
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(job), env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    want = [[v, None if v is None else hmac.new(LONG.encode(), v.encode(), hashlib.sha256).hexdigest()] for v in values]
    assert got["pseudonyms"] == want
    # Spark sees both pads well formed, and hashes the probe's text to the run key's pseudonym of it
    assert got["guard"] == [[True, True], [hmac.new(LONG.encode(), probe["text"].encode(), hashlib.sha256).hexdigest()]]


def test_the_guard_refuses_a_spark_whose_pads_are_another_keys():
    ours, servers = (privacy.PseudonymKey.from_env({privacy.KEY_ENV: k}) for k in ("run key", "server key"))
    answers = iter([(True, True), (servers.pseudonym(ours.probe()["text"]),)])
    run_query = lambda sql: SimpleNamespace(rows=[next(answers)])  # noqa: E731
    with pytest.raises(_Refused, match=r"another key than this run's WATCHHOUSE_PSEUDONYM_KEY.*watchhouse server"):
        _macro("check_pseudonym_pads", run_query, {"pseudonym_probe": ours.probe()})()
