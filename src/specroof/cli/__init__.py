"""The ``specroof`` command line.

Commands live in their own modules under ``specroof.cli`` and are imported only when run,
so ``specroof --help`` stays fast (no numpy or matplotlib at start-up). Register a new
command by adding it to ``COMMANDS``: name -> (module, attribute, one-line help).
"""

from __future__ import annotations

import importlib
import sys

import click

COMMANDS: dict[str, tuple[str, str, str]] = {
    "latency": ("specroof.cli.latency_cmd", "latency", "Latency of one decoding/verification step, per operator."),
    "models": ("specroof.cli.catalog_cmd", "models", "List the model catalog."),
    "hardware": ("specroof.cli.catalog_cmd", "hardware", "List the accelerator catalog."),
    "acceptance": ("specroof.cli.acceptance_cmd", "acceptance", "Tokens per step tau(n) of an acceptance model."),
    "ops": ("specroof.cli.ops_cmd", "ops", "The operations of one step: work, roofline position, time."),
    "speedup": ("specroof.cli.speedup_cmd", "speedup", "Speculative-decoding speedup over a grid."),
    "plan": ("specroof.cli.plan_cmd", "plan", "Best number of candidate tokens per batch size and context."),
    "explain": ("specroof.cli.explain_cmd", "explain", "Why the speedup is below tau: a cost breakdown."),
    "measure": ("specroof.cli.measure_cmd", "measure", "Time real verification steps on a GPU (needs torch)."),
    "kernel": ("specroof.cli.kernel_cmd", "kernel", "Time of one kernel call (GEMM, attention, all-reduce, MoE)."),
    "calibrate": ("specroof.cli.calibrate_cmd", "calibrate", "Fit a hardware profile to measurements."),
    "validate": ("specroof.cli.calibrate_cmd", "validate", "Report prediction error against measurements."),
    "report": ("specroof.cli.report_cmd", "report", "Write a study as one self-contained HTML file (needs [web])."),
    "serve": ("specroof.cli.serve_cmd", "serve", "Explore speedups in the browser, locally (needs [web])."),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _, _) in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(COMMANDS[cmd_name][0]):
            return None
        module, attr, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specroof")
def cli() -> None:
    """specroof: will speculative decoding make my model faster on my GPU?

    Predicts the latency of decoding steps and the speedup of speculative decoding
    (draft models, Medusa/EAGLE heads, token trees) for any model and accelerator.
    """


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    from specroof.errors import SpecroofError

    try:
        cli.main(standalone_mode=False)
    except SpecroofError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
