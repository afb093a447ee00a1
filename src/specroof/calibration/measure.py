"""The measurement harness behind ``specroof measure``: time real verification steps.

It builds a decoder with the exact shapes of a model and random weights (a step's latency does
not depend on weight values) and times one speculative verification step per grid point
``(batch, candidates, seq_len)``: every one of ``batch`` sequences has ``seq_len`` tokens in
its KV cache and feeds ``candidates`` new tokens. Per layer, in order (the same recipe as the
shared H200 measurements, ``measurements/README.md``):

1. RMSNorm computed in fp32 and cast back;
2. one fused QKV projection (``q_dim + 2 * kv_dim`` outputs, so GQA shapes are exact);
3. RoPE on q and k (chunk/cat);
4. the new k, v written in place into a preallocated KV cache at ``[seq_len, seq_len + n)``;
5. ``scaled_dot_product_attention`` of the ``n`` queries against ``seq_len + n`` keys, with a
   boolean tree mask when ``n > 1`` (prefix visible, lower-triangular over the candidates) and
   no mask when ``n == 1``; grouped-query attention as Hugging Face transformers runs it:
   ``enable_gqa=True`` without a mask, K/V ``repeat_interleave``-d with one (a masked
   ``enable_gqa`` call would fall back to SDPA's unfused math kernel); recorded as ``gqa_mode``;
6. O projection and residual add;
7. RMSNorm, fused gate+up projection, SiLU * up, down projection, residual add. A
   mixture-of-experts layer instead runs a router GEMM and top-k, then the experts that
   received tokens on exactly the tokens routed to them.

then a final RMSNorm and the LM head over all ``batch * candidates`` tokens.

MoE routing: to keep every step's tensor shapes static (so it can be captured in a CUDA
graph) the assignment of tokens to experts is drawn once per grid point by the random router
on random hidden states (close to uniform routing); the router GEMM and top-k still run in
every step, their output only weights the expert outputs.

Timing: ``warmup`` runs, then the median of ``repeats`` runs, timed with CUDA events on CUDA
(``time.perf_counter`` on the CPU). On CUDA the step is captured in a CUDA graph and replayed
by default. ``ops_ms`` times each operator class on its own over all layers' weights (so the
weights stream from memory as in the real step), in its own graph: ``qkv_proj``, ``o_proj``,
``gate_up_proj``, ``down_proj``, ``attention`` (SDPA; in ``repeat_interleave`` mode the K/V
repeat too) and ``lm_head`` (once).

torch is imported only inside functions: ``import specroof.calibration.measure`` is cheap.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from specroof.calibration.measurements import OP_NAMES, Measurement
from specroof.errors import SpecroofError
from specroof.datafiles import looks_like_path
from specroof.models.architecture import ModelConfig, load_model

GB = 1e9
DTYPE_BYTES = {"fp16": 2, "bf16": 2, "fp32": 4}
_DTYPE_ALIASES = {
    "fp16": "fp16", "float16": "fp16", "half": "fp16",
    "bf16": "bf16", "bfloat16": "bf16",
    "fp32": "fp32", "float32": "fp32", "float": "fp32",
}
_TORCH_DTYPE = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
_RMS_EPS = 1e-6
#: Slack on the activation estimate: temporaries of eager kernels, allocator rounding.
_ACTIVATION_SLACK = 1.5
#: Bytes the CUDA context, cuBLAS workspaces and allocator fragmentation take outside our tensors.
_CUDA_RESERVE = 1.5 * 2**30


@dataclass(frozen=True)
class SkippedPoint:
    """A grid point that was not measured, and why (e.g. it does not fit in memory)."""

    batch: int
    candidates: int
    seq_len: int
    reason: str

    def describe(self) -> str:
        return f"batch={self.batch} candidates={self.candidates} seq_len={self.seq_len}: {self.reason}"


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one grid point needs: weights (shared by all points), KV cache, activations."""

    weights: int
    kv_cache: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.activations


