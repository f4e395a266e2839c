"""Quantized multi-task rankers vs. fp32: size, single-thread CPU scoring latency, ranking quality.

Trains the MMoE ranker (watchhouse.ml.ranker, default widths) on synthetic data of the demo's shape (12 dense +
2 categorical features, candidates grouped per user), then compares on a held-out set of the same size:

- fp32: the trained model;
- dynamic int8: watchhouse.ml.quantize.dynamic_int8 of it (post-training);
- QAT: prepare_qat of the fp32 model, fine-tuned ``--finetune-epochs``, convert_qat;
- two-level: apply_two_level (4/8 bits, half low) of the fp32 model, fine-tuned likewise, export_two_level.

Size = bytes of torch.save(state_dict); for two-level also the packed size (two_level_size_bytes: 4/8-bit weights,
fp32 scales, mask from the seed), compared with the fp32 tensor bytes counted the same way. Latency = median
seconds of ``score`` over all held-out rows with torch.set_num_threads(1), the models timed in interleaved rounds
in one process. Quality = AUC of the watch head and NDCG@10 per user (gain = watched * view value), relative to
fp32. Targets of the issue: >= 3.5x smaller, >= 2x faster scoring, <= 1% relative quality drop.

    .venv/bin/python bench/bench_quantize.py --rows 200000
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import sys
import time

import numpy as np
import torch
from scipy.stats import rankdata

from watchhouse.ml.quantize import (
    apply_two_level,
    convert_qat,
    dynamic_int8,
    export_two_level,
    latency,
    prepare_qat,
    serialized_size,
    two_level_size_bytes,
)
from watchhouse.ml.ranker import RankerConfig, predict, score, train_ranker

N_DENSE, CARDS, PER_USER = 12, (3, 10), 20


def synthetic(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(dense [N, 12] float32, cats [N, 2] int64, y_watch, y_value); rows grouped by user, PER_USER each. Watch and
    value depend non-linearly on features of the user, the item and their interaction, and on the categories."""
    rng = np.random.default_rng(seed)
    users = rows // PER_USER
    n = users * PER_USER
    user = np.repeat(np.arange(users), PER_USER)
    u_views = rng.gamma(2.0, 1.5, users)[user]  # user-level activity
    affinity = rng.normal(size=n)  # user x streamer history strength
    dense = np.column_stack(
        [
            np.log1p(u_views),
            np.log1p(np.maximum(affinity * 2 + rng.normal(0, 0.5, n), 0)),  # user_streamer_views
            np.log1p(np.maximum(affinity * 3 + rng.normal(0, 1, n), 0)),  # user_streamer_value
            np.where(affinity > 0, rng.uniform(0, 10, n) / (1 + affinity), 30.0),  # days since
            rng.beta(2, 5, n),  # category share
            rng.beta(2, 2, n),  # type share
            (rng.random(n) < 0.1).astype(float),  # seen item
            np.log1p(rng.gamma(1.0, 30.0, n)),  # item viewers 7d
            rng.beta(5, 5, n),  # item mean value
            rng.exponential(5.0, n),  # item age days
            np.log1p(rng.gamma(1.0, 100.0, n)),  # streamer viewers 7d
            rng.normal(size=n),  # noise feature
        ]
    ).astype(np.float32)
    cats = np.column_stack([rng.integers(0, CARDS[0], n), rng.integers(0, CARDS[1], n)]).astype(np.int64)
    type_effect, dur_effect = np.array([0.3, -0.2, 0.0]), np.linspace(-0.6, 0.4, CARDS[1])
    logit = (
        -1.6
        + 1.2 * np.tanh(affinity)
        + 0.6 * dense[:, 4] * dense[:, 5] * 4
        - 0.04 * dense[:, 3]
        + 0.5 * (dense[:, 7] - 2.5) * (dense[:, 0] > 1.2)
        - 0.8 * dense[:, 6]
        - 0.3 * np.abs(dense[:, 9] - 5) / 5
        + type_effect[cats[:, 0]]
        + dur_effect[cats[:, 1]] * (1 + dense[:, 5])
    )
    y_watch = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    value_logit = 2.5 * (dense[:, 8] - 0.5) + 0.5 * np.tanh(affinity) + dur_effect[cats[:, 1]] - 0.4 * dense[:, 6]
    value = np.clip(1 / (1 + np.exp(-value_logit)) + rng.normal(0, 0.08, n), 0, 1)
    return dense, cats, y_watch, np.where(y_watch > 0, value, 0).astype(np.float32)


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Rank (Mann-Whitney) AUC with average ranks for ties."""
    ranks = rankdata(p)
    pos = y > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ndcg_at(s: np.ndarray, gain: np.ndarray, k: int = 10) -> float:
    """Mean over users (PER_USER consecutive rows each, users with some gain) of DCG@k / ideal DCG@k."""
    s, g = s.reshape(-1, PER_USER), gain.reshape(-1, PER_USER)
    discount = 1 / np.log2(np.arange(2, k + 2))
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    dcg = (np.take_along_axis(g, order, axis=1) * discount).sum(1)
    ideal = (-np.sort(-g, axis=1)[:, :k] * discount).sum(1)
    has = ideal > 0
    return float((dcg[has] / ideal[has]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="training rows; the held-out set has as many")
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="training time cap (each run)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved latency rounds (median of medians)")
    parser.add_argument("--repeats", type=int, default=3, help="timed score() calls per model per round")
    parser.add_argument("--batch", type=int, default=4096, help="score() chunk size")
    args = parser.parse_args()
    torch.manual_seed(0)
    print("command:", " ".join([os.path.relpath(sys.executable), *sys.argv]))
    print(f"torch {torch.__version__}, engine for packing: fbgemm, load average before: {os.getloadavg()}")

    train = synthetic(args.rows, seed=1)
    test = synthetic(args.rows, seed=2)
    config = RankerConfig(max_seconds=args.max_seconds)  # default widths; a cap that lets every epoch run
    print(f"config: {config}")
    start = time.perf_counter()
    fp32, stats = train_ranker(*train, CARDS, config, progress=print)
    print(f"fp32 trained in {time.perf_counter() - start:.1f}s, stopped_by={stats['stopped_by']}")

    finetune = dataclasses.replace(config, epochs=args.finetune_epochs, learning_rate=1e-3, seed=config.seed + 1)
    start = time.perf_counter()
    qat, qat_stats = train_ranker(*train, CARDS, finetune, model=prepare_qat(fp32), progress=print)
    qat_int8 = convert_qat(qat)
    print(f"QAT fine-tuned in {time.perf_counter() - start:.1f}s, stopped_by={qat_stats['stopped_by']}")
    start = time.perf_counter()
    two, two_stats = train_ranker(*train, CARDS, finetune, model=apply_two_level(fp32), progress=print)
    two_int8 = export_two_level(two)
    print(f"two-level fine-tuned in {time.perf_counter() - start:.1f}s, stopped_by={two_stats['stopped_by']}")

    control, control_stats = train_ranker(*train, CARDS, finetune, model=copy.deepcopy(fp32))  # same extra epochs
    print(f"fp32 control fine-tuned, stopped_by={control_stats['stopped_by']}")

    models = {
        "fp32": fp32,
        "dynamic int8 (per tensor)": dynamic_int8(fp32),
        "dynamic int8 (per channel)": dynamic_int8(fp32, per_channel=True),
        "QAT int8 (per tensor)": qat_int8,
        "two-level -> int8 (per channel)": two_int8,
    }
    dense, cats, y_watch, y_value = test
    quality = {}
    for name, model in [*models.items(), ("fp32 + fine-tune epochs (control)", control)]:
        p, v = predict(model, dense, cats, args.batch)
        quality[name] = (auc(p, y_watch), ndcg_at(p * v, y_watch * y_value))

    torch.set_num_threads(1)
    rounds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            rounds[name].append(latency(score, model, dense, cats, args.batch, repeats=args.repeats, warmup=1))
    seconds = {name: float(np.median(values)) for name, values in rounds.items()}

    sizes = {name: serialized_size(model) for name, model in models.items()}
    fp32_tensor_bytes = sum(t.numel() * t.element_size() for t in fp32.state_dict().values())
    packed = two_level_size_bytes(two)
    base_auc, base_ndcg = quality["fp32"]
    users = len(y_watch) // PER_USER
    print(
        f"\nheld-out: {len(y_watch):,} rows, {users:,} users, watch rate {y_watch.mean():.3f}; "
        f"latency = median of {args.rounds} rounds x {args.repeats} calls, 1 thread, chunks of {args.batch}"
    )
    print("| model | size bytes | size ratio | latency s | speed-up | AUC (watch) | ΔAUC rel | NDCG@10 | ΔNDCG rel |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in models:
        a, g = quality[name]
        print(f"| {name} | {sizes[name]:,} | {sizes['fp32'] / sizes[name]:.2f}x | {seconds[name]:.3f} | "
              f"{seconds['fp32'] / seconds[name]:.2f}x | {a:.4f} | {(a - base_auc) / base_auc:+.2%} | {g:.4f} | "
              f"{(g - base_ndcg) / base_ndcg:+.2%} |")  # fmt: skip
    a, g = quality["fp32 + fine-tune epochs (control)"]
    print(f"| fp32 + {args.finetune_epochs} fine-tune epochs (control, quality only) | | | | | {a:.4f} | "
          f"{(a - base_auc) / base_auc:+.2%} | {g:.4f} | {(g - base_ndcg) / base_ndcg:+.2%} |")  # fmt: skip
    print(f"| two-level packed (4/8 bit, 50% low) | {packed:,} | {fp32_tensor_bytes / packed:.2f}x vs fp32 tensor "
          f"bytes {fp32_tensor_bytes:,} | | | | | | |")  # fmt: skip
    print("latency rounds (s):", {name: [round(x, 3) for x in values] for name, values in rounds.items()})
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
