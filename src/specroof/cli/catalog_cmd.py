"""``specroof models`` and ``specroof hardware``: the catalogs with their key figures."""

from __future__ import annotations

from typing import Any

import click

from specroof.cli.common import emit, format_option
from specroof.hardware.accelerator import catalog_names as hardware_names
from specroof.hardware.accelerator import load_hardware
from specroof.models.architecture import catalog_names as model_names
from specroof.models.architecture import load_model
from specroof.models.cards import cards
from specroof.speculation.methods.checkpoints import drafting_options, drafting_rows

_TITLE = ("Model catalog (params: M = million, B = billion, as priced; card: the model card's total; "
          "unmodelled: config keys not priced yet, see docs/model-inputs.md; experts = active/total)")


@click.command()
@format_option
@click.option("--drafting", "drafting", is_flag=True,
              help="List each model's drafting checkpoints instead: its MTP layers and published EAGLE-3 heads, "
                   "with their draft vocabulary and sources (n-gram lookup needs none).")
def models(fmt: str, drafting: bool) -> None:
    """List the model catalog (any Hugging Face config.json also works as --model)."""
    if drafting:
        emit([row for name in model_names() for row in drafting_rows(load_model(name))], fmt,
             title="Drafting checkpoints (eagle3 prices the first head listed for a model unless --draft-vocab)")
        return
    emit([_model_row(name, fmt) for name in model_names()], fmt, title=_TITLE)


def _model_row(name: str, fmt: str) -> dict[str, Any]:
    """One model's figures; the table shows sizes in words, machine formats in billions."""
    m = load_model(name)
    count, card = m.parameter_count(), cards().get(name)
    stated = card.total_params_b if card else None
    table = fmt == "table"
    about_card = {} if table else {"card_active_params_b": card.active_params_b if card else None,
                                   "card_covers": card.covers if card else None}
    return {
        "name": name, "params" if table else "params_b": _human_count(count) if table else float(f"{count / 1e9:.4g}"),
        "card" if table else "card_params_b": (_human_count(stated * 1e9) if stated else "-") if table else stated,
        **about_card,
        "layers": m.num_layers, "hidden": m.hidden_size, "intermediate": m.mlp_width, "heads": m.num_heads,
        "kv_heads": m.num_kv_heads, "head_dim": m.head_dim, "vocab": m.vocab_size,
        "experts": f"{m.experts_per_token}/{m.num_experts}" if m.is_moe else "-",
        "unmodelled" if table else "unmodelled_keys": (len(m.unmodelled) or "-") if table else [f.key for f in m.unmodelled],
        "drafting": ", ".join(drafting_options(m)) if table else drafting_options(m),
    }


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
