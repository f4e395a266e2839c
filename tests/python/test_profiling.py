"""watchhouse.profiling on hand-written dbt artifacts: every figure below is computed by hand
from the timings written here."""

from __future__ import annotations

import json

import pytest

from watchhouse import profiling
from watchhouse.cli import main
from watchhouse.errors import UserError


def _timing(start: str, end: str) -> list[dict]:
    day = "2026-11-20T10:00:"
    return [
        {"name": "compile", "started_at": f"{day}{start}Z", "completed_at": f"{day}{start}Z"},
        {"name": "execute", "started_at": f"{day}{start}Z", "completed_at": f"{day}{end}Z"},
    ]


@pytest.fixture
def target(tmp_path):
    """Two threads: stg (0-2 s) and int (1-4 s) overlap; a gap 4-6 s; then the mart (6-7 s), its
    test (7-7.5 s), a unit test (7.5-8.5 s) and the hook (0-0.5 s, inside the first span)."""
    results = [
        ("operation.wh.wh-on-run-start-0", 0.5, "00", "00.5"),
        ("model.wh.stg_a", 2.0, "00", "02"),
        ("model.wh.int_b", 3.0, "01", "04"),
        ("model.wh.mart_c", 1.0, "06", "07"),
        ("test.wh.not_null_mart_c_id.abc", 0.5, "07", "07.5"),
        ("unit_test.wh.int_b.test_logic", 1.0, "07.5", "08.5"),
    ]
    (tmp_path / "run_results.json").write_text(
        json.dumps(
            {
                "elapsed_time": 10.0,
                "results": [
                    {"unique_id": uid, "execution_time": secs, "status": "success", "timing": _timing(a, b)}
                    for uid, secs, a, b in results
                ],
            }
        )
    )
    nodes = {
        "model.wh.stg_a": {"original_file_path": "models/staging/platform/stg_a.sql"},
        "model.wh.int_b": {"original_file_path": "models/intermediate/abuse/int_b.sql"},
        "model.wh.mart_c": {"original_file_path": "python_models/ml/mart_c.py"},
        "test.wh.not_null_mart_c_id.abc": {"attached_node": "model.wh.mart_c", "original_file_path": "x.yml"},
    }
    unit = {"unit_test.wh.int_b.test_logic": {"depends_on": {"nodes": ["model.wh.int_b"]}}}
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": nodes, "unit_tests": unit}))
    return tmp_path


def test_time_by_kind_layer_and_the_union_of_intervals(target):
    p = profiling.load(target)
    assert p.elapsed == 10.0 and p.node_seconds == pytest.approx(8.0)
    # union: [0, 4] + [6, 8.5] = 4 + 2.5 (the hook and the overlap of the two threads count once)
    assert p.covered_seconds() == pytest.approx(6.5)
    assert p.by("kind") == [("model", 3, 6.0), ("unit test", 1, 1.0), ("data test", 1, 0.5), ("hook", 1, 0.5)]
    layers = dict((name, (n, s)) for name, n, s in p.by("layer"))
    # the data test counts in its model's layer, the unit test in the model it tests
    assert layers == {
        "staging": (1, 2.0), "intermediate/abuse": (2, 4.0), "python_models/ml": (2, 1.5), "(hooks)": (1, 0.5),
    }  # fmt: skip
    fixed = {kind: (n, median) for kind, n, median, _ in p.fixed_cost()}
    assert fixed["model"] == (3, 2.0) and fixed["data test"] == (1, 0.5)
    assert [n.unique_id for n in p.slowest(2)] == ["model.wh.int_b", "model.wh.stg_a"]


def test_render_and_json_name_the_figures(target, capsys):
    assert main(["profile", "--target-dir", str(target), "--top", "1"]) == 0
    text = capsys.readouterr().out
    assert "wall     10.0 s" in text and "nodes executing      6.5 s" in text and "3.5 s" in text
    assert "model.wh.int_b" in text and "model.wh.stg_a" not in text  # --top 1
    assert main(["profile", "--target-dir", str(target), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by_kind"][0] == {"kind": "model", "nodes": 3, "seconds": 6.0}


def test_no_run_results_says_what_to_do(tmp_path):
    with pytest.raises(UserError, match="run a build first"):
        profiling.load(tmp_path)


def test_failed_nodes_name_each_failed_node_and_its_message(tmp_path):
    """A failed build names its failed nodes (dbt's statuses 'error', 'fail', 'runtime error'), never
    the passing ones or a warning; no run_results.json (dbt failed before any node) gives nothing."""
    assert profiling.failed_nodes(tmp_path) == []
    results = [
        {"unique_id": "model.wh.ok", "status": "success", "message": "OK"},
        {"unique_id": "test.wh.unique_x.1", "status": "fail", "message": "Got 3 results, configured to fail if != 0"},
        {"unique_id": "test.wh.warned.2", "status": "warn", "message": "Got 1 result"},
        {"unique_id": "model.wh.broken", "status": "error", "message": "  Runtime Error\n  [TABLE_NOT_FOUND] x"},
        {"unique_id": "unit_test.wh.m.t", "status": "runtime error", "message": None},
    ]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))
    assert profiling.failed_nodes(tmp_path) == [
        "test.wh.unique_x.1 (fail): Got 3 results, configured to fail if != 0",
        "model.wh.broken (error): Runtime Error [TABLE_NOT_FOUND] x",
        "unit_test.wh.m.t (runtime error): no message",
    ]
    written = (tmp_path / "run_results.json").stat().st_mtime
    assert profiling.failed_nodes(tmp_path, since=written + 1) == []  # an earlier run's file says nothing
    assert len(profiling.failed_nodes(tmp_path, since=written - 1)) == 3
