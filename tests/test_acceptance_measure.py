"""``specroof acceptance --measure``: greedy speculative decoding replayed on tiny local models."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from specroof.calibration.acceptance_measure import (
    chain_lengths,
    histogram_of,
    ngram_lengths,
    ngram_proposal,
    profile_from_lengths,
    read_prompts,
)
from specroof.errors import SpecroofError
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.profile_json import read_profile
from tests.support import run_cli

# --------------------------------------------------------------------------- hand-counted replays (no torch)


def test_chain_steps_by_hand():
    # K = 2, steps from position 1: [1]=T [2]=F -> 2 tokens; [3] [4] both T -> 3 (capped at K);
    # [6]=T [7]=F -> 2; position 8 + K = 10 is not < 10, so positions 8, 9 are left uncounted.
    matches = [True, True, False, True, True, True, True, False, True, True]
    assert chain_lengths(matches, 2) == ([2, 3, 2], 2)


def test_ngram_matcher_on_a_repeated_prompt_by_hand():
    prompt = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]
    continuation = [3, 4, 1, 2, 3, 4, 9, 8, 7, 6, 5, 4]
    # step at 1: suffix [3,4,1,2,3] first seen at index 2 -> draft [4,1,2], all right -> 4 tokens;
    # step at 5: same suffix -> draft [4,1,2] vs [4,9,8] -> 1 right -> 2 tokens;
    # steps at 7 and 8: suffixes end in 9 and 8, never seen -> no draft -> 1 token each; 3 left.
    assert ngram_lengths(prompt + continuation, len(prompt), 3) == ([4, 2, 1, 1], 3)


def test_ngram_proposal_prefers_the_longest_suffix_and_its_earliest_occurrence():
    context = np.array([7, 1, 2, 5, 0, 1, 2, 6, 3, 1, 2])
    assert ngram_proposal(context, 2).tolist() == [5, 0]  # [1, 2] first seen at 1 (not 5)
    assert ngram_proposal(np.array([1, 2, 3, 4]), 2).size == 0


def test_profile_from_lengths_by_hand():
    profile = profile_from_lengths([4, 2, 1, 1], 3, "ngram")
    assert profile["marginal_accept_rates"] == pytest.approx([0.5, 0.25, 0.25])  # len>=2: 2/4, >=3: 1/4, >=4: 1/4
    assert profile["conditional_accept_rates"] == pytest.approx([0.5, 0.5, 1.0])
    assert profile["mean_accept_length"] == pytest.approx(2.0)
    assert profile["acceptance_length_histogram"] == {"1": 2, "2": 1, "3": 0, "4": 1}
    assert histogram_of([1, 3]) == {"1": 1, "2": 0, "3": 1}


def test_prompts_file_is_checked(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"input_ids": [1, 2]}\n\n{"prompt": "hi", "category": "chat"}\n')
    assert [p.line for p in read_prompts(path)] == [1, 3]
    path.write_text('{"input_ids": [1, 2]}\n{"text": "hi"}\n')
    with pytest.raises(SpecroofError, match=r"p.jsonl:2: give exactly one of .*unknown keys text"):
        read_prompts(path)


def test_without_the_extra_one_error_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"input_ids": [1, 2, 3]}\n')
    result = run_cli("acceptance", "--measure", "--method", "ngram", "--target", str(tmp_path), "--prompts",
                     str(prompts), "--write-profile", str(tmp_path / "out.json"))
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "[measure] extra" in result.stderr and "transformers" in result.stderr
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--method", "eagle3"), "not 'eagle3'"),
    (("--method", "ngram", "--draft", "d"), "takes no --draft"),
    (("--num-speculative-tokens", "0", "--method", "ngram"), "1..64"),
    (("--max-new-tokens", "3", "--method", "ngram"), "too few"),
])
def test_measure_options_are_checked(tmp_path, args, message):
    result = run_cli("acceptance", "--measure", "--target", str(tmp_path), "--prompts", "p.jsonl",
                     "--write-profile", str(tmp_path / "o.json"), *args)
    assert result.code == 2 and message in result.stderr


# --------------------------------------------------------------------------- tiny random-weight Llama models


def tiny_llama(folder: Path, seed: int) -> Path:
    """A 2-layer random-weight Llama saved with save_pretrained (no download)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                      bos_token_id=None, eos_token_id=None, pad_token_id=None)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    prompts = root / "prompts.jsonl"
    rows = [{"input_ids": [5, 6, 7, 8] * 3, "category": "repeat"}, {"input_ids": [1, 9, 17, 33, 40]},
            {"input_ids": [12, 13], "category": "repeat"}]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tiny_llama(root / "target", 0), tiny_llama(root / "draft", 1), prompts


