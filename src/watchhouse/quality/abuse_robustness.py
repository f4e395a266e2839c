"""The abuse filter on shapes it was not written against: for each named generator profile
(watchhouse.generate.profiles), generate a landing, build the valuation, and score abuse_flags against
the planted labels - precision and recall overall and per kind - and the share of heavy honest users'
views that were flagged (their false-positive rate). `watchhouse abuse-robustness` prints the table that
docs/valuation.md "Robustness" records.

Only views that reached the valuation count (a quarantined view is the contract's business, not the
filter's): the labelled views among view_valuations + abuse_flags, as `watchhouse abuse-report` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from watchhouse.quality.abuse_eval import abuse_scores

BUILD_SELECT = "+abuse_flags +view_valuations +quarantine_watch_events"


@dataclass(frozen=True)
class ProfileResult:
    profile: str
    scores: dict[str, dict[str, float]]  # abuse_scores: overall and per kind
    heavy: dict[str, dict[str, float]]  # behaviour -> {views, flagged, rate}
    farmed: dict[str, float] | None = None  # farm_gain: what farmed VODs kept of their farms' views


def _read(folder: Path) -> str:
    return f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true, union_by_name = true)"


def score(landing: Path, marts: Path) -> tuple[dict, dict]:
    """(abuse_scores, heavy-use false-positive rates) of one built landing (marts: the marts folder)."""
    con = duckdb.connect()
    reached = f"select event_id from {_read(marts / 'view_valuations')} union all " + (
        f"select event_id from {_read(marts / 'abuse_flags')}"
    )
    labels = con.execute(
        f"select event_id, abuse_kind from {_read(landing / 'abuse_labels')} where event_id in ({reached})"
    ).df()
    flags = con.execute(f"select event_id, abuse_kind from {_read(marts / 'abuse_flags')}").df()
    heavy: dict[str, dict[str, float]] = {}
    side = landing / "_generator" / "heavy_use.parquet"
    if side.is_file():
        rows = con.execute(
            f"""with heavy as (select * from read_parquet('{side}')),
                     views as (select w.event_id, h.behaviour from {_read(landing / "watch_events")} as w
                               inner join heavy as h on w.user_id = h.user_id
                               where w.event_id in ({reached})
                                 and w.event_id not in (select event_id from {_read(landing / "abuse_labels")}))
                select behaviour, count(*) as views,
                       count(*) filter (where event_id in (select event_id from {_read(marts / "abuse_flags")}))
                           as flagged
                from views group by behaviour order by behaviour"""
        ).fetchall()
        heavy = {b: {"views": v, "flagged": f, "rate": f / v if v else 0.0} for b, v, f in rows}
    return abuse_scores(flags, labels), heavy


def farm_gain(landing: Path, marts: Path) -> dict[str, float] | None:
    """Does a farmed VOD gain from its farm? Per VOD with planted farm views that reached the valuation:
    its clean views (view_valuations) over its organic ones (reached, unlabelled). 1.0: the farm bought
    nothing; issue 18 asks <= 1.1 for every farmed VOD. None when the landing has no farm views."""
    if not (landing / "abuse_labels").is_dir():
        return None
    valued, flagged = _read(marts / "view_valuations"), _read(marts / "abuse_flags")
    row = (
        duckdb.connect()
        .execute(
            f"""with labels as (select event_id, abuse_kind from {_read(landing / "abuse_labels")}),
                 reached as (select event_id, vod_id, true as clean from {valued}
                             union all select event_id, vod_id, false from {flagged}),
                 views as (select reached.*, labels.abuse_kind from reached left join labels using (event_id)),
                 farmed as (select vod_id,
                                   count(*) filter (where clean) as clean_views,
                                   count(*) filter (where abuse_kind is null) as organic_views
                            from views group by vod_id
                            having count(*) filter (where abuse_kind = 'view_farm') > 0)
            select count(*), max(clean_views / organic_views) filter (where organic_views > 0),
                   avg(cast(clean_views <= 1.1 * organic_views as int))
            from farmed"""
        )
        .fetchone()
    )
    if not row[0]:
        return None
    # max_ratio is None when no farmed VOD had an organic view (within_10pct then says whether any view stayed)
    return {"vods": row[0], "max_ratio": row[1], "within_10pct": row[2]}


def run_profile(
    name: str, users: int, days: int, seed: int, work: Path, extra_vars: dict | None = None
) -> ProfileResult:
    """Generate the profile's landing under `work`, build the valuation into its own home, score it."""
    from watchhouse.generate.config import GeneratorConfig
    from watchhouse.generate.platform import generate
    from watchhouse.generate.profiles import profile

    landing, home = work / name / "landing", work / name / "home"
    generate(GeneratorConfig(users=users, days=days, seed=seed, abuse=profile(name)), landing, progress=False)
    env = {**os.environ, "WATCHHOUSE_LANDING": str(landing), "WATCHHOUSE_HOME": str(home)}
    build_vars = json.dumps({"ml_enabled": False, **(extra_vars or {})})
    done = subprocess.run(
        [sys.executable, "-m", "watchhouse", "build", "--select", BUILD_SELECT, "--vars", build_vars],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise RuntimeError(f"profile {name}: the build failed (exit {done.returncode}):\n{tail}")
    marts = home / "warehouse" / "marts.db"
    scores, heavy = score(landing, marts)
    return ProfileResult(name, scores, heavy, farm_gain(landing, marts))


def table(results: list[ProfileResult]) -> str:
    """A markdown table: one row per profile x kind (overall first), then heavy-use rows."""
    lines = [
        "| profile | kind | labelled | flagged | precision | recall |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for kind, s in r.scores.items():
            lines.append(
                f"| {r.profile} | {kind} | {s['labelled']:,} | {s['flagged']:,} | "
                f"{s['precision']:.3f} | {s['recall']:.3f} |"
            )
    heavy = [(r.profile, b, h) for r in results for b, h in r.heavy.items()]
    if heavy:
        lines += ["", "| profile | heavy honest use | views | flagged | false-positive rate |", "|---|---|---|---|---|"]
        lines += [f"| {p} | {b} | {h['views']:,} | {h['flagged']:,} | {h['rate']:.4f} |" for p, b, h in heavy]
    farmed = [(r.profile, r.farmed) for r in results if r.farmed]
    if farmed:
        lines += ["", "| profile | farmed VODs | clean / organic views, worst | within 10% of organic |"]
        lines += ["|---|---|---|---|"]
        lines += [
            f"| {p} | {f['vods']:,} | "
            f"{'no organic views' if f['max_ratio'] is None else format(f['max_ratio'], '.3f')} | "
            f"{f['within_10pct']:.3f} |"
            for p, f in farmed
        ]
    return "\n".join(lines)


def frame(results: list[ProfileResult]) -> pd.DataFrame:
    """The scores as one frame (profile, kind, precision, recall, labelled, flagged), for tests and notebooks."""
    return pd.DataFrame([{"profile": r.profile, "kind": kind, **s} for r in results for kind, s in r.scores.items()])
