"""The ``specroof`` command line.

Commands live in their own modules under ``specroof.cli`` and are imported only when run,
so ``specroof --help`` stays fast (no numpy or matplotlib at start-up). Register a new
command by adding it to ``COMMANDS``: name -> (module, attribute, one-line help).
"""

from __future__ import annotations

import importlib
import sys

import click

from specroof.errors import SpecroofError
from specroof.input_guard import guard_inputs

COMMANDS: dict[str, tuple[str, str, str]] = {
    "latency": ("specroof.cli.latency_cmd", "latency", "Latency of one decoding/verification step, per operator."),
    "models": ("specroof.cli.catalog_cmd", "models", "List the model catalog."),
    "hardware": ("specroof.cli.catalog_cmd", "hardware", "List the accelerator catalog."),
    "acceptance": ("specroof.cli.acceptance_cmd", "acceptance", "Tokens per step tau(n) of an acceptance model."),
    "ops": ("specroof.cli.ops_cmd", "ops", "The operations of one step: work, roofline position, time."),
    "speedup": ("specroof.cli.speedup_cmd", "speedup", "Speculative-decoding speedup over a grid."),
    "plan": ("specroof.cli.plan_cmd", "plan", "Best number of candidate tokens per batch size and context."),
    "simulate": ("specroof.cli.simulate_cmd", "simulate", "One engine instance under arriving requests: TTFT, TPOT, goodput."),
    "explain": ("specroof.cli.explain_cmd", "explain", "Why the speedup is below tau: a cost breakdown."),
    "check": ("specroof.cli.check_cmd", "check", "Speculation traps in a vLLM, SGLang or TensorRT-LLM config."),
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
    """Entry point: run the command with its outputs kept off its inputs (see :func:`_run`)."""
    guard_inputs(True)  # no output of this command may land on a file it read
    try:
        _run()
    finally:
        guard_inputs(False)


def _run() -> None:
    """User errors become one line on stderr and exit code 2.

    Also one line, never a traceback: an output that cannot be written (``> /dev/full``),
    and input so large or deep that Python runs out of memory or recursion before a check
    could catch it. A closed pipe (``| head``) ends quietly. Warnings print as
    ``warning: ...`` lines. Any other exception is a bug and keeps its traceback.
    """
    import warnings

    # click >= 8.2 raises this for a bare `specroof`; older versions print the help themselves.
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())

    warnings.showwarning = _show_warning
    _WARNED.clear()
    code = None
    try:
        code = cli.main(standalone_mode=False)  # a command's `raise click.exceptions.Exit(1)` returns 1 here
        sys.stdout.flush()
    except SpecroofError as exc:
        _fail(f"error: {exc}", 2)
    except no_args as exc:  # plain `specroof`: the help, as --help prints it
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        _finish(0)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail("aborted", 130)
    except click.ClickException as exc:
        _fail(f"error: {exc.format_message()}", exc.exit_code)
    except click.exceptions.Exit as exc:
        _finish(exc.exit_code)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(0)
    except OSError as exc:  # writing standard output failed (a full disk, /dev/full), or a file op
        where = getattr(exc, "filename", None)
        # A named file may have been read or written: say only which file failed, never "cannot
        # write" for what may be an input.
        _fail(f"error: {where}: {exc.strerror or exc}" if where else
              f"error: cannot write standard output: {exc.strerror or exc}", 2)
    except RecursionError:
        _fail("error: input nested too deeply; simplify the file or the request", 2)
    except MemoryError:
        _fail("error: out of memory; narrow the request (fewer grid points, a smaller tree)", 2)
    _finish(code if type(code) is int else 0)


def _finish(code: int | None) -> None:
    """Exit, reporting a failure to flush standard output (``> /dev/full``) as one line."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(code or 0)
    except OSError as exc:
        _quiet_stdout()
        _fail(f"error: cannot write standard output: {exc.strerror or exc}", 2)
    sys.exit(code or 0)


def _fail(message: str, code: int) -> None:
    message = _clip_words(message)
    try:
        sys.stdout.flush()  # what was printed before the failure still reaches the reader
    except OSError:
        _quiet_stdout()
    try:
        click.echo(message, err=True)
    except OSError:
        pass
    sys.exit(code)


def _clip_words(message: str, longest: int = 200) -> str:
    """The message with every run of over ``longest`` non-blank characters cut short: errors echo
    the value at fault, and a 100,000-digit number must not make a 100 kB line."""
    import re

    return re.sub(r"\S{%d,}" % (longest + 1), lambda m: f"{m.group(0)[:longest // 2]}...({len(m.group(0)):,} characters)",
                  message)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's own flush at exit cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


_WARNED: set[str] = set()
"""The warnings this command has printed: each distinct one is printed once, whichever call
site raised it (a setup resolved once per plan chunk would otherwise repeat its warning)."""


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    text = f"warning: {message}"
    if text not in _WARNED:
        _WARNED.add(text)
        click.echo(text, err=True)
