"""Print the markdown tables of docs/kernels-data.md from the fitted parameters and measured facts.

    python benchmarks/kernels/memo_tables.py > /tmp/tables.md
Inputs: data/kernels/fitted-params.toml (fit_physics.py --write) and
data/kernels/measured-facts.json (fit_physics.py --facts).
"""

from __future__ import annotations

import json
from pathlib import Path

from specroof.datafiles import read_toml

REPO = Path(__file__).resolve().parents[2]
GPUS = ("h200_sxm", "h100_sxm", "b200_sxm", "gb200", "a100_sxm", "l40s")
ENGINES = ("trtllm", "vllm", "sglang")


def fmt(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def main():
    p = read_toml(REPO / "data" / "kernels" / "fitted-params.toml", "fitted-params.toml")
    f = json.loads((REPO / "data" / "kernels" / "measured-facts.json").read_text())

    def sec(g, e, s):
        return p.get(g, {}).get(e, {}).get(s, {})

    print("### Held-out MAPE per family (fit on half the shapes, scored on the other half), %\n")
    cols = ["gemm_bf16", "gemm_fp8", "gemm_fp8_block", "decode_attention", "context_attention", "allreduce",
            "moe_bf16", "moe_fp8", "moe_fp8_block"]
    print("| GPU | engine | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for g in GPUS:
        for e in ENGINES:
            if g in p and e in p[g]:
                print(f"| {g} | {e} | " + " | ".join(fmt(sec(g, e, c).get("mape_heldout_pct")) for c in cols) + " |")

    print("\n### bf16 GEMM (n, k in 2048..28672, M <= 8192): fitted and measured\n")
    print("| GPU | engine | F TFLOP/s | BW GB/s | t0 us | q | measured p90 TFLOP/s (M>=2048) | of peak | "
          "measured p90 GB/s (M<=16) | of datasheet | held-out % | median % | worst % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for g in GPUS:
        for e in ENGINES:
            s, m = sec(g, e, "gemm_bf16"), f.get(f"{g}/{e}/gemm", {})
            if s:
                print(f"| {g} | {e} | {s['flops_tflops']:.0f} | {s['bandwidth_gbps']:.0f} | {s['t0_us']:.2f} | "
                      f"{s['overlap_q']:.2f} | {fmt(m.get('bf16_large_tflops_p90'), 0)} | "
                      f"{fmt(m.get('bf16_large_fraction_of_peak_p90'), 2)} | {fmt(m.get('bf16_small_m_gbps_p90'), 0)} | "
                      f"{fmt(m.get('bf16_small_m_fraction_of_datasheet_bw_p90'), 2)} | {s['mape_heldout_pct']:.1f} | "
                      f"{s['median_ape_pct']:.1f} | {s['worst_ape_pct']:.0f} |")

    print("\n### Tile steps: median (p90) of t(M+1)/t(M) over LLM (n, k)\n")
    steps = [128, 256, 512, 1024]
    print("| GPU | engine | dtype | " + " | ".join(f"{s}->{s + 1}" for s in steps) + " |")
    print("|---|---|---|" + "---|" * len(steps))
    for g in GPUS:
        for e in ENGINES:
            m = f.get(f"{g}/{e}/gemm", {})
            for dt in ("bf16", "fp8"):
                if f"{dt}_step_128_to_129_median" in m:
                    print(f"| {g} | {e} | {dt} | " + " | ".join(
                        f"{m[f'{dt}_step_{s}_to_{s + 1}_median']:.2f} ({m[f'{dt}_step_{s}_to_{s + 1}_p90']:.2f})"
                        for s in steps) + " |")

    print("\n### Low-precision GEMM time over bf16 time, same (m, n, k), median\n")
    print("| GPU | engine | fp8 M<=16 | fp8 M>=4096 | fp8_block M<=16 | fp8_block M>=4096 | fp8 fit F | fp8 fit t0 us |"
          " fp8 held-out % | fp8_block held-out % |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for g in GPUS:
        for e in ENGINES:
            m, s, sb = f.get(f"{g}/{e}/gemm", {}), sec(g, e, "gemm_fp8"), sec(g, e, "gemm_fp8_block")
            if "fp8_over_bf16_m_le_16" in m:
                print(f"| {g} | {e} | {fmt(m.get('fp8_over_bf16_m_le_16'), 2)} | {fmt(m.get('fp8_over_bf16_m_ge_4096'), 2)} | "
                      f"{fmt(m.get('fp8_block_over_bf16_m_le_16'), 2)} | {fmt(m.get('fp8_block_over_bf16_m_ge_4096'), 2)} | "
                      f"{fmt(s.get('flops_tflops'), 0)} | {fmt(s.get('t0_us'), 1)} | {fmt(s.get('mape_heldout_pct'))} | "
                      f"{fmt(sb.get('mape_heldout_pct'))} |")
    m = f.get("a100_sxm/trtllm/gemm", {})
    print("\nA100 TRT-LLM weight-only / SmoothQuant over bf16 (median, same shape): "
          + ", ".join(f"{k.replace('_over_bf16_', ' ')} = {v}" for k, v in m.items() if "_over_bf16_" in k))

    print("\n### Decode attention (head_dim 128, bf16 KV, no window)\n")
    print("| GPU | engine | c0 us | c_seq us | c_kv_head us | c_q_head us | BW GB/s | per-seq us (32 q / 8 kv heads) | "
          "measured call us (b=1, kv<=16) | measured per-seq us (b=256) | max KV GB/s | held-out % | median % | worst % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for g in GPUS:
        for e in ENGINES:
            s, m = sec(g, e, "decode_attention"), f.get(f"{g}/{e}/decode_attention", {})
            if s:
                per = s["c_seq_us"] + 8 * s["c_kv_head_us"] + 32 * s["c_q_head_us"]
                print(f"| {g} | {e} | {s['c0_us']:.2f} | {s['c_seq_us']:.4f} | {s['c_kv_head_us']:.4f} | "
                      f"{s['c_q_head_us']:.5f} | {s['bandwidth_gbps']:.0f} | {per:.3f} | "
                      f"{fmt(m.get('call_us_batch1_kv_le16_h32_kv8'), 2)} | {fmt(m.get('per_seq_us_batch256_kv_le16_h32_kv8'), 3)} | "
                      f"{fmt(m.get('kv_gbps_max'), 0)} | {s['mape_heldout_pct']:.1f} | {s['median_ape_pct']:.1f} | "
                      f"{s['worst_ape_pct']:.0f} |")

    print("\n### Context (prefill) attention, head_dim 128 bf16: causal vs full-square FLOP count\n")
    print("| GPU | engine | c0 us | F causal TFLOP/s | F if full square | bf16 peak | held-out % (causal) |")
    print("|---|---|---|---|---|---|---|")
    peaks = {"h200_sxm": 989.4, "h100_sxm": 989.4, "b200_sxm": 2250.0, "a100_sxm": 312.0, "l40s": 362.0}
    for g in GPUS:
        for e in ENGINES:
            s, n = sec(g, e, "context_attention"), sec(g, e, "context_attention_noncausal")
            if s:
                print(f"| {g} | {e} | {s['c0_us']:.1f} | {s['flops_tflops']:.0f} | {fmt(n.get('flops_tflops'), 0)} | "
                      f"{fmt(peaks.get(g), 0)} | {s['mape_heldout_pct']:.1f} |")

    print("\n### Custom all-reduce (CUDA graph), per GPU count\n")
    print("| GPU | engine | g | latency us | one-shot GB/s | two-shot extra us | two-shot busbw GB/s | "
          "measured min us | measured max busbw | NCCL min us | NCCL max busbw | held-out % (all g) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for g in GPUS:
        nccl = f.get(f"{g}/nccl/allreduce", {})
        for e in ENGINES:
            s, m = sec(g, e, "allreduce"), f.get(f"{g}/{e}/allreduce", {})
            for n in (2, 4, 8):
                if f"latency_us_{n}gpu" in s:
                    print(f"| {g} | {e} | {n} | {s[f'latency_us_{n}gpu']:.2f} | {s[f'oneshot_gbps_{n}gpu']:.0f} | "
                          f"{s[f'twoshot_us_{n}gpu']:.1f} | {s[f'busbw_gbps_{n}gpu']:.0f} | "
                          f"{fmt(m.get(f'min_latency_us_{n}gpu'), 2)} | {fmt(m.get(f'max_busbw_gbps_{n}gpu'), 0)} | "
                          f"{fmt(nccl.get(f'min_latency_us_{n}gpu'), 2)} | {fmt(nccl.get(f'max_busbw_gbps_{n}gpu'), 0)} | "
                          f"{s['mape_heldout_pct']:.1f} |")

    print("\n### MoE layer (single GPU, tp = ep = 1)\n")
    print("| GPU | engine | dtype | F TFLOP/s | BW GB/s | t0 us | tile_m | held-out % | median % | worst % | "
          "pl1.2/balanced T<=64 | pl1.2/balanced T>=1024 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for g in GPUS:
        for e in ENGINES:
            m = f.get(f"{g}/{e}/moe", {})
            for dt in ("bf16", "fp8", "fp8_block"):
                s = sec(g, e, f"moe_{dt}")
                if s:
                    print(f"| {g} | {e} | {dt} | {s['flops_tflops']:.0f} | {s['bandwidth_gbps']:.0f} | {s['t0_us']:.1f} | "
                          f"{s['tile_m']} | {s['mape_heldout_pct']:.1f} | {s['median_ape_pct']:.1f} | {s['worst_ape_pct']:.0f} | "
                          f"{fmt(m.get('power_law_1.2_over_balanced_tokens_le_64'), 2)} | "
                          f"{fmt(m.get('power_law_1.2_over_balanced_tokens_ge_1024'), 2)} |")


if __name__ == "__main__":
    main()
