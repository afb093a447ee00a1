"""``specroof acceptance --measure``: acceptance measured offline on local models, written as a
``speculation_profile.json`` (:mod:`specroof.speculation.profile_build`).

Greedy speculative decoding emits exactly the target's greedy continuation, so it can be
replayed without an engine. The target runs greedily on each prompt; then each speculative step
is replayed over that continuation:

- ``draft`` (a draft model): the drafter's greedy token at each position is compared with the
  target's. A chain position is only reached when every earlier one matched, and then the
  drafter's context *is* the target's continuation, so one teacher-forced forward pass of the
  drafter over prompt + continuation gives every position's guess;
- ``ngram`` (prompt lookup): at each step the longest suffix of the context of
  :data:`NGRAM_MIN`..:data:`NGRAM_MAX` tokens that occurred earlier is matched (its earliest
  occurrence, as vLLM's ``NgramProposer._find_longest_matched_ngram_and_propose_tokens``
  chooses, vllm/v1/spec_decode/ngram_proposer.py, v0.10) and the K tokens after it are the
  draft (fewer when the context ends: the missing positions are rejected).

A step starting at continuation position t accepts the run of matching drafts (at most K) plus
the target's own bonus token, and the next step starts after them. The first step starts at
position 1 (position 0 is the prefill's token); steps that would run past the continuation are
not counted. EAGLE-style heads are not measured: their forward needs the target's hidden states
and each head's own code (measure them in an engine: ``--from vllm-metrics:FILE``).

torch and transformers (the ``[measure]`` extra) are imported only here, inside functions.
Nothing downloads: models load with ``local_files_only=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from specroof.datafiles import parse_json, read_text
from specroof.errors import SpecroofError
from specroof.speculation.profile_build import profile_from_marginals

DEFAULT_K = 5
"""Draft positions recorded per step (vLLM's and SGLang's EAGLE examples use 3 to 5)."""
DEFAULT_MAX_NEW_TOKENS = 128
NGRAM_MIN, NGRAM_MAX = 2, 5
"""n-gram lengths the matcher tries (vLLM's prompt_lookup_min / prompt_lookup_max; chosen here)."""
MEASURED_METHODS = ("draft", "ngram")


@dataclass(frozen=True)
class Prompt:
    """One line of the prompts file: token ids or text, and an optional category."""

    line: int
    input_ids: tuple[int, ...] | None
    text: str | None
    category: str | None


def read_prompts(path: str | Path) -> list[Prompt]:
    """JSON Lines: ``{"prompt": TEXT}`` or ``{"input_ids": [...]}``, optionally ``"category"``."""
    where = str(path)
    prompts = []
    for number, line in enumerate(read_text(Path(path), f"prompts file {where!r}").splitlines(), start=1):
        if not line.strip():
            continue
        row = parse_json(line, f"{where}:{number}")
        prompts.append(_prompt(row, f"{where}:{number}", number))
    if not prompts:
        raise SpecroofError(f"{where}: no prompts; write one JSON object per line, e.g. {{\"prompt\": \"...\"}}")
    return prompts


def _prompt(row: Any, where: str, number: int) -> Prompt:
    if not isinstance(row, dict):
        raise SpecroofError(f"{where}: expected a JSON object with \"prompt\" or \"input_ids\"")
    unknown = sorted(set(row) - {"prompt", "input_ids", "category"})
    if unknown or ("prompt" in row) == ("input_ids" in row):
        raise SpecroofError(f"{where}: give exactly one of \"prompt\" (text) or \"input_ids\" (token ids), "
                            f"and optionally \"category\"" + (f"; unknown keys {', '.join(unknown)}" if unknown else ""))
    category = row.get("category")
    if category is not None and not isinstance(category, str):
        raise SpecroofError(f"{where}: \"category\" must be a string")
    if "prompt" in row:
        if not isinstance(row["prompt"], str) or not row["prompt"]:
            raise SpecroofError(f"{where}: \"prompt\" must be non-empty text")
        return Prompt(number, None, row["prompt"], category)
    ids = row["input_ids"]
    if (not isinstance(ids, list) or not ids
            or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids)):
        raise SpecroofError(f"{where}: \"input_ids\" must be a non-empty list of token ids (integers >= 0)")
    return Prompt(number, tuple(ids), None, category)


# --------------------------------------------------------------------------- replaying steps (pure)


def chain_lengths(matches: Sequence[bool], k: int, start: int = 1) -> tuple[list[int], int]:
    """Accepted lengths (bonus token included) of the steps over one continuation, and the
    positions left uncounted at its end. ``matches[j]``: the drafter's guess for continuation
    position j is the target's token, given the continuation before j."""
    lengths, t, n = [], start, len(matches)
    while t + k < n:  # the K drafts and the bonus token all lie in the continuation
        run = 0
        while run < k and matches[t + run]:
            run += 1
        lengths.append(run + 1)
        t += run + 1
    return lengths, max(n - t, 0)


