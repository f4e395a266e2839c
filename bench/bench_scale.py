"""The daily-batch build at scale vs a hand-written PySpark job (bench/baseline_pyspark.py).

For each size (target watch events): generate a landing (users = events / 50, 14 days), run the
baseline job on it in a child process, then one daily-batch `watchhouse build` (ML off unless
--ml) into a fresh home, both for the same batch day (the landing's default batch). Each child
is timed (wall clock, from start to exit, so JVM start-up counts on both sides) and its peak RSS
is the largest sum of RSS over the child's process tree (python + dbt + JVM), sampled every
0.2 s, beside the largest sum of PSS (shared pages split between the processes that share them:
what the tree really holds, and the figure to hold against a machine's memory). Where the build's
time went comes from `watchhouse profile --json` (dbt's run_results.json): seconds per layer.

A build may fail its data-quality gates on generated data (e.g. the abuse-share band); pass
wider thresholds with --vars. A failed build is reported (exit code, failed checks, log) and
its time still shown, marked; the script goes on with the next size.

    .venv/bin/python bench/bench_scale.py --sizes 1000000 5000000 10000000 --json /tmp/scale.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WATCHHOUSE = str(BIN / "watchhouse")
BASELINE = REPO / "bench" / "baseline_pyspark.py"
PAGE = resource.getpagesize()


class TreeRss:
    """Peak of the summed RSS of a process and all its descendants, sampled from /proc, and the peak of
    their summed PSS (proportional set size: a page shared by n processes counts 1/n in each), which is
    what the tree really holds; summed RSS counts pages shared by forked PySpark workers once per process.
    Also the CPU seconds the tree used (`cpu`: each process's utime + stime as last seen, summed; a
    process's CPU after its last sample is missed, at most `interval` seconds of it). On 2 cores a
    suite of builds is bound by CPU, so CPU, not wall, is what one build costs the others.

    RSS (/proc/PID/statm) is read every `interval` seconds; PSS only every `pss_interval` seconds: the
    kernel walks every page of a process to sum /proc/PID/smaps_rollup, which took 0.27 s for a 9 GB
    Spark driver, so reading it every 0.2 s kept half a core of this 2-core machine busy and slowed
    the build being measured (measured 2026-12-02: the sampler at 53% CPU beside the 10M build)."""

    def __init__(self, pid: int, interval: float = 0.2, pss_interval: float = 5.0):
        self.pid, self.interval, self.pss_interval = pid, interval, pss_interval
        self.peak = self.peak_single = self.peak_pss = 0
        self._cpu_ticks: dict[int, int] = {}
        self._last_pss = -pss_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree

    def _sample(self) -> None:
        sizes, pss = [], 0
        now = time.monotonic()
        with_pss = now - self._last_pss >= self.pss_interval
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                self._cpu_ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime (threads that ended too)
                with open(f"/proc/{pid}/statm") as f:
                    sizes.append(int(f.read().split()[1]) * PAGE)
                if with_pss:
                    with open(f"/proc/{pid}/smaps_rollup") as f:
                        pss += next((int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:")), 0)
            except OSError:
                continue
        if sizes:
            self.peak = max(self.peak, sum(sizes))
            self.peak_single = max(self.peak_single, max(sizes))
        if with_pss:
            self._last_pss = now
            self.peak_pss = max(self.peak_pss, pss)

    @property
    def cpu(self) -> float:
        return sum(self._cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measured(cmd: list[str], env: dict, log: Path, cwd: Path = REPO) -> dict:
    """Run cmd with its output in `log`; wall seconds, exit code and peak RSS of its process tree."""
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        rss = TreeRss(proc.pid)
        rc = proc.wait()
        wall = time.perf_counter() - start
        rss.stop()
    return {
        "rc": rc,
        "seconds": wall,
        "peak_rss": rss.peak,
        "peak_pss": rss.peak_pss,
        "peak_rss_largest_process": rss.peak_single,
        "cpu_seconds": rss.cpu,
    }


def landing_events(landing: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in (landing / "watch_events").rglob("*.parquet"))


def build_vars(args: argparse.Namespace) -> dict:
    extra = json.loads(args.vars) if args.vars else {}
    if not isinstance(extra, dict):
        raise SystemExit("--vars: a JSON object, e.g. '{\"quality_abuse_share\": [0, 0.4]}'")
    return {"ml_enabled": bool(args.ml), **extra}


def failing_checks(log: Path) -> list[str]:
    prefix = "watchhouse: data-quality check failed: "
    return [line[len(prefix) :].strip() for line in log.read_text(errors="replace").splitlines() if prefix in line]


def failing_nodes(target: Path) -> list[str]:
    results = target / "run_results.json"
    if not results.is_file():
        return []
    rows = json.loads(results.read_text()).get("results", [])
    return [f"{r['unique_id']} ({r['status']})" for r in rows if r.get("status") in ("error", "fail", "runtime error")]


def run_size(size: int, work: Path, args: argparse.Namespace, env_base: dict) -> dict:
    from watchhouse.landing import inspect_landing

    landing, out, home = work / f"landing_{size}", work / f"baseline_{size}", work / f"home_{size}"
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    users = max(size // 50, 100)
    print(f"[{size:,}] generating ({users:,} users, 14 days)", flush=True)
    shutil.rmtree(landing, ignore_errors=True)
    gen = [WATCHHOUSE, "generate", "--out", str(landing), "--users", str(users), "--days", "14"]
    subprocess.run([*gen, "--events", str(size), "--quiet"], env=env_base, check=True, stdout=subprocess.DEVNULL)
    events = landing_events(landing)
    as_of = inspect_landing(landing).as_of.isoformat()  # the build's default batch, given to both
    row = {"size": size, "events": events, "users": users, "as_of": as_of}

    print(f"[{size:,}] baseline (batch {as_of})", flush=True)
    log = logs / f"baseline_{size}.log"
    base_cmd = [sys.executable, str(BASELINE), str(landing), str(out), "--as-of", as_of]
    base = measured([*base_cmd, "--driver-memory", args.driver_memory], env_base, log)
    base["log"] = str(log)
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("BASELINE_JSON "):
            base["job"] = json.loads(line.split(" ", 1)[1])
    if base["rc"] != 0:
        base["log_tail"] = [x for x in log.read_text(errors="replace").splitlines() if x.strip()][-5:]
        print(f"[{size:,}] baseline FAILED (exit {base['rc']}); see {log}", flush=True)
    row["baseline"] = base

    print(f"[{size:,}] build", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    env = dict(
        env_base,
        WATCHHOUSE_LANDING=str(landing),
        WATCHHOUSE_HOME=str(home),
        WATCHHOUSE_PSEUDONYM_KEY="bench",
        WATCHHOUSE_DRIVER_MEMORY=args.driver_memory,
    )
    env.pop("WATCHHOUSE_AS_OF", None)
    log = logs / f"build_{size}.log"
    cmd = [WATCHHOUSE, "build", "--as-of", as_of, "--vars", json.dumps(build_vars(args))]
    build = measured(cmd, env, log)
    build["log"] = str(log)
    target = home / "dbt" / "target"
    if build["rc"] != 0:
        build["failed_checks"] = failing_checks(log)
        build["failed_nodes"] = failing_nodes(target)
        build["log_tail"] = [x for x in log.read_text(errors="replace").splitlines() if x.strip()][-5:]
        print(
            f"[{size:,}] build FAILED (exit {build['rc']}): {len(build['failed_nodes'])} failed nodes, "
            f"checks {build['failed_checks'] or '-'}; see {log}",
            flush=True,
        )
    prof = subprocess.run(
        [WATCHHOUSE, "profile", "--json", "--target-dir", str(target)], env=env, capture_output=True, text=True
    )
    if prof.returncode == 0:
        profile = json.loads(prof.stdout)
        build["dbt_elapsed"] = profile["elapsed_seconds"]
        build["layers"] = {r["layer"]: r["seconds"] for r in profile["by_layer"]}
        build["kinds"] = {r["kind"]: r["seconds"] for r in profile["by_kind"]}
    else:
        build["profile_error"] = (prof.stderr or prof.stdout).strip()
    row["build"] = build
    if not args.keep:
        for path in (landing, out, home):
            shutil.rmtree(path, ignore_errors=True)
    return row


def gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


def report(rows: list[dict]) -> str:
    lines = [
        f"{'size':>11} {'events':>11} {'baseline s':>11} {'build s':>9} {'ratio':>7} "
        f"{'baseline RSS':>13} {'build RSS':>10} {'build PSS':>10}  status"
    ]
    for r in rows:
        b, w = r["baseline"], r["build"]
        status = "ok"
        if b["rc"] != 0:
            status = f"baseline FAILED (exit {b['rc']})"
        if w["rc"] != 0:
            status = f"build FAILED (exit {w['rc']})" if status == "ok" else f"{status}, build FAILED (exit {w['rc']})"
        lines.append(
            f"{r['size']:>11,} {r['events']:>11,} {b['seconds']:>11.1f} {w['seconds']:>9.1f} "
            f"{w['seconds'] / b['seconds']:>6.2f}x {gb(b['peak_rss']):>13} {gb(w['peak_rss']):>10} "
            f"{gb(w.get('peak_pss', 0)):>10}  {status}"
        )
    if len(rows) > 1:
        first = rows[0]
        lines.append("")
        lines.append(f"growth from {first['size']:,} events: {'events':>7} {'baseline':>9} {'build':>7}")
        for r in rows[1:]:
            lines.append(
                f"{'':>14}{r['size']:>11,}: {r['events'] / first['events']:>6.2f}x "
                f"{r['baseline']['seconds'] / first['baseline']['seconds']:>8.2f}x "
                f"{r['build']['seconds'] / first['build']['seconds']:>6.2f}x"
            )
    layers = sorted({k for r in rows for k in r["build"].get("layers", {})})
    if layers:
        lines.append("")
        lines.append("build seconds by layer (dbt node time, run_results.json):")
        lines.append(f"{'layer':<28}" + "".join(f"{r['size']:>12,}" for r in rows))
        total = {r["size"]: sum(r["build"].get("layers", {}).values()) for r in rows}
        order = sorted(layers, key=lambda k: -max(r["build"].get("layers", {}).get(k, 0) for r in rows))
        for layer in order:
            lines.append(f"{layer:<28}" + "".join(f"{r['build'].get('layers', {}).get(layer, 0):>12.1f}" for r in rows))
        lines.append(f"{'(all nodes)':<28}" + "".join(f"{total[r['size']]:>12.1f}" for r in rows))
        lines.append(
            f"{'(dbt elapsed)':<28}" + "".join(f"{r['build'].get('dbt_elapsed', float('nan')):>12.1f}" for r in rows)
        )
    for r in rows:
        for kind in ("baseline", "build"):
            if r[kind]["rc"] != 0:
                extra = r[kind].get("failed_checks") or r[kind].get("failed_nodes") or r[kind].get("log_tail") or []
                lines.append(f"\n{r['size']:,}: {kind} failed (exit {r[kind]['rc']}), log {r[kind]['log']}")
                lines.extend(f"  - {x}" for x in extra[:20])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000], help="watch events")
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new temp dir)")
    p.add_argument("--ml", action="store_true", help="build with ML on (default: ml_enabled false)")
    p.add_argument("--vars", default=None, help="extra dbt vars for the build (JSON object), e.g. wider GE bands")
    p.add_argument(
        "--driver-memory",
        default=os.environ.get("WATCHHOUSE_DRIVER_MEMORY", "6g"),
        help="Spark driver memory of both (default $WATCHHOUSE_DRIVER_MEMORY, else 6g)",
    )
    p.add_argument("--keep", action="store_true", help="keep each size's landing, baseline output and home")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    build_vars(args)  # refuse bad --vars before generating anything
    work = (args.work or Path(tempfile.mkdtemp(prefix="bench_scale_"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    # the dbt project next to this script, unless the caller chose one
    env = dict(os.environ, WATCHHOUSE_PROJECT_DIR=os.environ.get("WATCHHOUSE_PROJECT_DIR", str(REPO)))
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    print(f"bench_scale: work folder {work}, project {env['WATCHHOUSE_PROJECT_DIR']}", flush=True)
    rows = []
    for size in sorted(args.sizes):
        rows.append(run_size(size, work, args, env))
        if args.json:  # after every size, so a long run that dies still leaves its figures
            payload = {
                "date": dt.date.today().isoformat(),
                "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
                "ml": args.ml,
                "vars": build_vars(args),
                "driver_memory": args.driver_memory,
                "rows": rows,
            }
            args.json.write_text(json.dumps(payload, indent=2))
    print()
    print(report(rows))
    return 0 if all(r["baseline"]["rc"] == 0 and r["build"]["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
