"""``speculation_profile.json``: NVIDIA Model-Optimizer's acceptance interchange file, read and written.

The format is the one of Model-Optimizer's open pull-request stack (schema_version "1.0"):
#2313 (export attaches the file to a draft checkpoint), #2247 (specdec_bench writes it),
#2315 (ar_validate writes it), #2316 (docs); https://github.com/NVIDIA/Model-Optimizer/pull/2247,
producer ``examples/specdec_bench/specdec_bench/speculation_profile.py`` at commit
edf879d3daf7879acdeb2dab9f54a591837da7b0 and its test ``tests/test_speculation_profile.py`` at
c170403378778399a7834c79973c832e96302c24 (read, not copied). Its keys, as that producer writes them:

- ``conditional_accept_rates[i]``: P(draft i+1 accepted | the first i accepted);
- ``marginal_accept_rates[i]``: P(the first i+1 drafts all accepted), a survival function;
- ``mean_accept_length``: tokens per step, bonus token included, step-weighted;
- ``acceptance_length_histogram``: ``{length: steps}`` (length 1: no draft accepted);
- ``per_category``: ``{category: {mean_accept_length, ...}}``;
- ``accept_length_model``: ``chain_analytic`` (a K=n draft is a prefix of the K=n+1 draft, so one
  measurement gives tau at every K up to the one measured) or ``measured_per_k`` (each K measured);
- ``accept_length_by_k``, ``num_speculative_tokens``, ``max_supported_k``, ``verification_method``
  (``longest_prefix`` or ``block``), ``method``, ``measured``, provenance and a ``validation`` block.

Not verified (the PRs were open, unmerged): whether the schema changes before a merge; the
``per_category`` inner keys beyond ``mean_accept_length``; how a tree (SGLang topk > 1) is to be
written (the producer knows only longest_prefix and block). Keys this module does not know are
kept as they are (so a round trip is lossless) and named in one ``warning:``.

Validation follows the producer's own checks, made errors here: rates in [0, 1], marginals
non-increasing, ``mean = 1 + sum(marginals)`` within :data:`MEAN_TOLERANCE` (the producer's
``_consistency_check`` default), plus the checks a file read from outside needs (vector lengths,
conditionals = ratios of marginals, the histogram's survival = the marginals). Every problem is
one line of one :class:`SpecroofError`.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from specroof import checks
from specroof.datafiles import parse_json, read_text
from specroof.errors import SpecroofError, SpecroofWarning

SCHEMA_VERSION = "1.0"
MEAN_TOLERANCE = 0.02
"""tokens: |mean_accept_length - (1 + sum(marginals))| allowed (Model-Optimizer's _consistency_check)."""
ROUNDING = 1e-6
"""The producer rounds every rate and mean to 6 decimals: comparisons of derived values allow this per term."""
ACCEPT_LENGTH_MODELS = ("chain_analytic", "measured_per_k")
VERIFICATION_METHODS = ("longest_prefix", "block")
MAX_K = 64
"""Largest num_speculative_tokens read (no engine drafts more per step)."""
CHAIN_METHODS = frozenset({"eagle", "eagle1", "eagle2", "eagle3", "draft_model",  # Model-Optimizer's set
                           "draft", "mtp", "ngram"})
"""Methods whose K=n draft is a prefix of their K=n+1 draft, so marginals extrapolate down in K.
Model-Optimizer's ``_CHAIN_DRAFTING_METHODS`` plus specroof's names of the same kind: ``draft``
(= draft_model), ``mtp`` run as a chain (vLLM reruns its MTP layer per position) and ``ngram``
(prompt lookup copies the K tokens after one match; the match does not depend on K)."""

_KNOWN = ("schema_version", "measured", "method", "draft_checkpoint", "target_model", "num_speculative_tokens",
          "block_size", "max_supported_k", "verification_method", "conditional_accept_rates",
          "marginal_accept_rates", "mean_accept_length", "mean_accept_length_per_request", "accept_length_model",
          "accept_length_by_k", "acceptance_length_histogram", "per_category", "measurement_conditions",
          "validation")


@lru_cache(maxsize=None)
def _schema() -> Any:
    """The pydantic model of the file's types (pydantic imported here, on first use)."""
    from typing import Annotated

    pd = checks.pydantic()
    rate = Annotated[float, pd.BeforeValidator(checks.number)]
    count = Annotated[float, pd.BeforeValidator(checks.number), pd.Field(ge=0)]
    opt_int = checks.Check(checks.integer, ge=1, le=MAX_K).or_none()
    fields: dict[str, tuple[checks.Check, Any]] = {
        "schema_version": (checks.TEXT, ...),
        "measured": (checks.BOOL, True),
        "method": (checks.TEXT.or_none(), None),
        "draft_checkpoint": (checks.ANY, None),
        "target_model": (checks.ANY, None),
        "num_speculative_tokens": (checks.Check(checks.integer, ge=1, le=MAX_K), ...),
        "block_size": (opt_int, None),
        "max_supported_k": (opt_int, None),
        "verification_method": (checks.choice(*VERIFICATION_METHODS), "longest_prefix"),
        "conditional_accept_rates": (checks.Check(build=lambda: list[rate], optional=True), None),
        "marginal_accept_rates": (checks.Check(build=lambda: list[rate], optional=True), None),
        "mean_accept_length": (checks.Check(checks.number).or_none(), None),
        "mean_accept_length_per_request": (checks.Check(checks.number).or_none(), None),
        "accept_length_model": (checks.choice(*ACCEPT_LENGTH_MODELS), ...),
        "accept_length_by_k": (checks.Check(build=lambda: dict[str, rate], optional=True), None),
        "acceptance_length_histogram": (checks.Check(build=lambda: dict[str, count], optional=True), None),
        "per_category": (checks.Check(build=lambda: dict[str, dict[str, Any]], optional=True), None),
        "measurement_conditions": (checks.Check(build=lambda: dict[str, Any], optional=True), None),
        "validation": (checks.Check(build=lambda: dict[str, Any], optional=True), None),
    }
    return checks.schema_of("SpeculationProfile", fields, extra="allow")


def check_profile(data: Any, where: str) -> dict[str, Any]:
    """``data`` (a parsed file) if it is a valid profile; else one SpecroofError, a line per problem.

    The returned dict is ``data`` itself (nothing normalised), so writing it back is lossless.
    """
    model = checks.check(_schema(), data, where)
    unknown = sorted(set(data) - set(_KNOWN))
    if unknown:
        warnings.warn(SpecroofWarning(f"{where}: keys {', '.join(unknown)} are not Model-Optimizer's schema "
                                      f"{SCHEMA_VERSION} as specroof knows it; kept as they are, not read"),
                      stacklevel=2)
    problems = profile_problems(model)
    if problems:
        raise SpecroofError("\n".join(f"{where}: {p}" for p in problems))
    return data


def profile_problems(p: Any) -> list[str]:
    """Every problem of a type-checked profile, one line each (empty: valid)."""
    problems: list[str] = []
    major = p.schema_version.split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        problems.append(f"schema_version {p.schema_version!r}: specroof reads schema {SCHEMA_VERSION} "
                        "(Model-Optimizer's speculation_profile.json)")
    k = p.num_speculative_tokens
    problems += _vector_problems(p.conditional_accept_rates, "conditional_accept_rates", k)
    problems += _vector_problems(p.marginal_accept_rates, "marginal_accept_rates", k)
    if not problems:
        problems += _shape_problems(p.marginal_accept_rates, p.conditional_accept_rates)
    if p.measured:
        problems += _mean_problems(p, k)
    problems += _histogram_problems(p.acceptance_length_histogram, p.marginal_accept_rates, p.mean_accept_length, k)
    problems += _by_k_problems(p, k)
    problems += _category_problems(p.per_category, k)
    if p.verification_method == "block" and p.accept_length_model == "chain_analytic":
        problems.append("accept_length_model chain_analytic with verification_method block: block verification "
                        "accepts no longest prefix, so the rates cannot be extrapolated over K; use measured_per_k")
    return problems


def _vector_problems(rates: list[float] | None, key: str, k: int) -> list[str]:
    if rates is None:
        return []
    problems = [] if len(rates) == k else [f"{key} has {len(rates)} entries; num_speculative_tokens is {k}"]
    problems += [f"{key}[{i}] = {r:g} is not a probability in [0, 1]" for i, r in enumerate(rates)
                 if not 0.0 <= r <= 1.0]
    return problems


def conditional_rates(marginal: list[float]) -> list[float]:
    """The conditional rates of marginal ones: P(draft i accepted | drafts before it accepted) is
    ``marginal[i] / marginal[i - 1]`` (0 where no earlier prefix survives); their running product
    is the marginals again (what :func:`_shape_problems` checks)."""
    rates, previous = [], 1.0
    for m in marginal:
        rates.append(m / previous if previous > 0 else 0.0)
        previous = m
    return rates


def _shape_problems(marginal: list[float] | None, conditional: list[float] | None) -> list[str]:
    """Marginals are a survival function (non-increasing) and the running product of the conditionals."""
    if marginal is None:
        return []
    problems = [f"marginal_accept_rates rise from {marginal[i - 1]:g} at position {i - 1} to {marginal[i]:g} at "
                f"{i}: P(the first i+1 drafts accepted) cannot exceed P(the first i)"
                for i in range(1, len(marginal)) if marginal[i] > marginal[i - 1] + ROUNDING]
    if conditional is None:
        return problems
    product = 1.0
    for i, (c, m) in enumerate(zip(conditional, marginal)):
        product *= c
        if abs(product - m) > ROUNDING * (i + 2):
            problems.append(f"conditional_accept_rates[:{i + 1}] multiply to {product:.6g} but "
                            f"marginal_accept_rates[{i}] is {m:g}: the two vectors describe different measurements")
            break
    return problems


def _mean_problems(p: Any, k: int) -> list[str]:
    mean = p.mean_accept_length
    if mean is None:
        return ["mean_accept_length is missing (null) in a measured profile"]
    if not 1.0 <= mean <= k + 1 + ROUNDING:
        return [f"mean_accept_length {mean:g} is outside [1, {k + 1}] (1 + num_speculative_tokens)"]
    marginal = p.marginal_accept_rates
    if marginal is None or p.verification_method != "longest_prefix":
        return []
    implied = 1.0 + math.fsum(marginal)
    if abs(implied - mean) > MEAN_TOLERANCE:
        return [f"mean_accept_length {mean:g} differs from 1 + sum(marginal_accept_rates) = {implied:.6g} by more "
                f"than {MEAN_TOLERANCE} (a vector cut short, or a mean of another measurement)"]
    return []


def histogram_counts(histogram: dict[str, float] | None, k: int) -> tuple[dict[int, float], list[str]]:
    """``{length: steps}`` with integer lengths in 1..k+1, and the problems of keys that are not."""
    counts: dict[int, float] = {}
    problems: list[str] = []
    for key, steps in (histogram or {}).items():
        try:
            length = int(key)
        except ValueError:
            problems.append(f"acceptance_length_histogram key {key!r} is not an acceptance length (an integer)")
            continue
        if not 1 <= length <= k + 1:
            problems.append(f"acceptance_length_histogram has length {length}, outside 1..{k + 1} "
                            "(1 + num_speculative_tokens)")
        counts[length] = counts.get(length, 0.0) + steps
    return counts, problems


def survival(counts: dict[int, float], k: int) -> list[float]:
    """P(length >= i + 2) for draft positions i = 0..k-1 from a ``{length: steps}`` histogram."""
    total = math.fsum(counts.values())
    return [math.fsum(c for length, c in counts.items() if length >= i + 2) / total for i in range(k)]


def _histogram_problems(histogram: dict[str, float] | None, marginal: list[float] | None, mean: float | None,
                        k: int) -> list[str]:
    if histogram is None:
        return []
    counts, problems = histogram_counts(histogram, k)
    if problems:
        return problems
    total = math.fsum(counts.values())
    if total <= 0:
        return ["acceptance_length_histogram counts no step"]
    if marginal is not None and len(marginal) == k:
        for i, (s, m) in enumerate(zip(survival(counts, k), marginal)):
            if abs(s - m) > 2 * ROUNDING:
                problems.append(f"acceptance_length_histogram gives P(length >= {i + 2}) = {s:.6g} but "
                                f"marginal_accept_rates[{i}] is {m:g}")
                break
    hist_mean = math.fsum(length * c for length, c in counts.items()) / total
    if mean is not None and abs(hist_mean - mean) > MEAN_TOLERANCE:
        problems.append(f"acceptance_length_histogram's mean length {hist_mean:.6g} differs from "
                        f"mean_accept_length {mean:g} by more than {MEAN_TOLERANCE}")
    return problems


def by_k(accept_length_by_k: dict[str, float] | None) -> dict[int, float]:
    """``accept_length_by_k`` with integer K (keys already checked)."""
    return {int(key): float(tau) for key, tau in (accept_length_by_k or {}).items()}


def _by_k_problems(p: Any, k: int) -> list[str]:
    problems: list[str] = []
    largest = k
    for key, tau in (p.accept_length_by_k or {}).items():
        if not key.strip().isdigit() or not 1 <= int(key) <= MAX_K:
            problems.append(f"accept_length_by_k key {key[:40]!r} is not a draft length K in 1..{MAX_K}")
            continue
        largest = max(largest, int(key))
        if not 1.0 <= tau <= int(key) + 1 + ROUNDING:
            problems.append(f"accept_length_by_k[{key}] = {tau:g} is outside [1, {int(key) + 1}]")
    if p.max_supported_k is not None and p.max_supported_k < largest:
        problems.append(f"max_supported_k {p.max_supported_k} is below K = {largest} that was measured")
    mean, at_k = p.mean_accept_length, by_k(p.accept_length_by_k).get(k) if not problems else None
    if mean is not None and at_k is not None and abs(mean - at_k) > ROUNDING:
        problems.append(f"accept_length_by_k[{k}] = {at_k:g} differs from mean_accept_length {mean:g} "
                        f"measured at the same K = num_speculative_tokens")
    return problems


def _category_problems(per_category: dict[str, dict[str, Any]] | None, k: int) -> list[str]:
    problems = []
    for name, values in (per_category or {}).items():
        mean = values.get("mean_accept_length")
        if mean is None:
            continue
        try:
            number = checks.number(mean)
        except ValueError as exc:
            problems.append(f"per_category[{name!r}].mean_accept_length {exc}")
            continue
        if not 1.0 <= number <= k + 1 + ROUNDING:
            problems.append(f"per_category[{name!r}].mean_accept_length {number:g} is outside [1, {k + 1}]")
    return problems


def read_profile(path: str | Path) -> dict[str, Any]:
    """A checked ``speculation_profile.json`` as parsed (see :func:`check_profile`)."""
    where = str(path)
    data = parse_json(read_text(Path(path), f"speculation profile {where!r}"), f"speculation profile {where!r}")
    return check_profile(data, where)
