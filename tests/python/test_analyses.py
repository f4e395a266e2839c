"""analyses/*.sql through watchhouse.analysis: each has its question line and compiles; each answer
equals a recomputation from the marts written here with pandas; the same compiled SQL gives the
same rows on Spark as on DuckDB; vars that could carry SQL, or are not the analysis's, are refused."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from e2e import REPO, mart
from watchhouse import analysis
from watchhouse.errors import UserError
from watchhouse.marts import Marts

REQUIRED = {
    "best_vods_per_category_this_week",
    "streamers_most_coviewed_with",
    "exploration_type_conversion",
    "abuse_by_kind_per_day",
    "model_leaderboard",
    "quarantine_by_reason_per_day",
}
KNOWN_KINDS = ["bot", "view_farm", "replay_loop", "overlong_watch"]


@pytest.fixture(scope="module")
def built(batches):
    """The 3-batch build of conftest `batches`, as WATCHHOUSE_HOME / WATCHHOUSE_LANDING."""
    landing, home, _ = batches
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WATCHHOUSE_HOME", str(home))
        mp.setenv("WATCHHOUSE_LANDING", str(landing))
        mp.delenv("WATCHHOUSE_AS_OF", raising=False)
        yield landing, home


@pytest.fixture(scope="module")
def compiled(built) -> dict[str, str]:
    return analysis.compile_analyses()


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD text (DuckDB gives datetime64, Spark datetime.date) and a fresh index."""
    frame = frame.reset_index(drop=True).copy()
    for column in frame.columns:
        if column.endswith("batch_date"):
            frame[column] = frame[column].map(_day)
    return frame


def _same(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    assert list(actual.columns) == list(expected.columns)
    actual = _normalised(actual).sort_values(keys).reset_index(drop=True)
    expected = _normalised(expected).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9, atol=1e-12)


# (a) question lines, vars, compilation ------------------------------------------------------------


def test_every_analysis_states_its_question_and_its_vars():
    listed = dict(analysis.available())
    assert set(listed) >= REQUIRED, f"missing: {REQUIRED - set(listed)}"
    for name, question in listed.items():
        assert question.endswith("?") and len(question) > 30, f"{name}: first line is not a question: {question!r}"
        second = (REPO / "analyses" / f"{name}.sql").read_text().splitlines()[1]
        assert second.startswith("-- vars:"), f"{name}: second line should list its vars, got {second!r}"
        for var in analysis.takes(name):
            assert var in second, f"{name} reads var {var} but its vars line does not name it"


def test_vars_and_their_defaults_are_read_from_the_sql():
    assert analysis.takes("best_vods_per_category_this_week") == {"days": "7", "top_n": "10"}
    assert analysis.takes("streamers_most_coviewed_with") == {"streamer_id": "none", "top_n": "20"}
    assert analysis.takes("model_leaderboard") == {"k": "10"}
    assert analysis.takes("exploration_type_conversion") == {}


@pytest.mark.e2e
def test_every_analysis_compiles_to_sql_on_built_marts(built, compiled):
    _, home = built
    assert set(compiled) == {name for name, _ in analysis.available()}
    with Marts(home / "warehouse") as marts:
        for name, sql in compiled.items():
            assert "{{" not in sql and "ref(" not in sql, f"{name} was not rendered"
            tables = analysis.tables_read(sql)
            assert tables, f"{name} reads no mart"
            assert all(marts.has(table, schema) for schema, table in tables), f"{name}: {tables}"


# (b) each answer against a recomputation from the marts ----------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("days", [28, 2])
def test_abuse_by_kind_per_day(built, days):
    _, home = built
    flags = mart(home, "abuse_flags").assign(batch_date=lambda f: f.batch_date.map(_day))
    recon = mart(home, "landing_reconciliation").assign(batch_date=lambda f: f.batch_date.map(_day))
    accepted = recon[recon.landing_table == "watch_events"].set_index("batch_date").accepted_rows
    latest = dt.date.fromisoformat(max(accepted.index))
    shown = sorted(d for d in accepted.index if dt.date.fromisoformat(d) > latest - dt.timedelta(days=days))
    kinds = sorted(set(KNOWN_KINDS) | set(flags.abuse_kind))
    grid = pd.MultiIndex.from_product([shown, kinds], names=["batch_date", "abuse_kind"]).to_frame(index=False)
    counts = flags.groupby(["batch_date", "abuse_kind"]).agg(
        flagged_views=("event_id", "size"), flagged_users=("user_id", "nunique")
    )
    expected = grid.join(counts, on=["batch_date", "abuse_kind"]).fillna({"flagged_views": 0, "flagged_users": 0})
    expected.insert(2, "accepted_views", expected.batch_date.map(accepted))
    expected["share_of_accepted_views"] = expected.flagged_views / expected.accepted_views

    actual = analysis.run("abuse_by_kind_per_day", {"days": days})
    assert len(shown) == min(days, len(accepted)) and (days < 28 or expected.flagged_views.sum() > 0)
    _same(actual, expected, ["batch_date", "abuse_kind"])


