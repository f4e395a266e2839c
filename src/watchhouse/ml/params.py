"""The knobs of the models trained in the DAG: dbt vars `ml_*` (dbt_project.yml,
docs/ml.md), passed to each Python model as strings and typed here."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MLParams:
    window_days: int = 14  # training data: clean views of the last N days up to the batch
    max_training_rows: int = 2_000_000  # at most this many (most recent) views leave Spark
    arrow_batch_rows: int = 500_000  # ... in Arrow batches of about this many rows
    threads: int = 1  # torch intra-op threads (capped: torch threads x dbt threads <= cores, see torch_threads)
    dbt_threads: int = 1  # the build's dbt threads (target.threads): Python models that may run side by side
    seed: int = 7
    max_seconds: float = 120.0  # wall-clock cap per training run (epochs cap first)
    warm_start: bool = False  # two-tower + fp32 ranker start from their latest earlier-batch run (watchhouse.ml.warm)
    warm_start_epochs: int = 1  # ... and train this many epochs instead of two_tower_epochs / ranker_epochs
    list_size: int = 50
    validation_users: int = 2000  # leave-last-out users held out of training for the registry's NDCG@10
    min_item_views: int = 2  # item2vec / ALS recommend items with at least this many views in the window
    history_items: int = 20  # a user's most recent items that seed item2vec lists / feed the user tower
    session_gap_minutes: int = 30  # item2vec sequences break at longer gaps
    item2vec_dim: int = 32
    item2vec_window: int = 5
    item2vec_negatives: int = 5
    item2vec_epochs: int = 3
    two_tower_dim: int = 32
    two_tower_epochs: int = 2
    two_tower_temperature: float = 0.05
    two_tower_batch_size: int = 1024
    two_tower_max_examples: int = 400_000  # a seeded sample of the training examples when there are more
    ranker_epochs: int = 4
    ranker_negatives: int = 4  # sampled negatives per positive of the label day
    ranker_candidates: tuple[str, ...] = ("two_tower", "item2vec", "preferred_newest")
    ranker_preferred_bonus: float = 0.5
    ranker_max_per_streamer: int = 3
    quant_low_bits: int = 4
    quant_high_bits: int = 8
    quant_low_fraction: float = 0.5
    als_rank: int = 32
    als_max_iter: int = 8
    als_reg_param: float = 0.05
    als_alpha: float = 10.0
    fusion_inputs: Mapping[str, float] = field(
        default_factory=lambda: {"two_tower": 1.0, "item2vec": 1.0, "als": 1.0, "ranker": 1.0, "preferred_newest": 1.0}
    )

    @classmethod
    def from_config(cls, config: Mapping[str, object] | None) -> MLParams:
        """Typed params from dbt's rendered config (strings); unknown keys are refused."""
        config = dict(config or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - set(fields))
        if unknown:
            raise ValueError(f"unknown ml params {unknown}; known: {sorted(fields)}")
        defaults = cls()
        values = {}
        for name, raw in config.items():
            current = getattr(defaults, name)
            try:
                values[name] = _coerce(raw, current)
            except (TypeError, ValueError) as err:
                raise ValueError(f"ml param {name}={raw!r}: expected {type(current).__name__} ({err})") from None
        params = cls(**values)
        params.validate()
        return params

    def validate(self) -> None:
        positive = [f.name for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), int | float)]
        for name in positive:
            value = getattr(self, name)
            if name != "ranker_preferred_bonus" and value <= 0 and not isinstance(value, bool):
                raise ValueError(f"ml param {name}={value}: must be > 0")
        if not 0 < self.quant_low_fraction < 1:
            raise ValueError(f"quant_low_fraction={self.quant_low_fraction}: must be in (0, 1)")
        if not 2 <= self.quant_low_bits < self.quant_high_bits <= 8:
            raise ValueError(f"quant bits {self.quant_low_bits}/{self.quant_high_bits}: need 2 <= low < high <= 8")

    def torch_threads(self, cores: int | None = None) -> int:
        """ml_threads, capped so that torch threads x dbt threads never exceed the cores: torch, Spark and dbt
        do not fight over the machine (two torch threads beside another busy process ran ~1.4x slower than one,
        bench/RESULTS.md)."""
        if cores is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, min(self.threads, cores // max(1, self.dbt_threads)))

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["fusion_inputs"] = dict(self.fusion_inputs)
        return out


def _coerce(raw: object, current: object) -> object:
    if isinstance(raw, str) and not isinstance(current, str):
        raw = json.loads(raw.replace("'", '"')) if raw.strip()[:1] in "[{" else raw
    if isinstance(current, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() == "true"
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, tuple):
        return tuple(str(x) for x in raw)
    if isinstance(current, Mapping):
        return {str(k): float(v) for k, v in dict(raw).items()}
    return raw
