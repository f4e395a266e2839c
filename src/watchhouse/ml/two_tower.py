"""Two-tower retrieval (docs/ml.md).

User tower: masked mean of the last H watched items' id embeddings + standardised dense context -> MLP -> L2
normalise (Covington et al., "Deep Neural Networks for YouTube Recommendations", RecSys 2016). Item tower: item
id + streamer + category + vod type + duration bucket embeddings -> MLP -> L2 normalise. Trained with an in-batch
softmax with temperature and the logQ correction, q estimated by the streaming frequency estimator (Yi et al.,
"Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations", RecSys 2019).

Only plain nn.Embedding / nn.Linear submodules and registered buffers, so a copy converts with
``torch.ao.quantization.quantize_dynamic`` (int8 Linear, float_qparams weight-only int8 Embedding); the towers
never read ``.weight`` so the converted copy runs through :func:`user_embeddings` / :func:`item_embeddings`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from watchhouse.ml.sequences import PAD, example_positions, histories_from_sequences, last_histories

__all__ = [
    "PAD",
    "FrequencyEstimator",
    "ItemFeatures",
    "TwoTower",
    "TwoTowerConfig",
    "candidate_positions",
    "corrected_logits",
    "example_positions",
    "histories_from_sequences",
    "in_batch_softmax_loss",
    "item_embeddings",
    "last_histories",
    "new_model",
    "top_k",
    "train_two_tower",
    "user_embeddings",
]

_FEATURES = ("streamer", "category", "vod_type", "duration_bucket")


@dataclass(frozen=True)
class ItemFeatures:
    """Per-item categorical features, int64 arrays indexed by item index 0..n_items-1, values >= 0."""

    streamer: np.ndarray
    category: np.ndarray
    vod_type: np.ndarray
    duration_bucket: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name in _FEATURES:
            a = np.asarray(getattr(self, name))
            if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
                raise ValueError(f"ItemFeatures.{name} must be a 1-D integer array, got {a.dtype} {a.shape}")
            if a.size and a.min() < 0:
                raise ValueError(f"ItemFeatures.{name} must hold codes >= 0 (map unknown to a code), got {a.min()}")
            if n is not None and a.size != n:
                raise ValueError(f"ItemFeatures arrays must have one length, {name} has {a.size} != {n}")
            n = a.size
            object.__setattr__(self, name, a.astype(np.int64, copy=False))
        if not n:
            raise ValueError("ItemFeatures needs at least one item")

    @property
    def n_items(self) -> int:
        return int(self.streamer.size)


@dataclass(frozen=True)
class TwoTowerConfig:
    dim: int = 32
    hidden: int = 64
    history_len: int = 20
    temperature: float = 0.05
    batch_size: int = 1024
    epochs: int = 3
    learning_rate: float = 3e-3
    freq_alpha: float = 0.01
    logq_correction: bool = True
    max_examples: int | None = 1_000_000
    max_seconds: float = 60.0
    seed: int = 7

    def __post_init__(self) -> None:
        for name in ("dim", "hidden", "history_len", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: {name} must be >= 1")
        if self.batch_size < 2:
            raise ValueError(f"batch_size={self.batch_size}: in-batch negatives need batch_size >= 2")
        for name in ("temperature", "learning_rate", "max_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)}: {name} must be > 0")
        if not 0 < self.freq_alpha <= 1:
            raise ValueError(f"freq_alpha={self.freq_alpha}: freq_alpha must be in (0, 1]")
        if self.max_examples is not None and self.max_examples < 1:
            raise ValueError(f"max_examples={self.max_examples}: max_examples must be None or >= 1")


class FrequencyEstimator:
    """Streaming item-frequency estimator, Yi et al. 2019 Algorithm 1, over ``n_buckets`` hashed buckets
    (h(y) = y mod n_buckets; collision-free when n_buckets >= n_items). A[h] = last step h was seen, B[h] =
    moving average of the gap between sightings; q = 1/B (per step). On seeing y at step t:
    B[h] <- (1-α) B[h] + α (t - A[h]); A[h] <- t. An item seen c times in one step is applied sequentially in
    closed form (gaps t - A[h], then c-1 zeros): B <- (1-α)^c B + α (1-α)^(c-1) (t - A[h]), so q tends to the
    expected count per step. A starts at 0 and B at ``initial_gap``; steps must not decrease."""

    def __init__(self, n_buckets: int, alpha: float = 0.01, initial_gap: float = 1.0) -> None:
        if n_buckets < 1:
            raise ValueError(f"n_buckets={n_buckets}: n_buckets must be >= 1")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha={alpha}: alpha must be in (0, 1]")
        if not initial_gap > 0:
            raise ValueError(f"initial_gap={initial_gap}: initial_gap must be > 0")
        self.n_buckets = int(n_buckets)
        self.alpha = float(alpha)
        self.A = torch.zeros(self.n_buckets, dtype=torch.float64)
        self.B = torch.full((self.n_buckets,), float(initial_gap), dtype=torch.float64)
        self._last_step = 0

    def _buckets(self, items: torch.Tensor) -> torch.Tensor:
        items = torch.as_tensor(items, dtype=torch.int64)
        if items.numel() and items.min() < 0:
            raise ValueError(f"items must be >= 0, got {int(items.min())}")
        return items.reshape(-1).cpu() % self.n_buckets

    def update(self, items: torch.LongTensor, step: int) -> None:
        if step < self._last_step:
            raise ValueError(f"step={step}: steps must not decrease (last was {self._last_step})")
        buckets, counts = torch.unique(self._buckets(items), return_counts=True)
        if buckets.numel() == 0:
            return
        later = torch.pow(torch.tensor(1.0 - self.alpha, dtype=torch.float64), counts.to(torch.float64) - 1)
        gap = float(step) - self.A[buckets]
        self.B[buckets] = later * ((1.0 - self.alpha) * self.B[buckets] + self.alpha * gap)
        self.A[buckets] = float(step)
        self._last_step = int(step)

    def log_q(self, items: torch.LongTensor) -> torch.Tensor:
        """log q = -log B per item (float32, shape of ``items``); B floored at 1e-6."""
        items = torch.as_tensor(items)
        return (-torch.log(self.B[self._buckets(items)].clamp_min(1e-6))).float().reshape(items.shape)


def corrected_logits(
    user_emb: torch.Tensor, item_emb: torch.Tensor, log_q: torch.Tensor, temperature: float
) -> torch.Tensor:
    """[B, B] logits u_i·v_j / T - log q_j (Yi et al. 2019 eq. 3): popular items (large q) are pushed down."""
    if not temperature > 0:
        raise ValueError(f"temperature={temperature}: temperature must be > 0")
    if user_emb.ndim != 2 or item_emb.shape != user_emb.shape:
        raise ValueError(f"user_emb and item_emb must both be [B, d], got {tuple(user_emb.shape)}, {item_emb.shape}")
    if log_q.shape != (item_emb.shape[0],):
        raise ValueError(f"log_q must be [B]={item_emb.shape[0]}, got {tuple(log_q.shape)}")
    return user_emb @ item_emb.T / temperature - log_q[None, :]


def in_batch_softmax_loss(
    user_emb: torch.Tensor,
    item_emb: torch.Tensor,
    items: torch.Tensor,
    weights: torch.Tensor,
    log_q: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """Weighted in-batch softmax: row i's label is column i; other columns holding the same item as row i's label
    are masked (not negatives). Loss = Σ w_i CE_i / Σ w_i (0 when all weights are 0)."""
    logits = corrected_logits(user_emb, item_emb, log_q, temperature)
    same = items[:, None] == items[None, :]
    same.fill_diagonal_(False)
    logits = logits.masked_fill(same, float("-inf"))
    per_row = F.cross_entropy(logits, torch.arange(items.shape[0], device=logits.device), reduction="none")
    return (per_row * weights).sum() / weights.sum().clamp_min(1e-12)


class TwoTower(nn.Module):
    """forward(histories [B,H] int64 -1-padded, context [B,C] float or None, items [B] int64) -> (u, v), each
    [B, dim] and L2-normalised. Context is standardised with the training mean/std kept as buffers."""

    def __init__(self, items: ItemFeatures, n_context: int = 0, dim: int = 32, hidden: int = 64) -> None:
        super().__init__()
        self.n_items = items.n_items
        self.n_context = int(n_context)
        self.dim = int(dim)
        for name in _FEATURES:
            # the catalogue's feature codes: inputs, not weights (rebuilt from the catalogue at load time)
            self.register_buffer(f"item_{name}", torch.from_numpy(getattr(items, name).copy()), persistent=False)
        self.register_buffer("context_mean", torch.zeros(self.n_context))
        self.register_buffer("context_std", torch.ones(self.n_context))
        self.history_emb = nn.Embedding(self.n_items, dim)
        self.user_mlp = nn.Sequential(nn.Linear(dim + self.n_context, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.item_id_emb = nn.Embedding(self.n_items, dim)
        self.streamer_emb = nn.Embedding(int(items.streamer.max()) + 1, dim)
        self.category_emb = nn.Embedding(int(items.category.max()) + 1, dim)
        self.vod_type_emb = nn.Embedding(int(items.vod_type.max()) + 1, dim)
        self.duration_bucket_emb = nn.Embedding(int(items.duration_bucket.max()) + 1, dim)
        self.item_mlp = nn.Sequential(nn.Linear(5 * dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.1)

    def user_tower(self, histories: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        mask = histories >= 0
        emb = self.history_emb(histories.clamp_min(0)) * mask.unsqueeze(-1)  # padding masked out
        pooled = emb.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)  # empty history -> zeros
        if self.n_context:
            pooled = torch.cat([pooled, (context.float() - self.context_mean) / self.context_std], dim=1)
        return F.normalize(self.user_mlp(pooled), dim=-1)

    def item_tower(self, items: torch.Tensor) -> torch.Tensor:
        parts = [self.item_id_emb(items)]
        for name in _FEATURES:
            parts.append(getattr(self, f"{name}_emb")(getattr(self, f"item_{name}")[items]))
        return F.normalize(self.item_mlp(torch.cat(parts, dim=1)), dim=-1)

    def forward(
        self, histories: torch.Tensor, context: torch.Tensor | None, items: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_tower(histories, context), self.item_tower(items)


def _check_inputs(
    model_n_items: int, n_context: int, histories: np.ndarray, context: np.ndarray | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    h = torch.as_tensor(np.asarray(histories) if not torch.is_tensor(histories) else histories)
    if h.ndim != 2 or (h.numel() and h.is_floating_point()):
        raise ValueError(f"histories must be a [N, H] integer array, got {h.dtype} {tuple(h.shape)}")
    h = h.to(torch.int64)
    if h.numel() and (h.min() < PAD or h.max() >= model_n_items):
        raise ValueError(f"histories must hold item indices in [0, {model_n_items}) or -1 padding")
    if context is None:
        if n_context:
            raise ValueError(f"the model was trained with {n_context} context columns: pass context [N, {n_context}]")
        return h, None
    c = torch.as_tensor(np.asarray(context, dtype=np.float32) if not torch.is_tensor(context) else context).float()
    if c.shape != (h.shape[0], n_context):
        raise ValueError(f"context must be [N={h.shape[0]}, C={n_context}], got {tuple(c.shape)}")
    if not torch.isfinite(c).all():
        raise ValueError("context must be finite (impute NaN/inf before training)")
    return h, (c if n_context else None)


def new_model(items: ItemFeatures, n_context: int, config: TwoTowerConfig) -> TwoTower:
    """A freshly initialised model, seeded with ``config.seed`` (what training starts from)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return TwoTower(items, n_context, config.dim, config.hidden)


