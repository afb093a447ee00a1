"""``specroof report``: a study as one self-contained HTML file (needs the ``web`` extra)."""

from __future__ import annotations

from typing import Any

import click

from specroof.app.settings import grid_options, model_options, speculation_options
from specroof.datafiles import refuse_overwriting_inputs
from specroof.errors import SpecroofError


@click.command()
@speculation_options
@model_options
@grid_options
@click.option("--max-candidates", type=int, default=None, metavar="N",
              help="Largest n the plan searches. [default: the grid's largest candidates]")
@click.option("--explain-batch", "focus_batch", type=int, default=None, metavar="B",
              help="Batch size the waterfall and roofline look at. [default: the first]")
@click.option("--explain-candidates", "focus_n", type=int, default=None, metavar="N",
              help="Candidate count the waterfall and roofline look at. [default: the best n at that batch]")
@click.option("--output", "-o", required=True, metavar="FILE.html", help="Report file to write.")
def report(scenario: str | None, max_candidates: int | None, focus_batch: int | None, focus_n: int | None,
           output: str, **values: Any) -> None:
    """Write one study (settings, charts, plan, exports, caveat) as a self-contained HTML file.

    The charts are drawn by plotly.js inlined into the file: it opens offline and can be
    mailed as it is.

    \b
    Examples:
      specroof report --scenario medusa-appendix-g -o study.html
      specroof report -m llama-3-8b -H h200 --batch 1,8,64 --candidates 1:8:1 \\
          --acceptance chain:0.8 --draft-model llama-3.2-1b -o study.html
    """
    for value, flag in ((max_candidates, "--max-candidates"), (focus_batch, "--explain-batch"),
                        (focus_n, "--explain-candidates")):
        if value is not None and value < 1:
            raise SpecroofError(f"{flag} must be a positive integer, got {value}")
    try:
        from specroof.web.report import write_report
    except ModuleNotFoundError as exc:  # Starlette (the explorer's queries) or plotly: the web extra
        missing = (exc.name or "a module").split(".")[0]
        raise SpecroofError(f"specroof report needs the web extra ({missing} is missing): "
                            "pip install 'specroof[web]'") from None

    # Before the work: the report must never land on an input, by its name or through a link.
    refuse_overwriting_inputs(output, _named_files({"scenario": scenario, **values}), "-o/--output")
    params = {"scenario": scenario, "max_candidates": max_candidates, "focus_batch": focus_batch,
              "focus_n": focus_n, **values}
    params["ops"] = params.pop("operators", None)
    query = {k: _text(v) for k, v in params.items() if v is not None}
    settings = {k.replace("_", " "): v for k, v in query.items()
                if k not in ("batch", "candidates", "seq_len", "focus_batch", "focus_n")}
    path = write_report(query, output, settings)
    click.echo(f"wrote report: {path}", err=True)


def _named_files(values: dict[str, Any]) -> dict[str, str]:
    """Files the options name (``FILE``, ``KIND:FILE``, ``KIND:FILE:ARG``), by option."""
    import os

    found: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(value, str):
            continue
        rest = value.partition(":")[2]
        for candidate in (value, rest, rest.rpartition(":")[0]):
            if candidate and os.path.isfile(candidate):
                found[f"--{key.replace('_', '-')} file"] = candidate
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
