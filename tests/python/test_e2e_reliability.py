"""Faults during real builds (docs/reliability.md): a run SIGKILLed at a random model, then the
next run. The kill and the rebuild happen in the `batches` fixture (conftest.py), so they cost
one partial run and add no extra build to the suite."""

from __future__ import annotations

import json

import pytest

from e2e import assert_same_tables

pytestmark = pytest.mark.e2e
END = "2026-11-20"


def test_killed_run_leaves_every_published_table_as_it_was(batches):
    _, _, snap = batches
    seed, model, killed = snap["kill"]
    what = f"after SIGKILL at model {model} (WATCHHOUSE_FAULT_SEED={seed})"
    assert " START " in killed.stdout and "published batch" not in killed.stdout
    assert_same_tables(snap["tables"][END], snap["tables"]["killed"], what)


def test_the_next_run_recovers_by_itself_and_publishes(batches):
    _, home, snap = batches
    rebuild = snap["rebuild"].stdout
    assert "watchhouse: recovered: the run of batch 2026-11-20 (pid " in rebuild
    assert "did not publish; build state reset to published version v" in rebuild
    assert "watchhouse: published batch 2026-11-20 as v" in rebuild
    assert not (home / "build" / "RUNNING").exists()
    manifest = json.loads((home / "warehouse" / "_published.json").read_text())
    assert manifest["batch"] == END
    assert set(snap["tables"]["rebuilt"]) <= set(manifest["tables"])  # (it lists empty tables too)
    # and it computed what the uninterrupted run of 11-20 had: every table, not only the marts
    assert_same_tables(snap["tables"][END], snap["tables"]["rebuilt"], "rebuild after the kill")