def train_two_tower(
    histories: np.ndarray,
    context: np.ndarray | None,
    targets: np.ndarray,
    weights: np.ndarray,
    items: ItemFeatures,
    config: TwoTowerConfig = TwoTowerConfig(),  # noqa: B008 (frozen dataclass)
    progress: Callable[[str], None] | None = None,
    model: TwoTower | None = None,
) -> tuple[TwoTower, dict]:
    """Train on (history, context, target, weight) examples, CPU, Adam; stops after ``config.epochs`` or
    ``config.max_seconds`` (checked after every step), whichever first. More than ``config.max_examples``
    examples -> seeded uniform sample. Stats: loss_per_epoch (weighted mean per epoch, the last one partial if
    time stopped it), loss_first, loss_last, epochs_completed (full epochs), epochs_run (started, the last one
    maybe partial), steps, examples, seconds, stopped_by ("epochs" | "time"), logq_correction. ``model``: start
    from this one (e.g. a warm start, watchhouse.ml.warm) instead of :func:`new_model`; its context
    normalisation is refitted on these examples."""
    n_context = 0 if context is None else int(np.shape(context)[1]) if np.ndim(context) == 2 else -1
    if n_context < 0:
        raise ValueError(f"context must be None or [N, C], got shape {np.shape(context)}")
    h, c = _check_inputs(items.n_items, n_context, histories, context)
    if h.shape[1] != config.history_len:
        raise ValueError(f"histories have {h.shape[1]} columns but config.history_len={config.history_len}")
    t = torch.as_tensor(np.asarray(targets)).reshape(-1)
    w = torch.as_tensor(np.asarray(weights, dtype=np.float32)).reshape(-1)
    if t.shape[0] != h.shape[0] or w.shape[0] != h.shape[0]:
        raise ValueError(f"targets ({t.shape[0]}) and weights ({w.shape[0]}) must have N={h.shape[0]} rows")
    if t.is_floating_point() or (t.numel() and (t.min() < 0 or t.max() >= items.n_items)):
        raise ValueError(f"targets must be integer item indices in [0, {items.n_items})")
    t = t.to(torch.int64)
    if not (torch.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
        raise ValueError("weights must be finite, >= 0, with a positive sum")
    if config.max_examples is not None and h.shape[0] > config.max_examples:
        keep = np.sort(np.random.default_rng(config.seed).choice(h.shape[0], config.max_examples, replace=False))
        keep_t = torch.from_numpy(keep)
        h, t, w = h[keep_t], t[keep_t], w[keep_t]
        c = None if c is None else c[keep_t]

    if model is None:
        model = new_model(items, n_context, config)
    elif model.n_items != items.n_items or model.n_context != n_context or model.dim != config.dim:
        raise ValueError(
            f"model has {model.n_items} items, {model.n_context} context columns, dim {model.dim}; the data and "
            f"config have {items.n_items}, {n_context}, {config.dim}: build it with new_model(items, n_context, config)"
        )
    if c is not None:
        model.context_mean.copy_(c.mean(0))
        std = c.std(0, unbiased=False)
        model.context_std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))
    gen = torch.Generator().manual_seed(config.seed)
    n, bs = h.shape[0], config.batch_size
    estimator = FrequencyEstimator(items.n_items, config.freq_alpha, initial_gap=max(1.0, items.n_items / min(bs, n)))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    model.train()
    start = time.perf_counter()
    epoch_losses: list[float] = []
    steps, epochs_completed, stopped_by = 0, 0, "epochs"
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        loss_sum, weight_sum = 0.0, 0.0
        for lo in range(0, n, bs):
            idx = order[lo : lo + bs]
            bt, bw = t[idx], w[idx]
            steps += 1
            estimator.update(bt, steps)
            log_q = estimator.log_q(bt) if config.logq_correction else torch.zeros(bt.shape[0])
            u, v = model(h[idx], None if c is None else c[idx], bt)
            loss = in_batch_softmax_loss(u, v, bt, bw, log_q, config.temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            batch_weight = float(bw.sum())
            loss_sum += loss.detach().item() * batch_weight
            weight_sum += batch_weight
            if time.perf_counter() - start >= config.max_seconds:
                stopped_by = "time"
                break
        epoch_losses.append(loss_sum / weight_sum if weight_sum > 0 else 0.0)
        if stopped_by == "epochs":
            epochs_completed += 1
        if progress is not None:
            progress(f"two-tower epoch {epoch + 1}/{config.epochs} loss {epoch_losses[-1]:.4f} "
                     f"elapsed {time.perf_counter() - start:.1f}s")  # fmt: skip
        if stopped_by == "time":
            break
    model.eval()
    stats = {
        "loss_per_epoch": epoch_losses,
        "loss_first": epoch_losses[0],
        "loss_last": epoch_losses[-1],
        "epochs_completed": epochs_completed,
        "epochs_run": len(epoch_losses),
        "steps": steps,
        "examples": int(n),
        "seconds": time.perf_counter() - start,
        "stopped_by": stopped_by,
        "logq_correction": config.logq_correction,
    }
    return model, stats


def _device(model: nn.Module) -> torch.device:
    return model.item_streamer.device


def item_embeddings(model: TwoTower, chunk: int = 65536) -> torch.Tensor:
    """[n_items, dim] float32: every item through the item tower (eval mode, no grad); works on a quantized copy."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        ids = torch.arange(model.n_items, device=_device(model))
        out = torch.cat([model.item_tower(ids[i : i + chunk]) for i in range(0, model.n_items, chunk)])
    model.train(was_training)
    return out


def user_embeddings(
    model: TwoTower, histories: np.ndarray, context: np.ndarray | None, chunk: int = 8192
) -> torch.Tensor:
    """[U, dim] float32 user vectors for -1-padded histories [U, H] (+ context [U, C]), in chunks."""
    if chunk < 1:
        raise ValueError(f"chunk={chunk}: chunk must be >= 1")
    h, c = _check_inputs(model.n_items, model.n_context, histories, context)
    was_training = model.training
    model.eval()
    dev = _device(model)
    with torch.no_grad():
        parts = [
            model.user_tower(h[i : i + chunk].to(dev), None if c is None else c[i : i + chunk].to(dev))
            for i in range(0, h.shape[0], chunk)
        ]
    model.train(was_training)
    return torch.cat(parts) if parts else torch.zeros(0, model.dim)


def candidate_positions(candidates, n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(candidates [C] int64, position [n_items] int64: a candidate's column, -1 for the other items) for a
    strictly increasing array of item indices in [0, n_items)."""
    cand = torch.as_tensor(np.asarray(candidates, dtype=np.int64)).reshape(-1)
    if cand.numel() and (cand.min() < 0 or cand.max() >= n_items):
        raise ValueError(f"candidates must be item indices in [0, {n_items})")
    if cand.numel() > 1 and not bool((cand[1:] > cand[:-1]).all()):
        raise ValueError("candidates must be strictly increasing item indices")
    position = torch.full((n_items,), -1, dtype=torch.int64)
    position[cand] = torch.arange(cand.numel())
    return cand, position


MAX_CHUNK_CELLS = 1 << 25  # floats of one chunk's [rows, items] score matrix (128 MiB): what bounds a scoring pass


def rows_per_chunk(chunk: int, n_cols: int, max_chunk_cells: int = MAX_CHUNK_CELLS) -> int:
    """Rows of a [rows, n_cols] score chunk: at most `chunk`, and at most max_chunk_cells cells (at least one
    row), so a scoring pass's memory follows the chunk, not the catalogue times the users."""
    if chunk < 1 or max_chunk_cells < 1:
        raise ValueError(f"chunk={chunk}, max_chunk_cells={max_chunk_cells}: both must be >= 1")
    return max(1, min(chunk, max_chunk_cells // max(n_cols, 1)))


def top_k(
    user_emb: torch.Tensor,
    item_emb: torch.Tensor,
    k: int,
    exclude_rows: np.ndarray | torch.Tensor | None = None,
    exclude_cols: np.ndarray | torch.Tensor | None = None,
    chunk: int = 4096,
    candidates: np.ndarray | torch.Tensor | None = None,
    max_chunk_cells: int = MAX_CHUNK_CELLS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum inner product: (scores [U, k], indices [U, k] int64 item indices), best first, computed as one
    matrix product per chunk of users + torch.topk (a bounded top-k: memory is one chunk's [rows, items]
    scores, at most ``max_chunk_cells`` floats, so rows per chunk = min(chunk, max_chunk_cells // items)).
    Pairs (exclude_rows[i], exclude_cols[i]) score -inf. ``candidates`` (strictly increasing item indices):
    only those items are scored (the others can never be returned; exclusions of them are moot)."""
    if user_emb.ndim != 2 or item_emb.ndim != 2 or user_emb.shape[1] != item_emb.shape[1]:
        raise ValueError(f"need user_emb [U, d] and item_emb [I, d], got {tuple(user_emb.shape)}, {item_emb.shape}")
    n_users = user_emb.shape[0]
    if (exclude_rows is None) != (exclude_cols is None):
        raise ValueError("exclude_rows and exclude_cols must be given together")
    rows = torch.as_tensor(np.array(exclude_rows if exclude_rows is not None else [], dtype=np.int64)).reshape(-1)
    cols = torch.as_tensor(np.array(exclude_cols if exclude_cols is not None else [], dtype=np.int64)).reshape(-1)
    if rows.shape != cols.shape:
        raise ValueError(f"exclude_rows ({rows.numel()}) and exclude_cols ({cols.numel()}) must be parallel")
    n_all = item_emb.shape[0]
    if rows.numel() and (rows.min() < 0 or rows.max() >= n_users or cols.min() < 0 or cols.max() >= n_all):
        raise ValueError(f"exclusions must be rows in [0, {n_users}) and cols in [0, {n_all})")
    cand = None
    if candidates is not None:
        cand, position = candidate_positions(candidates, n_all)
        item_emb = item_emb[cand]
        cols = position[cols]
        rows, cols = rows[cols >= 0], cols[cols >= 0]
    n_items = item_emb.shape[0]
    if not 1 <= k <= n_items:
        raise ValueError(f"k={k}: k must be in [1, n_items={n_items}]")
    chunk = rows_per_chunk(chunk, n_items, max_chunk_cells)
    order = torch.argsort(rows, stable=True)
    rows, cols = rows[order], cols[order]
    items_t = item_emb.float().T.contiguous()
    out_s, out_i = [], []
    for lo in range(0, n_users, chunk):
        hi = min(lo + chunk, n_users)
        scores = user_emb[lo:hi].float() @ items_t
        a, b = torch.searchsorted(rows, torch.tensor([lo, hi])).tolist()
        if b > a:
            scores[rows[a:b] - lo, cols[a:b]] = float("-inf")
        s, i = torch.topk(scores, k, dim=1, largest=True, sorted=True)
        out_s.append(s)
        out_i.append(i)
    if not out_s:
        return torch.zeros(0, k), torch.zeros(0, k, dtype=torch.int64)
    scores, idx = torch.cat(out_s), torch.cat(out_i)
    return scores, (idx if cand is None else cand[idx])
