"""Click options for the cost-model settings, shared by latency, speedup and plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from specroof.cli.common import parse_int_list


def grid_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--batch, --candidates, --seq-len (comma lists, a..b powers of two, or start:stop:step)."""
    func = click.option("--seq-len", "seq_len", default=None, metavar="LIST",
                        help="Tokens already in the KV cache, e.g. 1024 or 128..8192. [default: 1024]")(func)
    func = click.option("--candidates", default=None, metavar="LIST",
                        help="Candidate tokens verified per sequence (1 = plain decoding), e.g. 1,16,64. [default: 1]")(func)
    func = click.option("--batch", default=None, metavar="LIST",
                        help="Batch sizes, e.g. 1,2,4 or 1..64. [default: 1]")(func)
    return func


def model_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--model, --hardware and the implementation options of the cost model."""
    options = [
        click.option("--ops", "operators", default=None, metavar="LIST",
                     help="Only these operators (e.g. qkv_proj,attention,gate_up_proj,down_proj)."),
        click.option("--tp", type=int, default=None, help="Tensor-parallel devices. [default: 1]"),
        click.option("--profile", default=None,
                     help="Implementation profile: serving, pytorch-sdpa, medusa-appendix-g. [default: serving]"),
        click.option("--cuda-graph/--eager", "cuda_graph", default=None,
                     help="Step replayed as a CUDA graph, or launched eagerly from Python."),
        click.option("--attention", type=click.Choice(["fused", "unfused"]), default=None,
                     help="fused: flash-style; unfused: score matrix through memory."),
        click.option("--kv-dtype", default=None, help="KV-cache dtype (fp16, bf16, fp8, int8). [default: dtype]"),
        click.option("--weight-dtype", default=None,
                     help="Weight dtype (fp16, bf16, fp8, int8, int4). [default: dtype]"),
        click.option("--dtype", default=None, help="Activation/compute dtype: fp16, bf16, fp8. [default: fp16]"),
        click.option("--hardware", "-H", default=None, metavar="NAME|FILE",
                     help="Accelerator: catalog name (specroof hardware) or a .toml file (e.g. from calibrate)."),
        click.option("--model", "-m", default=None, metavar="NAME|FILE",
                     help="Model: catalog name (specroof models) or a Hugging Face config.json."),
    ]
    for option in options:
        func = option(func)
    return func


def collect_step_options(values: dict[str, Any]) -> dict[str, Any]:
    """The cost-model keyword options given on the command line (None = not given)."""
    keys = ("dtype", "weight_dtype", "kv_dtype", "attention", "cuda_graph", "profile", "tp")
    options = {k: values[k] for k in keys if values.get(k) is not None}
    if values.get("operators"):
        options["operators"] = [op.strip() for op in values["operators"].split(",") if op.strip()]
    return options


def parse_grid(values: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, list[int]]:
    """Grid axes from the options, falling back to ``defaults`` (a scenario) then 1/1/1024."""
    defaults = defaults or {}
    fallback = {"batch": [1], "candidates": [1], "seq_len": [1024]}
    grid = {}
    for key, flag in (("batch", "batch"), ("candidates", "candidates"), ("seq_len", "seq-len")):
        if values.get(key) is not None:
            grid[key] = parse_int_list(values[key], flag)
        elif key in defaults:
            grid[key] = list(defaults[key])
        else:
            grid[key] = fallback[key]
    return grid
