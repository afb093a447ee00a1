"""``specroof check``: read an engine's speculative-decoding config and report its traps.

The readers (one module per engine: :mod:`.vllm_config`, :mod:`.sglang_config`,
:mod:`.trtllm_config`) turn a vLLM ``--speculative-config`` JSON or ``vllm serve`` line, an
SGLang ``launch_server`` line or a TensorRT-LLM ``extra_llm_api_options`` YAML into
:class:`ServeConfig` records (:mod:`.detect` tells which engine); the trap rules
(:mod:`.traps`, :mod:`.schedule_traps`, :mod:`.draft_traps`) each give one :class:`Finding`.
Every check is reported, so a clean config says what was checked. See ``docs/check.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from specroof.models.architecture import load_model
from specroof.speculation.engines.config_check.detect import ENGINE_NAMES, read_config
from specroof.speculation.engines.config_check.draft_traps import (
    DraftFacts,
    context_check,
    depth_check,
    draft_tp_check,
)
from specroof.speculation.engines.config_check.record import NA, OK, TRAP, UNKNOWN, Finding, ServeConfig
from specroof.speculation.engines.config_check.schedule_traps import schedule_check
from specroof.speculation.engines.config_check.traps import budget_check, capture_check

__all__ = ["ENGINE_NAMES", "NA", "OK", "TRAP", "UNKNOWN", "CheckReport", "DraftFacts", "Finding", "ServeConfig",
           "check_text", "model_facts"]


@dataclass(frozen=True)
class CheckReport:
    """The findings of one launch, in a fixed order (one per check)."""

    config: ServeConfig
    findings: tuple[Finding, ...]

    @property
    def traps(self) -> list[Finding]:
        return [f for f in self.findings if f.status == TRAP]


def check_text(text: str, where: str, engine: str | None = None, facts: DraftFacts | None = None
               ) -> list[CheckReport]:
    """Every launch in ``text`` with its findings."""
    facts = facts or DraftFacts()
    checks: list[Callable[[ServeConfig], Finding]] = [
        capture_check, budget_check, schedule_check, draft_tp_check,
        lambda c: depth_check(c, facts), lambda c: context_check(c, facts)]
    return [CheckReport(cfg, tuple(_decide(check, cfg) for check in checks)) for cfg in read_config(text, where, engine)]


def _decide(check: Callable[[ServeConfig], Finding], cfg: ServeConfig) -> Finding:
    """The check's finding when every reading of the launch agrees (the engine's defaults for
    each hardware class, :attr:`ServeConfig.alternatives`), else ``unknown`` saying how it differs."""
    readings = [(c.assumption, check(c)) for c in (cfg, *cfg.alternatives)]
    first = readings[0][1]
    if len({f.status for _, f in readings}) == 1:
        return first
    told = "; ".join(f"on {where}: {f.status}, {f.detail}" for where, f in readings)
    fix = next((f.fix for _, f in readings if f.status == TRAP), "")
    return Finding(first.check, UNKNOWN, f"depends on the engine's defaults for the GPU: {told}",
                   f"{fix}; or set the limits explicitly" if fix else "set the limits explicitly")


def model_facts(model: str | None, draft_model: str | None, trained_k: int | None) -> DraftFacts:
    """The facts the drafter checks need, from the target's and the draft's configs (a catalog
    name or a config.json path, read as ``--model`` is everywhere)."""
    target = load_model(model) if model else None
    draft = load_model(draft_model) if draft_model else None
    return DraftFacts(mtp_layers=target.mtp_layers if target else None,
                      target_context=target.max_position_embeddings if target else None,
                      draft_context=draft.max_position_embeddings if draft else None, trained_k=trained_k)