def ngram_proposal(context: np.ndarray, k: int, n_min: int = NGRAM_MIN, n_max: int = NGRAM_MAX) -> np.ndarray:
    """Up to k tokens following the earliest earlier occurrence of the longest matching suffix."""
    size = len(context)
    for n in range(min(n_max, size - 1), n_min - 1, -1):
        windows = np.lib.stride_tricks.sliding_window_view(context[:-1], n)  # occurrences ending before the last
        hits = np.flatnonzero((windows == context[-n:]).all(axis=1))
        if hits.size:
            start = int(hits[0]) + n
            return context[start:start + k]
    return context[:0]


def ngram_lengths(tokens: Sequence[int], prompt_len: int, k: int, start: int = 1,
                  n_min: int = NGRAM_MIN, n_max: int = NGRAM_MAX) -> tuple[list[int], int]:
    """Accepted lengths of prompt-lookup steps over ``tokens[prompt_len:]`` (see :func:`chain_lengths`)."""
    seq = np.asarray(tokens, dtype=np.int64)
    n = len(seq) - prompt_len
    lengths, t = [], start
    while t + k < n:
        draft = ngram_proposal(seq[:prompt_len + t], k, n_min, n_max)
        truth = seq[prompt_len + t:prompt_len + t + len(draft)]
        wrong = np.flatnonzero(draft != truth)
        run = int(wrong[0]) if wrong.size else len(draft)
        lengths.append(run + 1)
        t += run + 1
    return lengths, max(n - t, 0)


def histogram_of(lengths: Sequence[int]) -> dict[str, int]:
    """``{length: steps}`` (every length from 1 to the longest, zeros included)."""
    counts = np.bincount(np.asarray(lengths, dtype=np.int64))
    return {str(length): int(counts[length]) for length in range(1, len(counts))}


def profile_from_lengths(lengths: Sequence[int], k: int, method: str,
                         categories: dict[str, list[int]] | None = None, **provenance: Any) -> dict[str, Any]:
    """A speculation profile from the accepted lengths of every replayed step."""
    if not lengths:
        raise SpecroofError(f"no speculative step fits in the continuations (each needs K + 2 = {k + 2} generated "
                            "tokens); raise --max-new-tokens or give longer generations")
    total = len(lengths)
    marginal = [sum(1 for length in lengths if length >= i + 2) / total for i in range(k)]
    histogram = {str(length): 0 for length in range(1, k + 2)} | histogram_of(lengths)
    per_category = {name: {"mean_accept_length": round(float(np.mean(ls)), 6), "steps": len(ls)}
                    for name, ls in sorted((categories or {}).items()) if ls} or None
    return profile_from_marginals(marginal, method=method, histogram=histogram, per_category=per_category,
                                  **provenance)


# --------------------------------------------------------------------------- running the models


def _extra() -> tuple[Any, Any]:
    """torch and transformers, or one error naming the extra."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise SpecroofError(f"specroof acceptance --measure needs the [measure] extra (torch, transformers): "
                            f"pip install 'specroof[measure]' ({exc.name} is missing)") from None
    quiet = getattr(transformers.utils.logging, "disable_progress_bar", None)  # our own bar is the one shown
    if quiet is not None:
        quiet()
    return torch, transformers


def _load(path: str, what: str, device: str, transformers: Any) -> Any:
    """A causal LM from a local folder, in evaluation mode on ``device``; nothing downloads."""
    folder = Path(path)
    if not folder.is_dir():
        raise SpecroofError(f"--{what} {path!r} is not a folder; give a local model folder (config.json and "
                            "weights, as save_pretrained writes it): nothing is downloaded")
    dtype = {} if device == "cpu" else ({"dtype": "auto"} if int(transformers.__version__.split(".")[0]) >= 5
                                        else {"torch_dtype": "auto"})
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, **dtype)
    except (OSError, ValueError, KeyError) as exc:
        raise SpecroofError(f"--{what} {path!r}: transformers cannot load it: {str(exc).splitlines()[0][:200]}") from None
    return model.to(device).eval()


def _token_ids(prompts: list[Prompt], target: str, transformers: Any) -> list[list[int]]:
    """Every prompt's token ids: given, or the target's tokenizer on the text (no chat template)."""
    if all(p.input_ids is not None for p in prompts):
        return [list(p.input_ids or ()) for p in prompts]
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(target, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise SpecroofError(f"text prompts need the target's tokenizer in {target!r}: "
                            f"{str(exc).splitlines()[0][:200]}; or give \"input_ids\"") from None
    return [list(p.input_ids) if p.input_ids is not None else tokenizer(p.text)["input_ids"] for p in prompts]


def _greedy(target: Any, ids: list[int], max_new_tokens: int, torch: Any, device: str) -> list[int]:
    """Prompt + the target's greedy continuation (stops early at its end-of-sequence token)."""
    inputs = torch.tensor([ids], device=device)
    eos = target.config.eos_token_id  # None, one id, or a list (Llama 3)
    pad = (eos[0] if eos else None) if isinstance(eos, list) else eos
    with torch.no_grad():
        out = target.generate(inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=max_new_tokens,
                              min_new_tokens=0, do_sample=False, num_beams=1, pad_token_id=0 if pad is None else pad)
    return [int(t) for t in out[0].tolist()]