class MeasureResult(NamedTuple):
    """What :func:`measure` returns: the measured rows and the skipped grid points."""

    measurements: list[Measurement]
    skipped: list[SkippedPoint]


# --------------------------------------------------------------------------- helpers


def normalize_dtype(dtype: str | None, device: str) -> str:
    """``fp16``/``bf16``/``fp32`` (aliases accepted); None picks fp16 on CUDA, fp32 on CPU."""
    if dtype is None:
        return "fp32" if device.startswith("cpu") else "fp16"
    key = str(dtype).strip().lower()
    if key not in _DTYPE_ALIASES:
        raise SpecroofError(f"--dtype must be one of fp16, bf16, fp32; got {dtype!r}")
    return _DTYPE_ALIASES[key]


def hardware_slug(device_name: str) -> str:
    """A catalog-style name from a device name: 'NVIDIA H200' -> 'h200'."""
    slug = re.sub(r"[^a-z0-9]+", "-", device_name.lower()).strip("-")
    slug = re.sub(r"^nvidia-", "", slug)
    return slug or "unknown"


def weight_bytes(model: ModelConfig, dtype: str = "fp16") -> int:
    """Bytes of the weights the harness allocates: every layer and the LM head, but no
    embedding table (the step starts from hidden states), so a tied model counts it once."""
    untied_head = 0 if model.tie_word_embeddings else model.vocab_size * model.hidden_size
    return DTYPE_BYTES[dtype] * (model.parameter_count() - untied_head)


def estimate_memory(model: ModelConfig, batch: int, candidates: int, seq_len: int,
                    dtype: str = "fp16", gqa_mode: str = "enable_gqa") -> MemoryEstimate:
    """Conservative memory estimate of one grid point, before anything is allocated.

    KV cache: ``2 * layers * batch * kv_heads * (seq_len + candidates) * head_dim`` elements.
    Activations: the step's largest temporaries summed (including an fp32 score matrix, in
    case attention falls back to the unfused math kernel), times a slack factor.
    """
    e = DTYPE_BYTES[dtype]
    b, n, s = batch, candidates, seq_len
    total_len = s + n
    t = b * n
    h, q, kv, d = model.hidden_size, model.q_dim, model.kv_dim, model.head_dim
    kv_cache = e * 2 * model.num_layers * b * model.num_kv_heads * total_len * d
    residual = 4 * t * h * e + 2 * t * h * 4  # hidden, residual sums, fp32 norm temporaries
    attention = (
        t * (q + 2 * kv) * e  # fused qkv output
        + 3 * t * (q + kv) * e  # RoPE chunk/cat temporaries
        + t * q * e  # attention output
        + 2 * b * model.num_heads * n * total_len * 4  # fp32 scores and probabilities (math path)
        + n * total_len  # boolean mask
    )
    if gqa_mode in ("repeat_interleave", "mask_aware") and model.num_kv_heads != model.num_heads:
        attention += 2 * b * model.num_heads * total_len * d * e
    if model.is_moe:
        routed = t * model.experts_per_token
        mlp = t * model.num_experts * 4 * 2 + routed * (2 * h + 4 * model.mlp_width) * e
    else:
        mlp = t * 2 * model.intermediate_size * e + 2 * t * model.intermediate_size * e
    lm_head = t * model.vocab_size * e + t * h * 4
    activations = int(_ACTIVATION_SLACK * (residual + attention + mlp + lm_head))
    return MemoryEstimate(weight_bytes(model, dtype), int(kv_cache), activations)


def _gb(nbytes: float) -> str:
    """Bytes as GB with three significant digits: '13.5 GB', '0.0512 GB'."""
    value = nbytes / GB
    return f"{value:.1f} GB" if value >= 100 else f"{value:.3g} GB"


def _as_int_list(values: int | Iterable[int], what: str) -> list[int]:
    items = [values] if isinstance(values, int) else list(values)
    out: list[int] = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise SpecroofError(f"{what} values must be positive integers, got {v!r}")
        if v not in out:
            out.append(v)
    if not out:
        raise SpecroofError(f"{what} needs at least one value")
    return out


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise SpecroofError("specroof measure needs torch: pip install 'specroof[measure]'") from None
    return torch


