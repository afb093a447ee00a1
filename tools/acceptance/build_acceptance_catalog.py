"""Build ``src/specroof/speculation/data/acceptance-catalog.csv`` from the transcribed sources.

The catalog is made, never typed: every row comes from a file that already holds a transcription
with its source, and keeps that source:

- ``data/validation/specdecode-bench-trace-acceptance.csv`` (SpecDecode-Bench's Llama-3.1-8B
  traces: EAGLE-3 and n-gram, four datasets, K = 1..15);
- ``tools/acceptance/published-acceptance.csv`` (EAGLE-1 in vLLM PR #16035; MTP from
  InferenceX's golden acceptance files);
- ``data/validation/published-e2e.csv`` (chain rows of its issue-18 collection with a stated acceptance length);
- ``tools/acceptance/catalog-transcribed.csv`` (vLLM's acceptance-length CI reference: EAGLE-3
  per-position rates, MTP means; vLLM issue #20780's EAGLE-1/EAGLE-3 tau for K = 2..7; one-K rows of
  SGLang/TokenSpeed PRs; and, appended 2026-12-07, model cards (RedHatAI Llama-4-Maverick K = 1..7,
  the nebius LK-losses cards at K = 7), the Red Hat speculators dashboard's per-position rates, vLLM's
  AMD blog's mean accepted length per proposal length, SGLang PR #23336's GLM-4.7 MTP; each source's
  conditions are in that file's comments).

A published curve that falls as K grows (sampling noise at temperature > 0) is cut at its
last K before the first fall, and the row says so in ``derivation``: the catalog never holds a
tau that a shorter chain beat. Run: ``python tools/acceptance/build_acceptance_catalog.py``
(``--check`` compares with the committed file instead of writing it).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src" / "specroof" / "speculation" / "data" / "acceptance-catalog.csv"
COLUMNS = ("model", "method", "checkpoint", "domain", "dataset", "setting", "temperature", "context",
           "k_draft_tokens", "acceptance_length", "spread", "derivation", "engine", "engine_version",
           "chat_template", "dataset_kind", "source_url", "source_where")
DOMAINS = {"gsm8k": "math", "instructcoder": "coding", "cnn_dailymail": "summarization", "sharegpt": "chat",
           "mt-bench": "chat", "mt_bench": "chat", "magpie": "chat", "speed-bench qualitative": "coding"}
SPECDECODE_URL = "https://github.com/SpecDecode-Bench/simulator"
HEADER = """# Acceptance catalog: measured acceptance length tau (tokens per step, the verified token included) of a
# CHAIN of K draft tokens, one row per (model, method, checkpoint, domain, dataset, setting, temperature, context, K).
# Made by tools/acceptance/build_acceptance_catalog.py from transcribed files (never typed here); every row keeps
# its source URL and place. Empty cell = not stated by the source. derivation says how tau was obtained from the
# source's numbers (stated / prefix sum of per-position rates / midpoint / cut at a fall). spread: half-width in tau
# units where the source gives one. Licences: vLLM, TensorRT-LLM, InferenceX are Apache-2.0 (numbers only);
# SpecDecode-Bench ships no licence file (numbers cited, see data/validation/README.md). See docs/acceptance-catalog.md.
"""


def _records(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _domain(dataset: str) -> str:
    low = dataset.lower()
    for key, domain in DOMAINS.items():
        if low.startswith(key):
            return domain
    return "unstated"


def _split_precision(name: str) -> tuple[str, str]:
    """('qwen3.5-397b-a17b', 'nvfp4') from 'qwen3.5-397b-a17b-nvfp4': the model, then its weights' format."""
    for suffix in ("nvfp4", "fp8"):
        if name.endswith("-" + suffix):
            return name.removesuffix("-" + suffix), suffix
    return name, ""


def _row(**cells: str) -> dict[str, str]:
    return {column: str(cells.get(column, "")) for column in COLUMNS}


def specdecode_rows() -> Iterator[dict[str, str]]:
    """SpecDecode-Bench trace curves (vLLM v0.10.1 per the project page; sampling not stated)."""
    for r in _records(ROOT / "data" / "validation" / "specdecode-bench-trace-acceptance.csv"):
        k = int(r["k_draft_tokens"])
        if k < 1:
            continue
        yield _row(model=r["model"], method=r["method"], checkpoint="as in the SpecDecode-Bench traces",
                   domain=_domain(r["dataset"]), dataset=r["dataset"], k_draft_tokens=k,
                   acceptance_length=r["acceptance_length"], derivation="stated (trace replay, step-weighted)",
                   engine="vllm", engine_version="0.10.1 (project page: most experiments)", chat_template="unknown",
                   dataset_kind="real", source_url=SPECDECODE_URL, source_where=r["source"].replace(SPECDECODE_URL, "").strip())