def _draft_matches(drafter: Any, seq: list[int], prompt_len: int, torch: Any, device: str) -> list[bool]:
    """Teacher-forced: whether the drafter's greedy guess equals each continuation token."""
    with torch.no_grad():
        logits = drafter(torch.tensor([seq], device=device)).logits[0]
    guesses = logits.argmax(dim=-1).tolist()  # guesses[j] is the guess for token j + 1
    return [guesses[j - 1] == seq[j] for j in range(prompt_len, len(seq))]


def _check_vocabularies(target: Any, drafter: Any | None) -> None:
    if drafter is None:
        return
    tv, dv = target.config.vocab_size, drafter.config.vocab_size
    if tv != dv:
        raise SpecroofError(f"the draft model's vocabulary ({dv} tokens) differs from the target's ({tv}); "
                            "speculative decoding needs one tokenizer")


def measure(target: str, draft: str | None, prompts: list[Prompt], method: str, k: int, max_new_tokens: int,
            device: str) -> dict[str, Any]:
    """Replay greedy speculative decoding on every prompt; the speculation profile it gives."""
    torch, transformers = _extra()
    if device == "cuda" and not torch.cuda.is_available():
        raise SpecroofError("--device cuda: torch sees no CUDA device; use --device cpu")
    model = _load(target, "target", device, transformers)
    drafter = _load(draft, "draft", device, transformers) if method == "draft" and draft else None
    _check_vocabularies(model, drafter)
    all_ids = _token_ids(prompts, target, transformers)
    lengths: list[int] = []
    categories: dict[str, list[int]] = {}
    left = 0
    with click.progressbar(list(zip(prompts, all_ids)), label="measuring acceptance", file=click.get_text_stream("stderr")) as bar:
        for prompt, ids in bar:
            seq = _greedy(model, ids, max_new_tokens, torch, device)
            if drafter is not None:
                steps, rest = chain_lengths(_draft_matches(drafter, seq, len(ids), torch, device), k)
            else:
                steps, rest = ngram_lengths(seq, len(ids), k)
            lengths += steps
            left += rest
            if prompt.category is not None:
                categories.setdefault(prompt.category, []).extend(steps)
    conditions = {"prompts": len(prompts), "max_new_tokens": max_new_tokens, "device": device,
                  "decoding": "greedy (temperature 0)", "chat_template": False,
                  "validation": "offline: the target's greedy continuation, drafts teacher-forced over it",
                  "steps": len(lengths), "tokens_not_counted_at_ends": left, "measured_by": "specroof acceptance --measure"}
    if method == "ngram":
        conditions["prompt_lookup"] = {"min": NGRAM_MIN, "max": NGRAM_MAX}
    return profile_from_lengths(lengths, k, method, categories, target_model=Path(target).name,
                                draft_checkpoint=Path(draft).name if draft else None,
                                measurement_conditions=conditions)


def measure_command(opts: dict[str, Any]) -> dict[str, Any]:
    """``--measure`` with the CLI's options (checked here, before any model loads)."""
    method = opts.get("profile_method") or "draft"
    if method not in MEASURED_METHODS:
        hint = (" (an EAGLE head's forward needs the target's hidden states and its own code: measure it in an "
                "engine and use --from vllm-metrics:FILE)") if method.startswith("eagle") else ""
        raise SpecroofError(f"--measure replays {' or '.join(MEASURED_METHODS)} drafting, not {method!r}{hint}")
    if opts.get("target") is None or opts.get("prompts") is None:
        raise SpecroofError("--measure needs --target DIR and --prompts FILE.jsonl")
    if (method == "draft") != (opts.get("draft") is not None):
        raise SpecroofError("--method draft needs --draft DIR (the draft model); --method ngram takes no --draft")
    k = DEFAULT_K if opts.get("num_speculative_tokens") is None else int(opts["num_speculative_tokens"])
    max_new = DEFAULT_MAX_NEW_TOKENS if opts.get("max_new_tokens") is None else int(opts["max_new_tokens"])
    if not 1 <= k <= 64:
        raise SpecroofError(f"--num-speculative-tokens must be in 1..64, got {k}")
    if max_new < k + 2:
        raise SpecroofError(f"--max-new-tokens {max_new} is too few: one step of K={k} needs K + 2 = {k + 2} tokens")
    prompts = read_prompts(opts["prompts"])
    return measure(opts["target"], opts.get("draft"), prompts, method, k, max_new, opts.get("device") or "cpu")
