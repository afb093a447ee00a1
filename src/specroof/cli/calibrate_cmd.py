"""``specroof calibrate`` and ``specroof validate``: fit a profile, then check it."""

from __future__ import annotations

import sys

import click

from specroof.cli.common import emit, format_option


@click.command()
@click.argument("measurements", type=click.Path(dir_okay=False), required=False)
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
def calibrate(measurements: str | None, hardware: str | None, profile: str, kernels: str | None, output: str,
              fmt: str) -> None:
    """Fit the physical parameters of the cost model to MEASUREMENTS (JSON lines), or with
    --kernels to NVIDIA's measured kernels of one GPU and engine.

    \b
    Example:
      specroof calibrate h200-llama-7b-calibration.jsonl --hardware h200 -o h200-calibrated.toml
      specroof calibrate --kernels h200_sxm:trtllm -o h200-trtllm.toml
    """
    from specroof.errors import SpecroofError

    if (measurements is None) == (kernels is None):
        raise SpecroofError("give MEASUREMENTS (a JSON-lines file) or --kernels GPU[:ENGINE[:VERSION]], not both or neither")
    if kernels is not None:
        from specroof.datafiles import check_writable, refuse_overwriting_inputs
        from specroof.kernels.calibrate import calibrate_kernels

        refuse_overwriting_inputs(output, {"--hardware file": hardware}, "-o/--output")
        check_writable(output, "profile")
        if sys.stderr.isatty():
            click.echo("fitting the kernel database (a minute or two)...", err=True)
        result = calibrate_kernels(kernels, hardware)
        result.write(output)
        emit(result.rows(), fmt, title=(f"Kernels of {result.engine} {result.version} on {result.gpu} fitted for "
                                        f"{result.hardware} (held-out MAPE per section), written to {output}"))
        return
    from specroof.calibration.fit import calibrate as fit
    from specroof.calibration.measurements import load_measurements
    from specroof.datafiles import check_writable, refuse_overwriting_inputs
    from specroof.hardware.accelerator import load_hardware

    # Before the fit: a typo in -o must not cost the fit, and must never destroy an input.
    refuse_overwriting_inputs(output, {"measurement file": measurements, "--hardware file": hardware}, "-o/--output")
    check_writable(output, "profile")
    load_measurements(measurements)  # a bad file or device fails here, before the wait is announced
    if hardware is not None:
        load_hardware(hardware)
    if sys.stderr.isatty():  # progress for people; scripts get stderr only for errors
        click.echo("fitting (a few seconds)...", err=True)
    result = fit(measurements, hardware, profile)
    result.write(output)
    emit(result.rows(), fmt, title=(
        f"Calibrated {result.hardware.name} ({result.base_profile}) on {result.points} points: "
        f"MAPE {100 * result.mape_latency:.2f}% (in-sample), written to {output}"))


@click.command()
@click.argument("measurements", type=click.Path(dir_okay=False))
@click.option("--hardware", "-H", required=True, metavar="NAME|FILE",
              help="Accelerator or calibrated profile to predict with.")
@click.option("--profile", default=None, help="Implementation profile. [default: the profile file's base, or serving]")
@click.option("--plot", default=None, type=click.Path(dir_okay=False), help="Predicted-vs-measured chart (.png/.svg).")
@click.option("--points/--summary-only", "show_points", default=False, help="Also list every point (table format).")
@format_option
def validate(measurements: str, hardware: str, profile: str | None, plot: str | None, show_points: bool,
             fmt: str) -> None:
    """Report the prediction error against MEASUREMENTS, per model and overall."""
    from specroof.calibration.validate import plot_validation, validate as run

    if plot:
        from specroof.datafiles import refuse_overwriting_inputs
        from specroof.report.charts import check_chart_path

        check_chart_path(plot)
        refuse_overwriting_inputs(plot, {"measurement file": measurements, "--hardware file": hardware}, "--plot")
    result = run(measurements, hardware, profile)
    if fmt == "json":
        import json

        click.echo(json.dumps({"summary": result.summary, "worst": result.worst(), "points": result.points}, indent=1))
    elif fmt == "csv":
        emit(result.points, "csv")
    else:
        emit(result.summary, "table", title="Error of predicted step latency (percent)")
        click.echo()
        emit(result.points if show_points else result.worst(), "table",
             title="All points" if show_points else "Worst points")
    if plot:
        from specroof.hardware.accelerator import load_hardware

        accel = load_hardware(hardware)
        plot_validation(result, plot, hardware=accel.display_name,
                        profile=profile or accel.profile_base or "serving")
        click.echo(f"chart written to {plot}", err=True)
