"""A study's settings: their flags (click options) and how flags, a scenario and defaults merge.

The options are declared here, not in :mod:`specroof.cli`, because the explorer's queries
(:mod:`specroof.web`) take the same settings under the same names, types and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from specroof.app.choices import RegistryChoice
from specroof.app.parsing import parse_int_list
from specroof.checks import specs
from specroof.cost.profile import DEFAULT_PROFILE, ImplementationProfile, profile_data, profile_fields
from specroof.errors import SpecroofError, suggest
from specroof.scenarios import load_scenario
from specroof.speculation.acceptance_spec import spec_syntax
from specroof.speculation.default_acceptance import default_rows
from specroof.speculation.drafting import Drafting
from specroof.speculation.methods import METHODS, PARAMETERS
from specroof.speculation.methods.parameters import DEFAULT_HEADS

# Settings of a scenario that belong to speculation rather than to the cost of a step.
DRAFTING_KEYS = ("method", *PARAMETERS)
_SPECULATION_KEYS = ("acceptance", "max_depth", *DRAFTING_KEYS)


_PROFILE = specs(ImplementationProfile)  # the profile fields some options set: help and choices from there


def _profile_help(field: str) -> str:
    meaning = _PROFILE[field].meaning
    return meaning[0].upper() + meaning[1:]


def profile_help() -> str:
    """--profile's help: every profile in cost/profiles.toml, with the engine each one models."""
    names = []
    for name, fields in profile_data().items():
        engine = fields.get("engine") if isinstance(fields, dict) else None
        names.append(f"{name} (engine {engine})" if engine else name)
    return f"Implementation profile: {', '.join(names)}. [default: {DEFAULT_PROFILE}]"


def default_acceptance_help() -> str:
    """Each method's shipped default acceptance, as speculation/data/default-acceptance.csv says."""
    parts = []
    for method, row in default_rows().items():
        what = "measured curve" if row.points else row.spec
        parts.append(f"{method} {what}{'' if row.measured else ' (not measured)'}")
    return ", ".join(parts)


def grid_options(func: Callable[..., Any] | None = None, candidates_default: str = "1") -> Any:
    """--batch, --candidates, --seq-len (comma lists, a..b powers of two, or start:stop:step).

    ``candidates_default``: what --candidates' help names as its default (speedup's differs).
    """
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option("--seq-len", "seq_len", default=None, metavar="LIST",
                            help="Tokens already in the KV cache, e.g. 1024 or 128..8192. [default: 1024]")(func)
        func = click.option("--candidates", default=None, metavar="LIST",
                            help="Candidate tokens verified per sequence (1 = plain decoding), e.g. 1,16,64. "
                                 f"[default: {candidates_default}]")(func)
        return click.option("--batch", default=None, metavar="LIST",
                            help="Batch sizes, e.g. 1,2,4 or 1..64. [default: 1]")(func)

    return apply if func is None else apply(func)


