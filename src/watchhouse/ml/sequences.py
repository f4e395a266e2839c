"""Vectorised numpy data prep for sequence models (two-tower retrieval, docs/ml.md).

Sequences come as CSR: ``flat`` holds every user's items in time order (int64), ``offsets`` (length n_seq + 1,
``offsets[0] == 0``, ``offsets[-1] == len(flat)``, non-decreasing) delimits sequence ``s`` as
``flat[offsets[s]:offsets[s + 1]]``. Histories are fixed-width int64 rows, most recent item last, left-padded
with -1 (:data:`PAD`)."""

from __future__ import annotations

import numpy as np

PAD = -1


def check_csr(flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a CSR pair and return it as int64 arrays; ValueError says what is wrong."""
    flat = np.asarray(flat)
    offsets = np.asarray(offsets)
    if flat.ndim != 1 or offsets.ndim != 1:
        raise ValueError(f"flat and offsets must be 1-D, got shapes {flat.shape} and {offsets.shape}")
    if flat.size and not np.issubdtype(flat.dtype, np.integer):
        raise ValueError(f"flat must hold integer item indices, got dtype {flat.dtype}")
    if not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(f"offsets must be integers, got dtype {offsets.dtype}")
    if offsets.size < 1 or offsets[0] != 0 or offsets[-1] != flat.size:
        raise ValueError(
            f"offsets must start at 0 and end at len(flat)={flat.size} (length n_seq + 1), "
            f"got {offsets[:1].tolist()}...{offsets[-1:].tolist()}"
        )
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing")
    if flat.size and flat.min() < 0:
        raise ValueError(f"flat must hold item indices >= 0, got min {int(flat.min())}")
    return flat.astype(np.int64, copy=False), offsets.astype(np.int64, copy=False)


def _check_history_len(history_len: int) -> None:
    if int(history_len) != history_len or history_len < 1:
        raise ValueError(f"history_len={history_len}: history_len must be an integer >= 1")


def example_positions(offsets: np.ndarray, max_examples: int | None = None, seed: int = 7) -> np.ndarray:
    """Flat positions that are training examples: every position t >= 1 within its sequence (the first item of
    a sequence has no history). With more than ``max_examples`` of them, a uniform sample without replacement
    drawn with ``np.random.default_rng(seed)`` is kept (not the most recent ones: that would bias towards the
    end of the window); the result is sorted ascending. Map a position to its sequence with
    ``np.searchsorted(offsets, pos, side="right") - 1``."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if max_examples is not None and (int(max_examples) != max_examples or max_examples < 1):
        raise ValueError(f"max_examples={max_examples}: max_examples must be None or an integer >= 1")
    n = int(offsets[-1]) if offsets.size else 0
    lengths = np.diff(offsets)
    is_first = np.zeros(n, dtype=bool)
    is_first[offsets[:-1][lengths > 0]] = True
    positions = np.flatnonzero(~is_first)
    if max_examples is not None and positions.size > max_examples:
        rng = np.random.default_rng(seed)
        positions = np.sort(rng.choice(positions, size=int(max_examples), replace=False))
    return positions


def _histories_at(flat: np.ndarray, starts: np.ndarray, ends: np.ndarray, history_len: int) -> np.ndarray:
    """Row i = the up-to-``history_len`` items of flat[starts[i]:ends[i]] ending at ends[i] (exclusive)."""
    out = np.full((ends.size, history_len), PAD, dtype=np.int64)
    for k in range(1, history_len + 1):  # one pass per history offset, never per sequence
        idx = ends - k
        valid = idx >= starts
        out[valid, history_len - k] = flat[idx[valid]]
    return out


def histories_from_sequences(
    flat: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray,
    history_len: int,
    max_examples: int | None = None,
    seed: int = 7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Next-item training examples (Covington et al., RecSys 2016: predict the next watch from the past ones).

    For every position t >= 1 of every sequence: history = the previous <= ``history_len`` items of that
    sequence (most recent last, left-padded with -1), target = ``flat[t]``, weight = ``weights[t]``. Sampling
    above ``max_examples`` is as in :func:`example_positions` (same seed -> same rows, in flat order).
    Returns (histories [N, H] int64, targets [N] int64, weights [N] float32)."""
    flat, offsets = check_csr(flat, offsets)
    _check_history_len(history_len)
    weights = np.asarray(weights, dtype=np.float32)
    if weights.shape != flat.shape:
        raise ValueError(f"weights must be parallel to flat: shape {weights.shape} != {flat.shape}")
    positions = example_positions(offsets, max_examples, seed)
    seq = np.searchsorted(offsets, positions, side="right") - 1
    histories = _histories_at(flat, offsets[seq], positions, int(history_len))
    return histories, flat[positions], weights[positions]


def last_histories(flat: np.ndarray, offsets: np.ndarray, history_len: int) -> np.ndarray:
    """[n_seq, H] int64: each sequence's last ``history_len`` items (most recent last, -1 left-padded); the
    query histories for serving."""
    flat, offsets = check_csr(flat, offsets)
    _check_history_len(history_len)
    return _histories_at(flat, offsets[:-1], offsets[1:], int(history_len))
