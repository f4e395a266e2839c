"""Multi-task ranker (docs/ml.md): "will watch" (logit, BCE) and "watch value" (view value in [0, 1], MSE on
watched rows only) from dense float features [N, F] and categorical int64 features [N, C].

Architectures: Multi-gate Mixture-of-Experts (Ma et al., "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts", KDD 2018): ``n_experts`` expert MLPs shared by both tasks, one softmax gate per task
over the experts, one tower per task; or the shared-bottom baseline (one MLP shared by both towers, Caruana 1997).

Dense features are standardised inside the model (train-time mean/std kept as buffers), so callers pass raw
features. Only plain ``nn.Linear`` / ``nn.Embedding`` submodules and buffers, and ``forward`` never reads ``.weight``,
so copies converted by ``watchhouse.ml.quantize`` (dynamic int8, QAT, two-level) run through the same
:func:`score`. The default widths make the H x H expert layers dominate size and compute (int8 kernels pay off)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MultiTaskRanker",
    "RankerConfig",
    "multitask_loss",
    "predict",
    "preference_rerank",
    "score",
    "train_ranker",
]

ARCHS = ("mmoe", "shared_bottom")


@dataclass(frozen=True)
class RankerConfig:
    arch: str = "mmoe"
    n_experts: int = 4
    expert_hidden: int = 256
    tower_hidden: int = 64
    cat_dim: int = 8
    value_weight: float = 1.0
    epochs: int = 5
    batch_size: int = 2048
    learning_rate: float = 3e-3
    max_seconds: float = 60.0
    seed: int = 7

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch={self.arch!r}: arch must be one of {ARCHS}")
        for name in ("n_experts", "expert_hidden", "tower_hidden", "cat_dim", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: {name} must be >= 1")
        if not self.value_weight >= 0:
            raise ValueError(f"value_weight={self.value_weight}: value_weight must be >= 0")
        for name in ("learning_rate", "max_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)}: {name} must be > 0")


def _mlp(n_in: int, hidden: int) -> nn.Sequential:
    # Linear -> ReLU pairs inside nn.Sequential: quantize.dynamic_int8 fuses them into one int8 kernel
    layers = [nn.Linear(n_in, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class MultiTaskRanker(nn.Module):
    """forward(dense [B, F] float, cats [B, C] int64) -> (watch_logit [B], value_pred [B] in (0, 1)).

    Input = standardised dense ++ one ``cat_dim`` embedding per categorical column. MMoE: each expert is
    Linear(in, H) ReLU Linear(H, H) ReLU; gate_t = softmax(Linear(in, n_experts)); tower_t(Σ_e gate_t,e expert_e)
    with tower = Linear(H, tower_hidden) ReLU Linear(tower_hidden, 1). Shared bottom: one such expert feeds both
    towers. The value tower ends in a sigmoid."""

    def __init__(self, n_dense: int, cardinalities: Sequence[int], config: RankerConfig = RankerConfig()) -> None:  # noqa: B008
        super().__init__()
        cards = [int(c) for c in cardinalities]
        if n_dense < 0 or any(c < 1 for c in cards) or n_dense + len(cards) == 0:
            raise ValueError(f"n_dense={n_dense}, cardinalities={cards}: need n_dense >= 0, cardinalities >= 1, "
                             "and at least one feature")  # fmt: skip
        self.n_dense, self.cardinalities, self.arch = int(n_dense), tuple(cards), config.arch
        self.n_experts = config.n_experts if config.arch == "mmoe" else 1
        self.register_buffer("dense_mean", torch.zeros(self.n_dense))
        self.register_buffer("dense_std", torch.ones(self.n_dense))
        self.embeddings = nn.ModuleList(nn.Embedding(c, config.cat_dim) for c in cards)
        for emb in self.embeddings:
            nn.init.normal_(emb.weight, std=0.1)
        n_in, hidden = self.n_dense + config.cat_dim * len(cards), config.expert_hidden
        self.experts = nn.ModuleList(_mlp(n_in, hidden) for _ in range(self.n_experts))
        self.gates = nn.Linear(n_in, 2 * self.n_experts) if config.arch == "mmoe" else None
        self.towers = nn.ModuleList(
            nn.Sequential(
                nn.Linear(hidden, config.tower_hidden), nn.ReLU(inplace=True), nn.Linear(config.tower_hidden, 1)
            )
            for _ in range(2)
        )

    def fit_normalization(self, dense: torch.Tensor) -> None:
        """Store the column mean / std (population; std < 1e-6 -> 1) of the training dense features."""
        if self.n_dense:
            std = dense.std(0, unbiased=False) if dense.shape[0] > 1 else torch.ones(self.n_dense)
            self.dense_mean.copy_(dense.mean(0))
            self.dense_std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def forward(self, dense: torch.Tensor, cats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [(dense - self.dense_mean) / self.dense_std] if self.n_dense else []
        if self.cardinalities:
            columns = cats.t().contiguous()  # quantized embeddings need contiguous indices
            parts += [emb(columns[j]) for j, emb in enumerate(self.embeddings)]
        x = torch.cat(parts, dim=1)
        experts = [expert(x) for expert in self.experts]
        if self.gates is None:
            mixed = [experts[0], experts[0]]
        else:
            gates = torch.softmax(self.gates(x).view(-1, 2, self.n_experts), dim=-1)
            mixed = []
            for t in range(2):
                mix = experts[0] * gates[:, t, 0:1]
                for e in range(1, self.n_experts):
                    mix = mix.addcmul_(experts[e], gates[:, t, e : e + 1])
                mixed.append(mix)
        watch_logit = self.towers[0](mixed[0]).squeeze(-1)
        value_pred = torch.sigmoid(self.towers[1](mixed[1]).squeeze(-1))
        return watch_logit, value_pred


def multitask_loss(
    watch_logit: torch.Tensor,
    value_pred: torch.Tensor,
    y_watch: torch.Tensor,
    y_value: torch.Tensor,
    value_weight: float,
) -> tuple[torch.Tensor, dict]:
    """total = mean BCE-with-logits(watch_logit, y_watch) + value_weight * mean over watched rows (y_watch = 1) of
    (value_pred - y_value)^2; the value term is 0 when no row is watched. Returns (total, {"watch", "value",
    "total": floats, "watched": int})."""
    if not value_weight >= 0:
        raise ValueError(f"value_weight={value_weight}: value_weight must be >= 0")
    shapes = {tuple(t.shape) for t in (watch_logit, value_pred, y_watch, y_value)}
    if len(shapes) != 1 or watch_logit.ndim != 1:
        raise ValueError(f"watch_logit, value_pred, y_watch, y_value must all be [B], got {sorted(shapes)}")
    watch = F.binary_cross_entropy_with_logits(watch_logit, y_watch.float())
    watched = (y_watch > 0.5).float()
    n_watched = watched.sum()
    value = ((value_pred - y_value.float()) ** 2 * watched).sum() / n_watched.clamp_min(1.0)
    total = watch + value_weight * value
    parts = {"watch": watch.item(), "value": value.item(), "total": total.item(), "watched": int(n_watched.item())}
    return total, parts


def _as_inputs(
    dense: np.ndarray, cats: np.ndarray, n_dense: int, cardinalities: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    d = torch.as_tensor(np.asarray(dense, dtype=np.float32) if not torch.is_tensor(dense) else dense).float()
    c = torch.as_tensor(np.asarray(cats) if not torch.is_tensor(cats) else cats)
    if d.ndim != 2 or d.shape[1] != n_dense:
        raise ValueError(f"dense must be [N, F={n_dense}] floats, got shape {tuple(d.shape)}")
    if c.ndim != 2 or c.shape != (d.shape[0], len(cardinalities)):
        raise ValueError(f"cats must be [N={d.shape[0]}, C={len(cardinalities)}] integers, got {tuple(c.shape)}")
    if c.numel() and c.is_floating_point():
        raise ValueError(f"cats must hold integer codes, got {c.dtype}")
    c = c.to(torch.int64)
    if not torch.isfinite(d).all():
        raise ValueError("dense must be finite (impute NaN/inf first)")
    if c.numel():
        card = torch.tensor(list(cardinalities), dtype=torch.int64)
        bad = (c < 0) | (c >= card)
        if bad.any():
            col = int(bad.any(0).nonzero()[0, 0])
            raise ValueError(f"cats[:, {col}] must hold codes in [0, {int(card[col])}), got {c[bad][0].item()}")
    return d, c


def new_model(n_dense: int, cardinalities: Sequence[int], config: RankerConfig) -> MultiTaskRanker:
    """A freshly initialised ranker, seeded with ``config.seed`` (what training starts from; normalisation unfitted)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return MultiTaskRanker(n_dense, cardinalities, config)


