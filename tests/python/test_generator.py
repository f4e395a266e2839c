"""The demo generator: contract, determinism, planted rows, abuse, scale."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from watchhouse import contract as c
from watchhouse.generate.config import AbuseConfig, GeneratorConfig
from watchhouse.generate.corrupt import ATTRIBUTE_KINDS, ENTITY_KINDS, EVENT_KINDS, KEPT_KINDS
from watchhouse.generate.platform import generate


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gen") / "landing"
    manifest = generate(GeneratorConfig(users=1500, days=5, seed=11), out, progress=False)
    return out, manifest


def _read(root: Path, table: str) -> pd.DataFrame:
    return duckdb.sql(f"select * from read_parquet('{root}/{table}/**/*.parquet')").df()


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.parquet")):
        h.update(str(path.relative_to(root)).encode())
        h.update(pq.read_table(path).to_pandas().to_csv().encode())
    return h.hexdigest()


def test_every_table_has_exactly_the_contract_schema(small):
    root, _ = small
    for table in c.TABLES + c.OPTIONAL_TABLES:
        for path in (root / table.name).rglob("*.parquet"):
            assert pq.read_schema(path).remove_metadata().equals(table.schema), path


def test_event_tables_are_partitioned_by_event_date(small):
    root, _ = small
    days = sorted(p.name for p in (root / "watch_events").iterdir())
    assert days == [f"event_date=2026-11-{d}" for d in range(16, 21)]


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    cfg = GeneratorConfig(users=300, days=2, seed=5)
    generate(cfg, tmp_path / "a", progress=False)
    generate(cfg, tmp_path / "b", progress=False)
    generate(GeneratorConfig(users=300, days=2, seed=6), tmp_path / "c", progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_about_one_percent_contract_breaks_of_every_kind(small):
    root, manifest = small
    planted = pd.read_parquet(root / "_generator" / "contract_violations.parquet")
    for table, kinds in {**EVENT_KINDS, **ENTITY_KINDS}.items():
        mine = planted[planted.table_name == table]
        # a row whose only fault is one attribute is kept: a doubtful attribute, not a quarantine reason
        assert set(mine.reason) == {k for k in kinds if (table, k) not in KEPT_KINDS}, table
        share = len(mine) / manifest["rows"][table]
        assert 0.004 <= share <= 0.03, (table, share)


def test_clean_rows_reference_existing_entities(small):
    root, _ = small
    planted = pd.read_parquet(root / "_generator" / "contract_violations.parquet")
    bad = set(planted[planted.table_name == "watch_events"].row_key.dropna())
    views = _read(root, "watch_events")
    clean = views[~views.event_id.isin(bad) & views.event_id.notna()]
    assert clean.vod_id.isin(set(_read(root, "vods").vod_id)).all()
    assert clean.user_id.isin(set(_read(root, "users").user_id)).all()
    vods = _read(root, "vods").drop_duplicates("vod_id").set_index("vod_id")
    joined = clean.join(vods[["duration_seconds", "created_at"]], on="vod_id")
    assert (joined.watched_seconds >= 0).all()
    # VODs whose duration or created_at was made doubtful on purpose (doubtful_attributes) aside
    doubtful = pd.read_parquet(root / "_generator" / "doubtful_attributes.parquet")
    doubtful = doubtful[doubtful.table_name == "vods"]
    sound = joined[~joined.vod_id.isin(set(doubtful[doubtful.attribute != "broadcast_id"].row_key))]
    assert len(sound) > 0.95 * len(joined)
    assert (sound.watched_seconds <= sound.duration_seconds + 1e-6).all()
    assert (sound.created_at <= sound.started_at).all(), "a view before its VOD existed"


def test_doubtful_attributes_are_planted_in_place_on_rows_that_facts_reference(small):
    root, manifest = small
    doubtful = pd.read_parquet(root / "_generator" / "doubtful_attributes.parquet")
    bound, end = pd.Timestamp(c.PLATFORM_START_BOUND, tz="UTC"), pd.Timestamp("2026-11-21", tz="UTC")
    referenced = {
        "users": set(_read(root, "watch_events").user_id),
        "vods": set(_read(root, "watch_events").vod_id),
        "broadcasts": set(_read(root, "live_watch_events").broadcast_id),
        "streamers": set(_read(root, "vods").streamer_id),
    }
    kept = {(t, attribute, kind) for (t, kind), attribute in KEPT_KINDS.items()}
    for table, kinds in ATTRIBUTE_KINDS.items():
        mine = doubtful[doubtful.table_name == table]
        extra = {(attribute, kind) for t, attribute, kind in kept if t == table}
        assert set(zip(mine.attribute, mine.reason, strict=True)) == set(kinds) | extra, table
        assert 0.002 <= len(mine) / manifest["rows"][table] <= 0.03, table
        key = c.BY_NAME[table].key[0]
        rows = _read(root, table).set_index(key).loc[mine.row_key]  # in place: the key exists once, as landed
        assert rows.index.is_unique and len(rows) == len(mine), table
        # facts point at some of them (test_e2e_build checks that those facts are all accepted)
        assert set(mine.row_key) & referenced[table], table
        for (attribute, reason), group in mine.groupby(["attribute", "reason"]):
            values = rows.loc[group.row_key, attribute]
            if reason == "timestamp_before_platform":
                assert (values < bound).all(), (table, attribute)
            elif reason == "timestamp_in_future":
                assert (values > end + pd.Timedelta(days=2)).all(), (table, attribute)
            elif reason == "null_timestamp":
                assert values.isna().all(), (table, attribute)
            elif reason == "unknown_broadcast":
                assert not set(values) & set(_read(root, "broadcasts").broadcast_id), table
            elif reason == "invalid_interval":
                assert (values > rows.loc[group.row_key, "ended_at"]).all(), table
            elif reason == "invalid_duration":
                assert (~(values > 0) | values.isin([float("inf")])).all(), table
            elif reason == "unknown_vod_type":
                assert not set(values) & set(c.VOD_TYPES), table


def test_all_five_vod_types_with_plausible_durations(small):
    root, _ = small
    vods = _read(root, "vods")
    vods = vods[vods.vod_type.isin(c.VOD_TYPES) & (vods.duration_seconds > 0)]
    med = vods.groupby("vod_type").duration_seconds.median()
    assert set(med.index) == set(c.VOD_TYPES)
    assert med["clip"] < med["shortform"] < med["highlight"] < med["replay"]
    assert 3600 <= med["replay"] <= 5 * 3600
    assert (vods[vods.vod_type == "upload"].broadcast_id.isna()).all()
    assert (vods[vods.vod_type != "upload"].broadcast_id.notna()).mean() > 0.99


def test_abuse_is_labelled_and_looks_like_its_kind(small):
    root, manifest = small
    labels = pd.read_parquet(root / "abuse_labels")
    views = _read(root, "watch_events").merge(labels, on="event_id", how="left")
    assert set(labels.abuse_kind) == {"bot", "view_farm", "replay_loop"}
    assert labels.event_id.isin(set(views.event_id)).all()
    normal = views[views.abuse_kind.isna()]
    bots = views[views.abuse_kind == "bot"]
    assert bots.watched_seconds.median() < 10 < normal.watched_seconds.median()
    farm = views[views.abuse_kind == "view_farm"]
    assert farm.ip_hash.nunique() * 5 <= farm.user_id.nunique()  # many accounts, few IP hashes
    loops = views[views.abuse_kind == "replay_loop"]
    per_user_day = loops.groupby(["user_id", "vod_id", loops.started_at.dt.date]).size()
    assert per_user_day.min() >= 20
    share = len(labels) / manifest["rows"]["watch_events"]
    assert 0.02 <= share <= 0.12


def test_events_target_is_met_and_chunks_bound_memory(tmp_path):
    cfg = GeneratorConfig(users=2000, days=3, events=60_000, chunk_rows=5_000, seed=2)
    manifest = generate(cfg, tmp_path / "l", progress=False)
    assert 0.85 * 60_000 <= manifest["rows"]["watch_events"] <= 1.15 * 60_000
    parts = list((tmp_path / "l" / "watch_events").rglob("*.parquet"))
    assert len(parts) >= 3 * 4  # each day written in several slices
    assert max(pq.read_metadata(p).num_rows for p in parts) < 3 * 5_000


def test_repeat_consumption_dominates(small):
    root, _ = small
    planted = pd.read_parquet(root / "_generator" / "contract_violations.parquet")
    views = _read(root, "watch_events")
    views = views[~views.event_id.isin(set(planted.row_key.dropna()))]
    vods = _read(root, "vods").drop_duplicates("vod_id")[["vod_id", "streamer_id"]]
    views = views.merge(vods, on="vod_id").sort_values("started_at")
    # share of views whose streamer the user had already watched earlier in the window
    seen = views.duplicated(["user_id", "streamer_id"])
    assert seen.mean() > 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": 10}, "users=10"),
        ({"days": 0}, "days=0"),
        ({"users": 100, "events": 5}, "events=5"),
        ({"bad_row_share": 0.5}, "bad_row_share=0.5"),
        ({"abuse": AbuseConfig(share=0.9)}, "abuse share=0.9"),
    ],
)
def test_bad_config_is_refused_with_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(**kwargs)