def model_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--model, --hardware and the implementation options of the cost model."""
    options = [
        click.option("--allow-unmodelled", "allow_unmodelled", is_flag=True, default=None,
                     help="Price a config.json whose keys are not all modelled yet (MLA, shared experts, "
                          "linear attention...): one warning per ignored key instead of an error."),
        click.option("--moe-routing", default=None, metavar="uniform|zipf:S",
                     help="MoE router law for the expected experts touched: uniform, or zipf:S (expert e "
                          "preferred as e^-S). [default: uniform]"),
        click.option("--moe-experts-touched", type=float, default=None, metavar="N",
                     help="MoE: distinct experts per layer a step reads (capped at tokens x top-k). "
                          "[default: expected under --moe-routing]"),
        click.option("--ops", "operators", default=None, metavar="LIST",
                     help="Only these operators (e.g. qkv_proj,attention,gate_up_proj,down_proj)."),
        click.option("--tp", type=int, default=None, help="Tensor-parallel devices. [default: 1]"),
        # --- parallel: the layout over the --tp devices (cost/parallel.py)
        click.option("--ep", type=int, default=None, metavar="N",
                     help="Expert parallelism: routed experts split over N of the --tp devices. [default: 1]"),
        click.option("--dp-attention", "dp_attention", type=int, default=None, metavar="D",
                     help="Data-parallel attention in D groups of tp/D devices, each serving batch/D sequences "
                          "(SGLang --enable-dp-attention --dp D). [default: 1]"),
        click.option("--draft-tp", "draft_tp", type=int, default=None, metavar="N",
                     help="The draft model or head at its own tensor parallelism. [default: the target's]"),
        click.option("--profile", default=None, help=profile_help()),
        click.option("--gpu-p2p/--no-gpu-p2p", "gpu_p2p", default=None,
                     help=f"{_profile_help('gpu_p2p')}. [default: --gpu-p2p]"),
        click.option("--cuda-graph/--eager", "cuda_graph", default=None,
                     help=f"{_profile_help('cuda_graph')}; --eager: launched eagerly from Python."),
        click.option("--attention", type=click.Choice(_PROFILE["attention"].check.choices), default=None,
                     help=_profile_help("attention") + "."),
        click.option("--kv-dtype", default=None, help="KV-cache dtype (fp16, bf16, fp8, int8). [default: dtype]"),
        click.option("--weight-dtype", default=None, metavar="DTYPE|GROUP=DTYPE,...",
                     help="Weight dtype (fp16, bf16, fp8, fp8_block, mxfp4, nvfp4, int8, int4), for every tensor "
                          "group or per group: experts=mxfp4,attention=bf16 (groups: attention, mlp, experts, "
                          "router, head, embed, draft). [default: the checkpoint's quantization_config, "
                          "else dtype]"),
        click.option("--dtype", default=None, help="Activation/compute dtype: fp16, bf16, fp8. [default: fp16]"),
        click.option("--hardware", "-H", default=None, metavar="NAME|FILE",
                     help="Accelerator: catalog name (specroof hardware) or a .toml file (e.g. from calibrate)."),
        click.option("--model", "-m", default=None, metavar="NAME|FILE",
                     help="Model: catalog name (specroof models) or a Hugging Face config.json."),
    ]
    for option in options:
        func = option(func)
    return func


def collect_step_options(values: dict[str, Any]) -> dict[str, Any]:
    """The cost-model keyword options given on the command line (None = not given)."""
    keys = ("dtype", "weight_dtype", "kv_dtype", "attention", "cuda_graph", "profile", "tp",
            "moe_experts_touched", "moe_routing", "allow_unmodelled", "ep", "dp_attention", "draft_tp", "gpu_p2p")
    options = {k: values[k] for k in keys if values.get(k) is not None}
    if values.get("operators") is not None:
        options["operators"] = [op.strip() for op in values["operators"].split(",") if op.strip()]
        if not options["operators"]:
            raise SpecroofError("--ops needs at least one operator name, e.g. --ops qkv_proj,attention")
    return options


def parse_grid(values: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, list[int]]:
    """Grid axes from the options, falling back to ``defaults`` (a scenario) then 1/1/1024."""
    defaults = defaults or {}
    fallback = {"batch": [1], "candidates": [1], "seq_len": [1024]}
    grid = {}
    for key, flag in (("batch", "batch"), ("candidates", "candidates"), ("seq_len", "seq-len")):
        if values.get(key) is not None:
            grid[key] = parse_int_list(values[key], flag)
        elif key in defaults:
            grid[key] = list(defaults[key])
        else:
            grid[key] = fallback[key]
    return grid


def _takers(parameter: str) -> str:
    """The registered methods that take ``parameter`` ("draft, eagle, eagle3, mtp")."""
    return ", ".join(m.name for m in METHODS if parameter in m.parameters)


def drafting_options(func: Any) -> Any:
    """--method and its parameters: the drafting choice (settled by Drafting.of)."""
    options = [
        click.option("--proposal-rate", type=float, default=None, metavar="P",
                     help=f"--method {_takers('proposal_rate')}: fraction of sequences that find a match and send a "
                          "draft, in (0, 1]. [default: 1]"),
        click.option("--draft-vocab", type=int, default=None, metavar="V",
                     help=f"--method {_takers('draft_vocab')}: the draft head's vocabulary. [default: the first "
                          "published head's for a catalog model (specroof models --drafting), else 32000]"),
        click.option("--tree", default=None, metavar="steps=D,topk=K[,tokens=N]",
                     help=f"Draft a tree ({_takers('tree')}), as SGLang's --speculative-num-steps / "
                          "-eagle-topk / -num-draft-tokens: D drafting passes, K branches, N tokens verified. "
                          "[default: a chain, or the acceptance model's own tree]"),
        click.option("--heads", type=int, default=None, metavar="N",
                     help=f"Number of Medusa heads for --method {_takers('heads')}. [default: {DEFAULT_HEADS}]"),
        click.option("--draft-model", default=None, metavar="NAME|FILE",
                     help=f"Draft model for --method {_takers('draft_model')}: catalog name (e.g. llama-3.2-1b) or a "
                          "config.json."),
        click.option("--method", type=RegistryChoice(METHODS), default=None,
                     help="Drafting: " + ", ".join(f"{m.name} ({m.description})" for m in METHODS)
                          + ". [default: none, or draft with --draft-model]"),
    ]
    for option in options:
        func = option(func)
    return func


def speculation_options(func: Any) -> Any:
    """--scenario, --acceptance, --max-depth and the drafting options."""
    func = drafting_options(func)
    options = [
        click.option("--max-depth", type=int, default=None, metavar="D",
                     help="Deepest tree level for tree acceptance models (medusa, positional)."),
        click.option("--acceptance", default=None, metavar="SPEC",
                     help=f"{spec_syntax()} (see docs/engine-metrics.md). "
                          f"[default: the scenario's, else the method's: {default_acceptance_help()}; the output "
                          "names it]"),
        click.option("--scenario", default=None, metavar="NAME|FILE",
                     help="Shipped scenario (e.g. medusa-appendix-g) or a scenario .toml: defaults for every "
                          "setting (and, for plan, the batch and seq_len grid); flags override them."),
    ]
    for option in options:
        func = option(func)
    return func


@dataclass
class Settings:
    """A study's settings after flags, scenario and defaults are merged (flags win)."""

    model: str
    hardware: str
    drafting: Drafting
    acceptance: str | None
    max_depth: int | None
    step: dict[str, Any]
    grid: dict[str, list[int]]
    scenario: str | None = None
    reference: Any = None

    def speculation(self) -> dict[str, Any]:
        """Keyword arguments of speedup / plan / explain for the speculation settings."""
        out: dict[str, Any] = {"acceptance": self.acceptance, "drafting": self.drafting}
        if self.max_depth is not None:
            out["max_depth"] = self.max_depth
        return out