def published_rows() -> Iterator[dict[str, str]]:
    """EAGLE-1 (vLLM PR #16035) and MTP (InferenceX golden acceptance files)."""
    for r in _records(ROOT / "tools" / "acceptance" / "published-acceptance.csv"):
        mtp = r["method"] == "mtp"
        temperature = "" if not mtp else ("0.6" if "qwen" in r["model"] and r["setting"] == "thinking_on"
                                          else "0.7" if "qwen" in r["model"] else "1.0")
        url = r["source"] if r["source"].startswith("http") else (
            "https://github.com/SemiAnalysisAI/InferenceX/tree/843c6254ff69b567f772f6a5fd97675af3d04431/"
            "golden_al_distribution")
        model, weights = _split_precision(r["model"].removesuffix("-instruct"))
        yield _row(model=model, method=r["method"],
                   checkpoint=("the model's own MTP layer(s)" + (f"; {weights} weights" if weights else ""))
                   if mtp else "lmsys/sglang-EAGLE-LLaMA3-Instruct-8B",
                   domain="coding" if mtp else "chat",
                   dataset="SPEED-Bench qualitative coding (80 prompts)" if mtp else "mt-bench",
                   setting=r["setting"] if mtp else "", temperature=temperature,
                   context="4096 output tokens" if mtp else "", k_draft_tokens=r["k_draft_tokens"],
                   acceptance_length=r["acceptance_length"], derivation="stated",
                   engine="vllm", engine_version="not stated (InferenceX, B300)" if mtp else "V1 at PR #16035",
                   chat_template="unknown", dataset_kind="real", source_url=url,
                   source_where=r["source"] if mtp else "PR comment by ekagra-ranjan, 2025-04-09")


def frontier_rows() -> Iterator[dict[str, str]]:
    """Chain rows of the issue-18 frontier collection of the published set with a stated acceptance
    length (first batch per K). The rows appended for issue 20 (collection ``e2e-2026-12-07``) are
    left out: their test half must not feed a shipped default."""
    for r in _records(ROOT / "data" / "validation" / "published-e2e.csv"):
        if r["collection"] != "frontier-2026-12-06" or not r["acceptance_length"] or r["tree"] != "chain":
            continue
        midpoint = "midpoint" in r["notes"]
        temperature = "0.7" if "temperature 0.7" in r["dataset"] else ""
        yield _row(model=r["model"], method=r["method"], checkpoint=r["draft"], domain=_domain(r["dataset"]),
                   dataset=r["dataset"], temperature=temperature,
                   context=f"ISL {r['input_tokens']} / OSL {r['output_tokens']}" if r["input_tokens"] else "",
                   k_draft_tokens=r["k"], acceptance_length=r["acceptance_length"],
                   spread="0.0065" if midpoint else "",
                   derivation="midpoint of the stated 81%-82.3% rate" if midpoint else "stated",
                   engine=r["engine"], engine_version=r["engine_version"], chat_template="unknown",
                   dataset_kind="unknown" if r["dataset"].startswith("not stated") else "real",
                   source_url=r["url"], source_where=r["where"])


def transcribed_rows() -> Iterator[dict[str, str]]:
    """Per-position rates of a chain -> tau(K) = 1 + the first K rates, checked against the stated mean."""
    for r in _records(ROOT / "tools" / "acceptance" / "catalog-transcribed.csv"):
        stated = float(r["stated_acceptance_length"])
        domain = r.pop("domain", None) or _domain(r["dataset"])  # a source's own category name, else the dataset's
        setting = r.pop("setting", None) or ""  # a source's own switch (thinking_on / thinking_off)
        if not r["per_position_rates"]:  # only the mean at one K
            spread = f"{float(r['relative_spread']) * stated:.4f}" if r["relative_spread"] else ""
            yield _row(**{c: r[c] for c in COLUMNS if c in r}, domain=domain, setting=setting,
                       acceptance_length=r["stated_acceptance_length"], derivation="stated", spread=spread)
            continue
        rates = [float(x) for x in r["per_position_rates"].split(";")]
        if abs(1 + sum(rates) - stated) > 0.01 * stated + 0.005:
            raise SystemExit(f"{r['model']}: 1 + sum(rates) = {1 + sum(rates):.4f} but the source states {stated}")
        for k in range(1, len(rates) + 1):
            tau = 1 + sum(rates[:k])
            yield _row(model=r["model"], method=r["method"], checkpoint=r["checkpoint"], domain=domain, setting=setting,
                       dataset=r["dataset"], temperature=r["temperature"], context=r["context"], k_draft_tokens=k,
                       acceptance_length=f"{tau:.4f}", spread=f"{float(r['relative_spread']) * tau:.4f}" if r["relative_spread"] else "",
                       derivation=f"1 + first {k} stated per-position rates (stated mean {stated} at K={r['k_draft_tokens']})",
                       engine=r["engine"], engine_version=r["engine_version"], chat_template=r["chat_template"],
                       dataset_kind=r["dataset_kind"], source_url=r["source_url"], source_where=r["source_where"])


def _key(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(row[c] for c in COLUMNS[:8])


def catalog_rows() -> list[dict[str, str]]:
    """Every source's rows, one per (key, K) (the first kept), each curve cut before its first fall."""
    curves: dict[tuple[str, ...], dict[int, dict[str, str]]] = {}
    for row in (*specdecode_rows(), *transcribed_rows(), *published_rows(), *frontier_rows()):
        curves.setdefault(_key(row), {}).setdefault(int(row["k_draft_tokens"]), row)
    out: list[dict[str, str]] = []
    for by_k in curves.values():
        kept: list[dict[str, str]] = []
        for k in sorted(by_k):
            row = by_k[k]
            if kept and float(row["acceptance_length"]) < float(kept[-1]["acceptance_length"]):
                dropped = ", ".join(str(j) for j in sorted(by_k) if j >= k)
                for earlier in kept:
                    earlier["derivation"] += f"; curve cut: K = {dropped} left out (published tau fell below K={k - 1}'s)"
                break
            kept.append(row)
        out.extend(kept)
    return out


def render() -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(catalog_rows())
    return HEADER + buffer.getvalue()


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = OUT.read_text(encoding="utf-8") == text
        print("acceptance-catalog.csv is up to date" if same else "acceptance-catalog.csv differs: rebuild it")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({text.count(chr(10)) - HEADER.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
