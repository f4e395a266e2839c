"""Where a dbt build's time went, from its own `run_results.json` and `manifest.json`.

`watchhouse profile` (and `bench/profile_build.py`) print:
- the wall time of the run, the part of it covered by nodes (the union of their execute
  intervals) and the rest (dbt start-up, parsing, the JVM, the relation cache);
- time by kind: model, data test, unit test, seed, hook;
- time by layer: the node's folder (staging, intermediate/<domain>, marts/<domain>,
  python_models/<domain>); a data test counts in the layer of the model it tests;
- the fixed cost per node: the median time of a kind's nodes, which on a tiny landing is
  nearly all planning, metastore and round-trip cost, and what that median costs across
  all of that kind's nodes;
- the slowest nodes.

With several dbt threads the node times add up to more than the wall time; the shares are
of the summed node time, and "covered" is what the union of intervals shows.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from watchhouse.errors import UserError

KINDS = ("model", "data test", "unit test", "seed", "hook", "other")


@dataclass(frozen=True)
class Node:
    unique_id: str
    kind: str
    layer: str
    seconds: float
    status: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass
class Profile:
    elapsed: float  # the run's wall time, as dbt recorded it
    nodes: list[Node] = field(default_factory=list)

    @property
    def node_seconds(self) -> float:
        return sum(n.seconds for n in self.nodes)

    def covered_seconds(self) -> float:
        """Wall time during which at least one node was executing (union of intervals)."""
        spans = sorted((n.start, n.end) for n in self.nodes if n.start and n.end and n.end >= n.start)
        total, cur_start, cur_end = 0.0, None, None
        for start, end in spans:
            if cur_end is None or start > cur_end:
                if cur_end is not None:
                    total += (cur_end - cur_start).total_seconds()
                cur_start, cur_end = start, end
            else:
                cur_end = max(cur_end, end)
        if cur_end is not None:
            total += (cur_end - cur_start).total_seconds()
        return total

    def by(self, attr: str) -> list[tuple[str, int, float]]:
        """(name, nodes, seconds) grouped by `attr` ("kind" or "layer"), largest first."""
        groups: dict[str, list[float]] = defaultdict(list)
        for n in self.nodes:
            groups[getattr(n, attr)].append(n.seconds)
        return sorted(((k, len(v), sum(v)) for k, v in groups.items()), key=lambda r: (-r[2], r[0]))

    def fixed_cost(self) -> list[tuple[str, int, float, float]]:
        """(kind, nodes, median seconds per node, nodes x median) per kind."""
        groups: dict[str, list[float]] = defaultdict(list)
        for n in self.nodes:
            groups[n.kind].append(n.seconds)
        rows = [(k, len(v), statistics.median(v), len(v) * statistics.median(v)) for k, v in groups.items()]
        return sorted(rows, key=lambda r: KINDS.index(r[0]))

    def slowest(self, top: int) -> list[Node]:
        return sorted(self.nodes, key=lambda n: (-n.seconds, n.unique_id))[:top]

    def as_dict(self, top: int = 20) -> dict:
        return {
            "elapsed_seconds": self.elapsed,
            "node_seconds": self.node_seconds,
            "covered_seconds": self.covered_seconds(),
            "by_kind": [{"kind": k, "nodes": c, "seconds": s} for k, c, s in self.by("kind")],
            "by_layer": [{"layer": k, "nodes": c, "seconds": s} for k, c, s in self.by("layer")],
            "fixed_cost": [
                {"kind": k, "nodes": c, "median_seconds": m, "nodes_x_median": t} for k, c, m, t in self.fixed_cost()
            ],
            "slowest": [{"node": n.unique_id, "kind": n.kind, "seconds": n.seconds} for n in self.slowest(top)],
        }


def _kind(unique_id: str, node: dict) -> str:
    resource = unique_id.split(".", 1)[0]
    if resource == "model":
        return "model"
    if resource == "test":
        return "data test"
    if resource == "unit_test":
        return "unit test"
    if resource == "seed":
        return "seed"
    if resource == "operation" or node.get("resource_type") == "operation":
        return "hook"
    return "other"


def _layer_of_path(path: str) -> str:
    """models/intermediate/abuse/x.sql -> intermediate/abuse; python_models/ml/x.py -> python_models/ml."""
    parts = Path(path).parts
    if not parts:
        return "(unknown)"
    if parts[0] == "models":
        parts = parts[1:]
    folders = parts[:-1]
    if not folders:
        return "(project)"
    if folders[0] == "staging":
        return "staging"
    return "/".join(folders[:2])


def _layer(unique_id: str, node: dict, manifest: dict) -> str:
    kind = _kind(unique_id, node)
    if kind in ("data test", "unit test"):
        attached = node.get("attached_node") or next(
            (d for d in node.get("depends_on", {}).get("nodes", []) if d.startswith("model.")), None
        )
        if kind == "unit test" and not attached:
            attached = next(iter(node.get("depends_on", {}).get("nodes", [])), None)
        parent = manifest.get("nodes", {}).get(attached or "", {})
        return _layer_of_path(parent.get("original_file_path", "")) if parent else "(tests)"
    if kind == "hook":
        return "(hooks)"
    if kind == "seed":
        return "seeds"
    return _layer_of_path(node.get("original_file_path", ""))


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _interval(result: dict) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The node's span: the first timing's start to the last timing's end (compile + execute)."""
    timing = [t for t in result.get("timing", []) if t.get("started_at") and t.get("completed_at")]
    if not timing:
        return None, None
    return _parse_time(timing[0]["started_at"]), _parse_time(timing[-1]["completed_at"])


