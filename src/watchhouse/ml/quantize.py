"""Quantized copies of torch models for CPU scoring (docs/ml.md), with eager-mode torch.ao.quantization (fbgemm).

- :func:`dynamic_int8`: post-training dynamic quantization, nn.Linear -> int8 weights (per tensor, or per output
  channel) with activations quantized per batch, nn.Embedding -> weight-only int8 with float qparams per row.
- :func:`prepare_qat` / :func:`convert_qat`: quantization-aware training for dynamic int8 (Jacob et al., "Quantization
  and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", CVPR 2018): each nn.Linear's
  weight is fake-quantized (8-bit, per tensor or per output channel) and its input fake-quantized per batch as the
  dynamic kernel will; gradients pass straight through; converted to the dynamic int8 kernels.
- :func:`apply_two_level` / :func:`export_two_level`: "quantization training with two-level bit width" (ICEIC 2022,
  as described in the brief: a fixed, seeded, random subset of each weight matrix is fake-quantized at a low bit
  width, the rest at a higher one, straight-through estimator), as a ``torch.nn.utils.parametrize`` of each
  nn.Linear weight with symmetric per-output-channel scales (one per row and level).

All functions return converted copies; the input model is never modified."""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import math
import statistics
import time
import warnings
from collections.abc import Callable, Iterator

import torch
import torch.ao.nn.intrinsic as nni
import torch.ao.nn.qat.dynamic as nnqatd
import torch.ao.quantization as tq
from torch import nn
from torch.nn.utils import parametrize

__all__ = [
    "TwoLevelFakeQuant",
    "apply_two_level",
    "convert_qat",
    "dynamic_int8",
    "export_two_level",
    "latency",
    "prepare_qat",
    "serialized_size",
    "timed_blocks",
    "two_level_size_bytes",
]

ENGINE = "fbgemm"


def _weight_fake_quant(per_channel: bool) -> type:
    """Symmetric int8 weight fake quant, per output channel or per tensor; memoryless (averaging_constant=1), so a
    step fake-quantizes that step's weights and the conversion re-observes the final weights identically."""
    if per_channel:
        observer, qscheme, extra = tq.MovingAveragePerChannelMinMaxObserver, torch.per_channel_symmetric, {"ch_axis": 0}
    else:
        observer, qscheme, extra = tq.MovingAverageMinMaxObserver, torch.per_tensor_symmetric, {}
    return tq.FakeQuantize.with_args(
        observer=observer,
        quant_min=-128,
        quant_max=127,
        dtype=torch.qint8,
        qscheme=qscheme,
        averaging_constant=1,
        **extra,
    )


# inputs: per-batch affine uint8 with fbgemm's reduced range (7 bits), as quantized::linear_dynamic does
_INPUT_FAKE_QUANT = tq.FakeQuantize.with_args(
    observer=tq.MovingAverageMinMaxObserver,
    quant_min=0,
    quant_max=127,
    dtype=torch.quint8,
    is_dynamic=True,
    averaging_constant=1,
)


def _dynamic_spec(per_channel: bool) -> dict:
    linear = tq.per_channel_dynamic_qconfig if per_channel else tq.default_dynamic_qconfig
    return {nn.Linear: linear, nni.LinearReLU: linear, nn.Embedding: tq.float_qparams_weight_only_qconfig}


def _fuse_linear_relu(model: nn.Module) -> None:
    """Fuse every nn.Linear directly followed by nn.ReLU inside an nn.Sequential (in place; the ReLU becomes
    Identity): the dynamic int8 kernel then applies the ReLU to its output without another pass over memory."""
    pairs = []
    for name, module in model.named_modules():
        if type(module) is nn.Sequential:
            children = list(module.named_children())
            for (a, first), (b, second) in itertools.pairwise(children):
                if type(first) is nn.Linear and type(second) is nn.ReLU:
                    pairs.append([f"{name}.{a}" if name else a, f"{name}.{b}" if name else b])
    if pairs:
        tq.fuse_modules(model, pairs, inplace=True)


