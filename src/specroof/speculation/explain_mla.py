"""``explain``'s line for multi-head latent attention: what verification adds on the absorbed path.

On the absorbed path every query head of a sequence attends over the same cached latent, so
the kernel reads the cache once per sequence and packs ``queries x heads`` into rows of
:data:`~specroof.cost.pricing_mla.MLA_BLOCK_ROWS` (FlashMLA's tile): with few heads per GPU (high
tensor parallelism) the verified tokens fill rows the plain step leaves padded and cost little;
with many heads they add whole tiles of compute on a kernel already near its compute roof.
Under DSA each query reads at most ``index_topk`` tokens, while the indexer scans the whole context.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from specroof.cost.operation import DRAFTING, DSA_INDEXER, KV_B_PROJ, MLA_ATTENTION, MLA_BMM
from specroof.cost.parallel import attention_setup
from specroof.cost.pricing_mla import MLA_BLOCK_ROWS, absorbed_path
from specroof.cost.setup import StepSetup
from specroof.cost.step import StepLatency

LATENT_OPERATIONS = (MLA_ATTENTION.name, MLA_BMM.name, KV_B_PROJ.name, DSA_INDEXER.name)


def _ms(step: StepLatency, names: tuple[str, ...]) -> float:
    return sum(float(np.asarray(step.ops_ms[name])[0, 0, 0]) for name in names if name in step.ops_ms)


def mla_path(setup: StepSetup, spec_step: StepLatency, plain_step: StepLatency) -> dict[str, Any] | None:
    """The latent attention of one point at the plain step and at verification (None unless MLA):
    the path, query rows and tiles per sequence, the milliseconds the latent operations grow
    by, the verification's bound, and under DSA the tokens each query reads."""
    m = setup.model
    if not m.is_mla:
        return None
    n, s = int(spec_step.candidates[0]), int(spec_step.seq_len[0])
    heads = attention_setup(setup).q_heads  # DP attention: the attention group's heads
    target = [op for op in spec_step.operations if op.operation.group != DRAFTING and op.name == MLA_ATTENTION.name]
    bound = str(target[0].bound[0, 0, 0]) if target else ""
    names = tuple(name for name in LATENT_OPERATIONS if _ms(spec_step, (name,)) or _ms(plain_step, (name,)))
    return {
        "path": "absorbed" if m.is_dsa or bool(absorbed_path(n)) else "naive",
        "heads_per_gpu": heads, "rows_plain": heads, "rows_verify": heads * n,
        "tiles_plain": math.ceil(heads / MLA_BLOCK_ROWS), "tiles_verify": math.ceil(heads * n / MLA_BLOCK_ROWS),
        "latent_elements": m.kv_lora_rank + m.qk_rope_head_dim, "operations": list(names),
        "plain_ms": _ms(plain_step, names), "verify_ms": _ms(spec_step, names), "bound_verify": bound,
        "dsa_keys_per_query": min(s + n, m.index_topk) if m.is_dsa else None, "context": s + n,
    }


def mla_line(note: dict[str, Any]) -> str:
    """One line of explain's header for :func:`mla_path`'s record."""
    added = note["verify_ms"] - note["plain_ms"]
    line = (f"MLA {note['path']} path: {note['rows_verify']} query rows per sequence at verification "
            f"({note['heads_per_gpu']} heads per GPU) over one {note['latent_elements']}-element latent per token, "
            f"{note['tiles_verify']} tile(s) of {MLA_BLOCK_ROWS} rows vs {note['tiles_plain']} for the plain step: "
            f"+{added:.3f} ms in {', '.join(note['operations'])} ({note['bound_verify']}-bound at verification)")
    if note["dsa_keys_per_query"] is not None:
        line += (f"; DSA: each query reads {note['dsa_keys_per_query']} of the {note['context']} tokens, "
                 "the indexer scans all of them")
    return line