@pytest.mark.e2e
@pytest.mark.parametrize("dbt_vars", [None, {"days": 1, "top_n": 3}])
def test_best_vods_per_category_this_week(built, dbt_vars):
    _, home = built
    days, top_n = (dbt_vars or {}).get("days", 7), (dbt_vars or {}).get("top_n", 10)
    scores = mart(home, "vod_quality_scores")
    views = mart(home, "view_valuations")
    latest = pd.Timestamp(scores.batch_date.max())
    views = views[(views.batch_date > latest - pd.Timedelta(days=days)) & (views.batch_date <= latest)]
    window = views.groupby("vod_id").agg(
        window_clean_views=("event_id", "size"), window_clean_viewers=("user_id", "nunique")
    )
    ranked = scores.join(window, on="vod_id", how="inner").sort_values(
        ["category", "quality_score_lower", "vod_id"], ascending=[True, False, True]
    )
    ranked["rank"] = ranked.groupby("category").cumcount() + 1
    columns = [
        "category", "rank", "vod_id", "streamer_id", "vod_type", "quality_score_lower", "quality_score",
        "clean_viewers", "abuse_share", "window_clean_views", "window_clean_viewers", "batch_date",
    ]  # fmt: skip
    expected = ranked[ranked["rank"] <= top_n][columns]

    actual = analysis.run("best_vods_per_category_this_week", dbt_vars)
    assert len(expected) > 0 and (dbt_vars is None or expected.groupby("category").size().max() == top_n)
    _same(actual, expected, ["category", "rank"])


@pytest.mark.e2e
def test_streamers_most_coviewed_with_the_most_watched_streamer_by_default_or_the_one_named(built):
    _, home = built
    pairs = mart(home, "co_viewed_streamers")
    viewers = pairs.groupby("streamer_id").streamer_viewers.max().reset_index()
    most_watched = viewers.sort_values(["streamer_viewers", "streamer_id"], ascending=[False, True]).streamer_id.iloc[0]
    columns = [
        "streamer_id", "rank", "co_streamer_id", "co_viewers", "streamer_viewers", "co_streamer_viewers",
        "jaccard", "lift", "batch_date",
    ]  # fmt: skip

    def neighbours(streamer: str, top_n: int) -> pd.DataFrame:
        mine = pairs[pairs.streamer_id == streamer].sort_values(
            ["jaccard", "co_viewers", "co_streamer_id"], ascending=[False, False, True]
        )
        return mine.head(top_n)[columns]

    default = analysis.run("streamers_most_coviewed_with")
    assert set(default.streamer_id) == {most_watched} and len(default) > 0
    assert list(default["rank"]) == list(range(1, len(default) + 1))
    _same(default, neighbours(most_watched, 20), ["rank"])

    other = default.co_streamer_id.iloc[0]
    named = analysis.run("streamers_most_coviewed_with", {"streamer_id": other, "top_n": 3})
    assert set(named.streamer_id) == {other} and len(named) == min(3, (pairs.streamer_id == other).sum())
    _same(named, neighbours(other, 3), ["rank"])
    assert analysis.run("streamers_most_coviewed_with", {"streamer_id": "no_such_streamer"}).empty


@pytest.mark.e2e
def test_exploration_type_conversion(built):
    _, home = built
    posteriors = mart(home, "exploration_type_posteriors")
    latest = posteriors[posteriors.batch_date == posteriors.batch_date.max()].set_index("exploration_type")
    totals = posteriors.groupby("exploration_type").agg(
        batches=("batch_date", "nunique"), total_trials=("trials", "sum"), total_successes=("successes", "sum")
    )
    a, b = latest.alpha, latest.beta
    expected = (
        pd.DataFrame(
            {
                "latest_batch_date": latest.batch_date,
                "latest_trials": latest.trials,
                "latest_successes": latest.successes,
                "latest_success_rate": latest.success_rate,
                "batches": totals.batches,
                "total_trials": totals.total_trials,
                "total_successes": totals.total_successes,
                "alpha": a,
                "beta": b,
                "posterior_mean": latest.posterior_mean,
                "latest_slot_share": latest.slot_share,
                "overall_success_rate": (totals.total_successes / totals.total_trials.replace(0, np.nan)),
                "posterior_sd": np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))),
            }
        )
        .rename_axis("exploration_type")
        .reset_index()
    )

    actual = analysis.run("exploration_type_conversion")
    assert len(expected) == 4 and expected.batches.min() >= 2 and expected.total_trials.sum() > 0
    assert list(actual.posterior_mean) == sorted(actual.posterior_mean, reverse=True)
    _same(actual, expected, ["exploration_type"])