def _check_scenario(name: str, method: Any, profile_overrides: dict[str, Any]) -> None:
    """What a scenario file names from floors above it (scenarios/ cannot know the methods or
    the profile fields), checked here and named by the scenario, even when a flag replaces it."""
    if method is not None and method not in METHODS:
        raise SpecroofError(f"scenario {name}: method {method!r} is not a drafting method"
                            f"{suggest(str(method), METHODS.names())}; choose one of {', '.join(METHODS.names())}")
    profile_fields(dict(profile_overrides), f"scenario {name}: profile_overrides")


def resolve_settings(values: dict[str, Any], scenario: str | None, command: str) -> Settings:
    """Merge the flags of ``command`` with a scenario's settings and the defaults.

    The drafting choice is settled by :meth:`Drafting.of` (the one place it is checked): a
    ``--method`` or ``--draft-model`` flag replaces the scenario's whole drafting choice.
    """
    settings: dict[str, Any] = {}
    grid: dict[str, list[int]] = {}
    label = None
    reference = None
    if scenario is not None:
        loaded = load_scenario(scenario)
        _check_scenario(loaded.name, loaded.settings.get("method"), loaded.profile_overrides)
        settings = {**loaded.profile_overrides, **loaded.settings}
        grid, label, reference = dict(loaded.grid), loaded.name, loaded.reference_file()
    model = values.get("model") or settings.pop("model", None)
    hardware = values.get("hardware") or settings.pop("hardware", None)
    settings.pop("model", None)
    settings.pop("hardware", None)
    if not model or not hardware:
        raise SpecroofError(f"{command} needs --model and --hardware, or a --scenario that sets them "
                            "(see `specroof models`, `specroof hardware`)")
    scen = {k: settings.pop(k) for k in _SPECULATION_KEYS if k in settings}
    flags = {k: values.get(k) for k in DRAFTING_KEYS}
    chosen = flags if flags["method"] is not None or flags["draft_model"] is not None else {
        k: flags[k] if flags[k] is not None else scen.get(k) for k in flags}
    max_depth = values.get("max_depth") if values.get("max_depth") is not None else scen.get("max_depth")
    return Settings(
        model=model, hardware=hardware, drafting=Drafting.of(**chosen),
        acceptance=values.get("acceptance") or scen.get("acceptance"),
        max_depth=max_depth, step={**settings, **collect_step_options(values)}, grid=grid,
        scenario=label, reference=reference,
    )
