"""Quantized copies (watchhouse.ml.quantize): dynamic int8 (accuracy, size, embeddings), QAT (trains, converts),
two-level bit width (mask fraction and seed, grids, straight-through gradients, packed size by hand, export).
Expected numbers are hand-derived or computed independently (closed forms, per-row quantization steps)."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import torch
import torch.ao.nn.qat.dynamic as nnqatd
import torch.ao.nn.quantized as nnq
import torch.ao.nn.quantized.dynamic as nnqd
from torch import nn

from watchhouse.ml.quantize import (
    TwoLevelFakeQuant,
    apply_two_level,
    convert_qat,
    dynamic_int8,
    export_two_level,
    latency,
    prepare_qat,
    serialized_size,
    timed_blocks,
    two_level_size_bytes,
)
from watchhouse.ml.ranker import MultiTaskRanker, RankerConfig, predict, train_ranker

CARDS = (4, 6)
WIDE = RankerConfig(n_experts=2, expert_hidden=256, tower_hidden=64, cat_dim=4, epochs=2, batch_size=500, seed=1)
SMALL = dataclasses.replace(WIDE, expert_hidden=32, tower_hidden=16, epochs=4, learning_rate=1e-2)


def _data(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, 6)).astype(np.float32)
    cats = np.column_stack([rng.integers(0, c, n) for c in CARDS]).astype(np.int64)
    y_watch = (rng.random(n) < 1 / (1 + np.exp(-3 * dense[:, 0] + cats[:, 0] - 1.5))).astype(np.float32)
    y_value = np.where(y_watch > 0, 1 / (1 + np.exp(-2 * dense[:, 1])), 0).astype(np.float32)
    return dense, cats, y_watch, y_value


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def wide(data):
    model, _ = train_ranker(*data, CARDS, WIDE)
    return model


# ---------------------------------------------------------------- dynamic int8


@pytest.mark.parametrize("per_channel", [False, True])
def test_dynamic_int8_close_to_float_and_over_3x_smaller(data, wide, per_channel):
    dense, cats, *_ = data
    q = dynamic_int8(wide, per_channel=per_channel)
    linears = [m for m in q.modules() if isinstance(m, nnqd.Linear)]
    assert len(linears) == 2 * 2 + 1 + 2 * 2  # 2 experts x 2 layers, the gates, 2 towers x 2 layers
    assert not any(type(m) is nn.Linear for m in q.modules())
    p, v = predict(wide, dense, cats)
    pq, vq = predict(q, dense, cats)
    # int8 weights and 7-bit per-batch inputs: small errors on average, a few hundredths at worst
    assert np.abs(pq - p).mean() < 0.015 and np.abs(vq - v).mean() < 0.015
    assert np.abs(pq - p).max() < 0.1 and np.abs(vq - v).max() < 0.1
    assert np.corrcoef(pq, p)[0, 1] > 0.999
    # the wide layers dominate: fp32 4 bytes / weight vs int8 1 byte (+ biases, scales, pickling)
    assert serialized_size(wide) / serialized_size(q) > 3.0
    assert all(type(m) is nn.Linear for m in wide.experts[0] if not isinstance(m, nn.ReLU))  # original untouched


def test_dynamic_int8_quantizes_embeddings_per_row(wide):
    q = dynamic_int8(wide)
    for float_emb, q_emb in zip(wide.embeddings, q.embeddings, strict=True):
        assert isinstance(q_emb, nnq.Embedding) and q_emb.weight().dtype == torch.quint8
        idx = torch.arange(float_emb.num_embeddings)
        w = float_emb.weight.detach()
        got = q_emb(idx)
        # weight-only uint8 with a float scale / zero point per row: error <= half a step (max - min) / 255 / 2
        step = (w.max(1).values - w.min(1).values) / 255
        assert ((got - w).abs() <= step[:, None] / 2 + 1e-6).all()
        assert not torch.equal(got, w)


def test_serialized_size_and_latency():
    layer = nn.Linear(100, 100)
    raw = (100 * 100 + 100) * 4
    assert raw <= serialized_size(layer) < raw + 4000  # tensor bytes plus the zip container
    calls: list[int] = []

    def sleepy() -> None:
        calls.append(1)
        time.sleep(0.01)

    assert 0.01 <= latency(sleepy, repeats=3, warmup=2) < 0.1 and len(calls) == 5
    with pytest.raises(ValueError, match="repeats=0"):
        latency(sleepy, repeats=0)


def test_timed_blocks_do_the_work_once_and_time_the_full_blocks():
    calls: list[tuple[int, int]] = []

    def work(lo: int, hi: int) -> list[int]:
        calls.append((lo, hi))
        time.sleep(0.002 * (hi - lo))  # time follows the rows
        return list(range(lo, hi))

    results, seconds = timed_blocks(work, 23, 5)
    assert calls == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]  # each row once, no extra calls
    assert [x for part in results for x in part] == list(range(23))
    assert 0.01 <= seconds < 0.1  # a full block of 5 rows (the short last block, 0.006 s, is not a sample)
    calls.clear()
    results, seconds = timed_blocks(work, 7, 5)  # one full block: the first block is timed 3 more times
    assert calls == [(0, 5), (5, 7), (0, 5), (0, 5), (0, 5)] and [x for part in results for x in part] == list(range(7))
    assert 0.01 <= seconds < 0.1
    calls.clear()
    _, seconds = timed_blocks(work, 3, 5)  # fewer rows than a block: those rows are the sample
    assert calls == [(0, 3)] * 4 and 0.006 <= seconds < 0.1
    assert timed_blocks(work, 0, 5) == ([], 0.0)
    with pytest.raises(ValueError, match="block=0"):
        timed_blocks(work, 3, 0)


# ---------------------------------------------------------------- QAT


def test_qat_trains_and_converts(data):
    dense, cats, *_ = data
    base, _ = train_ranker(*data, CARDS, dataclasses.replace(SMALL, epochs=1))
    prepared = prepare_qat(base)
    assert sum(isinstance(m, nnqatd.Linear) for m in prepared.modules()) == 9
    assert not any(isinstance(m, nnqatd.Linear) for m in base.modules())  # a copy
    trained, stats = train_ranker(*data, CARDS, dataclasses.replace(SMALL, epochs=4), model=prepared)
    assert stats["epoch_losses"][-1] < stats["epoch_losses"][0]
    # the fake-quantized weight lies on an int8 grid: at most 256 distinct values per tensor
    layer = trained.experts[0][2]
    assert torch.unique(layer.weight_fake_quant(layer.weight.detach())).numel() <= 256
    converted = convert_qat(trained)
    assert sum(isinstance(m, nnqd.Linear) for m in converted.modules()) == 9
    assert all(isinstance(e, nnq.Embedding) for e in converted.embeddings)
    pairs = [(converted.experts[0][2], layer), (converted.towers[1][2], trained.towers[1][2])]
    for int8_layer, qat_layer in pairs:  # the int8 weights are exactly the fake quant's values
        assert torch.equal(int8_layer.weight().dequantize(), qat_layer.weight_fake_quant(qat_layer.weight.detach()))
    p_fake, v_fake = predict(trained, dense, cats)
    p_int8, v_int8 = predict(converted, dense, cats)
    # the fake quants simulate the int8 kernels (often to float rounding; a flipped rounding of an input can move a
    # row by a few hundredths)
    assert np.abs(p_int8 - p_fake).mean() < 0.005 and np.abs(v_int8 - v_fake).mean() < 0.005
    assert np.abs(p_int8 - p_fake).max() < 0.1 and np.abs(v_int8 - v_fake).max() < 0.1
    with pytest.raises(ValueError, match="prepare_qat"):
        convert_qat(base)


# ---------------------------------------------------------------- two-level bit width


def _fq(linear: nn.Module) -> TwoLevelFakeQuant:
    return linear.parametrizations.weight[0]


def test_two_level_mask_fraction_and_seed():
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 5), nn.ReLU(), nn.Linear(8, 5))
    two = apply_two_level(model, low_fraction=0.3, seed=3)
    for layer, numel in ((two[0], 128), (two[2], 40), (two[4], 40)):
        assert int(_fq(layer).low_mask.sum()) == round(0.3 * numel)  # 38 of 128, 12 of 40
    again, other = apply_two_level(model, low_fraction=0.3, seed=3), apply_two_level(model, low_fraction=0.3, seed=4)
    assert torch.equal(_fq(again[0]).low_mask, _fq(two[0]).low_mask)
    assert not torch.equal(_fq(other[0]).low_mask, _fq(two[0]).low_mask)
    assert not torch.equal(_fq(two[2]).low_mask, _fq(two[4]).low_mask)  # each layer draws its own subset
    assert not any("low_mask" in key for key in two.state_dict())  # regenerated from the seed, not stored
    assert type(model[0]) is nn.Linear  # the input model is not parametrized


def test_two_level_weights_lie_on_their_grids():
    torch.manual_seed(0)
    layer = apply_two_level(nn.Sequential(nn.Linear(32, 6)), low_bits=4, high_bits=8, low_fraction=0.5, seed=7)[0]
    w = layer.parametrizations.weight.original.detach().double()
    wq = layer.weight.detach().double()
    low = _fq(layer).low_mask
    for mask, q in ((low, 7), (~low, 127)):  # 2^(b-1) - 1 levels per side
        for r in range(6):
            s = w[r][mask[r]].abs().max() / q  # symmetric per-row scale of this level
            k = wq[r][mask[r]] / s
            assert torch.allclose(k, k.round(), atol=1e-4)  # on the grid
            assert k.abs().max() <= q + 1e-4
            assert ((wq[r][mask[r]] - w[r][mask[r]]).abs() <= s / 2 + 1e-7).all()  # nearest grid point
    assert max(torch.unique(wq[r][low[r]]).numel() for r in range(6)) <= 15
    assert not torch.equal(wq, w)


def test_two_level_straight_through_gradients():
    layer = apply_two_level(nn.Sequential(nn.Linear(4, 3)), seed=1)[0]
    x = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.5, 1.0, -1.0, 2.0]])
    layer(x).sum().backward()
    # y = x W^T + b, L = Σ y: dL/dW[i, j] = Σ_b x[b, j] for every row i (rounding is skipped), dL/db = batch size
    expected = torch.tensor([1.5, -1.0, -0.5, 5.0]).repeat(3, 1)
    assert torch.allclose(layer.parametrizations.weight.original.grad, expected)
    assert torch.allclose(layer.bias.grad, torch.full((3,), 2.0))


def test_two_level_packed_size_by_hand():
    # Linear(4, 3): 12 weights, half low: 6 x 4 + 6 x 8 = 72 bits = 9 bytes; scales 3 rows x 2 x 4 = 24; bias 12
    assert two_level_size_bytes(apply_two_level(nn.Sequential(nn.Linear(4, 3)))) == 9 + 24 + 12
    # a quarter low: 3 x 4 + 9 x 8 = 84 bits -> 11 bytes; no bias; plus an fp32 Embedding(5, 2) = 40 bytes
    model = nn.Sequential(nn.Embedding(5, 2), nn.Linear(4, 3, bias=False))
    assert two_level_size_bytes(apply_two_level(model, low_fraction=0.25)) == 11 + 24 + 40
    # 2 / 6 bits, all low: 12 x 2 = 24 bits = 3 bytes
    assert two_level_size_bytes(apply_two_level(nn.Sequential(nn.Linear(4, 3)), 2, 6, 1.0)) == 3 + 24 + 12


def test_two_level_trains_and_exports(data):
    dense, cats, *_ = data
    base, _ = train_ranker(*data, CARDS, dataclasses.replace(SMALL, epochs=1))
    two, stats = train_ranker(*data, CARDS, dataclasses.replace(SMALL, epochs=3), model=apply_two_level(base))
    assert stats["epoch_losses"][-1] < stats["epoch_losses"][0]
    exported = export_two_level(two)
    assert sum(isinstance(m, nnqd.Linear) for m in exported.modules()) == 9
    p_two, v_two = predict(two, dense, cats)
    p_exp, v_exp = predict(exported, dense, cats)
    # the int8 re-scaling of the snapped weights and the 7-bit per-batch inputs: as for dynamic_int8
    assert np.abs(p_exp - p_two).mean() < 0.015 and np.abs(v_exp - v_two).mean() < 0.015
    assert np.abs(p_exp - p_two).max() < 0.1 and np.abs(v_exp - v_two).max() < 0.1
    p_again, _ = predict(two, dense, cats)  # exporting leaves the two-level model usable
    np.testing.assert_array_equal(p_again, p_two)
    # by hand from the layer shapes: per Linear ceil((n_low * 4 + n_high * 8) / 8) + 2 fp32 scales and 1 fp32 bias
    # per output row; embeddings (4 x 4 + 6 x 4) and the dense mean / std (2 x 6) in fp32
    shapes = [(14, 32), (32, 32)] * 2 + [(14, 4), (32, 16), (16, 1), (32, 16), (16, 1)]  # in = 6 + 2 x 4
    expected = sum(math.ceil((round(i * o / 2) * 4 + (i * o - round(i * o / 2)) * 8) / 8) + 12 * o for i, o in shapes)
    assert two_level_size_bytes(two) == expected + 4 * (16 + 24) + 4 * 12


def test_two_level_and_conversion_refusals():
    model = nn.Sequential(nn.Linear(4, 3))
    for kwargs, message in [
        ({"low_bits": 1}, "low_bits=1"),
        ({"low_bits": 8, "high_bits": 8}, "low_bits=8, high_bits=8"),
        ({"high_bits": 9}, "high_bits=9"),
        ({"low_fraction": 1.5}, "low_fraction=1.5"),
    ]:
        with pytest.raises(ValueError, match=message):
            apply_two_level(model, **kwargs)
    with pytest.raises(ValueError, match=r"no nn\.Linear"):
        apply_two_level(nn.Sequential(nn.Embedding(3, 2)))
    with pytest.raises(ValueError, match="apply_two_level"):
        two_level_size_bytes(model)
    with pytest.raises(ValueError, match="apply_two_level"):
        export_two_level(model)
    with pytest.raises(ValueError, match="export_two_level"):
        dynamic_int8(apply_two_level(model))


def test_ranker_default_width_layers_dominate():
    model = MultiTaskRanker(12, (3, 10), RankerConfig())
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    total = sum(p.numel() for p in model.parameters())
    assert linear / total > 0.98 and model.experts[0][2].weight.shape == (256, 256)
