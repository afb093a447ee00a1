"""``specroof acceptance`` options that write a ``speculation_profile.json``: ``--write-profile``
(after ``--from``) and the offline measurement ``--measure`` (:mod:`specroof.calibration.acceptance_measure`).

Kept apart from :mod:`specroof.cli.acceptance_cmd` so the command's own options stay short; the
decorator adds these options, :func:`run_profile_options` runs ``--measure``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from specroof.calibration.acceptance_measure import measure_command
from specroof.datafiles import check_writable
from specroof.errors import SpecroofError
from specroof.speculation.profile_build import profile_from_engine, write_profile

_MEASURE_ONLY = ("target", "draft", "prompts", "max_new_tokens", "device", "num_speculative_tokens")


METHOD_HELP = ("Drafting method: with --catalog, only its rows; recorded in a profile --write-profile writes "
               "(eagle3, draft, mtp, ngram...: a chain method lets the profile extrapolate over K); with --measure, "
               "the drafter: draft or ngram.")
"""The one ``--method`` option of ``specroof acceptance`` serves the catalog listing and the profile."""


def profile_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the profile-writing and measuring options to ``command`` (in this order in --help);
    ``--method`` is the command's own (its value reaches these options as ``profile_method``)."""
    options = [
        click.option("--write-profile", "write_profile", default=None, metavar="OUT.json",
                     help="Write what --from or --measure gives as a speculation_profile.json (NVIDIA "
                          "Model-Optimizer's schema 1.0; see docs/acceptance-profile.md)."),
        click.option("--measure", is_flag=True,
                     help="Measure acceptance offline: run --target greedily on --prompts, then teacher-force the "
                          "drafter over its continuation (needs the [measure] extra: torch, transformers)."),
        click.option("--target", default=None, metavar="DIR", help="--measure: the target model, a local folder."),
        click.option("--draft", default=None, metavar="DIR", help="--measure: the draft model, a local folder "
                                                                   "(--method draft)."),
        click.option("--prompts", default=None, metavar="FILE.jsonl",
                     help="--measure: one JSON object per line with a \"prompt\" (text) or \"input_ids\"."),
        click.option("--max-new-tokens", type=int, default=None, metavar="N",
                     help="--measure: tokens the target generates per prompt [default: 128]."),
        click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
                     help="--measure: where the models run [default: cpu]."),
        click.option("--num-speculative-tokens", "num_speculative_tokens", type=int, default=None, metavar="K",
                     help="--measure: draft positions recorded per step [default: 5]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_profile_options(ctx: click.Context, spec: str | None, source: str | None, opts: dict[str, Any]) -> bool:
    """Check the options' combinations; run ``--measure`` (True: the command is done)."""
    given = [name for name in _MEASURE_ONLY if opts.get(name) is not None]
    if not opts["measure"]:
        if given:
            raise SpecroofError(f"--{given[0].replace('_', '-')} applies to --measure only; add --measure or drop it")
        if opts["write_profile"] is not None and source is None:
            raise SpecroofError("--write-profile writes what --from or --measure gives; add one of them")
        if opts["profile_method"] is not None and opts["write_profile"] is None:
            raise SpecroofError("--method filters the catalog listing or is recorded in a written profile; "
                                "add --catalog or --write-profile OUT.json, or drop it")
        if opts["write_profile"] is not None:
            check_writable(opts["write_profile"], "speculation profile")  # a missing folder fails before any work
        return False
    if spec is not None or source is not None:
        raise SpecroofError("--measure measures acceptance itself; drop --acceptance/--from")
    if opts["write_profile"] is None:
        raise SpecroofError("--measure writes a speculation profile: add --write-profile OUT.json")
    explicit = [f"--{n.replace('_', '-')}" for n in ("candidates", "max_depth", "show_tree")
                if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT]
    if explicit:
        raise SpecroofError(f"--measure records every draft position up to K; drop {', '.join(explicit)}")
    check_writable(opts["write_profile"], "speculation profile")
    profile = measure_command(opts)
    _write(profile, opts["write_profile"])
    return True


def write_profile_of(model: Any, opts: dict[str, Any]) -> None:
    """After ``--from``: write what it read as a profile, if ``--write-profile`` asks."""
    if opts["write_profile"] is None:
        return
    _write(profile_from_engine(model, opts["profile_method"]), opts["write_profile"])


def _write(profile: dict[str, Any], path: str) -> None:
    write_profile(path, profile)
    mean = profile.get("mean_accept_length")
    click.echo(f"wrote speculation profile: {path} (K={profile['num_speculative_tokens']}, "
               f"mean accept length {mean:.4g}, {profile['accept_length_model']})", err=True)