def _resolve_device(torch: Any, device: str) -> Any:
    key = str(device).strip().lower()
    if key == "cpu":
        return torch.device("cpu")
    if key == "cuda" or re.fullmatch(r"cuda:\d+", key):
        if not torch.cuda.is_available():
            why = " (this torch is a CPU-only build)" if torch.version.cuda is None else ""
            raise SpecroofError(
                f"--device {device}: no CUDA device is available to torch {torch.__version__}{why}; "
                "use --device cpu to measure on the CPU"
            )
        dev = torch.device(key)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SpecroofError(
                f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible"
            )
        return torch.device("cuda", dev.index if dev.index is not None else torch.cuda.current_device())
    raise SpecroofError(f"--device must be cuda, cuda:N or cpu, got {device!r}")


def check_device(device: str) -> str:
    """Raise SpecroofError unless torch is installed and ``device`` is usable; return its name."""
    torch = _import_torch()
    dev = _resolve_device(torch, device)
    return _device_name(torch, dev)


def _default_memory_limit(torch: Any, dev: Any) -> float | None:
    """Bytes we may allocate: free GPU memory less a reserve, or 70% of the host's RAM."""
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return max(free * 0.97 - _CUDA_RESERVE, 0.0)
    try:
        return 0.7 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _device_name(torch: Any, dev: Any) -> str:
    if dev.type == "cuda":
        return str(torch.cuda.get_device_name(dev))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _sdpa_has_enable_gqa(torch: Any) -> bool:
    f = torch.nn.functional
    q = torch.zeros(1, 2, 1, 4)
    k = torch.zeros(1, 1, 1, 4)
    try:
        f.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    except TypeError:
        return False
    return True


def _gqa_mode(torch: Any, model: ModelConfig, gqa: str) -> str:
    if model.num_kv_heads == model.num_heads:
        return "mha"
    if gqa == "repeat":
        return "repeat_interleave"
    has = _sdpa_has_enable_gqa(torch)
    if gqa == "enable_gqa" and not has:
        raise SpecroofError(f"torch {torch.__version__} has no enable_gqa in scaled_dot_product_attention")
    if gqa == "auto":
        # As Hugging Face transformers does: enable_gqa only without a mask (a masked
        # enable_gqa call falls back to SDPA's unfused math kernel), repeat_interleave with one.
        return "mask_aware" if has else "repeat_interleave"
    return "enable_gqa"


# --------------------------------------------------------------------------- the decoder


class _Decoder:
    """Random weights with a model's exact shapes, allocated once, stacked over layers."""

    def __init__(self, torch: Any, model: ModelConfig, dev: Any, dtype: Any, seed: int) -> None:
        self.torch = torch
        self.m = model
        self.dev = dev
        self.dtype = dtype
        self.gen = torch.Generator(device=dev)
        self.gen.manual_seed(seed)
        L, h = model.num_layers, model.hidden_size
        q, kv = model.q_dim, model.kv_dim
        self.norm1 = torch.ones(L, h, device=dev, dtype=dtype)
        self.norm2 = torch.ones(L, h, device=dev, dtype=dtype)
        self.final_norm = torch.ones(h, device=dev, dtype=dtype)
        self.wqkv = self._rand(L, q + 2 * kv, h)
        self.wo = self._rand(L, h, q)
        if model.is_moe:
            E, w = model.num_experts, model.mlp_width
            self.router = self._rand(L, E, h)
            self.wgu = self._rand(L, E, 2 * w, h)
            self.wd = self._rand(L, E, h, w)
        else:
            i = model.intermediate_size
            self.router = None
            self.wgu = self._rand(L, 2 * i, h)
            self.wd = self._rand(L, h, i)
        self.lm = self._rand(model.vocab_size, h)

    def _rand(self, *shape: int) -> Any:
        t = self.torch.empty(shape, device=self.dev, dtype=self.dtype)
        t.normal_(0.0, shape[-1] ** -0.5, generator=self.gen)
        return t

    def randn(self, *shape: int) -> Any:
        t = self.torch.empty(shape, device=self.dev, dtype=self.dtype)
        t.normal_(0.0, 1.0, generator=self.gen)
        return t


