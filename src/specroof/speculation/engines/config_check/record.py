"""What ``specroof check`` reads from an engine's configuration, and what it reports.

A :class:`ServeConfig` is the engine-neutral reading of one launch: the settings the traps
look at (draft length, batch cap, CUDA-graph sizes, token budget, parallelism, context), each
with the words saying where its value came from (the config, or the engine's default). A
:class:`Finding` is one line of the report: a check, its status and, for a trap, the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OK, TRAP, UNKNOWN, NA = "ok", "TRAP", "unknown", "n/a"
"""A check passed, found a trap, could not tell from the config (the detail says what to set),
or does not apply to this engine or method."""


@dataclass(frozen=True)
class Finding:
    """One row of the report: ``check`` (its name), ``status`` (ok, TRAP or unknown), ``detail``
    (what was read and what it means) and ``fix`` (for a trap: what to change)."""

    check: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Setting:
    """A value read from the config, or the engine's default (``value`` None: unknown), and
    where it came from, in words (``--max-num-seqs``, ``vLLM default``)."""

    value: int | None
    origin: str

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Capture:
    """The CUDA graphs an engine captures: ``unit`` "tokens" (vLLM: a decode step of b
    sequences runs b x (k + 1) tokens) or "requests" (SGLang, TensorRT-LLM: graphs sized per
    request, the draft tokens included). ``sizes``: the captured sizes when the config lists
    them; ``largest``: the largest captured (None: unknown); ``disabled``: no graphs at all,
    by choice (eager mode); ``context_cap``: the longest context graphs are used for, when the
    config sets one (vLLM's ``--max-seq-len-to-capture``)."""

    unit: str
    largest: Setting
    sizes: tuple[int, ...] | None = None
    disabled: str = ""
    context_cap: int | None = None


@dataclass(frozen=True)
class ServeConfig:
    """One engine launch as the traps read it.

    ``k``: draft tokens per step (the largest when a schedule varies it); ``schedule``: the
    per-batch draft lengths ``[[start, end, k], ...]`` when the config has one; ``max_seqs``:
    the batch cap (sequences decoded at once); ``budget``: tokens one step may schedule
    (None for engines whose decode step is not capped so); ``served_context``: the longest
    context served; ``draft``: the draft checkpoint named (an HF id or path), if any.
    ``schedule_downgrade``: (why, fix) when the engine itself runs a per-batch schedule with
    lesser CUDA graphs (vLLM's V1 model runner: piecewise only), else empty.
    ``assumption``: the hardware whose engine defaults filled unset settings, and
    ``alternatives``: the same launch read with the defaults of other hardware (vLLM's batch
    defaults depend on the GPU): a check is decided only where every reading agrees.
    """

    engine: str
    label: str
    method: str
    k: int
    max_seqs: Setting
    capture: Capture
    tp: int = 1
    draft_tp: Setting = field(default_factory=lambda: Setting(None, "not set"))
    budget: Setting | None = None
    schedule: tuple[tuple[int, int, int], ...] | None = None
    schedule_note: str = ""
    schedule_downgrade: tuple[str, str] = ("", "")
    served_context: Setting = field(default_factory=lambda: Setting(None, "not set"))
    draft: str = ""
    draft_context: Setting = field(default_factory=lambda: Setting(None, "not set"))
    notes: tuple[str, ...] = ()
    assumption: str = ""
    alternatives: tuple[ServeConfig, ...] = ()

    def effective_schedule(self) -> list[tuple[int, int, int]]:
        """The draft length at every batch size up to the cap: the schedule clipped to
        ``max_seqs`` (batch sizes past its last range keep that range's k), or one k."""
        cap = self.max_seqs.value
        if self.schedule is None:
            return [(1, cap or 1, self.k)]
        ranges = [(s, e, k) for s, e, k in self.schedule if cap is None or s <= cap]
        if cap is not None:
            ranges = [(s, min(e, cap), k) for s, e, k in ranges]
            if ranges and ranges[-1][1] < cap:
                start, _, k = ranges[-1]
                ranges[-1] = (start, cap, k)
        return ranges
