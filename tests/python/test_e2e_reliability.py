"""Faults during real builds (docs/reliability.md): a run SIGKILLed at a random model, then the
next run; landing files that arrive late. The kill, the rebuild and the late files happen in the
`batches` fixture (conftest.py), so they cost one partial run and one re-run of a batch."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from e2e import E2E_JAVA_OPTIONS, E2E_KEY, LATE_ROWS, TINY_VARS, assert_same_tables, comparable, mart
from watchhouse import publish, runner
from watchhouse.landing import inspect_landing

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


def test_views_landing_a_day_late_rerun_their_batch_before_the_next_is_published(batches):
    _, home, snap = batches
    late, run = snap["late"]
    assert "watchhouse: late data: re-processing batch 2026-11-19 before batch 2026-11-20" in run.stdout
    assert "re-processing batch 2026-11-18" not in run.stdout  # 11-18 holds no late row
    assert run.stdout.count("watchhouse: published batch") == 1  # readers never saw the re-run of 11-19 alone
    assert set(late["2026-11-19"]) <= set(mart(home, "view_valuations").event_id)  # clean views, used
    # the re-run of 11-19 scored the lists of 11-18 on 11-19's views, late ones included: each late view is
    # the only 11-19 view of its user, so every late user with a popularity list of 11-18 is newly evaluated
    lists = snap[END]["recommendation_lists"]
    listed = set(lists[(lists.model_name == "popularity") & (lists.batch_date.astype(str) == "2026-11-18")].user_id)
    views = mart(home, "view_valuations")
    late_users = set(views[views.event_id.isin(late["2026-11-19"])].user_id) & listed
    assert len(late_users) > LATE_ROWS // 2

    def evaluated(marts: dict) -> int:
        m = marts["offline_eval_metrics"]
        row = m[(m.model_name == "popularity") & (m.batch_date.astype(str) == "2026-11-18") & (m.k == 10)]
        return int(row.users_evaluated.item())

    assert evaluated(snap[END]) == evaluated(snap["2026-11-19"]) + len(late_users)


def test_views_landing_later_than_late_data_days_are_quarantined_and_counted(batches):
    _, home, snap = batches
    late, run = snap["late"]
    assert (
        "watch_events/event_date=2026-11-17/late-three-days.parquet arrived at batch 2026-11-20 more than "
        f"late_data_days=2 late: {LATE_ROWS} of 2026-11-17 quarantined as late_arrival"
    ) in run.stdout
    q = mart(home, "quarantine_watch_events")
    q = q[q.quarantine_reason == "late_arrival"]
    assert sorted(q.event_id) == sorted(late["2026-11-17"])
    assert set(q.landing_file) == {"event_date=2026-11-17/late-three-days.parquet"}
    assert set(q.arrived_batch.astype(str)) == {END}
    summary = snap[END]["quarantine_summary"]
    summary = summary[(summary.landing_table == "watch_events") & (summary.quarantine_reason == "late_arrival")]
    assert summary[["batch_date", "quarantined_rows"]].astype(str).values.tolist() == [["2026-11-17", str(LATE_ROWS)]]
    # raw = accepted + quarantined still holds for 11-17: the late rows are counted, none used

    def counts(marts: dict) -> tuple[int, int, int]:
        r = marts["landing_reconciliation"]
        r = r[(r.landing_table == "watch_events") & (r.batch_date.astype(str) == "2026-11-17")].iloc[0]
        return int(r.raw_rows), int(r.accepted_rows), int(r.quarantined_rows)

    before, after = counts(snap["2026-11-19"]), counts(snap[END])
    assert after == (before[0] + LATE_ROWS, before[1], before[2] + LATE_ROWS)
    # the registry was published with 11-20: the rebuild after the kill finds nothing late
    assert "late data" not in snap["rebuild"].stdout


# incremental models whose partitions depend only on the data (not on their own earlier partitions),
# and the batch_date partition the run of 11-20 writes (the evaluations score the lists of the day before)
REFRESHABLE = {
    "recommendation_lists": END,
    "live_broadcast_recommendations": END,
    "model_runs": END,
    "offline_eval_metrics": "2026-11-19",
    "offline_eval_intervals": "2026-11-19",
    "offline_eval_live": "2026-11-19",
}


def test_each_incremental_model_equals_a_full_refresh_of_its_batch(batches, monkeypatch):
    """`dbt build --full-refresh` of every such model for 11-20, run in the build state only (not
    published; the RUNNING marker makes the next run put the published state back), gives the very
    partitions the daily runs appended. data_quality_results and streamer_exploration_candidates
    read their own history by design (docs/reliability.md "Idempotent reruns")."""
    landing, home, _ = batches
    for name, value in {
        "WATCHHOUSE_LANDING": landing,
        "WATCHHOUSE_HOME": home,
        "WATCHHOUSE_PSEUDONYM_KEY": E2E_KEY,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("WATCHHOUSE_DRIVER_MEMORY", "3g")
    monkeypatch.setenv("WATCHHOUSE_DBT_THREADS", "2")
    monkeypatch.setenv("WATCHHOUSE_JAVA_OPTIONS", E2E_JAVA_OPTIONS)
    assert publish.begin(home, END) is None  # the last run published: nothing to recover
    dbt_vars = {
        **inspect_landing(landing, as_of=END).as_vars(),
        **TINY_VARS,
        "landing_arrivals": str(home / "build" / "landing_arrivals"),
    }
    # the evaluations score the lists of the day before, read from recommendation_lists: refresh them
    # while its history is there, and recommendation_lists itself after
    for models in ([m for m in REFRESHABLE if m != "recommendation_lists"], ["recommendation_lists"]):
        args = ["run", "--full-refresh", "--select", " ".join(models)]  # the rows only: no tests
        assert runner.dbt(args, runner.Paths.from_env(), dbt_vars) == 0, models
    for model, batch in REFRESHABLE.items():
        fresh = mart(home, model, warehouse="build/warehouse")
        assert sorted(fresh.batch_date.astype(str).unique()) == [batch], model  # rebuilt from nothing
        daily = mart(home, model)
        daily = daily[daily.batch_date.astype(str) == batch]
        pd.testing.assert_frame_equal(comparable(fresh), comparable(daily[fresh.columns]), obj=model)
