"""``specroof models`` and ``specroof hardware``: the catalogs with their key figures."""

from __future__ import annotations

from typing import Any

import click

from specroof.cli.common import emit, format_option
from specroof.hardware.accelerator import catalog_names as hardware_names
from specroof.hardware.accelerator import load_hardware
from specroof.models.architecture import catalog_names as model_names
from specroof.models.architecture import load_model


@click.command()
@format_option
def models(fmt: str) -> None:
    """List the model catalog (any Hugging Face config.json also works as --model)."""
    rows = []
    for name in model_names():
        m = load_model(name)
        count = m.parameter_count()
        params: Any = _human_count(count) if fmt == "table" else float(f"{count / 1e9:.4g}")
        rows.append({
            "name": name, "params" if fmt == "table" else "params_b": params, "layers": m.num_layers,
            "hidden": m.hidden_size, "intermediate": m.mlp_width, "heads": m.num_heads,
            "kv_heads": m.num_kv_heads, "head_dim": m.head_dim, "vocab": m.vocab_size,
            "experts": f"{m.experts_per_token}/{m.num_experts}" if m.is_moe else "-",
        })
    emit(rows, fmt, title="Model catalog (params: M = million, B = billion; experts = active/total)")


def _human_count(count: float) -> str:
    """68.0M, 6.74B, 69.0B: three significant figures and a unit."""
    value, unit = (count / 1e9, "B") if count >= 1e9 else (count / 1e6, "M")
    return (f"{value:#.3g}".rstrip(".") if value < 1000 else f"{value:,.0f}") + unit


@click.command()
@format_option
def hardware(fmt: str) -> None:
    """List the accelerator catalog (dense peaks; any .toml profile also works as --hardware)."""
    rows = []
    for name in hardware_names():
        a = load_hardware(name)
        rows.append({
            "name": name, "device": a.display_name, "memory_gb": a.memory_gb,
            "bandwidth_gbps": a.memory_bandwidth_gbps, "fp16_tflops": a.peak_tflops.get("fp16"),
            "fp8_tflops": a.peak_tflops.get("fp8"), "int8_tops": a.peak_tflops.get("int8"),
            "sms": a.sm_count, "interconnect_gbps": a.interconnect_gbps,
        })
    emit(rows, fmt, title="Accelerator catalog (dense tensor throughput)")
