"""The `watchhouse` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from watchhouse.errors import UserError

UNIT_TESTS = (
    "also run the dbt unit tests (they check the models' logic on fixed inputs, not the batch's data, so a "
    "production run skips them and CI runs them; data tests and GE always run)"
)
NO_UNIT_TESTS = "skip the dbt unit tests (the default since they moved to CI; kept for scripts that pass it)"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-20") from None


def _positive(text: str) -> int:
    try:
        value = int(float(text.replace("_", "")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; use e.g. 1000000 or 1e6") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _cmd_generate(args: argparse.Namespace) -> int:
    from watchhouse.generate.config import GeneratorConfig
    from watchhouse.generate.platform import generate
    from watchhouse.generate.profiles import profile

    try:
        cfg = GeneratorConfig(
            users=args.users, streamers=args.streamers, days=args.days, events=args.events,
            end_date=args.end_date, seed=args.seed, abuse=profile(args.abuse_profile),
        )  # fmt: skip
    except ValueError as exc:
        raise UserError(str(exc)) from None
    manifest = generate(cfg, Path(args.out), progress=not args.quiet)
    rows = ", ".join(f"{k}={v:,}" for k, v in manifest["rows"].items())
    print(f"wrote landing data to {args.out}: {rows}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from watchhouse.landing import inspect_landing
    from watchhouse.runner import Paths

    landing = Path(args.landing) if args.landing else Paths.from_env().landing
    info = inspect_landing(landing, as_of=args.as_of or os.environ.get("WATCHHOUSE_AS_OF"))
    for notice in info.notices:
        print(f"watchhouse: notice: {notice}", file=sys.stderr)
    for key, value in info.as_vars().items():
        print(f"{key}={value}")
    return 0


def _extra_vars(text: str | None) -> dict:
    if not text:
        return {}
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"--vars {text!r} is not JSON ({exc.msg}); use e.g. '{{\"quality_abuse_share\": [0, 0.3]}}'"
        ) from None
    if not isinstance(extra, dict):
        raise UserError(f"--vars must be a JSON object of dbt vars, got {text!r}")
    return extra


def _cmd_build(args: argparse.Namespace) -> int:
    from watchhouse.runner import build

    return build(
        as_of=args.as_of,
        select=args.select,
        target=args.target,
        extra_vars=_extra_vars(args.vars),
        unit_tests=args.unit_tests,
    )


def _cmd_backfill(args: argparse.Namespace) -> int:
    from watchhouse.runner import backfill

    return backfill(
        start=args.start,
        end=args.end,
        last=args.last,
        target=args.target,
        extra_vars=_extra_vars(args.vars),
        unit_tests=args.unit_tests,
    )


def _cmd_docs(args: argparse.Namespace) -> int:
    from watchhouse.runner import docs

    return docs(as_of=args.as_of)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from watchhouse.runner import Paths, write_dashboard

    paths = Paths.from_env()
    if not paths.warehouse.is_dir():
        raise UserError(f"no warehouse at {paths.warehouse}: run `make build` (or set WATCHHOUSE_HOME) first")
    from watchhouse import cluster

    target = cluster.resolve_target(None)
    write_dashboard(paths, run_on=cluster.check(paths.home, target, building=False) if target == "cluster" else None)
    return 0


def _cmd_analysis(args: argparse.Namespace) -> int:
    from watchhouse import analysis

    if not args.name:
        for name, question in analysis.available():
            print(f"{name}: {question}")
        return 0
    frame = analysis.run(args.name, _extra_vars(args.vars), args.limit)
    print(frame.to_string(index=False) if len(frame) else "(no rows)")
    return 0


def _cmd_where(args: argparse.Namespace) -> int:
    from watchhouse.runner import where

    print(where())
    return 0


def _cmd_abuse_report(args: argparse.Namespace) -> int:
    from watchhouse.quality.abuse_eval import report
    from watchhouse.runner import Paths

    paths = Paths.from_env()
    if not (paths.landing / "abuse_labels").is_dir():
        raise UserError(f"{paths.landing} has no abuse_labels: only generated data carries ground truth")
    print(report(paths.landing, paths.marts()))
    return 0


def _cmd_abuse_robustness(args: argparse.Namespace) -> int:
    from watchhouse.generate.profiles import PROFILES, profile
    from watchhouse.quality.abuse_robustness import run_profile, table

    names = args.profiles.split(",") if args.profiles else sorted(PROFILES)
    for name in names:
        try:
            profile(name)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    results = []
    for name in names:
        print(f"watchhouse: profile {name}: {args.users} users x {args.days} days, building", file=sys.stderr)
        results.append(run_profile(name, args.users, args.days, args.seed, Path(args.work)))
    print(table(results))
    return 0


def _cmd_pseudonym(args: argparse.Namespace) -> int:
    from watchhouse import privacy
    from watchhouse.runner import Paths

    key = privacy.PseudonymKey.from_env()
    privacy.check_lookup_key(Paths.from_env().home, key)
    if key.is_demo:
        print(f"watchhouse: {privacy.KEY_ENV} is not set: pseudonyms under the public demo key", file=sys.stderr)
    for value in args.ids:
        print(f"{value}\t{key.pseudonym(value)}")
    return 0


def _cmd_server(args: argparse.Namespace) -> int:
    from watchhouse import server
    from watchhouse.runner import Paths

    paths = Paths.from_env()
    if args.action == "start":
        config = server.ServerConfig.from_env(standalone=True if args.standalone else None)
        state = server.start(paths.home, paths.project, config)
        print(server.describe(state))
        return 0
    if args.action == "stop":
        stopped = server.stop(paths.home)
        print(f"watchhouse: stopped {', '.join(stopped)}" if stopped else f"watchhouse: no server of {paths.home} runs")
        return 0
    state = server.status(paths.home)
    if state is None:
        print(f"watchhouse: no server of {paths.home} runs (start one: watchhouse server start)")
        return 3  # LSB: program is not running
    print(server.describe(state))
    return 0 if all(state["answering"].values()) else 1


def _unit_test_flags(cmd: argparse.ArgumentParser) -> None:
    flags = cmd.add_mutually_exclusive_group()
    flags.add_argument("--unit-tests", dest="unit_tests", action="store_true", default=False, help=UNIT_TESTS)
    flags.add_argument("--no-unit-tests", dest="unit_tests", action="store_false", help=NO_UNIT_TESTS)


def _cmd_profile(args: argparse.Namespace) -> int:
    from watchhouse import profiling
    from watchhouse.runner import Paths

    target = Path(args.target_dir) if args.target_dir else Paths.from_env().dbt_target
    profile = profiling.load(target)
    print(json.dumps(profile.as_dict(args.top), indent=2) if args.json else profiling.render(profile, args.top))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="watchhouse", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write demo landing data (Parquet, the landing contract)")
    g.add_argument("--out", required=True, help="landing folder to (re)create")
    g.add_argument("--users", type=_positive, default=20_000, help="normal users (default 20000)")
    g.add_argument("--streamers", type=_positive, default=None, help="streamers (default users/8)")
    g.add_argument("--days", type=_positive, default=14, help="days of events (default 14)")
    g.add_argument("--events", type=_positive, default=None, help="target VOD watch events (default 3.5/user/day)")
    g.add_argument("--end-date", type=_date, default=dt.date(2026, 11, 20), help="last day of events")
    g.add_argument("--seed", type=int, default=7, help="random seed; same seed, same data")
    g.add_argument(
        "--abuse-profile", default="default", help="shape of the planted abuse and heavy honest use (docs/generator.md)"
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_generate)

    ch = sub.add_parser("check-landing", help="validate a landing folder and print the batch it would build")
    ch.add_argument("--landing", default=None, help="landing folder (default $WATCHHOUSE_LANDING, as build reads)")
    ch.add_argument("--as-of", default=None, help="batch date (default $WATCHHOUSE_AS_OF, else last complete day)")
    ch.set_defaults(func=_cmd_check)

    b = sub.add_parser("build", help="check the landing data, then dbt build for one batch")
    b.add_argument("--as-of", default=None, help="batch date (default $WATCHHOUSE_AS_OF, else last complete day)")
    b.add_argument("--select", default=None, help="dbt selection (default: everything)")
    b.add_argument("--target", default=None, help="dbt target (default $WATCHHOUSE_TARGET, else local)")
    b.add_argument("--vars", default=None, help="extra dbt vars as a JSON object, e.g. thresholds")
    _unit_test_flags(b)
    b.set_defaults(func=_cmd_build)

    bf = sub.add_parser("backfill", help="build every batch of a date range in order (daily runs, replayed)")
    bf.add_argument("--from", dest="start", type=_date, default=None, help="first batch YYYY-MM-DD")
    bf.add_argument("--to", dest="end", type=_date, default=None, help="last batch (default: the default batch)")
    bf.add_argument("--last", type=_positive, default=None, help="instead of --from: this many batches up to --to")
    bf.add_argument("--target", default=None, help="dbt target (default $WATCHHOUSE_TARGET, else local)")
    bf.add_argument("--vars", default=None, help="extra dbt vars as a JSON object")
    _unit_test_flags(bf)
    bf.set_defaults(func=_cmd_backfill)

    d = sub.add_parser("docs", help="dbt docs generate into $WATCHHOUSE_HOME/docs")
    d.add_argument("--as-of", default=None)
    d.set_defaults(func=_cmd_docs)

    ar = sub.add_parser("abuse-report", help="precision/recall of abuse_flags against abuse_labels (generated data)")
    ar.set_defaults(func=_cmd_abuse_report)

    rb = sub.add_parser(
        "abuse-robustness", help="precision/recall of the abuse filter per generator profile (docs/valuation.md)"
    )
    rb.add_argument("--profiles", default=None, help="comma-separated profile names (default: every profile)")
    rb.add_argument("--users", type=_positive, default=1000, help="normal users per landing (default 1000)")
    rb.add_argument("--days", type=_positive, default=3, help="days per landing (default 3)")
    rb.add_argument("--seed", type=int, default=21, help="generator seed (default 21)")
    rb.add_argument("--work", required=True, help="folder for each profile's landing and home")
    rb.set_defaults(func=_cmd_abuse_robustness)

    db = sub.add_parser("dashboard", help="write $WATCHHOUSE_HOME/dashboard/index.html from the marts")
    db.set_defaults(func=_cmd_dashboard)

    an = sub.add_parser("analysis", help="run an analyst query (analyses/NAME.sql) on the marts; no NAME: list them")
    an.add_argument("name", nargs="?", default=None, help="analysis name, e.g. model_leaderboard")
    an.add_argument("--vars", default=None, help="the analysis's vars as a JSON object, e.g. '{\"days\": 7}'")
    an.add_argument("--limit", type=_positive, default=None, help="print at most this many rows")
    an.set_defaults(func=_cmd_analysis)

    ps = sub.add_parser("pseudonym", help="print the pseudonym the marts hold for each landing user id or IP hash")
    ps.add_argument("ids", nargs="+", metavar="ID", help="landing values, e.g. u000123")
    ps.set_defaults(func=_cmd_pseudonym)

    sv = sub.add_parser("server", help="start, stop or show the cluster target's Spark server on loopback")
    sv.add_argument("action", choices=("start", "stop", "status"))
    sv.add_argument(
        "--standalone", action="store_true", help="start: run executors on a Spark standalone master + worker"
    )
    sv.set_defaults(func=_cmd_server)

    pr = sub.add_parser("profile", help="where the last build's time went (by kind, layer, node; run_results.json)")
    pr.add_argument("--target-dir", default=None, help="a dbt target folder (default $WATCHHOUSE_HOME/dbt/target)")
    pr.add_argument("--top", type=_positive, default=20, help="slowest nodes to list (default 20)")
    pr.add_argument("--json", action="store_true", help="print JSON instead of tables")
    pr.set_defaults(func=_cmd_profile)

    wh = sub.add_parser("where", help="print where the marts, docs and dashboard are and how to query them")
    wh.set_defaults(func=_cmd_where)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"watchhouse: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
