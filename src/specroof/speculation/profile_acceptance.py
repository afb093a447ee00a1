"""``profile:FILE[:CATEGORY]``: a ``speculation_profile.json`` read as an acceptance model.

The profile's ``accept_length_model`` decides what tau(n) it gives (n = K + 1 tokens verified):

- ``chain_analytic`` with longest-prefix marginals: tau(n) = 1 + sum of the first n - 1 marginal
  rates, for every n up to K + 1 (a K=n draft is a prefix of the K=n+1 draft, so the shorter
  chains were measured too), plus any larger K of ``accept_length_by_k``;
- ``measured_per_k`` (or block verification): only the K of ``accept_length_by_k`` (else the
  mean at K = num_speculative_tokens), linear from (1, 1) between them, as every measured
  curve of specroof reads (:class:`~specroof.speculation.acceptance.CurveAcceptance`).

Never past the largest K measured: a larger n is refused. ``:CATEGORY`` uses that category's
mean accept length (at K = num_speculative_tokens only). Acceptance is assumed independent of
batch size and context length, as for the engines' metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.errors import SpecroofError, suggest
from specroof.speculation.engine_metrics import EngineAcceptance, split_file_arg
from specroof.speculation.profile_json import ACCEPT_LENGTH_MODELS, by_k, histogram_counts, read_profile

ASSUMPTION = ("acceptance is assumed independent of batch size and context length "
              "(the profile averages over the prompts it measured)")


class ProfileAcceptance(EngineAcceptance):
    """tau(n) from a speculation profile; ``profile`` keeps the file's dict unchanged."""

    def __init__(self, profile: dict[str, Any], spec: str, category: str | None = None) -> None:
        points, rates, notes = _points(profile, category)
        counters = {key: profile.get(key) for key in ("method", "num_speculative_tokens", "mean_accept_length",
                                                      "accept_length_model", "verification_method")}
        counts = _position_counts(profile) if rates is not None else None
        super().__init__(points, spec, "speculation_profile", counters, rates, counts, notes)
        self.profile = profile
        self.category = category
        self.assumption = ASSUMPTION


def _points(profile: dict[str, Any], category: str | None) -> tuple[list[tuple[float, float]], list[float] | None,
                                                                      list[str]]:
    """The measured (n, tau) points, the per-position rates used (or None) and how they were read."""
    if profile.get("measured") is False:
        raise SpecroofError("the profile is an unmeasured placeholder (measured: false); measure it "
                            "(specroof acceptance --measure, or Model-Optimizer's specdec_bench) first")
    k = int(profile["num_speculative_tokens"])
    model = profile["accept_length_model"]
    if category is not None:
        return _category_points(profile, category, k), None, [f"category {category!r}: its mean at K={k} only"]
    marginal = profile.get("marginal_accept_rates")
    measured = by_k(profile.get("accept_length_by_k"))
    chain = (model == ACCEPT_LENGTH_MODELS[0] and marginal is not None
             and profile.get("verification_method", "longest_prefix") == "longest_prefix")
    if chain:
        taus = 1.0 + np.cumsum(marginal)
        points = [(float(i + 2), float(t)) for i, t in enumerate(taus)]
        points += [(float(kk + 1), tau) for kk, tau in sorted(measured.items()) if kk > k]
        note = f"chain_analytic: tau at every K <= {k} from the marginal rates"
        return [(1.0, 1.0)] + points, list(marginal), [note]
    if not measured:
        mean = profile.get("mean_accept_length")
        measured = {k: float(mean)} if mean is not None else {}
    if not measured:
        raise SpecroofError("the profile gives no accept length: neither accept_length_by_k nor mean_accept_length")
    ks = ", ".join(str(kk) for kk in sorted(measured))
    note = f"{model}: tau measured at K = {ks} only (linear from (1, 1) in between)"
    return [(1.0, 1.0)] + [(float(kk + 1), tau) for kk, tau in sorted(measured.items())], None, [note]


def _position_counts(profile: dict[str, Any]) -> list[float] | None:
    """Steps that accepted each draft position, from the histogram (None without one)."""
    histogram = profile.get("acceptance_length_histogram")
    if not histogram:
        return None
    k = int(profile["num_speculative_tokens"])
    counts, _ = histogram_counts(histogram, k)
    return [sum(c for length, c in counts.items() if length >= i + 2) for i in range(k)]


def _category_points(profile: dict[str, Any], category: str, k: int) -> list[tuple[float, float]]:
    categories = profile.get("per_category") or {}
    if category not in categories:
        listed = ", ".join(sorted(categories)) or "none"
        raise SpecroofError(f"the profile has no category {category!r}{suggest(category, categories)}; "
                            f"its categories: {listed}")
    mean = categories[category].get("mean_accept_length")
    if mean is None:
        raise SpecroofError(f"the profile's category {category!r} gives no mean_accept_length")
    return [(1.0, 1.0), (float(k + 1), float(mean))]


def parse_profile(args: str) -> ProfileAcceptance:
    """``FILE[:CATEGORY]`` of ``profile:FILE[:CATEGORY]``."""
    path, category = split_file_arg("profile", args, "CATEGORY")
    try:
        profile = read_profile(path)
        return ProfileAcceptance(profile, f"profile:{args}", category)
    except SpecroofError as exc:
        text = str(exc)
        raise SpecroofError(text if str(path) in text.splitlines()[0] else f"{path}: {text}") from None
