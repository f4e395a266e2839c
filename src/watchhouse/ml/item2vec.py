"""item2vec: skip-gram with negative sampling over watch sequences.

Mikolov et al., "Distributed Representations of Words and Phrases and their Compositionality" (NeurIPS 2013);
Barkan & Koenigstein, "Item2Vec: Neural Item Embedding for Collaborative Filtering" (MLSP 2016).

Sequences come as CSR: ``flat`` (int64 item indices 0..n_items-1, every sequence concatenated) and ``offsets``
(int64, length n_seq + 1, ``offsets[0] == 0``, ``offsets[-1] == len(flat)``); sequence ``s`` is
``flat[offsets[s]:offsets[s + 1]]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from watchhouse.ml.two_tower import MAX_CHUNK_CELLS, candidate_positions, rows_per_chunk


@dataclass(frozen=True)
class Item2VecConfig:
    """Training settings; ``max_pairs_per_epoch`` bounds an epoch (uniform sample of pairs when there are more)."""

    dim: int = 32
    window: int = 5
    negatives: int = 5
    unigram_power: float = 0.75
    epochs: int = 5
    batch_size: int = 4096
    learning_rate: float = 0.01
    max_pairs_per_epoch: int | None = 2_000_000
    max_seconds: float = 60.0
    seed: int = 7

    def __post_init__(self) -> None:
        for name in ("dim", "window", "negatives", "epochs", "batch_size"):
            _check_int(name, getattr(self, name), 1)
        if self.max_pairs_per_epoch is not None:
            _check_int("max_pairs_per_epoch", self.max_pairs_per_epoch, 1, "None or an integer")
        if not (math.isfinite(self.unigram_power) and self.unigram_power >= 0):
            raise ValueError(f"unigram_power={self.unigram_power}: unigram_power must be finite and >= 0")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate={self.learning_rate}: learning_rate must be finite and > 0")
        if not self.max_seconds > 0:
            raise ValueError(f"max_seconds={self.max_seconds}: max_seconds must be > 0")


def _check_int(name: str, value: object, minimum: int, what: str = "an integer") -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}={value!r}: {name} must be {what} >= {minimum}")


def _check_csr(flat: np.ndarray, offsets: np.ndarray, n_items: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    flat, offsets = np.asarray(flat), np.asarray(offsets)
    if flat.ndim != 1 or offsets.ndim != 1:
        raise ValueError(f"flat and offsets must be 1-D, got shapes {flat.shape} and {offsets.shape}")
    if flat.size and not np.issubdtype(flat.dtype, np.integer):
        raise ValueError(f"flat must hold integer item indices, got dtype {flat.dtype}")
    if not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(f"offsets must be integers, got dtype {offsets.dtype}")
    if offsets.size < 1 or offsets[0] != 0 or offsets[-1] != flat.size:
        raise ValueError(f"offsets must start at 0 and end at len(flat)={flat.size} (length n_seq + 1)")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing")
    if flat.size and flat.min() < 0:
        raise ValueError(f"flat must hold item indices >= 0, got min {int(flat.min())}")
    if n_items is not None and flat.size and flat.max() >= n_items:
        raise ValueError(f"flat holds item index {int(flat.max())}: indices must be < n_items={n_items}")
    return flat.astype(np.int64, copy=False), offsets.astype(np.int64, copy=False)


def skipgram_pairs(flat: np.ndarray, offsets: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(center, context) int64: every ordered pair of positions at distance 1..``window`` within one sequence,
    both directions. Order: by distance d, then the d-forward pairs (center at i, context at i+d) in position
    order, then the d-backward ones (center at i+d, context at i); :func:`_pairs_at` indexes the same order."""
    flat, offsets = _check_csr(flat, offsets)
    _check_int("window", window, 1)
    seq = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    centers, contexts = [], []
    for d in range(1, int(window) + 1):  # one pass per window offset, never per sequence
        left = np.flatnonzero(seq[:-d] == seq[d:]) if flat.size > d else np.empty(0, np.int64)
        a, b = flat[left], flat[left + d]
        centers += [a, b]
        contexts += [b, a]
    return np.concatenate(centers).astype(np.int64), np.concatenate(contexts).astype(np.int64)


def _pair_counts(offsets: np.ndarray, window: int) -> np.ndarray:
    """[window, n_seq + 1]: per distance d, cumulative count of d-forward pairs over sequences (leading 0)."""
    lengths = np.diff(offsets)
    d = np.arange(1, window + 1)[:, None]
    per_seq = np.maximum(lengths[None, :] - d, 0)
    return np.concatenate([np.zeros((window, 1), np.int64), np.cumsum(per_seq, axis=1)], axis=1)


