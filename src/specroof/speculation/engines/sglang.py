"""SGLang: ``python3 -m sglang.launch_server``; acceptance from its accept length
(:mod:`specroof.speculation.engines.sglang_metrics`).

``--speculative-algorithm`` (this engine's spellings in ``method_names.toml``) with
``--speculative-draft-model-path``, ``--speculative-num-steps``, ``--speculative-eagle-topk``,
``--speculative-num-draft-tokens`` (server arguments, docs.sglang.io; see ``docs/plan.md``).

SGLang has no batch-size table of draft lengths. Its per-batch form is adaptive steps:
``--speculative-adaptive`` with ``--speculative-adaptive-config FILE`` (JSON; key
``candidate_steps``, read by ``python/sglang/srt/speculative/adaptive_spec_params.py``
``load_adaptive_config``), merged in PR #21599 (2026-03, EAGLE / EAGLE3 with
``--speculative-eagle-topk 1``), batch-size aware since PR #24055 (2026-05); it picks among the
candidate steps at run time from the measured acceptance, so the export offers it the plan's k
values. STANDALONE and NGRAM support were still open PRs (#23519, #23629) and trees are not
adaptive: for those, and for SGLang before PR #21599, the export writes the one-k form, one
static launch per batch range.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from specroof.speculation.drafting import TreeShape
from specroof.speculation.engines.engine import ENGINES, Engine, MetricsReader, Spelling, spellings_of
from specroof.speculation.engines.sglang_metrics import parse_sglang
from specroof.speculation.launch import (
    command,
    is_tree,
    max_batch,
    max_batch_for,
    sglang_flags,
    static_choice,
    target_ref,
    tree_at,
    weights_ref,
)

if TYPE_CHECKING:
    from specroof.speculation.plan import PlanResult

ADAPTIVE_ALGORITHMS = ("EAGLE", "EAGLE3", "NEXTN")
"""The algorithms SGLang adapts the step count of (PR #21599: the EAGLE worker with topk 1;
NEXTN runs on it)."""

_STATIC = [
    "# SGLang takes ONE static setting per server (no batch-size table): pick the line for the batch",
    "# sizes you serve most (each line caps --max-running-requests at the largest planned batch its",
    "# setting fits at).",
]
_ADAPTIVE = [
    "# SGLang has no batch-size table; its per-batch form is adaptive steps (--speculative-adaptive,",
    "# merged in PR #21599, 2026-03; batch-size aware since PR #24055, 2026-05; EAGLE, EAGLE3 and NEXTN",
    "# with --speculative-eagle-topk 1): it chooses the step count at run time from the measured",
    "# acceptance among candidate_steps, here the plan's k values (where it cannot adapt, e.g. with DP",
    "# attention, PR #23289, it keeps the launch's largest k). Save as adaptive.json:",
]


def write(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """Adaptive steps over the plan's k values where SGLang has them, else one launch per range."""
    if not spelling.supported:
        return [*_STATIC, SGLANG.refusal(spelling)]
    algorithm = [spelling.option, str(spelling.name)]
    model = weights_ref(p, spelling)
    if model is not None:
        algorithm += ["--speculative-draft-model-path", model]
    server = ["python3", "-m", "sglang.launch_server", "--model-path", target_ref(p)]
    notes = [f"# {spelling.note}"] if spelling.note else []
    steps = sorted({k for _, _, k in ranges if k > 0})
    if len(steps) > 1 and spelling.name in ADAPTIVE_ALGORITHMS and not is_tree(p):
        flags, flag_notes = sglang_flags(p, max_batch(ranges))
        chain = ["--speculative-num-steps", str(steps[-1]), "--speculative-eagle-topk", "1",
                 "--speculative-num-draft-tokens", str(steps[-1] + 1)]
        lines = [*flag_notes, *notes, *_ADAPTIVE, "# " + json.dumps({"candidate_steps": steps}),
                 command(*server, *flags, *algorithm, *chain, "--speculative-adaptive",
                         "--speculative-adaptive-config", "adaptive.json"),
                 "# SGLang before PR #21599 (one static setting per server): uncomment the line of the batch sizes "
                 "you serve most:"]
        return lines + ["# " + line if not line.startswith("#") else line
                        for line in _static_lines(p, ranges, spelling, server, algorithm)]
    why = [] if len(steps) <= 1 else [f"# no per-batch form in SGLang for {spelling.name}"
                                      f"{' trees' if is_tree(p) else ''} (adaptive steps: "
                                      f"{', '.join(ADAPTIVE_ALGORITHMS)} chains only): one launch per batch range."]
    return [*_STATIC, *why, *notes, *_static_lines(p, ranges, spelling, server, algorithm)]


def _static_lines(p: PlanResult, ranges: list[list[int]], spelling: Spelling, server: list[str],
                  algorithm: list[str]) -> list[str]:
    """One launch line per batch range (SGLang's static setting), capped where its k fits."""
    lines: list[str] = []
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
    name="sglang", display_name="SGLang",
    description="sglang.launch_server: adaptive steps over the plan's k, or one static setting per server",
    write=write, spellings=spellings_of("sglang"), profile="sglang", kernel_backend="sglang",
    metrics=MetricsReader("sglang", "sglang:FILE[:N]", parse_sglang)))
