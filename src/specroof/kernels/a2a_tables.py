"""The database's expert-parallel all-to-all tables, read into the ``a2a`` schema.

Three table shapes measure the same two calls (dispatch, combine) of DeepEP-style kernels:

- SGLang ``comm/sglang/<v>/wideep_deepep_ll_perf.parquet``: low-latency mode, columns
  ``dispatch_avg_t_us`` / ``combine_avg_t_us`` (microseconds) per ``num_token`` per rank;
- SGLang ``wideep_deepep_normal_perf.parquet``: normal mode, ``dispatch_transmit_us`` /
  ``combine_transmit_us`` per SM budget (``dispatch_sms``); we keep DeepEP's default budget of
  20 SMs (``deep_ep.Buffer.num_sms``), else the fastest measured;
- vLLM and TensorRT-LLM ``moe_a2a_perf.parquet``: ``comm_backend`` ``deepep_ll`` /
  ``deepep_ht`` (``trtllm_deepep_*``), ``phase``, ``ep_size``, ``latency`` in microseconds;
  TensorRT-LLM's 16-bit rows only (``comm_dtype`` bfloat16).

Only single-node rows (``node_num`` 1). SGLang's tables do not state the rank count: it is the
``ep_size`` the vLLM and TensorRT-LLM tables of the same GPU state (8 on HGX boards, 4 on a
GB200/GB300 tray).
"""

from __future__ import annotations

import os

import numpy as np

import specroof.kernels.schema as schema
from specroof.kernels import database as db

A2A = "a2a"
DEEPEP_DEFAULT_SMS = 20
"""SMs DeepEP's normal kernels use unless told otherwise (``deep_ep.Buffer.num_sms = 20``)."""
RANKS_PER_NODE = {"gb200": 4, "gb300": 4}
"""GPUs of one NVLink node the single-node tables ran on (others: 8), as the same GPU's
``moe_a2a`` tables state in ``ep_size``."""

_FILES = {"sglang": ("wideep_deepep_ll_perf.parquet", "wideep_deepep_normal_perf.parquet"),
          "vllm": ("moe_a2a_perf.parquet",), "trtllm": ("moe_a2a_perf.parquet",)}
_MODES = {"deepep_ll": "low_latency", "deepep_ht": "normal", "trtllm_deepep_ll": "low_latency",
          "trtllm_deepep_ht": "normal"}


def a2a_versions(gpu: str, engine: str, root: str | os.PathLike | None = None) -> list[str]:
    """Versions (oldest first) of ``engine``'s all-to-all tables on ``gpu``."""
    base = db.data_root(root) / gpu / "comm" / engine
    if engine not in _FILES or not base.is_dir():
        return []
    found = [v.name for v in base.iterdir() if all((v / f).is_file() for f in _FILES[engine])]
    return sorted(found, key=db.version_key)


def load_a2a(gpu: str, engine: str, version: str, root: str | os.PathLike | None = None) -> np.ndarray:
    """One (gpu, engine, version)'s all-to-all rows in the ``a2a`` schema."""
    pandas = db._pandas()
    folder = db.data_root(root) / gpu / "comm" / engine / version
    frames = [pandas.read_parquet(folder / name) for name in _FILES[engine]]
    if engine == "sglang":
        ranks = RANKS_PER_NODE.get(gpu, 8)
        parts = [_sglang_ll(frames[0], ranks), _sglang_normal(frames[1], ranks)]
    else:
        parts = [_moe_a2a(frames[0])]
    return np.concatenate([p for p in parts if len(p)]) if any(len(p) for p in parts) else schema.empty(A2A)


def _rows(kernel, mode, phase, ranks, hidden, topk, experts, tokens, latency) -> np.ndarray:
    n = len(np.asarray(latency))
    full = (lambda v: np.full(n, v) if np.ndim(v) == 0 else np.asarray(v))
    return schema.from_columns(A2A, dict(kernel=full(kernel), mode=full(mode), phase=full(phase), ranks=full(ranks),
                                         hidden=full(hidden), topk=full(topk), num_experts=full(experts),
                                         num_tokens=full(tokens), latency_us=full(latency)))


def _sglang_ll(df, ranks: int) -> np.ndarray:
    df = df[df["node_num"] == 1]
    return np.concatenate([
        _rows("deepep", "low_latency", phase, ranks, df["hidden_size"], df["num_topk"], df["num_experts"],
              df["num_token"], df[f"{phase}_avg_t_us"].to_numpy(dtype=float))
        for phase in ("dispatch", "combine")])


def _sglang_normal(df, ranks: int) -> np.ndarray:
    df = df[df["node_num"] == 1]
    keys = ["hidden_size", "num_topk", "num_experts", "num_token"]
    parts = []
    for phase in ("dispatch", "combine"):
        sms = df[f"{phase}_sms"]
        chosen = df[sms == DEEPEP_DEFAULT_SMS] if (sms == DEEPEP_DEFAULT_SMS).any() else df
        best = chosen.groupby(keys, as_index=False)[f"{phase}_transmit_us"].min()
        parts.append(_rows("deepep", "normal", phase, ranks, best["hidden_size"], best["num_topk"],
                           best["num_experts"], best["num_token"], best[f"{phase}_transmit_us"].to_numpy(dtype=float)))
    return np.concatenate(parts)


def _moe_a2a(df) -> np.ndarray:
    keep = (df["node_num"] == 1) & df["comm_backend"].isin(list(_MODES))
    if "comm_dtype" in df.columns:
        keep &= df["comm_dtype"].isin(["bfloat16", "default"])
    df = df[keep]
    keys = ["comm_backend", "phase", "ep_size", "hidden_size", "topk", "num_experts", "num_tokens"]
    best = df.groupby(keys, as_index=False)["latency"].min()  # the faster SM budget where two were measured
    modes = [_MODES[b] for b in best["comm_backend"]]
    return _rows("deepep", modes, best["phase"], best["ep_size"], best["hidden_size"], best["topk"],
                 best["num_experts"], best["num_tokens"], best["latency"].to_numpy(dtype=float))
