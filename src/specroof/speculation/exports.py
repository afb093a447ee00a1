"""A plan as an engine's own configuration: one writer per engine in :mod:`specroof.speculation.engines`.

:func:`export_table` asks the engines registry for the engine and for its spelling of the plan's
drafting method (data: ``speculation/engines/method_names.toml``), writes the common header
(schedule, settings, context) and lets the engine's writer add its launch. Every launch also
carries the plan's tensor parallelism, dtypes, batch cap and CUDA-graph sizes, quoted so that it
can be pasted (:mod:`specroof.speculation.launch`). A plan where nothing fits gets no export
(SpecroofError); batch sizes that do not fit are left out of the schedule and the batch cap.
"""

from __future__ import annotations

from specroof.errors import SpecroofError
from specroof.speculation.engines import ENGINES
from specroof.speculation.launch import comment_safe, max_batch
from specroof.speculation.launch_parallel import layout_label
from specroof.speculation.plan import PlanResult, batch_ranges


def export_table(plan_result: PlanResult, engine: str, seq_len: int | None = None,
                 min_gain: float | None = None) -> list[list[int]] | str:
    """The plan as an engine configuration.

    ``json``: the list ``[[start_batch, end_batch, k], ...]`` (see :func:`batch_ranges`).
    ``vllm`` / ``sglang`` / ``trtllm`` (any engine with a writer): text with the ranges and the
    engine's own options. An engine without a spelling of the plan's method is a SpecroofError
    naming the engine, the method and the methods it runs.
    """
    chosen = ENGINES.get(str(engine).strip().lower())
    spelling = chosen.spell(plan_result.method)
    ranges = batch_ranges(plan_result, seq_len, min_gain)
    if chosen.write is None:
        return ranges
    if plan_result.setup is None:
        raise SpecroofError("this plan has no resolved settings (tp, dtypes) to export; run specroof.plan() again")
    body = chosen.write(plan_result, ranges, spelling)
    return "\n".join(comment_safe(line) for line in _header(plan_result, ranges, seq_len) + body)


def _header(p: PlanResult, ranges: list[list[int]], seq_len: int | None) -> list[str]:
    if seq_len is not None or p.seq_len.size == 1:
        context = f"seq_len {seq_len if seq_len is not None else int(p.seq_len[0])}"
    else:
        context = (f"seq_len {', '.join(map(str, p.seq_len))} (per batch size, the n with the best "
                   "geometric-mean speedup over them)")
    s = p.setup
    lines = [f"# specroof plan: {p.model} on {p.hardware_display} x {s.tp} ({layout_label(s)}), "
             f"{s.activation_dtype} activations, {s.weight_dtype} weights, {s.kv_dtype} KV cache, acceptance "
             f"{p.acceptance.describe()}, {p.drafting.describe()}, {context}",
             f"# planned batch sizes: {', '.join(map(str, p.batch))}; between two of them the smaller one's k applies;",
             f"# k switches only for a speedup gain above {100 * p.min_gain:g}% (--min-gain), never grows with batch"]
    top = max_batch(ranges)
    if top < int(p.batch.max()):
        lines.append(f"# batch sizes above {top} do not fit in {p.capacity_gb:.0f} GB per device (or the context): "
                     f"the schedule and the batch cap stop at {top}")
    lines += ["#", "#   batch sizes     k (speculative tokens)   n (verified per step)"]
    for start, end, k in ranges:
        label = f"{start}-{end}" if end != start else f"{start}"
        what = f"{k}" if k else "0 (speculation off)"
        lines.append(f"#   {label:<15} {what:<24} {k + 1}")
    lines.append("#")
    return lines
