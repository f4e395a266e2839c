"""The project's generic data tests (macros/tests/), rendered with jinja2 as dbt renders a `{% test %}`
block and run on Spark against small tables whose failing rows are known by construction."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ["model_name", "user_id", "item_id"]


class _Refused(Exception):
    pass


def _generic_test(name: str):
    """`test_<name>` of macros/tests/<name>.sql; dbt turns `{% test x %}` into the macro `test_x`."""
    source = (REPO / "macros" / "tests" / f"test_{name}.sql").read_text()
    source = source.replace("{% test ", "{% macro test_").replace("{% endtest %}", "{% endmacro %}")
    exceptions = SimpleNamespace(raise_compiler_error=lambda msg: (_ for _ in ()).throw(_Refused(msg)))
    module = jinja2.Environment().from_string(source).make_module({"exceptions": exceptions})
    return getattr(module, f"test_{name}")


def _failures(spark, rows, view: str, **arguments) -> Counter:
    frame = spark.createDataFrame(rows, "model_name string, user_id string, item_id string")
    frame.createOrReplaceTempView(view)
    sql = _generic_test("unique_combination")(model=view, columns=COLUMNS, **arguments)
    return Counter({tuple(r[c] for c in COLUMNS): r["copies"] for r in spark.sql(sql).collect()})


def _expected(rows) -> Counter:
    """Duplicated combinations and their copies, counted in Python (None is a value like any other)."""
    return Counter({key: n for key, n in Counter(rows).items() if n > 1})


HAND_MADE = [
    ("als", "u1", "v1"),
    ("als", "u1", "v1"),  # duplicate: 2 copies
    ("als", "u1", "v2"),
    ("als", "u2", "v1"),
    ("ranker", "u1", "v1"),  # same user and item, other model: not a duplicate
    ("ranker", None, "v3"),
    ("ranker", None, "v3"),
    ("ranker", None, "v3"),  # nulls group together, as in `group by`: 3 copies
    ("ranker", "v3", None),  # the same values in other columns: xxhash64 skips nulls, so it may collide
    (None, None, None),
]


@pytest.mark.parametrize("buckets", [None, 1, 2])
def test_unique_combination_returns_exactly_the_duplicated_combinations(spark, buckets):
    # buckets=1 puts every row in one hash group: the exact second pass alone must decide
    got = _failures(spark, HAND_MADE, "uc_hand", buckets=buckets)
    # a collision the plain hash makes by itself: the exact pass separates the two combinations
    assert spark.sql("select xxhash64('ranker', null, 'v3') = xxhash64('ranker', 'v3', null)").first()[0]
    assert got == Counter({("als", "u1", "v1"): 2, ("ranker", None, "v3"): 3})


@pytest.mark.parametrize("buckets", [None, 1])
def test_unique_combination_passes_unique_rows_even_when_every_hash_collides(spark, buckets):
    rows = list(dict.fromkeys(HAND_MADE))  # each combination once, in order
    assert _failures(spark, rows, "uc_unique", buckets=buckets) == Counter()


@pytest.mark.parametrize("buckets", [None, 7])
def test_unique_combination_agrees_with_counting_on_random_rows(spark, buckets):
    rng = random.Random(17)
    values = [None, "a", "b", "c", "ab", ""]
    rows = [tuple(rng.choice(values) for _ in COLUMNS) for _ in range(600)]
    expected = _expected(rows)
    assert expected and len(expected) < len(set(rows))  # both kinds of combination are present
    assert _failures(spark, rows, "uc_random", buckets=buckets) == expected


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"columns": "user_id"}, "`columns` must list 2+ columns, got user_id"),
        ({"columns": ["user_id"]}, "`columns` must list 2+ columns"),
        ({"columns": COLUMNS, "buckets": 0}, "`buckets` must be a positive integer or none, got 0"),
        ({"columns": COLUMNS, "buckets": "4"}, "`buckets` must be a positive integer or none, got 4"),
    ],
)
def test_unique_combination_refuses_bad_arguments(arguments, said):
    with pytest.raises(_Refused, match=said.replace("`", ".").replace("+", r"\+")):
        _generic_test("unique_combination")(model="t", **arguments)