class _Point:
    """The per-point state of one step: KV cache, inputs, RoPE tables, mask, MoE routing."""

    def __init__(self, dec: _Decoder, batch: int, candidates: int, seq_len: int, gqa_mode: str) -> None:
        torch = dec.torch
        m = dec.m
        self.dec = dec
        self.b, self.n, self.s = batch, candidates, seq_len
        self.t = batch * candidates
        self.gqa_mode = gqa_mode
        total = seq_len + candidates
        self.kv = torch.zeros(
            m.num_layers, 2, batch, m.num_kv_heads, total, m.head_dim, device=dec.dev, dtype=dec.dtype
        )
        self.x = dec.randn(self.t, m.hidden_size)
        d = m.head_dim
        inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2, device=dec.dev, dtype=torch.float32) / d))
        pos = torch.arange(seq_len, total, device=dec.dev, dtype=torch.float32)
        ang = torch.outer(pos, inv)
        ang = torch.cat((ang, ang), dim=-1)
        self.cos = ang.cos().to(dec.dtype)
        self.sin = ang.sin().to(dec.dtype)
        if candidates > 1:
            mask = torch.ones(candidates, total, device=dec.dev, dtype=torch.bool)
            mask[:, seq_len:] = torch.tril(
                torch.ones(candidates, candidates, device=dec.dev, dtype=torch.bool)
            )
            self.mask = mask.view(1, 1, candidates, total)
        else:
            self.mask = None
        self.routes: list[list[tuple[int, Any, Any]]] = []
        if m.is_moe:
            self._route()

    def _route(self) -> None:
        """Draw once which tokens go to which expert, from the random router (static shapes)."""
        torch = self.dec.torch
        m = self.dec.m
        for layer in range(m.num_layers):
            probe = self.dec.randn(self.t, m.hidden_size)
            logits = torch.nn.functional.linear(probe, self.dec.router[layer]).float()
            idx = torch.topk(logits, m.experts_per_token, dim=-1).indices
            experts = []
            for e in torch.unique(idx).tolist():
                tok, slot = torch.nonzero(idx == e, as_tuple=True)
                experts.append((int(e), tok, slot))
            self.routes.append(experts)

    @property
    def active_experts(self) -> float:
        return sum(len(r) for r in self.routes) / max(len(self.routes), 1)

    # ---- pieces of a layer

    def rms(self, x: Any, weight: Any) -> Any:
        xf = x.float()
        xf = xf * self.dec.torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + _RMS_EPS)
        return xf.to(self.dec.dtype) * weight

    def rope(self, x: Any) -> Any:
        x1, x2 = x.chunk(2, dim=-1)
        return x * self.cos + self.dec.torch.cat((-x2, x1), dim=-1) * self.sin

    def attend(self, q: Any, k: Any, v: Any) -> Any:
        f = self.dec.torch.nn.functional
        mode = self.gqa_mode
        if mode == "mask_aware":
            mode = "enable_gqa" if self.mask is None else "repeat_interleave"
        if mode == "enable_gqa":
            return f.scaled_dot_product_attention(q, k, v, attn_mask=self.mask, enable_gqa=True)
        if mode == "repeat_interleave":
            rep = self.dec.m.num_heads // self.dec.m.num_kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        return f.scaled_dot_product_attention(q, k, v, attn_mask=self.mask)

    def mlp(self, layer: int, x: Any) -> Any:
        torch = self.dec.torch
        f = torch.nn.functional
        dec = self.dec
        if not dec.m.is_moe:
            gate, up = f.linear(x, dec.wgu[layer]).chunk(2, dim=-1)
            return f.linear(f.silu(gate) * up, dec.wd[layer])
        probs = f.linear(x, dec.router[layer]).float().softmax(dim=-1)
        weights = torch.topk(probs, dec.m.experts_per_token, dim=-1).values
        out = torch.zeros_like(x)
        for e, tok, slot in self.routes[layer]:
            gate, up = f.linear(x.index_select(0, tok), dec.wgu[layer, e]).chunk(2, dim=-1)
            y = f.linear(f.silu(gate) * up, dec.wd[layer, e])
            out.index_add_(0, tok, y * weights[tok, slot].unsqueeze(-1).to(dec.dtype))
        return out

    def step(self) -> Any:
        """One verification step: all layers, final norm and LM head; returns the logits."""
        f = self.dec.torch.nn.functional
        dec, m = self.dec, self.dec.m
        b, n, s, t = self.b, self.n, self.s, self.t
        q_dim, kv_dim, d = m.q_dim, m.kv_dim, m.head_dim
        hidden = self.x
        for layer in range(m.num_layers):
            qkv = f.linear(self.rms(hidden, dec.norm1[layer]), dec.wqkv[layer]).view(b, n, -1)
            q, k, v = qkv.split([q_dim, kv_dim, kv_dim], dim=-1)
            q = self.rope(q.view(b, n, m.num_heads, d).transpose(1, 2))
            k = self.rope(k.view(b, n, m.num_kv_heads, d).transpose(1, 2))
            v = v.view(b, n, m.num_kv_heads, d).transpose(1, 2)
            k_cache, v_cache = self.kv[layer, 0], self.kv[layer, 1]
            k_cache[:, :, s:s + n].copy_(k)
            v_cache[:, :, s:s + n].copy_(v)
            att = self.attend(q, k_cache, v_cache).transpose(1, 2).reshape(t, q_dim)
            hidden = hidden + f.linear(att, dec.wo[layer])
            hidden = hidden + self.mlp(layer, self.rms(hidden, dec.norm2[layer]))
        return f.linear(self.rms(hidden, dec.final_norm), dec.lm)

    # ---- operator classes alone, over all layers' weights

    def op_functions(self) -> dict[str, Callable[[], Any]]:
        torch = self.dec.torch
        f = torch.nn.functional
        dec, m = self.dec, self.dec.m
        L, t = m.num_layers, self.t
        x = self.x
        att_in = dec.randn(t, m.q_dim)
        q = dec.randn(self.b, m.num_heads, self.n, m.head_dim)
        if m.is_moe:
            routed = max((len(tok) for r in self.routes for _, tok, _ in r), default=1)
            act = dec.randn(routed, m.mlp_width)

            def gate_up() -> None:
                for layer in range(L):
                    for e, tok, _ in self.routes[layer]:
                        f.linear(x[: len(tok)], dec.wgu[layer, e])

            def down() -> None:
                for layer in range(L):
                    for e, tok, _ in self.routes[layer]:
                        f.linear(act[: len(tok)], dec.wd[layer, e])
        else:
            act = dec.randn(t, m.intermediate_size)

            def gate_up() -> None:
                for layer in range(L):
                    f.linear(x, dec.wgu[layer])

            def down() -> None:
                for layer in range(L):
                    f.linear(act, dec.wd[layer])

        def qkv_proj() -> None:
            for layer in range(L):
                f.linear(x, dec.wqkv[layer])

        def o_proj() -> None:
            for layer in range(L):
                f.linear(att_in, dec.wo[layer])

        def attention() -> None:
            for layer in range(L):
                self.attend(q, self.kv[layer, 0], self.kv[layer, 1])

        def lm_head() -> None:
            f.linear(x, dec.lm)

        fns = {
            "qkv_proj": qkv_proj, "o_proj": o_proj, "gate_up_proj": gate_up,
            "down_proj": down, "attention": attention, "lm_head": lm_head,
        }
        assert tuple(fns) == OP_NAMES
        return fns