@pytest.mark.e2e
@pytest.mark.parametrize("k", [10, 5])
def test_model_leaderboard(built, k):
    _, home = built
    intervals = mart(home, "offline_eval_intervals")
    metrics = mart(home, "offline_eval_metrics")
    latest = intervals.batch_date.max()
    at_k = intervals[(intervals.batch_date == latest) & (intervals.k == k)].set_index(["model_name", "metric"])
    keys = ["model_name", "item_type", "batch_date", "k"]
    board = at_k.xs("ndcg", level="metric")[["item_type", "batch_date", "k"]].reset_index()
    for metric in ("ndcg", "hit_rate"):
        part = at_k.xs(metric, level="metric")
        board[metric] = board.model_name.map(part.estimate)
        board[f"{metric}_ci_low"] = board.model_name.map(part.ci_low)
        board[f"{metric}_ci_high"] = board.model_name.map(part.ci_high)
        board[f"{metric}_diff_vs_popularity"] = board.model_name.map(part.diff_vs_baseline)
        board[f"{metric}_diff_ci_low"] = board.model_name.map(part.diff_ci_low)
        board[f"{metric}_diff_ci_high"] = board.model_name.map(part.diff_ci_high)
    own = metrics[(metrics.batch_date == latest) & (metrics.k == k)].set_index("model_name")
    for column in ("users_evaluated", "users_with_list", "coverage"):
        board[column] = board.model_name.map(own[column])
    board["beats_popularity"] = board.ndcg_diff_ci_low > 0
    board = board.sort_values(["ndcg", "model_name"], ascending=[False, True])
    board["rank"] = range(1, len(board) + 1)
    expected = board[
        [
            *keys, "users_evaluated", "users_with_list",
            "ndcg", "ndcg_ci_low", "ndcg_ci_high", "ndcg_diff_vs_popularity", "ndcg_diff_ci_low", "ndcg_diff_ci_high",
            "hit_rate", "hit_rate_ci_low", "hit_rate_ci_high", "hit_rate_diff_vs_popularity", "hit_rate_diff_ci_low",
            "hit_rate_diff_ci_high", "coverage", "beats_popularity", "rank",
        ]
    ]  # fmt: skip

    actual = analysis.run("model_leaderboard", {"k": k})
    assert "popularity" in set(expected.model_name) and len(expected) >= 3
    assert not expected.loc[expected.model_name == "popularity", "beats_popularity"].item()
    _same(actual, expected, ["rank"])


@pytest.mark.e2e
def test_quarantine_by_reason_per_day(built):
    _, home = built
    summary = mart(home, "quarantine_summary")
    recon = mart(home, "landing_reconciliation")[["landing_table", "batch_date", "raw_rows"]]
    # a left join: quarantined rows of a table reconciliation does not cover (recommendations_served,
    # planted in the fixture's landing) must still show, with no share
    expected = summary.merge(recon, on=["landing_table", "batch_date"], how="left")
    expected["share_of_rows"] = expected.quarantined_rows / expected.raw_rows
    expected = expected[
        ["batch_date", "landing_table", "quarantine_reason", "quarantined_rows", "raw_rows", "share_of_rows"]
    ]

    actual = analysis.run("quarantine_by_reason_per_day")
    assert len(expected) == len(summary) > 0
    assert "recommendations_served" in set(actual.landing_table)
    _same(actual, expected, ["batch_date", "landing_table", "quarantine_reason"])


@pytest.mark.e2e
def test_limit_keeps_the_first_rows_in_the_analysis_order(built):
    full = analysis.run("streamers_most_coviewed_with")
    first = analysis.run("streamers_most_coviewed_with", limit=3)
    pd.testing.assert_frame_equal(first, full.head(3))


# (c) the same compiled SQL on Spark ------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark_marts(spark, built):
    """Database `marts` in the test SparkSession: a view over each mart's Parquet folder (partition
    folders become columns), which is how dbt-spark's refs resolve against the metastore."""
    _, home = built
    spark.sql("create database if not exists marts")
    for folder in sorted((home / "warehouse" / "marts.db").iterdir()):
        if folder.is_dir() and any(folder.rglob("*.parquet")):
            spark.sql(f"create or replace view marts.{folder.name} as select * from parquet.`{folder}`")
    yield spark
    spark.sql("drop database if exists marts cascade")