def load(target: Path) -> Profile:
    """The profile of the last dbt run whose artifacts are in `target` (a dbt target folder)."""
    results_file, manifest_file = target / "run_results.json", target / "manifest.json"
    if not results_file.is_file():
        raise UserError(
            f"no run_results.json in {target}; run a build first (watchhouse build), "
            "or pass the dbt target folder of one (--target-dir)"
        )
    results = json.loads(results_file.read_text())
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
    lookup = {
        **manifest.get("nodes", {}),
        **manifest.get("unit_tests", {}),
        **manifest.get("macros", {}),
    }
    nodes = []
    for r in results.get("results", []):
        uid = r["unique_id"]
        meta = lookup.get(uid, {})
        start, end = _interval(r)
        seconds = float(r.get("execution_time") or 0.0)
        nodes.append(Node(uid, _kind(uid, meta), _layer(uid, meta, manifest), seconds, r.get("status", ""), start, end))
    return Profile(float(results.get("elapsed_time") or 0.0), nodes)


FAILED_STATUSES = ("error", "fail", "runtime error")
MESSAGE_CHARS = 400  # a Spark error message runs to pages; dbt.log keeps all of it


def failed_nodes(target: Path, since: float | None = None) -> list[str]:
    """One line per node of the last dbt run in `target` that failed or errored: its unique id, status and
    dbt's message on one line, cut at MESSAGE_CHARS (a failing test's message is its failing-row count).
    Empty when there is no run_results.json, or (`since`, epoch seconds) only an earlier run's: a run that
    failed before running a node writes none."""
    results_file = target / "run_results.json"
    if not results_file.is_file() or (since is not None and results_file.stat().st_mtime < since):
        return []
    lines = []
    for r in json.loads(results_file.read_text()).get("results", []):
        if r.get("status") in FAILED_STATUSES:
            message = " ".join(part.strip() for part in (r.get("message") or "").splitlines() if part.strip())
            lines.append(f"{r['unique_id']} ({r['status']}): {message[:MESSAGE_CHARS] or 'no message'}")
    return lines


def render(profile: Profile, top: int = 20) -> str:
    """The profile as plain text tables."""
    total = profile.node_seconds or 1.0
    covered = profile.covered_seconds()
    lines = [
        f"wall {profile.elapsed:8.1f} s   nodes executing {covered:8.1f} s   "
        f"outside nodes (start-up, parse, cache) {max(profile.elapsed - covered, 0.0):8.1f} s",
        f"summed node time {profile.node_seconds:.1f} s over {len(profile.nodes)} nodes",
        "",
        f"{'by kind':<34} {'nodes':>6} {'seconds':>9} {'share':>7}",
    ]
    lines += [f"  {k:<32} {c:>6} {s:>9.1f} {s / total:>7.1%}" for k, c, s in profile.by("kind")]
    lines += ["", f"{'by layer':<34} {'nodes':>6} {'seconds':>9} {'share':>7}"]
    lines += [f"  {k:<32} {c:>6} {s:>9.1f} {s / total:>7.1%}" for k, c, s in profile.by("layer")]
    lines += ["", f"{'fixed cost per node (median)':<34} {'nodes':>6} {'median':>9} {'x nodes':>9}"]
    lines += [f"  {k:<32} {c:>6} {m:>9.2f} {t:>9.1f}" for k, c, m, t in profile.fixed_cost()]
    lines += ["", f"slowest {top}"]
    lines += [f"  {n.seconds:8.1f} s  {n.kind:<10} {n.unique_id}" for n in profile.slowest(top)]
    return "\n".join(lines)