def train_ranker(
    dense: np.ndarray,
    cats: np.ndarray,
    y_watch: np.ndarray,
    y_value: np.ndarray,
    cardinalities: Sequence[int],
    config: RankerConfig = RankerConfig(),  # noqa: B008 (frozen dataclass)
    progress: Callable[[str], None] | None = None,
    model: MultiTaskRanker | None = None,
    before_step: Callable[[nn.Module, int], None] | None = None,
) -> tuple[MultiTaskRanker, dict]:
    """Train with Adam on CPU; stops after ``config.epochs`` or ``config.max_seconds`` (checked after every step).

    ``model=None`` builds a fresh :class:`MultiTaskRanker` (seeded) and fits its normalisation on ``dense``; a
    given model (e.g. from ``quantize.prepare_qat`` / ``apply_two_level``) is trained in place with its
    architecture and normalisation as they are (``config`` then only sets the optimisation). ``before_step(model,
    step)`` is called before every step (0-based), e.g. to freeze observers. y_watch in {0, 1}; y_value in [0, 1]
    (read on watched rows only). Stats: epoch_losses / epoch_watch_losses / epoch_value_losses (example-weighted
    means per epoch, the last one partial if time stopped it), epochs_completed, steps, examples, seconds,
    stopped_by ("epochs" | "time")."""
    cards = [int(c) for c in cardinalities]
    n_dense = int(np.shape(dense)[1]) if np.ndim(dense) == 2 else -1
    if n_dense < 0:
        raise ValueError(f"dense must be [N, F], got shape {np.shape(dense)}")
    d, c = _as_inputs(dense, cats, n_dense, cards)
    yw = torch.as_tensor(np.asarray(y_watch, dtype=np.float32)).reshape(-1)
    yv = torch.as_tensor(np.asarray(y_value, dtype=np.float32)).reshape(-1)
    n = d.shape[0]
    if n < 1 or yw.shape[0] != n or yv.shape[0] != n:
        raise ValueError(f"need N >= 1 rows and y_watch ({yw.shape[0]}), y_value ({yv.shape[0]}) of N={n} rows")
    if not ((yw == 0) | (yw == 1)).all():
        raise ValueError("y_watch must hold 0 or 1")
    if not (torch.isfinite(yv).all() and ((yv >= 0) & (yv <= 1)).all()):
        raise ValueError("y_value must be finite and in [0, 1]")
    if model is None:
        model = new_model(n_dense, cards, config)
        model.fit_normalization(d)
    elif not isinstance(model, MultiTaskRanker) or (model.n_dense, model.cardinalities) != (n_dense, tuple(cards)):
        raise ValueError(f"model must be a MultiTaskRanker for {n_dense} dense columns and cardinalities {cards}")

    gen = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    model.train()
    start = time.perf_counter()
    totals: list[float] = []
    watch_losses: list[float] = []
    value_losses: list[float] = []
    steps, epochs_completed, stopped_by = 0, 0, "epochs"
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        watch_sum = value_sum = 0.0
        rows = watched = 0
        for lo in range(0, n, config.batch_size):
            idx = order[lo : lo + config.batch_size]
            if before_step is not None:
                before_step(model, steps)
            logit, value = model(d[idx], c[idx])
            loss, parts = multitask_loss(logit, value, yw[idx], yv[idx], config.value_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            watch_sum += parts["watch"] * idx.numel()
            value_sum += parts["value"] * parts["watched"]
            rows, watched = rows + idx.numel(), watched + parts["watched"]
            if time.perf_counter() - start >= config.max_seconds:
                stopped_by = "time"
                break
        watch_losses.append(watch_sum / rows)
        value_losses.append(value_sum / watched if watched else 0.0)
        totals.append(watch_losses[-1] + config.value_weight * value_losses[-1])
        if stopped_by == "epochs":
            epochs_completed += 1
        if progress is not None:
            progress(f"ranker epoch {epoch + 1}/{config.epochs} loss {totals[-1]:.4f} (watch {watch_losses[-1]:.4f} "
                     f"value {value_losses[-1]:.4f}) elapsed {time.perf_counter() - start:.1f}s")  # fmt: skip
        if stopped_by == "time":
            break
    model.eval()
    stats = {
        "epoch_losses": totals,
        "epoch_watch_losses": watch_losses,
        "epoch_value_losses": value_losses,
        "epochs_completed": epochs_completed,
        "steps": steps,
        "examples": int(n),
        "seconds": time.perf_counter() - start,
        "stopped_by": stopped_by,
        "arch": model.arch,
    }
    return model, stats


def predict(model: nn.Module, dense: np.ndarray, cats: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(P(watch) = sigmoid(watch_logit), E[value | watch] = value_pred), float64 [N] each; eval mode, no grad,
    in chunks of ``batch`` rows (small chunks keep the activations in cache)."""
    if batch < 1:
        raise ValueError(f"batch={batch}: batch must be >= 1")
    d, c = _as_inputs(dense, cats, model.n_dense, model.cardinalities)
    was_training = model.training
    model.eval()
    p_parts, v_parts = [], []
    with torch.no_grad():
        for lo in range(0, d.shape[0], batch):
            logit, value = model(d[lo : lo + batch], c[lo : lo + batch])
            p_parts.append(torch.sigmoid(logit))
            v_parts.append(value)
    model.train(was_training)
    if not p_parts:
        return np.zeros(0), np.zeros(0)
    return torch.cat(p_parts).double().numpy(), torch.cat(v_parts).double().numpy()


def score(model: nn.Module, dense: np.ndarray, cats: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Expected watch value P(watch) * E[value | watch] = sigmoid(watch_logit) * value_pred, float64 [N] in [0, 1]."""
    p, v = predict(model, dense, cats, batch)
    return p * v


def preference_rerank(frame: pd.DataFrame, k: int, preferred_bonus: float, max_per_streamer: int) -> pd.DataFrame:
    """Per user: adjusted = score * (1 + preferred_bonus * preference / (1 + preference)) (monotone in score and in
    preference, at most (1 + preferred_bonus) x); sort by adjusted desc (ties: item_id asc), drop every item past
    the ``max_per_streamer``-th of its streamer, keep the top k. ``frame``: user_id, item_id, streamer_id, score
    (>= 0), preference (>= 0, 0 when none), one row per (user_id, item_id). Returns user_id, item_id, rank (1..k),
    score (the adjusted one), ordered by user_id, rank."""
    if k < 1:
        raise ValueError(f"k={k}: k must be >= 1")
    if max_per_streamer < 1:
        raise ValueError(f"max_per_streamer={max_per_streamer}: max_per_streamer must be >= 1")
    if not (np.isfinite(preferred_bonus) and preferred_bonus >= 0):
        raise ValueError(f"preferred_bonus={preferred_bonus}: preferred_bonus must be finite and >= 0")
    missing = [col for col in ("user_id", "item_id", "streamer_id", "score", "preference") if col not in frame]
    if missing:
        raise ValueError(f"frame lacks columns {missing}: need user_id, item_id, streamer_id, score, preference")
    s = frame["score"].to_numpy(dtype=np.float64)
    pref = frame["preference"].to_numpy(dtype=np.float64)
    if not (np.isfinite(s).all() and (s >= 0).all()):
        raise ValueError("score must be finite and >= 0 (P(watch) * E[value])")
    if not (np.isfinite(pref).all() and (pref >= 0).all()):
        raise ValueError("preference must be finite and >= 0 (0 when the user has none for the streamer)")
    user, item, streamer = (_codes(frame[col]) for col in ("user_id", "item_id", "streamer_id"))
    pair = user * (int(item.max(initial=0)) + 1) + item
    if not (pair[1:] > pair[:-1]).all() and (np.diff(np.sort(pair)) == 0).any():  # sorted input: no sort
        raise ValueError("frame must hold one row per (user_id, item_id)")
    adjusted = s * (1.0 + preferred_bonus * pref / (1.0 + pref))
    order = np.lexsort((item, -adjusted, user))  # user asc, adjusted desc, item_id asc (stable)
    group = user[order] * (int(streamer.max(initial=0)) + 1) + streamer[order]
    order = order[_occurrence(group) < max_per_streamer]  # at most max_per_streamer per user and streamer
    rank = _occurrence(user[order]) + 1  # users are contiguous after the sort
    order, rank = order[rank <= k], rank[rank <= k]
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].to_numpy()[order],
            "item_id": frame["item_id"].to_numpy()[order],
            "rank": rank.astype(np.int64),
            "score": adjusted[order],
        }
    )


def _codes(column: pd.Series) -> np.ndarray:
    """Integer codes >= 0 that sort as the values do (int64): non-negative integers are their own codes."""
    values = column.to_numpy()
    if np.issubdtype(values.dtype, np.integer) and (len(values) == 0 or (values.min() >= 0 and values.max() < 2**31)):
        return values.astype(np.int64)
    return np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)


def _occurrence(keys: np.ndarray) -> np.ndarray:
    """0 for the first row of each key (in row order), 1 for its second, ... (groupby().cumcount())."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(first)
    within = np.arange(n) - starts[np.cumsum(first) - 1]
    out = np.empty(n, dtype=np.int64)
    out[order] = within
    return out