# --------------------------------------------------------------------------- timing


def _capture_graph(torch: Any, fn: Callable[[], Any], dev: Any) -> Any:
    side = torch.cuda.Stream(dev)
    side.wait_stream(torch.cuda.current_stream(dev))
    with torch.cuda.stream(side):
        for _ in range(2):
            fn()
    torch.cuda.current_stream(dev).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph


def _ms(value: float) -> float:
    """Milliseconds rounded for the file: 4 decimals, or 3 significant digits below 0.01 ms."""
    return round(value, 4) if value >= 0.01 else float(f"{value:.3g}")


def _time_ms(torch: Any, fn: Callable[[], Any], dev: Any, warmup: int, repeats: int, graph: bool) -> float:
    """Median milliseconds of ``repeats`` runs of ``fn`` after ``warmup`` runs."""
    if dev.type != "cuda":
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)
    captured = _capture_graph(torch, fn, dev) if graph else None
    run = captured.replay if captured is not None else fn
    for _ in range(warmup):
        run()
    torch.cuda.synchronize(dev)
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    for start, end in zip(starts, ends):
        start.record()
        run()
        end.record()
    torch.cuda.synchronize(dev)
    times = [start.elapsed_time(end) for start, end in zip(starts, ends)]
    del run, captured
    torch.cuda.empty_cache()
    return statistics.median(times)