def _pairs_at(flat: np.ndarray, offsets: np.ndarray, cum: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pairs number ``idx`` of the :func:`skipgram_pairs` order without building every pair (for sampling)."""
    totals = cum[:, -1]
    block_end = np.cumsum(2 * totals)
    d_idx = np.searchsorted(block_end, idx, side="right")  # 0-based distance index
    within = idx - (block_end[d_idx] - 2 * totals[d_idx])
    backward = within >= totals[d_idx]
    k = within - np.where(backward, totals[d_idx], 0)
    centers = np.empty(idx.size, np.int64)
    contexts = np.empty(idx.size, np.int64)
    for di in np.unique(d_idx):  # at most `window` passes
        sel = d_idx == di
        s = np.searchsorted(cum[di], k[sel], side="right") - 1
        left = offsets[s] + (k[sel] - cum[di][s])
        a, b = flat[left], flat[left + di + 1]
        bw = backward[sel]
        centers[sel] = np.where(bw, b, a)
        contexts[sel] = np.where(bw, a, b)
    return centers, contexts


class NegativeSampler:
    """Draws items with probability counts**power / Σ counts**power (Mikolov et al. 2013: power 0.75).
    Items with a zero count are never drawn."""

    def __init__(self, counts: np.ndarray, power: float = 0.75) -> None:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 1 or counts.size == 0:
            raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}")
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError("counts must be finite and >= 0")
        if not (math.isfinite(power) and power >= 0):
            raise ValueError(f"power={power}: power must be finite and >= 0")
        weights = np.where(counts > 0, np.power(counts, power, where=counts > 0), 0.0)
        total = weights.sum()
        if not total > 0:
            raise ValueError("counts must have at least one positive entry")
        self._probabilities = weights / total
        cdf = np.cumsum(self._probabilities)
        cdf[int(np.flatnonzero(weights)[-1]) :] = 1.0  # exact top end: trailing zero-count items stay unreachable
        self._cdf = torch.from_numpy(cdf)

    @property
    def probabilities(self) -> np.ndarray:
        return self._probabilities.copy()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` item indices (int64), inverse-CDF draws from ``generator``."""
        _check_int("n", n, 0)
        u = torch.rand(int(n), generator=generator, dtype=torch.float64)
        return torch.searchsorted(self._cdf, u, right=True)


def train_item2vec(
    flat: np.ndarray,
    offsets: np.ndarray,
    n_items: int,
    config: Item2VecConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, dict]:
    """Skip-gram with negative sampling; returns (input embeddings float32 [n_items, dim], stats).

    loss = -log σ(u_c·v_o) - Σ_neg log σ(-u_c·v_neg), averaged over the batch; negatives from
    :class:`NegativeSampler` over item occurrence counts in ``flat``. Sparse embeddings + SparseAdam. Items never
    seen keep their uniform(±0.5/dim) init (word2vec's). Stops after ``epochs`` or once ``max_seconds`` passed
    (checked after every step).

    stats: loss_per_epoch (mean batch loss; a time-cut epoch included), epochs_completed, epochs_run (a time-cut
    epoch included), loss_first, loss_last (nan without pairs), steps, examples (positive pairs seen), seconds,
    stopped_by ("epochs" | "time"), n_pairs (pairs in the data), pairs_per_epoch, sampled (whether epochs sample
    ``max_pairs_per_epoch`` of the pairs, uniformly without replacement)."""
    config = config if config is not None else Item2VecConfig()
    _check_int("n_items", n_items, 1)
    flat, offsets = _check_csr(flat, offsets, n_items)
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    center_emb = nn.Embedding(n_items, config.dim, sparse=True)
    context_emb = nn.Embedding(n_items, config.dim, sparse=True)
    with torch.no_grad():
        center_emb.weight.uniform_(-0.5 / config.dim, 0.5 / config.dim, generator=gen)
        context_emb.weight.zero_()

    cum = _pair_counts(offsets, config.window)
    n_pairs = int(2 * cum[:, -1].sum())
    sampled = config.max_pairs_per_epoch is not None and n_pairs > config.max_pairs_per_epoch
    per_epoch = int(config.max_pairs_per_epoch) if sampled else n_pairs
    stats: dict = {
        "loss_per_epoch": [], "epochs_completed": 0, "steps": 0, "examples": 0, "seconds": 0.0,
        "stopped_by": "epochs", "n_pairs": n_pairs, "pairs_per_epoch": per_epoch, "sampled": sampled,
    }  # fmt: skip
    if n_pairs == 0:
        return center_emb.weight.detach().numpy().astype(np.float32, copy=True), _finish(stats, start)

    sampler = NegativeSampler(np.bincount(flat, minlength=n_items), config.unigram_power)
    optimizer = torch.optim.SparseAdam([center_emb.weight, context_emb.weight], lr=config.learning_rate)
    all_pairs = None if sampled else skipgram_pairs(flat, offsets, config.window)
    for epoch in range(config.epochs):
        if sampled:
            centers, contexts = _pairs_at(flat, offsets, cum, rng.choice(n_pairs, size=per_epoch, replace=False))
        else:
            order = rng.permutation(n_pairs)
            centers, contexts = all_pairs[0][order], all_pairs[1][order]
        centers_t, contexts_t = torch.from_numpy(centers), torch.from_numpy(contexts)
        losses = []
        for lo in range(0, per_epoch, config.batch_size):
            c, o = centers_t[lo : lo + config.batch_size], contexts_t[lo : lo + config.batch_size]
            neg = sampler.sample(c.numel() * config.negatives, gen).view(c.numel(), config.negatives)
            u = center_emb(c)  # [B, D]
            pos = torch.nn.functional.logsigmoid((u * context_emb(o)).sum(-1))
            negs = torch.nn.functional.logsigmoid(-torch.bmm(context_emb(neg), u.unsqueeze(-1)).squeeze(-1))
            loss = -(pos + negs.sum(-1)).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            stats["steps"] += 1
            stats["examples"] += int(c.numel())
            if time.perf_counter() - start > config.max_seconds:
                stats["stopped_by"] = "time"
                break
        stats["loss_per_epoch"].append(float(np.mean(losses)))
        if stats["stopped_by"] != "time":
            stats["epochs_completed"] = epoch + 1
        if progress is not None:
            cut = " (time cap)" if stats["stopped_by"] == "time" else ""
            loss_now, elapsed = stats["loss_per_epoch"][-1], time.perf_counter() - start
            progress(f"item2vec epoch {epoch + 1}/{config.epochs}{cut}: loss {loss_now:.4f}, {elapsed:.1f}s")
        if stats["stopped_by"] == "time":
            break
    return center_emb.weight.detach().numpy().astype(np.float32, copy=True), _finish(stats, start)


def _finish(stats: dict, start: float) -> dict:
    losses = stats["loss_per_epoch"]
    stats["epochs_run"] = len(losses)  # epochs started, a time-cut one included
    stats["loss_first"] = losses[0] if losses else float("nan")
    stats["loss_last"] = losses[-1] if losses else float("nan")
    stats["seconds"] = time.perf_counter() - start
    return stats


def normalise(emb: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32); all-zero rows stay zero."""
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"emb must be 2-D [n_items, dim], got shape {emb.shape}")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)


def _topk_stable(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k per row, ties broken by lower column index; rows with a tie at the k-th value fall back to a full
    stable sort. -inf entries may come back: the caller drops them."""
    vals, idx = torch.topk(scores, k, dim=1)
    idx = idx.sort(dim=1).values
    vals = scores.gather(1, idx)
    order = torch.sort(vals, dim=1, descending=True, stable=True).indices
    idx, vals = idx.gather(1, order), vals.gather(1, order)
    thr = vals[:, -1:]
    tied = ((scores >= thr).sum(1) > k) & torch.isfinite(thr[:, 0])
    if bool(tied.any()):
        full = torch.sort(scores[tied], dim=1, descending=True, stable=True)
        vals[tied], idx[tied] = full.values[:, :k], full.indices[:, :k]
    return vals, idx


def neighbours(
    emb: np.ndarray, items: np.ndarray, k: int, chunk: int = 2048, max_chunk_cells: int = MAX_CHUNK_CELLS
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine top-k neighbours of each query item, itself excluded: (indices int64 [m, k], cosines float32 [m, k]).
    Ties go to the lower item index. Memory: one chunk of at most max_chunk_cells scores."""
    unit = torch.from_numpy(normalise(emb))
    n = unit.shape[0]
    items = np.asarray(items, dtype=np.int64).reshape(-1)
    _check_int("k", k, 1)
    _check_int("chunk", chunk, 1)
    if k > n - 1:
        raise ValueError(f"k={k}: k must be <= n_items - 1 = {n - 1} (an item is not its own neighbour)")
    if items.size and (items.min() < 0 or items.max() >= n):
        raise ValueError(f"items must be indices in [0, {n}), got range [{items.min()}, {items.max()}]")
    out_idx = np.empty((items.size, k), np.int64)
    out_val = np.empty((items.size, k), np.float32)
    chunk = rows_per_chunk(chunk, n, max_chunk_cells)
    for lo in range(0, items.size, chunk):
        q = torch.from_numpy(items[lo : lo + chunk])
        scores = unit[q] @ unit.T
        scores[torch.arange(q.numel()), q] = -math.inf
        vals, idx = _topk_stable(scores, k)
        out_idx[lo : lo + q.numel()], out_val[lo : lo + q.numel()] = idx.numpy(), vals.numpy()
    return out_idx, out_val


def recommend_from_history(
    emb: np.ndarray,
    user_idx: np.ndarray,
    item_idx: np.ndarray,
    weight: np.ndarray,
    k: int,
    exclude_seen: bool = True,
    chunk: int = 2048,
    candidates: np.ndarray | None = None,
    max_chunk_cells: int = MAX_CHUNK_CELLS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top-k items per user by cosine to the user vector Σ weight · unit(emb[item]) over the user's history rows.

    ``user_idx``, ``item_idx``, ``weight`` are parallel 1-D arrays (one row per history item; a user's rows need
    not be contiguous). Returns (users int64, items int64, ranks int64 1..k, scores float32), sorted by user then
    rank; ties go to the lower item index. With ``exclude_seen`` a user's history items are never recommended;
    users with fewer than k eligible items get fewer rows; users whose vector is zero (no direction) get none.
    ``candidates`` (strictly increasing item indices): only those items are scored and recommended (the cost
    follows them, not the catalogue); None = every item. Memory: one chunk of users' scores, at most
    ``max_chunk_cells`` floats (at 10M events one chunk of ~2,000 users x every VOD held ~18 GB and the build
    was OOM-killed: bench/RESULTS.md)."""
    unit = torch.from_numpy(normalise(emb))
    n = unit.shape[0]
    user_idx, item_idx = np.asarray(user_idx), np.asarray(item_idx)
    weight = np.asarray(weight, dtype=np.float32)
    _check_int("k", k, 1)
    _check_int("chunk", chunk, 1)
    if not (user_idx.ndim == item_idx.ndim == weight.ndim == 1 and user_idx.size == item_idx.size == weight.size):
        raise ValueError(
            f"user_idx, item_idx, weight must be parallel 1-D arrays, got shapes "
            f"{user_idx.shape}, {item_idx.shape}, {weight.shape}"
        )
    if user_idx.size and not (np.issubdtype(user_idx.dtype, np.integer) and np.issubdtype(item_idx.dtype, np.integer)):
        raise ValueError(f"user_idx and item_idx must be integers, got {user_idx.dtype} and {item_idx.dtype}")
    if item_idx.size and (item_idx.min() < 0 or item_idx.max() >= n):
        raise ValueError(f"item_idx must be in [0, {n}), got range [{item_idx.min()}, {item_idx.max()}]")
    if not np.all(np.isfinite(weight)):
        raise ValueError("weight must be finite")
    targets, position = unit, None
    if candidates is not None:
        cand, position = candidate_positions(candidates, n)
        targets = unit[cand]
    chunk = rows_per_chunk(chunk, targets.shape[0], max_chunk_cells)
    users, inv = np.unique(user_idx.astype(np.int64), return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(users.size + 1))
    item_t = torch.from_numpy(item_idx.astype(np.int64))
    weight_t = torch.from_numpy(weight)
    out: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, users.size, chunk):
        hi = min(lo + chunk, users.size)
        rows = torch.from_numpy(order[bounds[lo] : bounds[hi]])
        local = torch.from_numpy(inv[order[bounds[lo] : bounds[hi]]] - lo)
        u = torch.zeros(hi - lo, unit.shape[1])
        u.index_add_(0, local, unit[item_t[rows]] * weight_t[rows, None])
        norm = u.norm(dim=1, keepdim=True)
        scores = (u / norm.clamp_min(1e-30)) @ targets.T
        if exclude_seen:
            seen_rows, seen_cols = local, item_t[rows]
            if position is not None:
                seen_cols = position[seen_cols]
                seen_rows, seen_cols = seen_rows[seen_cols >= 0], seen_cols[seen_cols >= 0]
            scores[seen_rows, seen_cols] = -math.inf
        if scores.shape[1] == 0:
            continue
        vals, idx = _topk_stable(scores, min(k, scores.shape[1]))
        if position is not None:
            idx = cand[idx]
        keep = torch.isfinite(vals) & (norm > 0)
        r, c = torch.nonzero(keep, as_tuple=True)
        out.append((users[lo + r.numpy()], idx[r, c].numpy(), c.numpy() + 1, vals[r, c].numpy()))
    if not out:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    cols = [np.concatenate(parts) for parts in zip(*out, strict=True)]
    return cols[0].astype(np.int64), cols[1].astype(np.int64), cols[2].astype(np.int64), cols[3].astype(np.float32)
