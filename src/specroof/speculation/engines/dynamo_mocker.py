"""``dynamo-mocker``: the plan's k and acceptance as NVIDIA Dynamo mocker's speculative flags.

Dynamo's mocker (``python -m dynamo.mocker``, and its offline replay) draws how many tokens each
decode step of a request emits: ``--aic-nextn N`` draft tokens (1 to 5) and
``--aic-nextn-accept-rates r1,...,rN``, where entry i is P(draft i accepted | all earlier drafts
accepted), padded with 0 or cut to N, and ``--aic-mtp-seed`` seeds the draws (the same keys
``aic_nextn``, ``aic_nextn_accept_rates``, ``aic_mtp_seed`` in its engine-args JSON). Read in
``ai-dynamo/dynamo``: ``lib/mocker/src/common/speculative.rs`` (commit fa0a9ec8: the sampler
and the 1..5 bound), the mocker's CLI tests (``--aic-nextn``, ``--aic-nextn-accept-rates``,
``--aic-mtp-seed``) and the mocker guide ("add deterministic speculative-token burst sampling to
the scheduler simulation"). The mocker takes one N per worker: no per-batch table. Its step
time comes from its own timing source (a polynomial, ``--planner-profile-data`` or
``--aic-perf-model``), not from this plan.

The rates come from the plan's acceptance model: with ``tau(n)`` the expected tokens of a step
verifying n, ``q_i = tau(i + 1) - tau(i)`` is the chance the first i drafts are accepted and
``r_i = q_i / q_(i-1)``, so the mocker's mean tokens per step is the plan's ``tau(k + 1)``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from specroof.speculation import profile_json
from specroof.speculation.engines.engine import ENGINES, Engine, Spelling
from specroof.speculation.launch import command, is_tree, max_batch_for, static_choice, target_ref

if TYPE_CHECKING:
    from specroof.speculation.plan import PlanResult

MAX_NEXTN = 5
"""The mocker's bound on ``aic_nextn`` (``normalize_conditional_accept_rates``: 1..=5)."""


def conditional_rates(p: PlanResult, k: int) -> list[float]:
    """``r_1..r_k``: P(draft i accepted | drafts 1..i-1 accepted), from the plan's tau(n)."""
    tau = np.asarray(p.acceptance.tau(np.arange(1, k + 2)), dtype=float)
    reach = np.clip(np.diff(tau), 0.0, 1.0)  # q_i: the first i drafts accepted (the marginal rates)
    return [float(r) for r in np.clip(profile_json.conditional_rates([float(q) for q in reach]), 0.0, 1.0)]


def write(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """One ``python -m dynamo.mocker`` launch per k of the schedule."""
    lines = ["# Dynamo mocker: --aic-nextn N draft tokens (1-5), --aic-nextn-accept-rates r1,...,rN where ri is",
             "# P(draft i accepted | all earlier accepted), --aic-mtp-seed for the draws (ai-dynamo/dynamo",
             "# lib/mocker/src/common/speculative.rs). Step times come from the mocker's own timing source",
             "# (polynomial, --planner-profile-data, or --aic-perf-model with the --aic-* model flags)."]
    if is_tree(p):
        lines.append("# warning: this plan verifies token trees; the mocker draws one chain per step. The rates "
                     "keep the plan's mean tokens per step, not its tree's verification cost.")
    choices = static_choice(ranges)
    if len(choices) > 1:
        lines.append("# The mocker runs one aic_nextn per worker (no per-batch table): one launch per range of the "
                     "schedule; uncomment the one of the batch sizes you serve most.")
    for label, k in choices:
        lines += _launch(p, k, max(max_batch_for(p, k, ranges), 1), label, commented=len(choices) > 1)
    return lines


def _launch(p: PlanResult, k: int, cap: int, label: str, commented: bool) -> list[str]:
    lead = "# " if commented else ""
    base = ["python", "-m", "dynamo.mocker", "--model-path", target_ref(p), "--max-num-seqs", cap]
    if k == 0:
        return [f"# {label}: speculation off:", lead + command(*base)]
    lines = [f"# {label}: k = {k}, {p.acceptance.describe()}:"]
    if k > MAX_NEXTN:
        lines.append(f"# warning: the mocker samples at most {MAX_NEXTN} draft tokens; the plan's k = {k} is "
                     f"written as {MAX_NEXTN} (its first {MAX_NEXTN} rates)")
        k = MAX_NEXTN
    rates = ",".join(f"{r:.4g}" for r in conditional_rates(p, k))
    args = {"max_num_seqs": cap, "aic_nextn": k, "aic_nextn_accept_rates": rates, "aic_mtp_seed": 0}
    return lines + [lead + command(*base, "--aic-nextn", k, "--aic-nextn-accept-rates", rates, "--aic-mtp-seed", 0),
                    f"#   the same as --extra-engine-args JSON: {json.dumps(args)}"]


ENGINES.register(Engine(
    name="dynamo-mocker", display_name="Dynamo mocker",
    description="python -m dynamo.mocker --aic-nextn K --aic-nextn-accept-rates (conditional rates from the plan)",
    write=write, any_method=True))
