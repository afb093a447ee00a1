"""``specroof calibrate`` and ``specroof validate``: fit a profile, then check it."""

from __future__ import annotations

import sys

import click

from specroof.calibration.fit import calibrate as fit
from specroof.calibration.fit import load_sources
from specroof.calibration.kernels.calibrate import calibrate_kernels
from specroof.calibration.validate import validate as run
from specroof.cli.common import emit, format_option
from specroof.datafiles import check_writable, refuse_overwriting_inputs
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import load_hardware
from specroof.report.charts import check_chart_path, plot_validation


@click.command()
@click.argument("measurements", nargs=-1, required=False, type=click.Path(dir_okay=False))
@click.option("--hardware", "-H", default=None, metavar="NAME|FILE",
              help="Base accelerator whose datasheet the fit starts from. [default: the file's hardware field]")
@click.option("--profile", default="pytorch-sdpa", show_default=True,
              help="Implementation profile the measurements were taken with.")
@click.option("--kernels", "kernels", default=None, metavar="GPU[:ENGINE[:VERSION]]",
              help="Instead of MEASUREMENTS: fit the engine profile's kernels to NVIDIA's kernel database "
                   "(pip install 'specroof[kernels]'), e.g. h200_sxm:vllm (engine default vllm).")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False),
              help="Profile file to write (use it as --hardware FILE everywhere).")
@format_option
def calibrate(measurements: tuple[str, ...], hardware: str | None, profile: str, kernels: str | None, output: str,
              fmt: str) -> None:
    """Fit one profile's physical parameters to MEASUREMENTS (JSON lines; several files of one
    GPU, e.g. a dense and an MoE model, are fitted together), or with --kernels to NVIDIA's
    measured kernels of one GPU and engine.

    \b
    Examples:
      specroof calibrate h200-llama-7b-calibration.jsonl h200-mixtral-8x7b-moe.jsonl \\
          --hardware h200 -o h200-calibrated.toml
      specroof calibrate --kernels h200_sxm:trtllm -o h200-trtllm.toml
    """
    if bool(measurements) == (kernels is not None):
        raise SpecroofError("give MEASUREMENTS (JSON-lines files) or --kernels GPU[:ENGINE[:VERSION]], not both or neither")
    if kernels is not None:
        refuse_overwriting_inputs(output, {"--hardware file": hardware}, "-o/--output")
        check_writable(output, "profile")
        if sys.stderr.isatty():
            click.echo("fitting the kernel database (a minute or two)...", err=True)
        result = calibrate_kernels(kernels, hardware)
        result.write(output)
        emit(result.rows(), fmt, title=(f"Kernels of {result.engine} {result.version} on {result.gpu} fitted for "
                                        f"{result.hardware} (held-out MAPE per section), written to {output}"))
        return

    # Before the fit: a typo in -o must not cost the fit, and must never destroy an input.
    refuse_overwriting_inputs(output, {**_inputs(measurements), "--hardware file": hardware}, "-o/--output")
    check_writable(output, "profile")
    load_sources(list(measurements))  # a bad file, GPU mix or model fails here, before the wait is announced
    if hardware is not None:
        load_hardware(hardware)
    if sys.stderr.isatty():  # progress for people; scripts get stderr only for errors
        click.echo("fitting (a few seconds per file)...", err=True)
    result = fit(list(measurements), hardware, profile)
    result.write(output)
    title = (f"Calibrated {result.hardware.name} ({result.base_profile}) on {result.points} points: "
             f"MAPE {100 * result.mape_latency:.2f}% (in-sample), written to {output}")
    if fmt == "json":
        import json

        click.echo(json.dumps({"parameters": result.rows(), "in_sample": result.in_sample}, indent=1))
        return
    emit(result.rows(), fmt, title=title)
    if fmt == "table":
        click.echo()
        emit(result.in_sample, "table", title="In-sample error per file and per model (percent)")


@click.command()
@click.argument("measurements", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--hardware", "-H", required=True, metavar="NAME|FILE",
              help="Accelerator or calibrated profile to predict with.")
@click.option("--profile", default=None, help="Implementation profile. [default: the profile file's base, or serving]")
@click.option("--plot", default=None, type=click.Path(dir_okay=False), help="Predicted-vs-measured chart (.png/.svg).")
@click.option("--points/--summary-only", "show_points", default=False, help="Also list every point (table format).")
@format_option
def validate(measurements: tuple[str, ...], hardware: str, profile: str | None, plot: str | None,
             show_points: bool, fmt: str) -> None:
    """Report the prediction error against MEASUREMENTS (one or more files of one GPU): per
    model, per file, overall, and per operation where rows carry ops_ms."""
    if plot:
        check_chart_path(plot)
        refuse_overwriting_inputs(plot, {**_inputs(measurements), "--hardware file": hardware}, "--plot")
    result = run(list(measurements), hardware, profile)
    if fmt == "json":
        import json

        click.echo(json.dumps(result.to_dict(), indent=1))
    elif fmt == "csv":
        emit(result.points, "csv")
    else:
        emit(result.summary, "table", title="Error of predicted step latency (percent)")
        click.echo()
        if len(result.by_file) > 1:
            emit(result.by_file, "table", title="Per file")
            click.echo()
        if result.by_operation:
            emit(result.by_operation, "table", title=(
                "Per operation (ops_ms rows): own error, and signed share of the step error (step_error_pct)"))
            click.echo()
        emit(result.points if show_points else result.worst(), "table",
             title="All points" if show_points else "Worst points")
    if plot:
        accel = load_hardware(hardware)
        plot_validation(result, plot, hardware=accel.display_name,
                        profile=profile or accel.profile_base or "serving")
        click.echo(f"chart written to {plot}", err=True)


def _inputs(measurements: tuple[str, ...]) -> dict[str, str]:
    """Each measurement file by its description, for refuse_overwriting_inputs."""
    return {f"measurement file {path}": path for path in measurements}
