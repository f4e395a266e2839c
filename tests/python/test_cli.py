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


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('{"quality_lower_z": "1; drop table marts.view_valuations"}', "give a finite number (JSON, unquoted)"),
        ("""{"platform_start_date": "2020-01-01' or '1'='1"}""", "give a date YYYY-MM-DD"),
        ('{"ml_enabled": "false"}', "give true or false"),
        ('{"ml_threads": 1.5}', "give a whole number"),
        ('{"quality_abuse_share": [0.3, 0.1]}', "give a band [low, high] with low <= high"),
        ('{"quality_abuse_share": [0, "1) or (1"]}', "give a list of 2 numbers"),
        ('{"ml_fusion_inputs": {"als) --": 1}}', "give a JSON object of names"),
        ('{"abuse_bot_min_view_per_day": 3}', "did you mean 'abuse_bot_min_views_per_day'?"),
        ('{"as_of": "2026-11-19"}', "--vars may not set as_of: the batch comes from the landing data"),
        ('{"landing_root": "/tmp/x"}', "--vars may not set landing_root"),
    ],
)
def test_build_refuses_vars_that_are_not_of_their_kind(extra, message, small_landing, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WATCHHOUSE_LANDING", str(small_landing))
    monkeypatch.setenv("WATCHHOUSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATCHHOUSE_AS_OF", raising=False)
    for command in (["build"], ["backfill", "--last", "2"]):
        assert main([*command, "--vars", extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "home" / "build").exists()  # refused before anything was touched


def test_build_vars_of_the_right_kind_pass():
    from watchhouse.buildvars import check_build_vars

    good = {"quality_abuse_share": [0, 0.4], "ml_enabled": False, "ml_fusion_inputs": {"als": 1.0}, "ml_threads": 2,
            "quality_lower_z": 1.96, "platform_start_date": "2019-06-01"}  # fmt: skip
    assert check_build_vars(good, runner.project_dir(), {"as_of": "2026-11-20"}) == good


@pytest.mark.parametrize(("argv", "excluded"), [([], True), (["--no-unit-tests"], True), (["--unit-tests"], False)])
def test_a_production_build_excludes_only_the_unit_tests(argv, excluded, small_landing, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setenv("WATCHHOUSE_LANDING", str(small_landing))
    monkeypatch.setenv("WATCHHOUSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATCHHOUSE_AS_OF", raising=False)
    monkeypatch.delenv("WATCHHOUSE_TARGET", raising=False)
    monkeypatch.setattr(runner, "dbt", lambda args, *rest, **kw: calls.append(args) or 1)  # a failed run: no publish
    monkeypatch.setattr(runner, "write_dashboard", lambda *a, **kw: None)
    assert main(["build", *argv]) == 1
    (args,) = calls
    assert args[0] == "build" and ("--exclude-resource-type" in args) == excluded
    if excluded:
        assert args[args.index("--exclude-resource-type") + 1] == "unit_test"


def test_check_landing_reads_the_landing_and_batch_that_build_reads(small_landing, tmp_path, monkeypatch, capsys):
    # no --landing: WATCHHOUSE_LANDING, as `watchhouse build` reads it; no --as-of: WATCHHOUSE_AS_OF
    monkeypatch.setenv("WATCHHOUSE_LANDING", str(small_landing))
    monkeypatch.setenv("WATCHHOUSE_AS_OF", "2026-11-19")
    assert main(["check-landing"]) == 0
    out = capsys.readouterr().out
    assert f"landing_root={small_landing}" in out and "as_of=2026-11-19" in out
    # an explicit flag still wins over the environment
    assert main(["check-landing", "--landing", str(small_landing), "--as-of", "2026-11-18"]) == 0
    assert "as_of=2026-11-18" in capsys.readouterr().out
    monkeypatch.setenv("WATCHHOUSE_LANDING", str(tmp_path / "nowhere"))
    assert main(["check-landing"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_an_unknown_abuse_profile_names_the_profiles_there_are(capsys, tmp_path):
    assert main(["generate", "--out", str(tmp_path / "x"), "--abuse-profile", "sneaky"]) == 2
    err = capsys.readouterr().err.strip()
    names = "default, drip_evasion, dusk_evasion, heavy_normal, jittered_bots,"
    assert err.startswith(f"watchhouse: error: abuse profile 'sneaky' is not one of {names}")
    assert not (tmp_path / "x").exists()