def measured(tmp_path: Path, target: Path, prompts: Path, *extra: str) -> dict:
    out = tmp_path / "profile.json"
    result = run_cli("acceptance", "--measure", "--target", str(target), "--prompts", str(prompts),
                     "--max-new-tokens", "40", "--num-speculative-tokens", "3", "--write-profile", str(out), *extra)
    assert result.code == 0, result.stderr
    return read_profile(out)


def test_a_drafter_that_is_the_target_accepts_everything(tmp_path, models):
    target, _, prompts = models
    profile = measured(tmp_path, target, prompts, "--method", "draft", "--draft", str(target))
    assert profile["marginal_accept_rates"] == [1.0, 1.0, 1.0]
    assert profile["conditional_accept_rates"] == [1.0, 1.0, 1.0]
    assert profile["mean_accept_length"] == 4.0
    assert set(profile["acceptance_length_histogram"]) == {"1", "2", "3", "4"}
    assert profile["acceptance_length_histogram"]["4"] == profile["measurement_conditions"]["steps"]
    assert profile["per_category"]["repeat"]["mean_accept_length"] == 4.0


def test_a_random_drafter_gives_valid_rates(tmp_path, models):
    target, draft, prompts = models
    profile = measured(tmp_path, target, prompts, "--method", "draft", "--draft", str(draft))
    marginal = profile["marginal_accept_rates"]
    assert all(0.0 <= r <= 1.0 for r in marginal + profile["conditional_accept_rates"])
    assert all(a >= b for a, b in zip(marginal, marginal[1:]))
    assert marginal[0] < 1.0  # two independent random models disagree somewhere
    model = parse_acceptance(f"profile:{tmp_path / 'profile.json'}")
    assert float(model.tau(4)) == pytest.approx(1 + sum(marginal))


def test_ngram_measurement_gives_valid_rates(tmp_path, models):
    target, _, prompts = models
    profile = measured(tmp_path, target, prompts, "--method", "ngram")
    assert profile["method"] == "ngram" and profile["accept_length_model"] == "chain_analytic"
    assert profile["measurement_conditions"]["prompt_lookup"] == {"min": 2, "max": 5}
    assert all(0.0 <= r <= 1.0 for r in profile["marginal_accept_rates"])


def test_cuda_without_a_gpu_is_one_error(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"input_ids": [1, 2, 3]}\n')
    result = run_cli("acceptance", "--measure", "--method", "ngram", "--target", str(tmp_path), "--prompts",
                     str(prompts), "--device", "cuda", "--write-profile", str(tmp_path / "o.json"))
    assert result.code == 2 and "no CUDA device" in result.stderr


def test_text_prompts_use_the_targets_tokenizer(tmp_path, models):
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    target, _, _ = models
    folder = tmp_path / "with-tokenizer"
    transformers.AutoModelForCausalLM.from_pretrained(target).save_pretrained(folder)
    vocab = {f"w{i}": i for i in range(64)}
    word_level = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="w0"))
    word_level.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    transformers.PreTrainedTokenizerFast(tokenizer_object=word_level, unk_token="w0").save_pretrained(folder)
    prompts = tmp_path / "text.jsonl"
    prompts.write_text('{"prompt": "w5 w6 w7 w8 w5 w6 w7 w8", "category": "repeat"}\n')
    profile = measured(tmp_path, folder, prompts, "--method", "draft", "--draft", str(folder))
    assert profile["marginal_accept_rates"] == [1.0, 1.0, 1.0]
    assert profile["measurement_conditions"]["chat_template"] is False
