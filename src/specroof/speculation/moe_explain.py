"""The line ``explain`` prints for a mixture-of-experts model: the extra experts the verified
tokens wake (the MoE verification tax, :func:`specroof.speculation.explain.moe_tax`).

A plain decoding step routes ``b`` tokens, a verification step ``b x n``: in every MoE layer
the second wakes more routed experts, each of whose weights is read once. Shared experts run
for every token in both steps (their weights are read either way), so they add no tax; dense
layers have no experts to wake.
"""

from __future__ import annotations

from typing import Any


def moe_tax_line(tax: dict[str, Any], verified_tokens: int) -> str:
    """One line: routed experts per MoE layer, plain vs verify, and what the growth costs."""
    shared = tax.get("shared_experts", 0)
    always = ("" if not shared else "; the shared expert runs for every token either way" if shared == 1
              else f"; the {shared} shared experts run for every token either way")
    layers = tax.get("moe_layers")
    where = f"in each of {layers} MoE layers" if layers else "per layer"
    return (f"MoE verification tax: {tax['experts_verify']:.2f} of {tax.get('routed_experts', '?')} routed experts "
            f"woken {where} by the {verified_tokens} verified tokens vs {tax['experts_plain']:.2f} for the plain "
            f"step: +{tax['tax_ms']:.3f} ms in {', '.join(tax['expert_ops'])} "
            f"({100 * tax['tax_share_of_verify']:.1f}% of the verify step){always}")
