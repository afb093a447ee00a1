"""Fitting the engine profiles' kernel fields to measured rows, and writing them as profiles.

One fit loop (:func:`fit_engine`) for both callers: the script that re-derives the shipped
``src/specroof/cost/engine_kernels.toml`` (``fit_physics.py``) and ``specroof calibrate
--kernels``. The fitted parameters are profile fields; predictions go through
:func:`specroof.calibration.kernels.physics.predict`, i.e. the cost model's pricing functions.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels import selection as sel
from specroof.calibration.profile_file import write_profile
from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.errors import SpecroofError
from specroof.kernels.schema import ALLREDUCE

ENGINE_SECTION_ORDER = ("gemm_bf16", "mla_decode", "dsa_module", "gemm_fp8", "gemm_fp8_block", "gemm_int8_wo",
                        "gemm_int4_wo", "decode_attention", "context_attention", ALLREDUCE, "moe_bf16", "moe_fp8",
                        "moe_fp8_block", "recurrent_scan", "gemm_nvfp4", "moe_nvfp4", "moe_mxfp4")
"""Fit order: fp8 GEMMs reuse the bf16 fixed cost, prefill attention the decode per-sequence costs,
the DSA layer the bf16 GEMM and MLA kernel fields (so it runs before the other GEMM precisions
replace the shared GEMM fields)."""

SHARED_FROM = {"gemm_fp8": ("gemm_fixed_us",), "gemm_fp8_block": ("gemm_fixed_us",),
               "gemm_nvfp4": ("gemm_fixed_us",),
               "context_attention": ("attention_call_us", "attention_seq_us", "attention_kv_head_us",
                                     "attention_q_head_us", "attention_bandwidth_efficiency"),
               "dsa_module": ("compute_efficiency", "bandwidth_efficiency", "gemm_fixed_us", "gemm_overlap_q",
                              "gemm_tiles", "mla_call_us", "mla_seq_us", "mla_row_us", "mla_bandwidth_efficiency",
                              "mla_compute_efficiency")}
"""Fields a section takes from an earlier one (held fixed, not refitted)."""

M_BINS = ((1, 16), (17, 128), (129, 1024), (1025, 8192))
MIN_ROWS = 8
"""A section with fewer selected rows is not fitted."""

RowSource = Callable[[str, str, str], "np.ndarray | None"]
"""(gpu, engine, family) -> that table's rows, or None where there is no such table."""

SectionFit = tuple[dict[str, Any], dict[str, Any]]
"""(fitted profile fields, statistics) of one section."""


def shape_keys(kind: str, a: np.ndarray) -> list[str]:
    if kind == "gemm":
        return [f"{n}x{k}" for n, k in zip(a["n"], a["k"])]
    if kind in ("decode_attention", "context_attention"):
        return [f"{h}/{kv}" for h, kv in zip(a["num_heads"], a["num_kv_heads"])]
    if kind in ("mla_decode", "dsa_module"):
        return [str(h) for h in a["num_heads"]]
    if kind == ALLREDUCE:
        return [str(b) for b in a["message_bytes"]]
    if kind == "recurrent_scan":  # --- linear attention: a layer's heads (and the model's width)
        return [f"{d}/{k}/{v}" for d, k, v in zip(a["d_model"], a["num_k_heads"], a["num_v_heads"])]
    return [f"{h}x{i}x{e}x{k}" for h, i, e, k in zip(a["hidden"], a["inter"], a["num_experts"], a["topk"])]


