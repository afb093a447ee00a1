"""Regenerate the golden numbers of the cost model: ``python tests/golden/generate.py``.

Every model of the recorded catalog (``MODELS``) x two accelerators x every shipped profile x a
small grid, plus tensor parallelism, fp8 weights, eager launches, drafting and memory footprints,
computed through the public API only. ``tests/test_golden.py`` recomputes them and requires the same numbers, so a
refactoring of the cost model cannot change a result silently; an intended change (a bug
fix) regenerates this file in the commit that names the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import specroof
from specroof.speculation.footprint import memory_footprint

HERE = Path(__file__).parent
GOLDEN = HERE / "golden.json"
GRID = {"batch": [1, 64], "candidates": [1, 5, 64], "seq_len": [128, 4096]}
# Priced with unmodelled keys allowed (warned), so a catalog entry with one still has its case.
ALLOW = {"allow_unmodelled": True}
MODELS = ("glm-4.5-air", "llama-13b", "llama-160m", "llama-2-13b", "llama-2-70b", "llama-2-7b", "llama-3-70b",
          "llama-3-8b", "llama-3.1-70b", "llama-3.1-8b", "llama-3.2-1b", "llama-33b", "llama-65b", "llama-68m",
          "llama-7b", "mistral-7b", "mixtral-8x7b", "qwen2.5-0.5b", "qwen2.5-72b", "qwen2.5-7b", "qwen3-0.6b",
          "qwen3-8b", "vicuna-13b", "vicuna-33b", "vicuna-7b")
"""The catalog as it was when the numbers were recorded: models added to the catalog later (the
frontier models, whose builders are still changing) do not enter the golden file."""
HARDWARE = ("h200", "a100-80gb-pcie")
PROFILES = ("serving", "pytorch-sdpa", "medusa-appendix-g")  # the profiles of 901fab1
DRAFTING = (  # (model, method, draft model)
    ("llama-7b", "heads", None), ("llama-3-8b", "draft", "llama-3.2-1b"),
    ("mixtral-8x7b", "heads", None), ("vicuna-13b", "draft", "llama-68m"),
)


def _numbers(array: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(array, dtype=float).ravel()]


def cases() -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for model in MODELS:
        for hw in HARDWARE:
            for profile in PROFILES:
                variants = [("", {})]
                if profile == "serving":
                    variants += [("tp2", {"tp": 2}), ("fp8w", {"weight_dtype": "fp8"})]
                if profile == "pytorch-sdpa":
                    variants += [("eager", {"cuda_graph": False})]
                for tag, options in variants:
                    r = specroof.latency(model, hw, profile=profile, **GRID, **options, **ALLOW)
                    case = {"latency_ms": _numbers(r.latency_ms)}
                    for op, v in r.ops_ms.items():
                        case[f"ops_ms.{op}"] = _numbers(v)
                    if profile == "serving" and not tag:
                        for op in r.flops:
                            case[f"flops.{op}"] = _numbers(r.flops[op])
                            case[f"bytes.{op}"] = _numbers(r.bytes[op])
                    out[f"latency/{model}/{hw}/{profile}/{tag}"] = case
        mem = memory_footprint(model, "h200", **GRID, **ALLOW)
        out[f"memory/{model}"] = {"total_bytes": _numbers(mem.total_bytes),
                                  "activation_bytes": _numbers(mem.activation_bytes),
                                  "weights_bytes": [float(mem.weights_bytes)]}
    for model, method, draft in DRAFTING:
        for profile in PROFILES:
            for hw in HARDWARE:
                s = specroof.speedup(model, hw, **GRID, acceptance="chain:0.8", method=method,
                                     draft_model=draft, profile=profile, **ALLOW)
                out[f"speedup/{model}/{method}/{hw}/{profile}"] = {
                    "speedup": _numbers(s.speedup), "latency_ms": _numbers(s.latency_ms),
                    "draft_ms": _numbers(s.draft_ms), "ar_latency_ms": _numbers(s.ar_latency_ms)}
        mem = memory_footprint(model, "h200", **GRID, method=method, draft_model=draft,
                               heads=5 if method == "heads" else None, **ALLOW)
        out[f"memory/{model}/{method}"] = {"total_bytes": _numbers(mem.total_bytes),
                                           "draft_weights_bytes": [float(mem.draft_weights_bytes)]}
    return out


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(cases(), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size / 1e3:.0f} kB)")