@contextlib.contextmanager
def _quantization() -> Iterator[None]:
    """fbgemm engine (packed weights) and torch.ao.quantization's deprecation warnings silenced, locally."""
    previous = torch.backends.quantized.engine
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*are deprecated.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao\..*")
        if ENGINE in torch.backends.quantized.supported_engines:
            torch.backends.quantized.engine = ENGINE
        try:
            yield
        finally:
            torch.backends.quantized.engine = previous


def _plain_copy(model: nn.Module) -> nn.Module:
    if any(parametrize.is_parametrized(m) for m in model.modules()):
        raise ValueError("model has parametrized weights: export it first (export_two_level)")
    return copy.deepcopy(model)


def dynamic_int8(model: nn.Module, per_channel: bool = False) -> nn.Module:
    """Deep copy with nn.Linear -> dynamic int8 and nn.Embedding -> weight-only int8 (float_qparams, per row), in
    one conversion; eval mode. Linear weights: symmetric int8 with one scale per tensor (default: smallest, since
    each per-channel row also saves a float64 scale and an int64 zero point) or per output channel. Linear + ReLU
    pairs in an nn.Sequential become one fused int8 Linear-ReLU."""
    out = _plain_copy(model).eval()
    with _quantization():
        _fuse_linear_relu(out)
        return tq.quantize_dynamic(out, _dynamic_spec(per_channel), inplace=True)


def prepare_qat(model: nn.Module, per_channel: bool = False) -> nn.Module:
    """Deep copy whose nn.Linear layers are dynamic-QAT Linears (8-bit fake-quantized weights, per tensor or per
    output channel as in :func:`dynamic_int8`, and inputs); embeddings stay float. Train it (e.g.
    ``train_ranker(..., model=prepared)``), then :func:`convert_qat`."""
    out = _plain_copy(model).train()
    qconfig = tq.QConfig(activation=_INPUT_FAKE_QUANT, weight=_weight_fake_quant(per_channel))
    for module in out.modules():
        if type(module) is nn.Linear:
            module.qconfig = qconfig
    with _quantization():
        return tq.prepare_qat(out, mapping={nn.Linear: nnqatd.Linear}, inplace=True)


def convert_qat(model: nn.Module) -> nn.Module:
    """A QAT-prepared model -> the int8 scoring model: each QAT Linear back to a float nn.Linear with its trained
    weights, then :func:`dynamic_int8` with the same granularity. The weight fake quant is a memoryless min/max
    observer with the dynamic observer's range and scale formula, so the int8 weights are exactly the values the
    fake quant produced; embeddings become weight-only int8."""
    qat = [m for m in model.modules() if isinstance(m, nnqatd.Linear)]
    if not qat:
        raise ValueError("convert_qat needs a model from prepare_qat (it has no QAT Linear layer)")
    per_channel = qat[0].weight_fake_quant.qscheme == torch.per_channel_symmetric
    out = copy.deepcopy(model)
    _replace_linears(out, lambda m: isinstance(m, nnqatd.Linear), lambda m: m.weight)
    for module in out.modules():  # prepare_qat left qconfig=None on the other modules: it would block conversion
        if hasattr(module, "qconfig"):
            del module.qconfig
    return dynamic_int8(out, per_channel=per_channel)


def _replace_linears(model: nn.Module, match: Callable[[nn.Module], bool], weight: Callable) -> None:
    """In place: every submodule ``match`` selects -> a plain nn.Linear with ``weight(module)`` and its bias."""
    modules = dict(model.named_modules())
    for name, module in list(modules.items()):
        if name and match(module):
            plain = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None)
            with torch.no_grad():
                plain.weight.copy_(weight(module))
                if module.bias is not None:
                    plain.bias.copy_(module.bias)
            parent, _, child = name.rpartition(".")
            setattr(modules[parent], child, plain)


# ------------------------------------------------------------------ two-level bit width