# --------------------------------------------------------------------------- the harness


def measure(
    model: str | Path | ModelConfig,
    batch: int | Sequence[int],
    candidates: int | Sequence[int],
    seq_len: int | Sequence[int],
    *,
    device: str = "cuda",
    dtype: str | None = None,
    repeats: int = 10,
    warmup: int = 3,
    cuda_graph: bool | None = None,
    eager_too: bool = False,
    ops: bool = True,
    max_memory_gb: float | None = None,
    hardware_name: str | None = None,
    gqa: str = "auto",
    seed: int = 0,
    progress: Callable[[int, int, int, Measurement | SkippedPoint], None] | None = None,
) -> MeasureResult:
    """Time one verification step at every ``batch x candidates x seq_len`` grid point.

    ``dtype``: fp16/bf16/fp32, default fp16 on CUDA and fp32 on the CPU. ``cuda_graph``:
    capture and replay the step (default: on for CUDA, not available on the CPU).
    ``eager_too`` also records ``eager_latency_ms``. ``ops`` times the six operator classes
    alone (``ops_ms``). ``max_memory_gb`` caps what one point may allocate (default: the GPU's
    free memory less a reserve, or 70% of the host's RAM); points estimated above it are
    skipped and returned in ``skipped``. ``gqa``: ``auto`` (``enable_gqa`` without a mask,
    ``repeat_interleave`` with one), ``enable_gqa`` (always) or ``repeat`` (always). ``progress(batch, candidates, seq_len, row_or_skip)`` is
    called after every point.
    """
    cfg = load_model(model)
    # Rows name the model so that validate/calibrate can load it again: the catalog name, or
    # the absolute path of the config.json it came from.
    model_ref = str(Path(model).resolve()) if looks_like_path(model, ".json") else cfg.name
    batches = _as_int_list(batch, "batch")
    cands = _as_int_list(candidates, "candidates")
    seqs = _as_int_list(seq_len, "seq_len")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise SpecroofError(f"repeats must be a positive integer, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise SpecroofError(f"warmup must be a non-negative integer, got {warmup!r}")
    if gqa not in ("auto", "enable_gqa", "repeat"):
        raise SpecroofError(f"gqa must be auto, enable_gqa or repeat, got {gqa!r}")
    if max_memory_gb is not None and not (max_memory_gb > 0 and math.isfinite(max_memory_gb)):
        raise SpecroofError(f"--max-memory-gb must be a positive number, got {max_memory_gb!r}")
    dt_name = normalize_dtype(dtype, str(device).strip().lower())
    if cfg.is_moe and cfg.experts_per_token <= 0:
        raise SpecroofError(f"model {cfg.name!r} is a mixture of experts without num_experts_per_tok")

    torch = _import_torch()
    dev = _resolve_device(torch, device)
    if cuda_graph is None:
        cuda_graph = dev.type == "cuda"
    if cuda_graph and dev.type != "cuda":
        raise SpecroofError("CUDA graphs need --device cuda; drop the CUDA-graph option on the CPU")
    torch_dtype = getattr(torch, _TORCH_DTYPE[dt_name])
    gqa_mode = _gqa_mode(torch, cfg, gqa)
    limit = max_memory_gb * GB if max_memory_gb is not None else _default_memory_limit(torch, dev)
    device_name = _device_name(torch, dev)
    hardware = hardware_name or (hardware_slug(device_name) if dev.type == "cuda" else "cpu")
    extra_common: dict[str, Any] = {
        "device": dev.type,
        "device_name": device_name,
        "torch_version": str(torch.__version__),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        "repeats": repeats,
        "warmup": warmup,
        "gqa_mode": gqa_mode,
    }
    if dev.type == "cuda" and torch.version.cuda:
        extra_common["cuda_version"] = str(torch.version.cuda)

    grid = list(itertools.product(batches, cands, seqs))
    measured: list[Measurement] = []
    skipped: list[SkippedPoint] = []

    def skip(b: int, n: int, s: int, reason: str) -> None:
        point = SkippedPoint(b, n, s, reason)
        skipped.append(point)
        if progress is not None:
            progress(b, n, s, point)

    wbytes = weight_bytes(cfg, dt_name)
    if limit is not None and wbytes > limit:
        for b, n, s in grid:
            skip(b, n, s, f"the weights alone need {_gb(wbytes)}, limit {_gb(limit)}")
        return MeasureResult(measured, skipped)

    oom_errors: tuple[type[BaseException], ...] = (MemoryError,)
    if hasattr(torch.cuda, "OutOfMemoryError"):
        oom_errors = (MemoryError, torch.cuda.OutOfMemoryError)

    with torch.inference_mode():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        try:
            decoder = _Decoder(torch, cfg, dev, torch_dtype, seed)
        except oom_errors:
            raise SpecroofError(
                f"out of memory allocating the {_gb(wbytes)} of {cfg.name} weights on {device}; "
                "lower --max-memory-gb or free the device"
            ) from None
        for b, n, s in grid:
            need = estimate_memory(cfg, b, n, s, dt_name, gqa_mode)
            if limit is not None and need.total > limit:
                skip(b, n, s, f"needs about {_gb(need.total)} (KV cache {_gb(need.kv_cache)}), "
                              f"limit {_gb(limit)}")
                continue
            point = None
            try:
                point = _Point(decoder, b, n, s, gqa_mode)
                latency = _time_ms(torch, point.step, dev, warmup, repeats, cuda_graph)
                eager = None
                if eager_too:
                    eager = _time_ms(torch, point.step, dev, warmup, repeats, False) if cuda_graph else latency
                ops_ms: dict[str, float] = {}
                if ops:
                    for name, fn in point.op_functions().items():
                        ops_ms[name] = _ms(_time_ms(torch, fn, dev, warmup, repeats, cuda_graph))
                extra = dict(extra_common)
                if gqa_mode == "mask_aware":  # what this point ran: a mask exactly when n > 1
                    extra["gqa_mode"] = "enable_gqa" if n == 1 else "repeat_interleave"
                if cfg.is_moe:
                    extra["active_experts"] = round(point.active_experts, 2)
                row = Measurement(
                    model=model_ref, hardware=hardware, dtype=dt_name, batch=b, candidates=n,
                    seq_len=s, latency_ms=_ms(latency), ops_ms=ops_ms, cuda_graph=bool(cuda_graph),
                    eager_latency_ms=None if eager is None else _ms(eager), extra=extra,
                )
            except oom_errors:
                point = None
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
                skip(b, n, s, f"out of memory (estimated {_gb(need.total)})")
                continue
            finally:
                del point
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                    torch.cuda.empty_cache()
            measured.append(row)
            if progress is not None:
                progress(b, n, s, row)
    return MeasureResult(measured, skipped)
