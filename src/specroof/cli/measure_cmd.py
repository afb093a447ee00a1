"""``specroof measure``: time real verification steps and write a measurement file."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from specroof.calibration.measure import check_device
from specroof.calibration.measure import measure as run_measure
from specroof.calibration.measurements import Measurement, write_measurements
from specroof.cli.common import parse_int_list
from specroof.datafiles import check_writable, refuse_overwriting_inputs
from specroof.errors import SpecroofError
from specroof.models import load_model


@click.command("measure")
@click.option("--model", "-m", "model", required=True,
              help="Catalog name (e.g. llama-7b) or path to a Hugging Face config.json.")
@click.option("--batch", default="1", show_default=True, help="Batch sizes, e.g. 1,16,64 or 1..64.")
@click.option("--candidates", default="1,16,64", show_default=True,
              help="Candidate tokens verified per sequence (1 = plain decoding).")
@click.option("--seq-len", "seq_len", default="1024", show_default=True,
              help="Tokens already in each sequence's KV cache.")
@click.option("--dtype", type=click.Choice(["fp16", "bf16", "fp32"]), default=None,
              help="Weight/activation type [default: fp16 on CUDA, fp32 on CPU].")
@click.option("--device", default="cuda", show_default=True, help="cuda, cuda:N or cpu.")
@click.option("--repeats", type=click.IntRange(min=1), default=10, show_default=True,
              help="Timed runs per point; the median is reported.")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True,
              help="Untimed runs before timing.")
@click.option("--no-cuda-graph", "no_cuda_graph", is_flag=True,
              help="Launch the step eagerly instead of replaying a CUDA graph.")
@click.option("--eager-too", "eager_too", is_flag=True,
              help="Also time the step launched eagerly (eager_latency_ms).")
@click.option("--no-ops", "no_ops", is_flag=True, help="Skip the per-operator split (ops_ms).")
@click.option("--max-memory-gb", "max_memory_gb", type=float, default=None,
              help="Skip points estimated to need more [default: free GPU memory, 70% of RAM on CPU].")
@click.option("--gqa", type=click.Choice(["auto", "enable_gqa", "repeat"]), default="auto", show_default=True,
              help="Grouped-query attention: SDPA's enable_gqa (auto: when torch has it) or "
                   "K/V repeat_interleave. Recorded per row as gqa_mode.")
@click.option("--hardware-name", "hardware_name", default=None,
              help="Name written in the hardware field [default: from the GPU's name, or cpu].")
@click.option("--output", "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON-lines file to write.")
def measure(model: str, batch: str, candidates: str, seq_len: str, dtype: str | None, device: str,
            repeats: int, warmup: int, no_cuda_graph: bool, eager_too: bool, no_ops: bool,
            max_memory_gb: float | None, gqa: str, hardware_name: str | None, output: Path) -> None:
    """Time one verification step per batch x candidates x seq_len point (needs torch).

    Builds a decoder with the model's exact shapes and random weights on the device, times
    the whole step (median of --repeats, CUDA graph by default on CUDA) and each operator
    class on its own, and writes one JSON line per point (docs/measurement-format.md).
    """
    refuse_overwriting_inputs(output, {"model config": model}, "-o/--output")
    if output.parent.exists():  # measure creates missing folders
        check_writable(output, "measurement file")
    cfg = load_model(model)
    batches = parse_int_list(batch, "batch")
    cands = parse_int_list(candidates, "candidates")
    seqs = parse_int_list(seq_len, "seq-len")
    total = len(set(batches)) * len(set(cands)) * len(set(seqs))
    on_cpu = device.strip().lower() == "cpu"
    check_device(device)  # torch missing / no CUDA: fail before the progress bar starts
    cuda_graph = False if (no_cuda_graph or on_cpu) else None
    with click.progressbar(length=total, label=f"measuring {cfg.name}", file=sys.stderr, show_pos=True) as bar:
        result = run_measure(
            model, batches, cands, seqs, device=device, dtype=dtype, repeats=repeats, warmup=warmup,
            cuda_graph=cuda_graph, eager_too=eager_too, ops=not no_ops, max_memory_gb=max_memory_gb,
            hardware_name=hardware_name, gqa=gqa, progress=_saving_progress(bar, output),
        )
    _report(result, cfg.name, output)


def _saving_progress(bar: Any, output: Path) -> Callable[..., None]:
    """Advance the bar after every point; rewrite the file after every measured one, so an
    interrupted run keeps its rows."""
    done: list[Measurement] = []

    def progress(b: int, n: int, s: int, row: object) -> None:
        if isinstance(row, Measurement):
            done.append(row)
            write_measurements(output, done)
        bar.update(1)

    return progress


def _report(result: Any, model_name: str, output: Path) -> None:
    """Name the skipped points, write the rows and say where; an error if nothing was measured."""
    for point in result.skipped:
        click.echo(f"skipped {point.describe()}", err=True)
    rows = result.measurements
    if not rows:
        raise SpecroofError(
            f"no point could be measured ({len(result.skipped)} skipped, see above); "
            "lower --batch/--seq-len, pick a smaller model or dtype, or raise --max-memory-gb"
        )
    write_measurements(output, rows)
    first = rows[0]
    mode = "CUDA graph" if first.cuda_graph else "eager"
    click.echo(
        f"wrote {len(rows)} measurement(s) of {model_name} on {first.hardware} "
        f"({first.dtype}, {mode}) to {output}"
        + (f"; {len(result.skipped)} point(s) skipped" if result.skipped else "")
    )
