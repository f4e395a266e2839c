"""End-to-end: generated and hand-made landing data through `watchhouse build`
(dbt build on embedded Spark), checked from the marts' Parquet files with
numbers computed independently from the landing files."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter

import duckdb
import pandas as pd
import pytest

import handmade
from e2e import E2E_KEY, assert_same_tables, build, comparable, duck, mart, pseudonym, run_results
from watchhouse import privacy, publish

pytestmark = pytest.mark.e2e

END = "2026-11-20"


def _landing_count(landing, table: str) -> int:
    return duckdb.sql(f"select count(*) from read_parquet('{landing}/{table}/**/*.parquet')").fetchone()[0]


def test_default_batch_is_last_complete_day(generated):
    _, _, first = generated
    assert f"building batch {END}" in first.stdout


def test_every_landing_row_is_accepted_or_quarantined(generated):
    landing, home, _ = generated
    recon = mart(home, "landing_reconciliation")
    assert recon["is_balanced"].all()
    totals = recon.groupby("landing_table")[["raw_rows", "accepted_rows", "quarantined_rows"]].sum()
    for table in totals.index:
        # the batch is the last day, so every landing row is in scope
        assert totals.loc[table, "raw_rows"] == _landing_count(landing, table), table
        assert totals.loc[table, "accepted_rows"] + totals.loc[table, "quarantined_rows"] == _landing_count(
            landing, table
        )


def test_planted_contract_breaks_get_their_reason(generated):
    landing, home, _ = generated
    planted = pd.read_parquet(landing / "_generator" / "contract_violations.parquet")
    got = mart(home, "quarantine_summary")
    # the generator plants breaks in the contract's tables; the e2e fixture's served lists are checked in
    # test_e2e_evaluation
    got = got[got.landing_table != "recommendations_served"]
    # late_arrival rows are not the generator's: the `batches` fixture plants them (test_e2e_reliability)
    got = got[got.quarantine_reason != "late_arrival"]
    got = got.groupby(["landing_table", "quarantine_reason"])["quarantined_rows"].sum()
    want = planted.groupby(["table_name", "reason"]).size()
    want.index = want.index.set_names(["landing_table", "quarantine_reason"])
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False, check_dtype=False)
    # and for watch events, the very rows: each planted event id carries its planted reason
    q = mart(home, "quarantine_watch_events")
    keyed = planted[(planted.table_name == "watch_events") & planted.row_key.notna()]
    got_pairs = {(e, r) for e, r in zip(q.event_id, q.quarantine_reason, strict=True) if e is not None}
    assert set(zip(keyed.row_key, keyed.reason, strict=True)) <= got_pairs


def test_doubtful_attributes_keep_their_rows_and_every_fact_that_references_them(generated):
    """The generator plants doubtful attributes (a sign-up in 1975 or 2099, a broadcast ending before it
    starts, a VOD cut from a broadcast nobody has) on rows that facts reference: each row is kept, listed
    with its reason, and no fact is quarantined because of it."""
    landing, home, _ = generated
    planted = pd.read_parquet(landing / "_generator" / "doubtful_attributes.parquet")
    listed = mart(home, "landing_doubtful_attributes")
    listed = {(t, k): issues for t, k, issues in listed[["landing_table", "row_key", "attribute_issues"]].values}
    for table, attribute, reason, key in planted.itertuples(index=False):
        issues = listed.get((table, pseudonym(key) if table == "users" else key), "")
        assert f"{attribute} " in issues and issues.endswith(f": {reason}"), (table, key, issues)
        # (a later conflicting copy of the same key, which the generator also plants, is a duplicate_key)
        quarantined = mart(home, f"quarantine_{table}").query("quarantine_reason != 'duplicate_key'")
        assert key not in set(quarantined[KEYS[table][0]]), (table, key)
    keys = {t: set(planted[planted.table_name == t].row_key) for t in ("users", "vods", "broadcasts", "streamers")}
    lost = {
        "watch_events": mart(home, "quarantine_watch_events").query(
            "(quarantine_reason == 'unknown_user' and user_id in @keys['users'])"
            " or (quarantine_reason == 'unknown_vod' and vod_id in @keys['vods'])"
        ),
        "live_watch_events": mart(home, "quarantine_live_watch_events").query(
            "(quarantine_reason == 'unknown_user' and user_id in @keys['users'])"
            " or (quarantine_reason == 'unknown_broadcast' and broadcast_id in @keys['broadcasts'])"
        ),
        "vods": mart(home, "quarantine_vods").query(
            "quarantine_reason == 'unknown_streamer' and streamer_id in @keys['streamers']"
        ),
    }
    assert {table: len(rows) for table, rows in lost.items()} == dict.fromkeys(lost, 0)
    # and they reach the valuation: views of the planted users and VODs are valued or flagged as abuse
    landed = duckdb.sql(f"select * from read_parquet('{landing}/watch_events/**/*.parquet')").df()
    theirs = landed[landed.user_id.isin(keys["users"]) | landed.vod_id.isin(keys["vods"])]
    valued = set(mart(home, "view_valuations").event_id) | set(mart(home, "abuse_flags").event_id)
    quarantined = set(mart(home, "quarantine_watch_events").event_id)
    assert len(theirs) > 0 and set(theirs.event_id) <= valued | quarantined
    assert len(set(theirs.event_id) - quarantined) >= 0.9 * len(theirs)


def test_no_window_sends_every_row_to_one_task(generated):
    """Spark warns when a window has no partition (every row through one task: int_exploration_pool's
    top fresh streamers did, 35 warnings a build, and ran for minutes at 10M events)."""
    _, _, done = generated
    assert "No Partition Defined for Window" not in done.stdout + done.stderr


def test_python_model_ran_inside_dbt_build(generated):
    _, home, _ = generated
    results = run_results(home)
    rec = results["model.watchhouse.rec_popularity"]
    assert rec["status"] == "success"
    assert (
        home / "dbt" / "target" / "run" / "watchhouse" / "python_models" / "recommendations" / "rec_popularity.py"
    ).is_file()


def test_popularity_lists_match_independent_computation(generated):
    landing, home, _ = generated
    # popularity counts clean views (accepted, not flagged as abuse): the view_valuations mart
    folder = home / "warehouse" / "marts.db" / "view_valuations"
    views = duckdb.sql(f"select user_id, vod_id, started_at from read_parquet('{folder}/**/*.parquet')").df()
    # Spark writes UTC wall-clock timestamps without a zone
    window = views[(views.started_at >= pd.Timestamp("2026-11-14")) & (views.started_at < pd.Timestamp("2026-11-21"))]
    counts = window.groupby("vod_id").user_id.nunique().reset_index(name="score")
    top = counts.sort_values(["score", "vod_id"], ascending=[False, True]).head(50)
    lists = mart(home, "recommendation_lists")
    lists = lists[(lists.model_name == "popularity") & (lists.batch_date.astype(str) == END)]
    one_user = lists[lists.user_id == lists.user_id.min()].sort_values("rank")
    assert one_user.item_id.tolist() == top.vod_id.tolist()
    assert one_user.score.tolist() == top.score.astype(float).tolist()
    # the generator's own users (u000123), as pseudonyms: marts hold no landing id (test_marts_hold_...)
    ours = {pseudonym(u) for u in _landing_ids(landing, "users", "user_id") if re.fullmatch(r"u\d+", u)}
    audience = window[window.user_id.isin(ours)].user_id.nunique()
    assert lists.user_id.nunique() == audience > 0


def _landing_ids(landing, table: str, column: str) -> set[str]:
    rows = duckdb.sql(f"select distinct {column} from read_parquet('{landing}/{table}/**/*.parquet')").fetchall()
    return {value for (value,) in rows if value is not None}


PERSONAL = {"users": ["user_id"], "watch_events": ["user_id", "ip_hash"], "live_watch_events": ["user_id", "ip_hash"],
            "follows": ["user_id"], "recommendations_served": ["user_id"]}  # fmt: skip


def test_marts_hold_no_landing_user_id_or_ip_hash_outside_the_quarantine(generated):
    landing, home, _ = generated
    raw = set().union(*(_landing_ids(landing, t, c) for t, cols in PERSONAL.items() for c in cols))
    assert len(raw) > 800  # the landing's users and IP hashes (and the served lists' users)
    checked = 0
    for schema in ("marts", "intermediate"):
        for folder in sorted((home / "warehouse" / f"{schema}.db").iterdir()):
            # by design raw: the quarantine (for the data team) and the validated tables it is cut from
            if folder.name.startswith("quarantine_") or folder.name.endswith("_validated"):
                continue
            if not any(folder.rglob("*.parquet")):
                continue
            frame = mart(home, folder.name, schema)
            for column in frame.columns:
                cells = [v for v in frame[column] if v is not None]
                lists = [v for v in cells if hasattr(v, "__len__") and not isinstance(v, str | bytes | dict)]
                values = {v for v in [*cells, *(x for v in lists for x in v)] if isinstance(v, str)}
                leaked = values & raw
                assert not leaked, f"{schema}.{folder.name}.{column} holds landing ids, e.g. {sorted(leaked)[:3]}"
                checked += bool(values)
    assert checked > 50


def test_accepted_ids_are_the_hmac_of_the_landing_ids_and_the_quarantine_keeps_them_raw(generated):
    landing, home, _ = generated
    con = duck()
    wh = home / "warehouse" / "marts.db"
    events = f"read_parquet('{landing}/watch_events/**/*.parquet', hive_partitioning = true)"
    # every valued and every flagged view carries the pseudonyms of its landing row's user id (and IP hash)
    for name, ip in (("view_valuations", ""), ("abuse_flags", "and pseudonym(l.ip_hash) = v.ip_hash")):
        unmatched, views = con.sql(
            f"""select count(*) filter (where not exists (select 1 from {events} as l
                       where l.event_id = v.event_id and pseudonym(l.user_id) = v.user_id {ip})), count(*)
                from read_parquet('{wh}/{name}/**/*.parquet') as v"""
        ).fetchone()
        assert views > 100 and unmatched == 0, name
    # user_watch_norms: exactly the pseudonyms of the landing users of the clean views
    clean_users = con.sql(
        f"""select distinct l.user_id from {events} as l
            semi join read_parquet('{wh}/view_valuations/**/*.parquet') as v using (event_id)"""
    ).fetchall()
    norms = set(mart(home, "user_watch_norms").user_id)
    assert norms == {pseudonym(u) for (u,) in clean_users}
    assert all(re.fullmatch(r"[0-9a-f]{64}", u) for u in norms)
    # the quarantine keeps each row's ids as landed, and no pseudonym column
    quarantined = mart(home, "quarantine_watch_events")
    assert not [c for c in quarantined.columns if c.endswith("_pseudonym")]
    landed = set(con.sql(f"select event_id, user_id, ip_hash from {events}").fetchall())
    rows = quarantined[quarantined.event_id.notna()][["event_id", "user_id", "ip_hash"]]
    as_rows = {tuple(None if pd.isna(v) else v for v in r) for r in rows.itertuples(index=False)}
    assert len(as_rows) > 10 and as_rows <= landed
    assert "unknown_user" in set(quarantined.quarantine_reason)


def test_no_file_of_the_home_holds_the_key_or_its_pads(generated):
    _, home, _ = generated
    from watchhouse.privacy import PseudonymKey

    key = PseudonymKey.from_env({"WATCHHOUSE_PSEUDONYM_KEY": E2E_KEY})
    secrets = [E2E_KEY.encode(), *(v.encode() for v in key.dbt_env().values()), *key.pads()]
    files = [p for p in home.rglob("*") if p.is_file() and not p.is_symlink()]
    # dbt's compiled SQL and logs, the metastore and its published copies, GE, MLflow, the dashboard
    assert any(p.name == "dbt.log" for p in files) and any("_metastore_db" in p.parts for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(s in data for s in secrets), f"{path} holds the pseudonym key or its pads"
    manifest = publish.published_info(home)
    assert manifest["pseudonym_key_id"] == key.key_id and manifest["pseudonym_demo_key"] is False


def test_rerun_gives_identical_marts_and_earlier_batches_are_partitions(batches):
    _, _, snap = batches
    for name, frame in snap[END].items():
        pd.testing.assert_frame_equal(comparable(frame), comparable(snap["rebuilt"][name]), obj=name)
    # every published table of every schema, not only the marts above
    assert_same_tables(snap["tables"][END], snap["tables"]["rebuilt"], "rerun of 11-20")
    recon = snap["2026-11-19"]["landing_reconciliation"]
    assert recon.batch_date.astype(str).max() == "2026-11-19"  # D+1 rows neither used nor counted
    lists = snap[END]["recommendation_lists"]
    assert sorted(lists.batch_date.astype(str).unique()) == ["2026-11-18", "2026-11-19", END]


def test_handmade_landing_every_row_gets_the_expected_outcome(tmp_path):
    # paths with a space (a JVM option must stay one option), and a table folder with the hidden
    # files exports leave behind (_SUCCESS, .DS_Store), which Spark and the landing check both skip
    landing, home = tmp_path / "landing folder", tmp_path / "watchhouse home"
    expected = handmade.write(landing)
    (landing / "vods" / "_SUCCESS").write_text("")
    (landing / "vods" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    # no WATCHHOUSE_PSEUDONYM_KEY: the public demo key; no ML: every row's outcome is decided before it;
    # one row per rule is a landing broken on purpose (half its views), not a platform to stop for
    done = build(landing, home, extra_vars={"ml_enabled": False, "quarantine_share_max": 1.0}, key=None)
    assert f"building batch {handmade.AS_OF}" in done.stdout
    # the quoted JVM options took effect: the project's log4j2 config, Derby's log in the home
    assert "Using Spark's default log4j profile" not in done.stdout + done.stderr
    assert (home / "derby.log").is_file()
    # not the generator's demo data: the demo key is flagged loudly, on stderr
    assert "WARNING: WATCHHOUSE_PSEUDONYM_KEY is not set" in done.stderr and "PUBLIC demo key" in done.stderr
    recon = mart(home, "landing_reconciliation")
    for table, rows in expected.items():
        quarantined = mart(home, f"quarantine_{table}")
        keys = KEYS[table]
        got = Counter((_key(r[:-1]), r[-1]) for r in quarantined[[*keys, "quarantine_reason"]].itertuples(index=False))
        want = Counter((_key(k if isinstance(k, tuple) else (k,)), reason) for k, reason in rows
                       if reason not in (None, "after_batch"))  # fmt: skip
        assert got == want, table
        in_batch = [r for r in rows if r[1] != "after_batch"]
        row = recon[recon.landing_table == table]
        assert row.raw_rows.sum() == len(in_batch), table
        assert row.accepted_rows.sum() == sum(1 for r in in_batch if r[1] is None), table
    doubtful = mart(home, "landing_doubtful_attributes")[["landing_table", "row_key", "attribute_issues"]]

    # a user by its pseudonym: HMAC-SHA256 under the public demo key this build runs on
    def demo(k: str) -> str:
        return hmac.new(privacy.DEMO_KEY.encode(), k.encode(), hashlib.sha256).hexdigest()

    want = {(t, demo(k) if t == "users" else k): issues for (t, k), issues in handmade.DOUBTFUL.items()}
    assert {(t, k): issues for t, k, issues in doubtful.values} == want
    flagged = recon.groupby("landing_table").doubtful_attribute_rows.sum()
    assert flagged[flagged > 0].to_dict() == dict(Counter(table for table, _ in handmade.DOUBTFUL))
    # every in-batch watch event ends in exactly one of quarantine, abuse_flags, view_valuations
    ends = [mart(home, m) for m in ("quarantine_watch_events", "abuse_flags", "view_valuations")]
    assert sum(len(f) for f in ends) == sum(1 for _, reason in expected["watch_events"] if reason != "after_batch")
    assert set(ends[1].event_id) == {"e11"}  # 150 s of a 30 s clip: accepted by the contract, flagged overlong
    # a view of a VOD whose type the seed does not know is valued, in the type '(unknown)'
    assert ends[2].set_index("event_id").loc["e18", "vod_type"] == "(unknown)"
    # a view of a VOD that landed without a streamer is valued under the unknown member; a live view of such a
    # broadcast is accepted (recon above); no streamer mart holds the unknown member
    assert ends[2].set_index("event_id").loc["e23", "streamer_id"] == "(unknown)"
    for name in ("user_preferred_streamers", "streamer_representative_vods", "co_viewed_streamers"):
        assert "(unknown)" not in set(mart(home, name).streamer_id), name


KEYS = {
    "streamers": ["streamer_id"],
    "users": ["user_id"],
    "vods": ["vod_id"],
    "broadcasts": ["broadcast_id"],
    "watch_events": ["event_id"],
    "live_watch_events": ["event_id"],
    "follows": ["user_id", "streamer_id"],
}


def _key(values) -> tuple:
    return tuple(None if pd.isna(v) else v for v in values)
