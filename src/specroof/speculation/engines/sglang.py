"""SGLang: ``python3 -m sglang.launch_server`` with one static speculative setting per server;
acceptance from its accept length (:mod:`specroof.speculation.engines.sglang_metrics`).

``--speculative-algorithm`` (this engine's spellings in ``method_names.toml``) with
``--speculative-draft-model-path``, ``--speculative-num-steps``, ``--speculative-eagle-topk``,
``--speculative-num-draft-tokens`` (server arguments, docs.sglang.io; see ``docs/plan.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from specroof.speculation.drafting import TreeShape
from specroof.speculation.engines.engine import ENGINES, Engine, MetricsReader, Spelling, spellings_of
from specroof.speculation.engines.sglang_metrics import parse_sglang
from specroof.speculation.launch import (
    command,
    is_tree,
    max_batch_for,
    sglang_flags,
    static_choice,
    target_ref,
    tree_at,
    weights_ref,
)

if TYPE_CHECKING:
    from specroof.speculation.plan import PlanResult

_STATIC = [
    "# SGLang takes ONE static setting per server (no batch-size table): pick the line for the batch",
    "# sizes you serve most (each line caps --max-running-requests at the largest planned batch its",
    "# setting fits at). Recent SGLang can adapt the draft depth at run time instead",
    "# (--speculative-adaptive with --speculative-adaptive-config FILE; EAGLE with",
    "# --speculative-eagle-topk 1, driven by the measured acceptance, per batch-size range).",
]


def write(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """One launch line per batch range (SGLang's setting is static per server)."""
    lines = list(_STATIC)
    if not spelling.supported:
        return lines + [SGLANG.refusal(spelling)]
    algorithm = [spelling.option, str(spelling.name)]
    model = weights_ref(p, spelling)
    if model is not None:
        algorithm += ["--speculative-draft-model-path", model]
    if spelling.note:
        lines.append(f"# {spelling.note}")
    server = ["python3", "-m", "sglang.launch_server", "--model-path", target_ref(p)]
    for label, k in static_choice(ranges):
        flags, notes = sglang_flags(p, max(max_batch_for(p, k, ranges), 1))
        lines += [line for line in notes if line not in lines]
        if k == 0:
            lines.append(f"# {label}: speculation off, launch without --speculative-algorithm:")
            lines.append(command(*server, *flags))
            continue
        n = k + 1
        tree = tree_at(p, n) if is_tree(p) else TreeShape(k, 1, n)
        shape = ["--speculative-num-steps", str(tree.steps), "--speculative-eagle-topk", str(tree.topk)]
        spec = [*algorithm, *(shape if spelling.draft_shape else []), "--speculative-num-draft-tokens", str(n)]
        lines.append(f"# {label}: n = {n} tokens verified per step")
        lines.append(command(*server, *flags, *spec))
    return lines


SGLANG = ENGINES.register(Engine(
    name="sglang", display_name="SGLang", description="sglang.launch_server, one static speculative setting per server",
    write=write, spellings=spellings_of("sglang"), profile="sglang", kernel_backend="sglang",
    metrics=MetricsReader("sglang", "sglang:FILE[:N]", parse_sglang)))
