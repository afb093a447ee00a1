"""Inference engines a plan is exported to: one module per engine, registered in :data:`ENGINES`.

The built-in engines, in the order the CLI and the explorer list them: ``vllm``, ``sglang``,
``trtllm`` (launch commands and configuration) and ``json`` (the batch-size schedule alone), then
the simulators that read a plan: ``dynamo-mocker`` (Dynamo mocker's speculative flags) and
``llm-d-sim`` (a latency profile for llm-d's inference simulator).
Each engine's spelling of each drafting method is data (``method_names.toml``); its acceptance
reader, where it reports acceptance, is a :class:`MetricsReader` (``vllm-metrics:FILE``,
``sglang:FILE``). The recipe for adding an engine is the docstring of :data:`ENGINES`
(:mod:`specroof.speculation.engines.engine`).
"""

from __future__ import annotations

# Importing a member registers it: this order is the order the CLI and the explorer list them.
# isort: off
from specroof.speculation.engines import vllm, sglang, trtllm, schedule_json  # noqa: F401
from specroof.speculation.engines import dynamo_mocker, llmd_sim  # noqa: F401  (interop: other simulators)
# isort: on
from specroof.speculation.engines.engine import (
    ENGINES,
    Engine,
    ExportWriter,
    MetricsReader,
    Spelling,
    metrics_kinds,
    metrics_reader,
    metrics_readers,
    spelling,
    spellings_of,
)

__all__ = ["ENGINES", "Engine", "ExportWriter", "MetricsReader", "Spelling", "metrics_kinds", "metrics_reader",
           "metrics_readers", "spelling", "spellings_of"]
