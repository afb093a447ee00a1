"""Writing ``speculation_profile.json`` (:mod:`specroof.speculation.profile_json`): from measured
per-position acceptance, from an engine's metrics, or a profile read back unchanged.

What a file holds is derived the way Model-Optimizer's producer derives it (PR #2247, see
:mod:`~specroof.speculation.profile_json`): the marginal rates are the survival function of the
accepted length, the conditional rates their consecutive ratios, the mean the histogram's
step-weighted mean, every number rounded to 6 decimals, and a ``validation`` block with the same
two checks. A profile is checked before it is written, and written atomically.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from specroof.datafiles import write_atomic
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.speculation.engine_metrics import EngineAcceptance
from specroof.speculation.profile_json import (
    CHAIN_METHODS,
    MEAN_TOLERANCE,
    SCHEMA_VERSION,
    check_profile,
    conditional_rates,
)

DIGITS = 6
"""Decimals every rate and mean is written with (as Model-Optimizer's producer writes them)."""


def histogram_from_positions(accepted: Sequence[float], steps: float) -> dict[str, int | float]:
    """``{length: steps}`` from longest-prefix counts: ``accepted[i]`` steps accepted draft position i.

    A step of length L accepted positions 0..L-2 and not L-1, so steps(L) = accepted[L-2] -
    accepted[L-1] (length 1: steps - accepted[0]; length K+1: accepted[K-1]).
    """
    edges = [float(steps), *map(float, accepted), 0.0]
    out: dict[str, int | float] = {}
    for length in range(1, len(accepted) + 2):
        count = edges[length - 1] - edges[length]
        out[str(length)] = int(count) if float(count).is_integer() else count
    return out


def profile_from_marginals(marginal: Sequence[float], *, method: str | None = None,
                           histogram: dict[str, int | float] | None = None, mean: float | None = None,
                           accept_length_model: str | None = None, **provenance: Any) -> dict[str, Any]:
    """A schema-1.0 profile from P(first i+1 drafts accepted) per position i (K = their count).

    ``mean`` defaults to the histogram's step-weighted mean, else 1 + sum(marginals).
    ``accept_length_model`` defaults as the producer's does: ``chain_analytic`` for a chain
    method (:data:`CHAIN_METHODS`), else ``measured_per_k``. ``provenance``: draft_checkpoint,
    target_model, per_category, measurement_conditions, max_supported_k.
    """
    k = len(marginal)
    marginal = [float(m) for m in marginal]
    conditional = conditional_rates(marginal)
    if mean is None and histogram:
        total = math.fsum(histogram.values())
        mean = math.fsum(int(length) * c for length, c in histogram.items()) / total if total else None
    if mean is None:
        mean = 1.0 + math.fsum(marginal)
    profile = _base(k, method, accept_length_model, round(mean, DIGITS), provenance)
    profile["conditional_accept_rates"] = [round(c, DIGITS) for c in conditional]
    profile["marginal_accept_rates"] = [round(m, DIGITS) for m in marginal]
    profile["acceptance_length_histogram"] = histogram
    profile["validation"] = _validation(profile["mean_accept_length"], profile["marginal_accept_rates"])
    return _ordered(profile)


def profile_from_mean(k: int, mean: float, *, method: str | None = None, **provenance: Any) -> dict[str, Any]:
    """A profile of one measured mean at K (no per-position rates: ``measured_per_k``, vectors null)."""
    profile = _base(k, method, "measured_per_k", round(mean, DIGITS), provenance)
    profile["conditional_accept_rates"] = profile["marginal_accept_rates"] = None
    profile["acceptance_length_histogram"] = None
    profile["validation"] = None
    warnings.warn(SpecroofWarning(f"the profile has no per-position rates (the source gives the mean accept length "
                                  f"{mean:.4g} at K={k} only): conditional/marginal_accept_rates are null, so a "
                                  "consumer that needs them cannot use it"), stacklevel=2)
    return _ordered(profile)


def _base(k: int, method: str | None, model: str | None, mean: float, provenance: dict[str, Any]) -> dict[str, Any]:
    known = {"draft_checkpoint", "target_model", "per_category", "measurement_conditions", "max_supported_k",
             "block_size"}
    unknown = sorted(set(provenance) - known)
    if unknown:
        raise TypeError(f"unknown profile provenance {unknown}")
    if model is None:
        model = "chain_analytic" if method and method.lower() in CHAIN_METHODS else "measured_per_k"
        if model == "measured_per_k":
            warnings.warn(SpecroofWarning(
                f"accept_length_model measured_per_k: the drafting method {method or '(not given)'} is not known "
                "to draft chains whose shorter drafts are prefixes, so the profile says tau is known at "
                f"K={k} only; name a chain method (--method) for per-K extrapolation"), stacklevel=3)
    return {"schema_version": SCHEMA_VERSION, "measured": True, "method": method,
            "num_speculative_tokens": k, "verification_method": "longest_prefix",
            "max_supported_k": provenance.get("max_supported_k") or k,
            "mean_accept_length": mean, "accept_length_model": model,
            "accept_length_by_k": {str(k): mean}, **{key: provenance.get(key) for key in sorted(known)
                                                     if key != "max_supported_k"}}


def _validation(mean: float, marginal: list[float]) -> dict[str, Any]:
    """The producer's ``validation`` block (its two checks, recomputed on what is written)."""
    implied = 1.0 + math.fsum(marginal)
    rises = [{"position": i, "value": marginal[i], "previous": marginal[i - 1]}
             for i in range(1, len(marginal)) if marginal[i] > marginal[i - 1] + 1e-9]
    return {"mean_consistency": {"implied_mean_accept_length": round(implied, DIGITS),
                                 "reported_mean_accept_length": mean,
                                 "abs_delta": round(abs(implied - mean), DIGITS), "tolerance": MEAN_TOLERANCE,
                                 "passed": abs(implied - mean) <= MEAN_TOLERANCE},
            "marginal_monotonicity": {"passed": not rises, "violations": rises}}


_ORDER = ("schema_version", "measured", "method", "draft_checkpoint", "target_model", "num_speculative_tokens",
          "block_size", "max_supported_k", "verification_method", "conditional_accept_rates",
          "marginal_accept_rates", "mean_accept_length", "accept_length_model", "accept_length_by_k",
          "acceptance_length_histogram", "per_category", "measurement_conditions", "validation")


def _ordered(profile: dict[str, Any]) -> dict[str, Any]:
    """Keys in the producer's order, so files diff cleanly against Model-Optimizer's."""
    return {key: profile[key] for key in _ORDER if key in profile}


def profile_from_engine(model: EngineAcceptance, method: str | None = None) -> dict[str, Any]:
    """The profile an engine's metrics give: per-position rates where the engine counted them."""
    profile = getattr(model, "profile", None)
    if profile is not None:  # a profile read back: written unchanged (the round trip is lossless)
        if getattr(model, "category", None) is not None:
            raise SpecroofError(f"{model.describe()}: a category gives one mean, and --write-profile writes the "
                                "whole profile unchanged; drop the :CATEGORY")
        if method is not None and method != profile.get("method"):
            raise SpecroofError(f"--method {method} differs from the profile's method {profile.get('method')!r}; "
                                "a profile read back is written unchanged: drop --method")
        return profile
    if model.counts != "positions":
        raise SpecroofError(f"{model.describe()} measured a tree ({model.engine} did not state topk 1), and a "
                            "speculation profile describes a chain of K drafts; measure a chain (topk 1)")
    conditions = {"engine": model.engine, "source": model.describe(), "counters": model.counters,
                  "notes": model.notes, "assumption": model.assumption}
    if model.position_rates is None:
        k = model.max_candidates - 1
        return profile_from_mean(k, float(model.acceptance[-1]), method=method, measurement_conditions=conditions)
    histogram = None
    if model.position_counts is not None:
        histogram = histogram_from_positions(model.position_counts, float(model.counters["num_drafts"]))
    return profile_from_marginals(model.position_rates, method=method, histogram=histogram,
                                  measurement_conditions=conditions)


def profile_text(profile: dict[str, Any]) -> str:
    """The file's text: indented JSON, one trailing newline."""
    return json.dumps(profile, indent=2) + "\n"


def write_profile(path: str | Path, profile: dict[str, Any]) -> Path:
    """Check ``profile`` and write it atomically (never over a file this command read)."""
    with warnings.catch_warnings():  # unknown keys of a profile read back were named when it was read
        warnings.simplefilter("ignore", SpecroofWarning)
        check_profile(profile, f"profile to write to {str(path)!r}")
    return write_atomic(path, profile_text(profile), "speculation profile")