@pytest.mark.e2e
def test_compiled_sql_gives_the_same_rows_on_spark_as_on_duckdb(built, compiled, spark_marts):
    _, home = built
    assert spark_marts.conf.get("spark.sql.ansi.enabled") == "true"
    with Marts(home / "warehouse") as marts:
        for name, sql in compiled.items():
            on_duckdb = _normalised(marts.df(sql))
            on_spark = _normalised(spark_marts.sql(sql).toPandas())
            assert len(on_duckdb) > 0, f"{name} returned no rows on the test build"
            assert list(on_spark.columns) == list(on_duckdb.columns), name
            # row order too: every analysis ends with an order by that leaves no ties
            pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False, rtol=1e-9, obj=name)


# (d) refused vars -----------------------------------------------------------------------------------

BATCH_VARS = {"landing_root": "/x", "as_of": "2026-11-20", "landing_first_date": "2026-11-17"}


@pytest.mark.parametrize(
    ("name", "dbt_vars", "says"),
    [
        ("streamers_most_coviewed_with", {"streamer_id": "x' or '1'='1"}, "plain value"),
        ("streamers_most_coviewed_with", {"streamer_id": "s1; drop table marts.abuse_flags"}, "plain value"),
        ("streamers_most_coviewed_with", {"streamer_id": "s1--"}, "plain value"),
        ("streamers_most_coviewed_with", {"streamer_id": ["s1"]}, "plain value"),
        ("best_vods_per_category_this_week", {"days": "7 or 1=1"}, "positive whole number"),
        ("best_vods_per_category_this_week", {"days": "7"}, "positive whole number"),
        ("best_vods_per_category_this_week", {"top_n": 0}, "positive whole number"),
        ("model_leaderboard", {"k": 2.5}, "positive whole number"),
        ("model_leaderboard", {"k": True}, "positive whole number"),
        ("model_leaderboard", {"as_of": "2026-11-19"}, "may not set as_of"),
        ("model_leaderboard", {"landing_root": "/elsewhere"}, "may not set landing_root"),
        ("model_leaderboard", {"days": 7}, "takes no var 'days'; vars taken: k"),
        ("exploration_type_conversion", {"top_n": 3}, "vars taken: none"),
    ],
)
def test_refused_vars_say_what_is_allowed(name, dbt_vars, says):
    with pytest.raises(UserError, match=re.escape(says)):
        analysis.check_vars(dbt_vars, BATCH_VARS, [name])


def test_vars_must_be_an_object():
    with pytest.raises(UserError, match="JSON object"):
        analysis.check_vars(["k", 5], BATCH_VARS, ["model_leaderboard"])


def test_accepted_vars_pass_through_unchanged():
    given = {"streamer_id": "s000042", "top_n": 3}
    assert analysis.check_vars(given, BATCH_VARS, ["streamers_most_coviewed_with"]) == given
    assert analysis.check_vars({"streamer_id": None}, BATCH_VARS, ["streamers_most_coviewed_with"]) == {
        "streamer_id": None
    }
    assert analysis.check_vars({"streamer_id": "2026-11-20"}, BATCH_VARS, ["streamers_most_coviewed_with"])


def test_unknown_analysis_lists_the_available_ones():
    with pytest.raises(UserError) as caught:
        analysis.run("best_vods")
    assert "no analysis 'best_vods'" in str(caught.value)
    assert all(name in str(caught.value) for name in REQUIRED)


@pytest.mark.e2e
def test_run_refuses_bad_vars_and_limits_before_dbt_starts(built, monkeypatch):
    def no_dbt(*args, **kwargs):
        raise AssertionError("dbt ran although the vars were refused")

    monkeypatch.setattr(analysis, "dbt", no_dbt)
    with pytest.raises(UserError, match="plain value"):
        analysis.run("streamers_most_coviewed_with", {"streamer_id": "a' union select 1 --"})
    with pytest.raises(UserError, match="may not set as_of"):
        analysis.run("abuse_by_kind_per_day", {"as_of": "2026-11-18"})
    with pytest.raises(UserError, match="positive number of rows"):
        analysis.run("abuse_by_kind_per_day", limit=0)


@pytest.mark.e2e
def test_run_names_the_marts_a_home_without_a_build_lacks(built, tmp_path, monkeypatch):
    monkeypatch.setenv("WATCHHOUSE_HOME", str(tmp_path / "empty_home"))
    with pytest.raises(UserError, match=r"reads marts\.offline_eval_intervals, marts\.offline_eval_metrics, not built"):
        analysis.run("model_leaderboard")