def split(kind: str, a: np.ndarray, seed: int) -> np.ndarray:
    """True for the rows of a random half of the distinct shapes (the fitting half)."""
    keys = np.array(shape_keys(kind, a))
    uniq = np.unique(keys)
    rng = np.random.default_rng(seed)
    fit_keys = set(rng.choice(uniq, max(len(uniq) // 2, 1), replace=False).tolist())
    mask = np.array([k in fit_keys for k in keys])
    if mask.all():  # a single shape: split rows instead
        mask = rng.random(len(a)) < 0.5
    return mask


def _fit_log(section, a, hw, names, x0, bounds, fixed, to_fields=None):
    from scipy.optimize import least_squares

    meas = a["latency_us"]
    to_fields = to_fields or (lambda p: p)

    def fields(z):
        return dict(fixed, **to_fields({n: float(np.exp(v)) for n, v in zip(names, z)}))

    def resid(z):
        return np.log(np.maximum(ph.predict(section, fields(z), a, hw), 1e-9) / meas)

    lo = np.log([b[0] for b in bounds])
    hi = np.log([b[1] for b in bounds])
    z0 = np.clip(np.log(x0), lo + 1e-9, hi - 1e-9)
    r = least_squares(resid, z0, bounds=(lo, hi), method="trf", loss="soft_l1", f_scale=0.2, max_nfev=200)
    return fields(r.x)


def fit_section(section: str, a: np.ndarray, hw, fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """The profile fields of ``section`` fitted to rows ``a`` on accelerator ``hw``."""
    kind = ph.SECTION_KIND[section][0]
    given = {k: v for k, v in (fixed or {}).items() if k in SHARED_FROM.get(section, ())}
    if kind == ALLREDUCE:
        out: dict[str, Any] = {}
        rows: list[list[float]] = []
        for g in np.unique(a["num_gpus"]):
            sub = a[a["num_gpus"] == g]
            names = ["latency", "oneshot", "twoshot", "busbw"]
            to = (lambda p, g=int(g): {"allreduce_fits": [[g, p["latency"], p["oneshot"], p["twoshot"], p["busbw"]]]})
            f = _fit_log(section, sub, hw, names, [3.0, 300.0, 5.0, 300.0],
                         [(0.1, 100.0), (0.1, 5e3), (1e-3, 500.0), (0.1, 5e3)], {}, to)
            rows += f["allreduce_fits"]
        out["allreduce_fits"] = [[round(float(x), 4) for x in r] for r in rows]
        return out
    spec = ph.FIT_FIELDS[section]
    names = list(spec)
    x0 = [spec[n][0] for n in names]
    bounds = [(spec[n][1], spec[n][2]) for n in names]
    if kind not in ph.DISCRETE:
        return _fit_log(section, a, hw, names, x0, bounds, given)
    field, choices = ph.DISCRETE[kind]
    best = None
    for choice in choices:
        p = _fit_log(section, a, hw, names, x0, bounds, dict(given, **{field: choice}))
        err = ph.mape(ph.predict(section, p, a, hw), a["latency_us"])
        if best is None or err < best[0] - 0.05:
            best = (err, p)
    return best[1]


def thin(a: np.ndarray, n: int, seed: int) -> np.ndarray:
    """At most n rows, seeded."""
    if len(a) <= n:
        return a
    return a[np.sort(np.random.default_rng(seed).choice(len(a), n, replace=False))]


def _stats(pred, meas):
    err = (pred - meas) / meas * 100
    return {"mape_pct": round(float(np.mean(np.abs(err))), 2), "median_ape_pct": round(float(np.median(np.abs(err))), 2),
            "worst_ape_pct": round(float(np.max(np.abs(err))), 1), "bias_pct": round(float(np.mean(err)), 2),
            "rows": int(len(meas))}


def evaluate(section: str, a: np.ndarray, hw, seed: int, fixed: dict[str, Any] | None = None,
             max_rows: int | None = None):
    """Held-out on a random half of the distinct shapes, and the all-rows fit.

    The random half leaves out (n, k) pairs, not values: every n, k and M value is still seen
    in the fit. :mod:`specroof.calibration.kernels.heldout` leaves out whole values of n or k, and whole
    GPUs. Returns (fields fitted on all rows, stats); GEMM stats are also split by M bins.
    """
    kind = ph.SECTION_KIND[section][0]
    a = thin(a, max_rows or (4000 if kind == "moe" else 20000), seed)
    mask = split(kind, a, seed)
    p_half = fit_section(section, a[mask], hw, fixed)
    held_pred = ph.predict(section, p_half, a[~mask], hw)
    p = fit_section(section, a, hw, fixed)
    pred = ph.predict(section, p, a, hw)
    fit = _stats(pred, a["latency_us"])
    held = _stats(held_pred, a[~mask]["latency_us"])
    stats: dict[str, Any] = {"rows": fit["rows"], "mape_heldout_pct": held["mape_pct"], "mape_fit_pct": fit["mape_pct"],
                             "median_ape_pct": fit["median_ape_pct"], "worst_ape_pct": fit["worst_ape_pct"],
                             "bias_pct": fit["bias_pct"], "heldout": held}
    if kind == "gemm":
        bins = {}
        held_rows = a[~mask]
        for lo, hi in M_BINS:
            s = (held_rows["m"] >= lo) & (held_rows["m"] <= hi)
            if s.any():
                bins[f"{lo}-{hi}"] = _stats(held_pred[s], held_rows["latency_us"][s])
        stats["heldout_by_m"] = bins
    return p, stats


def section_seed(gpu: str, engine: str, section: str) -> int:
    """The seed of a section's random split and thinning: fixed per (gpu, engine, section)."""
    return zlib.crc32(f"{gpu}-{engine}-{section}".encode())


def fit_engine(source: RowSource, gpu: str, engine: str, hardware: Any, sections: Iterable[str] | None = None,
               max_rows: int | None = None, report: Callable[[str, SectionFit], None] | None = None,
               skipped: dict[str, str] | None = None, shipped: dict[str, Any] | None = None) -> dict[str, SectionFit]:
    """Fit every section of one GPU x engine in :data:`ENGINE_SECTION_ORDER` (``sections``
    limits which), each on the rows the selection keeps, later sections holding the fields
    they share with earlier ones (:data:`SHARED_FROM`) at the earlier fit.

    A section with no table or under :data:`MIN_ROWS` rows is left out; one that cannot be
    priced (e.g. the device has no fp8 peak) too, with the reason in ``skipped``. Only one
    kernel table is in memory at a time. ``report(section, (fields, stats))`` is called after
    each fit. ``shipped``: fields the shared ones start from (a run of later sections only holds
    them at the shipped fit of the earlier ones).
    """
    wanted = set(ENGINE_SECTION_ORDER if sections is None else sections)
    results: dict[str, SectionFit] = {}
    fixed: dict[str, Any] = dict(shipped or {})
    family, table = None, None
    for section in (s for s in ENGINE_SECTION_ORDER if s in wanted):
        if sel.SECTIONS[section][0] != family:
            family = sel.SECTIONS[section][0]
            table = source(gpu, engine, family)
        rows = None if table is None else sel.select(section, table)
        if rows is None or len(rows) < MIN_ROWS:
            continue
        try:
            fit = evaluate(section, rows, hardware, section_seed(gpu, engine, section), fixed, max_rows)
        except SpecroofError as exc:
            if skipped is not None:
                skipped[section] = str(exc)
            continue
        fixed.update(fit[0])
        results[section] = fit
        if report is not None:
            report(section, fit)
    return results


def _clean(v):
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def profile_tables(res: dict[tuple[str, str, str], tuple[dict, dict]]) -> dict[str, dict[str, Any]]:
    """{(gpu, engine): {precision: fields}} from fit results, the engine structure included."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for (gpu, engine, section), (p, _) in sorted(res.items()):
        precision = ph.SECTION_KIND[section][2]
        entry = out.setdefault((gpu, engine), {"bf16": dict(ph.ENGINE_STRUCTURE)})
        table = entry.setdefault(precision, dict(ph.PRECISION_FIXED.get(precision, {})))
        for k, v in p.items():
            if k == "gemm_tiles" and isinstance(v, (int, float)):
                v = [[int(v), 128]]
            if k in SHARED_FROM.get(section, ()):
                continue
            table[k] = _clean(v)
    return out


def write_profiles(path: str | Path, res, fitted_by: str, gpu_names: dict[str, str] | None = None,
                   data: str = "NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0), see data/kernels/NOTICE") -> None:
    """The fitted engine kernels as TOML: ``[<device>.<engine>.<precision>]`` profile fields,
    written atomically (:func:`specroof.calibration.profile_file.write_profile`)."""
    names = DATABASE_GPUS if gpu_names is None else gpu_names
    doc: dict[str, Any] = {"about": {
        "data": data, "fitted_by": fitted_by,
        "what": "profile fields of the pricing functions in src/specroof/cost/pricing.py, per catalog device x "
                "engine: [bf16] applies always, [fp8] / [fp8_block] / [int8] / [int4] / [nvfp4] / [mxfp4] replace "
                "them for GEMMs and MoE layers with weights of that precision; stats: held-out MAPE etc. (data/kernels/fit-stats.json)",
    }}
    for (gpu, engine), entry in profile_tables(res).items():
        device = names.get(gpu, gpu)
        node = _engine_node(res, gpu, engine, device)
        node.update(entry)
        doc.setdefault(device, {})[engine] = node
    write_profile(path, [f"Generated by {fitted_by}; do not edit by hand."], doc, blank_line=False)


def _engine_node(res, gpu: str, engine: str, device: str) -> dict[str, Any]:
    """The header fields of one device x engine entry: versions fitted, caveat, held-out MAPE."""
    versions = sorted({s["table"].split("/")[3] for (g, e, _), (_, s) in res.items()
                       if g == gpu and e == engine and s.get("table", "").count("/") >= 3})
    version = ", ".join(versions) or "?"
    held = {sec: s["mape_heldout_pct"] for (g, e, sec), (_, s) in res.items() if g == gpu and e == engine}
    return {"database_gpu": gpu, "engine_version": version,
            "caveat": f"profile {engine} on {device}: kernels fitted to NVIDIA's measured {engine} {version} "
                      f"kernels ({gpu}, aiconfigurator-core 0.12.0); held-out MAPE per family in "
                      "docs/kernel-accuracy.md",
            "heldout_mape_pct": held}
