"""The command line: help, refused arguments, one-line errors."""

from __future__ import annotations

import pytest

from watchhouse import runner
from watchhouse.cli import main


def test_generate_help_lists_scale_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--users", "--days", "--events", "--seed", "--out"):
        assert flag in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--out", "x", "--events", "lots"], "'lots' is not a number"),
        (["generate", "--out", "x", "--days", "-3"], "must be a positive number"),
        (["generate", "--out", "x", "--end-date", "21/11/2026"], "is not a date; use YYYY-MM-DD"),
    ],
)
def test_bad_arguments_say_what_is_wrong(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_config_error_is_one_line(capsys, tmp_path):
    assert main(["generate", "--out", str(tmp_path / "l"), "--users", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "watchhouse: error: users=10: need at least 50 users"


def test_build_without_landing_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WATCHHOUSE_LANDING", str(tmp_path / "empty"))
    monkeypatch.setenv("WATCHHOUSE_HOME", str(tmp_path / "home"))
    assert main(["build"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a folder; run `make demo`" in err[0]


def test_missing_java_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    monkeypatch.setenv("WATCHHOUSE_LANDING", str(tmp_path))
    assert main(["build"]) == 2
    assert "Java 17+ is needed for Spark and was not found" in capsys.readouterr().err


def test_old_java_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "jdk" / "bin"
    fake.mkdir(parents=True)
    (fake / "java").write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    (fake / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(runner.UserError, match="is Java 11; Spark 4 needs Java 17"):
        runner.check_java()


@pytest.fixture(scope="module")
def small_landing(tmp_path_factory):
    out = tmp_path_factory.mktemp("small_landing")
    assert main(["generate", "--out", str(out), "--users", "60", "--days", "3", "--quiet"]) == 0
    return out  # events 2026-11-18 .. 2026-11-20


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["backfill", "--from", "2026-11-20", "--to", "2026-11-19"], "--from 2026-11-20 is after --to 2026-11-19"),
        (["backfill", "--from", "2026-11-01"], "is before the landing data begins (2026-11-18); use 2026-11-18"),
        (["backfill"], "backfill needs either --from DATE or --last N"),
        (["backfill", "--from", "2026-11-19", "--last", "2"], "backfill needs either --from DATE or --last N"),
        (["backfill", "--last", "2", "--vars", "[1]"], "--vars must be a JSON object"),
    ],
)
def test_backfill_refuses_a_range_it_cannot_build(argv, message, small_landing, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WATCHHOUSE_LANDING", str(small_landing))
    monkeypatch.setenv("WATCHHOUSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATCHHOUSE_AS_OF", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
