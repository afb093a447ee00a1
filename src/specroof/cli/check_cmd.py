"""``specroof check CONFIG``: the speculation traps of an engine's config, each with its fix.

Reads a vLLM ``--speculative-config`` JSON or ``vllm serve`` line, an SGLang launch line or
a TensorRT-LLM ``extra_llm_api_options`` YAML (:mod:`specroof.speculation.engines.config_check`).
Exit status: 0 when no trap is found, 1 when one is, 2 for an unreadable config (one
``error:`` line).
"""

from __future__ import annotations

from pathlib import Path

import click

from specroof.cli.common import emit, format_option
from specroof.datafiles import read_text
from specroof.speculation.engines.config_check import TRAP, check_text, model_facts


@click.command()
@click.argument("config", metavar="CONFIG")
@click.option("--engine", type=click.Choice(["vllm", "sglang", "trtllm"]), default=None,
              help="Read CONFIG as this engine's (default: told from the file).")
@click.option("--model", "-m", default=None, metavar="NAME|config.json",
              help="The target model: its MTP modules (num_nextn_predict_layers) and context window.")
@click.option("--draft-model", default=None, metavar="NAME|config.json",
              help="The draft model or head: its context window (max_position_embeddings).")
@click.option("--trained-k", type=click.IntRange(min=1), default=None, metavar="N",
              help="Draft steps the EAGLE head was trained for, from its model card (else trained_depth.toml).")
@format_option
def check(config: str, engine: str | None, model: str | None, draft_model: str | None, trained_k: int | None,
          fmt: str) -> None:
    """Report the speculative-decoding traps of an engine config, each with its fix.

    CONFIG is a vLLM --speculative-config JSON or `vllm serve ...` line, an SGLang
    `python -m sglang.launch_server ...` line, or a TensorRT-LLM extra_llm_api_options YAML
    (what `specroof plan --export ENGINE` writes reads back clean). Checked: CUDA-graph sizes
    against max_num_seqs x (K + 1), the token budget, a per-batch schedule's graphs, draft TP,
    K against the trained draft depth, and the draft's context window. Exit status 0: no
    trap; 1: traps found; 2: unreadable config.

    \b
    Example:
      specroof check serve.sh --model deepseek-v3/config.json
    """
    text = read_text(Path(config), f"config {config!r}")
    reports = check_text(text, config, engine, model_facts(model, draft_model, trained_k))
    rows = [{"launch": r.config.label, "engine": r.config.engine, "method": r.config.method, "k": r.config.k,
             "check": f.check, "status": f.status, "detail": f.detail, "fix": f.fix}
            for r in reports for f in r.findings]
    traps = sum(len(r.traps) for r in reports)
    columns = ["check", "status", "detail", "fix"] if len(reports) == 1 else ["launch", "check", "status", "detail",
                                                                             "fix"]
    first = reports[0].config
    title = (f"specroof check: {config} ({first.engine}, method {first.method}, K = {first.k}"
             f"{'' if len(reports) == 1 else f'; {len(reports)} launches'}): "
             f"{traps} trap{'s' if traps != 1 else ''}")
    emit(rows, fmt, table_columns=columns, title=title)
    if fmt == "table" and traps == 0:
        checked = ", ".join(dict.fromkeys(row["check"] for row in rows))
        unknown = sum(row["status"] == "unknown" for row in rows)
        told = f"; {unknown} could not tell from the config (the unknown rows say what to give)" if unknown else ""
        click.echo(f"\nno speculation traps found (checked: {checked}){told}")
    if any(row["status"] == TRAP for row in rows):
        raise click.exceptions.Exit(1)