def _check_bits(low_bits: int, high_bits: int) -> None:
    if not 2 <= low_bits < high_bits <= 8:
        raise ValueError(f"low_bits={low_bits}, high_bits={high_bits}: need 2 <= low_bits < high_bits <= 8 "
                         "(the high grid must fit int8 for the export)")  # fmt: skip


class TwoLevelFakeQuant(nn.Module):
    """Parametrization of a Linear weight W [out, in] with a fixed boolean ``low_mask``: per output row r,
    s_low[r] = max |W[r, low]| / (2^(low_bits-1) - 1) and s_high[r] likewise over the other weights with
    high_bits; each weight is snapped to clamp(round(w / s), -q, q) * s of its level (symmetric, q = 2^(b-1) - 1
    levels per side). The forward is W + (snap(W) - W).detach(): snapped values, identity gradient (STE)."""

    def __init__(self, low_mask: torch.Tensor, low_bits: int, high_bits: int) -> None:
        super().__init__()
        _check_bits(low_bits, high_bits)
        self.low_bits, self.high_bits = int(low_bits), int(high_bits)
        self.register_buffer("low_mask", low_mask.bool(), persistent=False)  # regenerated from the seed

    def scales(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s_low [out], s_high [out]); a row without weights of a level (or all zero) gets scale 1."""
        a = weight.detach().abs()
        out = []
        for mask, bits in ((self.low_mask, self.low_bits), (~self.low_mask, self.high_bits)):
            top = torch.where(mask, a, torch.zeros_like(a)).amax(dim=1) / (2 ** (bits - 1) - 1)
            out.append(torch.where(top > 0, top, torch.ones_like(top)))
        return out[0], out[1]

    def snap(self, weight: torch.Tensor) -> torch.Tensor:
        s_low, s_high = self.scales(weight)
        q_low, q_high = 2 ** (self.low_bits - 1) - 1, 2 ** (self.high_bits - 1) - 1
        w = weight.detach()
        low = torch.clamp(torch.round(w / s_low[:, None]), -q_low, q_low) * s_low[:, None]
        high = torch.clamp(torch.round(w / s_high[:, None]), -q_high, q_high) * s_high[:, None]
        return torch.where(self.low_mask, low, high)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + (self.snap(weight) - weight).detach()


def two_level_mask(shape: tuple[int, int], low_fraction: float, seed: int, index: int) -> torch.Tensor:
    """The low-bit mask of the ``index``-th Linear (module order): exactly round(low_fraction * numel) weights,
    a uniform random subset drawn by a torch.Generator seeded with ``seed * 1_000_003 + index``."""
    numel = shape[0] * shape[1]
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(index))
    mask = torch.zeros(numel, dtype=torch.bool)
    mask[torch.randperm(numel, generator=gen)[: round(low_fraction * numel)]] = True
    return mask.view(shape)


def apply_two_level(
    model: nn.Module, low_bits: int = 4, high_bits: int = 8, low_fraction: float = 0.5, seed: int = 7
) -> nn.Module:
    """Deep copy whose every nn.Linear weight is parametrized by :class:`TwoLevelFakeQuant`; train it as usual
    (``train_ranker(..., model=copy)``), then :func:`export_two_level` / :func:`two_level_size_bytes`."""
    _check_bits(low_bits, high_bits)
    if not 0.0 <= low_fraction <= 1.0:
        raise ValueError(f"low_fraction={low_fraction}: low_fraction must be in [0, 1]")
    out = _plain_copy(model)
    linears = [m for m in out.modules() if type(m) is nn.Linear]
    if not linears:
        raise ValueError("model has no nn.Linear layer to quantize")
    for index, linear in enumerate(linears):
        mask = two_level_mask(tuple(linear.weight.shape), low_fraction, seed, index)
        parametrize.register_parametrization(linear, "weight", TwoLevelFakeQuant(mask, low_bits, high_bits))
    return out


def _two_level_params(model: nn.Module) -> list[tuple[nn.Module, TwoLevelFakeQuant]]:
    found = []
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight"):
            fq = [p for p in module.parametrizations.weight if isinstance(p, TwoLevelFakeQuant)]
            if fq:
                found.append((module, fq[0]))
    if not found:
        raise ValueError("model has no two-level weights: build it with apply_two_level")
    return found


def export_two_level(model: nn.Module) -> nn.Module:
    """Scoring model: a copy with every two-level Linear replaced by a plain nn.Linear holding the snapped weights,
    then per-channel :func:`dynamic_int8` (both grids have <= 2^7 - 1 levels per side, so int8 holds them; the
    conversion re-scales each row to max|w| / 127.5, a rounding of at most half an int8 step per weight)."""
    _two_level_params(model)
    out = copy.deepcopy(model)  # parametrized copies share their generated class with the original: never call
    # remove_parametrizations on a copy; swap in plain Linears holding the snapped weights instead
    _replace_linears(out, lambda m: parametrize.is_parametrized(m, "weight"), lambda m: m.weight)
    return dynamic_int8(out.eval(), per_channel=True)


def two_level_size_bytes(model: nn.Module) -> int:
    """Packed bytes of a two-level model: per parametrized weight ceil((n_low * low_bits + n_high * high_bits) / 8)
    plus two fp32 scales per output row (the mask is regenerated from the seed, not stored); every other parameter
    and persistent buffer (biases, embeddings, normalisation) as stored (numel * element size)."""
    total, counted = 0, set()
    for module, fq in _two_level_params(model):
        n_low = int(fq.low_mask.sum())
        n_high = fq.low_mask.numel() - n_low
        total += math.ceil((n_low * fq.low_bits + n_high * fq.high_bits) / 8) + 2 * fq.low_mask.shape[0] * 4
        counted.add(id(module.parametrizations.weight.original))
    for tensor in list(model.parameters()) + [b for _, b in _persistent_buffers(model)]:
        if id(tensor) not in counted:
            total += tensor.numel() * tensor.element_size()
    return total


def _persistent_buffers(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    for name, module in model.named_modules():
        for buf_name, buf in module.named_buffers(recurse=False):
            if buf_name not in module._non_persistent_buffers_set:
                yield f"{name}.{buf_name}", buf


# ------------------------------------------------------------------ measurement


def serialized_size(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())`` into memory (quantized modules save packed int8 weights)."""
    buffer = io.BytesIO()
    with _quantization():
        torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def latency(fn: Callable, *args, repeats: int = 7, warmup: int = 2) -> float:
    """Median wall-clock seconds of ``fn(*args)`` over ``repeats`` calls after ``warmup`` untimed ones."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats={repeats}, warmup={warmup}: need repeats >= 1 and warmup >= 0")
    for _ in range(warmup):
        fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_blocks(fn: Callable[[int, int], object], n: int, block: int, repeats: int = 3) -> tuple[list, float]:
    """Do a pass's work and measure its latency in one go: ``fn(lo, hi)`` over consecutive blocks [0, block),
    [block, 2 block), ... of ``n`` rows, each timed. Returns (the blocks' results in order, latency seconds =
    the median time of the full blocks). With fewer than ``repeats`` full blocks, the first block (or all n rows,
    when n < block) is timed ``repeats`` more times and their median is the latency (results discarded), as
    :func:`latency` would time a sample: scoring the rows once is then cheap anyway."""
    if block < 1 or repeats < 1 or n < 0:
        raise ValueError(f"block={block}, repeats={repeats}, n={n}: need block >= 1, repeats >= 1, n >= 0")
    results, full_times = [], []
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        start = time.perf_counter()
        results.append(fn(lo, hi))
        if hi - lo == block:
            full_times.append(time.perf_counter() - start)
    if len(full_times) >= repeats:
        return results, statistics.median(full_times)
    sample = min(block, n)
    return results, (latency(fn, 0, sample, repeats=repeats, warmup=0) if sample else 0.0)
