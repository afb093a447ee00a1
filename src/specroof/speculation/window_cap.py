"""explain's "window cap" line: what a model's windowed layers do to the cost of verification.

Verifying ``n`` candidates at context ``s`` makes a full-attention layer read ``s + n`` keys;
a sliding or chunked layer reads at most ``W + n - 1`` (:mod:`specroof.cost.architectures.windows`)
and caches at most as many tokens. So past the window the windowed layers' attention stops
growing with the context, and what verification adds there is the ``n - 1`` extra queries and
keys only. The line reports both kinds of layer side by side, at the explained point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.cost.architectures.windows import chunk_keys, window_keys
from specroof.cost.operation import ATTENTION, WINDOW_ATTENTION
from specroof.cost.setup import StepSetup
from specroof.cost.step import StepLatency


def _ms(step: StepLatency, name: str) -> float:
    return float(np.asarray(step.ops_ms[name])[0, 0, 0]) if name in step.ops_ms else 0.0


def window_cap(setup: StepSetup, spec_step: StepLatency, plain_step: StepLatency) -> dict[str, Any] | None:
    """The window cap at one point (None for a model without windowed layers): layers, window,
    keys a windowed and a full layer read at verification, the tokens a windowed layer caches,
    and the milliseconds each kind of attention adds from the plain step to verification."""
    m = setup.model
    if not m.window_layers:
        return None
    n, s = float(spec_step.candidates[0]), float(spec_step.seq_len[0])
    keys = float(window_keys(m.attention_window, np.asarray(s), np.asarray(n)))
    cap = {
        "kind": m.window_kind, "window_tokens": m.attention_window, "window_layers": m.window_layers,
        "layers": m.num_layers, "keys_windowed": keys, "keys_full": s + n, "cached_tokens_windowed": keys,
        "capped": keys < s + n,
        "window_added_ms": _ms(spec_step, WINDOW_ATTENTION.name) - _ms(plain_step, WINDOW_ATTENTION.name),
        "full_added_ms": _ms(spec_step, ATTENTION.name) - _ms(plain_step, ATTENTION.name),
    }
    if m.window_kind == "chunked":
        cap["keys_chunk_exact"] = float(chunk_keys(m.attention_window, np.asarray(s), np.asarray(n)))
    return cap


def describe(cap: dict[str, Any]) -> str:
    """The one line explain prints."""
    state = ("capped: the context is past the window, so these layers' reads no longer grow with it"
             if cap["capped"] else "not capped yet: the context is within the window")
    exact = (f" (chunked: priced at the chunk's top; this exact step reads {cap['keys_chunk_exact']:.0f})"
             if "keys_chunk_exact" in cap else "")
    return (f"window cap: {cap['window_layers']} of {cap['layers']} layers attend within a {cap['kind']} window of "
            f"{cap['window_tokens']:,} tokens and read {cap['keys_windowed']:,.0f} keys per sequence at "
            f"verification{exact}, the full layers {cap['keys_full']:,.0f} ({state}); verification adds "
            f"{cap['window_added_ms'] * 1e3:+.1f} us in window_attention and {cap['full_added_ms'] * 1e3:+.1f} us "
            "in attention")
