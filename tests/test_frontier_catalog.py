"""The frontier models in the catalog: each entry as published with its source, its drafting
checkpoints (MTP layers, published EAGLE-3 heads) with theirs, and its parameter count against
the model card.

Expected values are the published ones (config keys, card counts, head vocabularies), written
here from the sources named in the data files, never read back from the code's output.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

from specroof.cost.architectures import model_operations, parameter_count
from specroof.cost.grid import Grid
from specroof.cost.operation import LM_HEAD
from specroof.cost.step import setup_step
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.models import catalog_names, load_model
from specroof.models.architecture import ModelConfig
from specroof.models.cards import cards
from specroof.speculation.drafting import Drafting
from specroof.speculation.methods import checkpoints as ckpt
from tools.catalog.import_aic_configs import installed_model_configs

FRONTIER = ("deepseek-v3", "deepseek-r1", "deepseek-v3.2", "kimi-k2", "qwen3-30b-a3b", "qwen3-235b-a22b",
            "qwen3-next-80b-a3b", "gpt-oss-20b", "gpt-oss-120b", "llama-4-scout", "llama-4-maverick",
            "glm-4.5", "glm-4.6", "llama-3.3-70b", "llama-3.1-405b")
"""The models issue 18 asks the catalog for."""
ALSO = ("qwen3.5-35b-a3b", "qwen3.5-397b-a17b", "mimo-7b")
"""Further MTP models the issue names (Qwen3.5, MiMo)."""

AIC_CONFIGS = installed_model_configs()
"""The configs NVIDIA ships, where the [kernels] extra is installed (None elsewhere, as in CI)."""
GRID = Grid.of([1, 4], [1, 3], [512, 4096])


def _raw(name: str) -> dict:
    return json.loads((resources.files("specroof.models") / "catalog" / f"{name}.json").read_text(encoding="utf-8"))


def _ops(name: str, allow: bool, **options) -> tuple:
    setup = setup_step(name, "h200", allow_unmodelled=allow, **options)
    return setup, model_operations(setup, GRID)


# --------------------------------------------------------------------------- entries


@pytest.mark.parametrize("name", FRONTIER + ALSO)
def test_entry_is_a_sourced_published_config(name):
    raw = _raw(name)
    assert name in catalog_names()
    assert raw["_source"].startswith("https://huggingface.co/") and raw["_source"].endswith("/config.json")
    assert len(raw["_source_note"]) > 40  # says where the keys were read and what was not verified
    assert not [k for k in raw if k.startswith("_") and k not in ("_source", "_source_note")], \
        "a frontier entry accepts no unmodelled key on its own"
    assert load_model(name).hf_repo == raw["_source"].split("huggingface.co/")[1].rsplit("/blob/", 1)[0]


@pytest.mark.parametrize("name", FRONTIER + ALSO)
def test_entry_prices_whole(name):
    """Every entry has no key left unmodelled and builds its operation list without a word
    (MLA, DSA, shared experts, dense layers, windows, sinks, linear attention and the
    checkpoints' quantization are all priced)."""
    assert load_model(name).unmodelled == ()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        setup, ops = _ops(name, False)
    assert ops and parameter_count(ops, setup.weight_bytes) > 1e9
    said = [str(w.message) for w in caught if issubclass(w.category, SpecroofWarning)]
    assert not said, said


def test_shapes_as_published():
    """A few keys per family, as their published configs state them."""
    v3 = _raw("deepseek-v3")
    assert (v3["num_hidden_layers"], v3["kv_lora_rank"], v3["qk_rope_head_dim"], v3["q_lora_rank"]) == (61, 512, 64, 1536)
    assert (v3["n_routed_experts"], v3["n_shared_experts"], v3["first_k_dense_replace"]) == (256, 1, 3)
    assert _raw("deepseek-v3.2")["index_topk"] == 2048
    assert (_raw("kimi-k2")["n_routed_experts"], _raw("kimi-k2")["num_attention_heads"]) == (384, 64)
    oss = load_model("gpt-oss-120b")
    assert (oss.num_layers, oss.num_experts, oss.experts_per_token, oss.vocab_size) == (36, 128, 4, 201088)
    assert _raw("gpt-oss-20b")["sliding_window"] == 128
    scout, maverick = load_model("llama-4-scout"), load_model("llama-4-maverick")
    assert (scout.num_layers, scout.num_experts, maverick.num_experts) == (48, 16, 128)
    assert _raw("llama-4-maverick")["text_config"]["interleave_moe_layer_step"] == 2
    nxt = load_model("qwen3-next-80b-a3b")
    assert (nxt.num_layers, nxt.num_experts, nxt.experts_per_token) == (48, 512, 10)
    glm = load_model("glm-4.5")
    assert (glm.num_layers, glm.num_experts, glm.moe_intermediate_size, glm.mtp_layers) == (92, 160, 1536, 1)
    assert load_model("glm-4.6").max_position_embeddings == 202752
    q235 = load_model("qwen3-235b-a22b")
    assert (q235.num_layers, q235.num_experts, q235.experts_per_token) == (94, 128, 8)
    l33, l31 = load_model("llama-3.3-70b"), load_model("llama-3.1-70b")
    assert [getattr(l33, f) for f in ("hidden_size", "intermediate_size", "num_layers", "num_kv_heads", "vocab_size")] \
        == [getattr(l31, f) for f in ("hidden_size", "intermediate_size", "num_layers", "num_kv_heads", "vocab_size")]
    assert (load_model("llama-3.1-405b").num_layers, load_model("llama-3.1-405b").hidden_size) == (126, 16384)


@pytest.mark.skipif(AIC_CONFIGS is None, reason="aiconfigurator-core (the [kernels] extra) is not installed")
def test_copied_entries_are_unchanged():
    """The entries copied from aiconfigurator-core hold its keys and values, nothing else."""
    from tools.catalog.import_aic_configs import ENTRIES

    for name, (stem, _repo) in ENTRIES.items():
        raw = {k: v for k, v in _raw(name).items() if not k.startswith("_")}
        assert raw == json.loads((AIC_CONFIGS / f"{stem}_config.json").read_text(encoding="utf-8")), name


# --------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize("name", sorted(cards()))
def test_parameter_count_matches_the_card(name):
    """The count read off the operation list is within 2% of the card's (plus the card's own
    rounding) for every model whose keys are all priced; the others wait for their builders."""
    card = cards()[name]
    if card.total_params_b is None:
        pytest.skip(f"{name}: the card states no count ({card.source})")
    if load_model(name).unmodelled:
        pytest.skip(f"{name}: not all keys priced yet ({', '.join(f.key for f in load_model(name).unmodelled)})")
    setup, ops = _ops(name, False)
    counted_b = parameter_count(ops, setup.weight_bytes) / 1e9
    assert abs(counted_b - card.total_params_b) <= 0.02 * card.total_params_b + card.total_rounding_b, \
        (name, counted_b, card.total_params_b)


@pytest.mark.parametrize("name", sorted(cards()))
def test_active_parameters_match_the_card(name):
    """The weights one token reads: the same model with only the k experts it is routed to
    (the router's k x h instead of E x h is far below the card's rounding). Cards count "active"
    two ways, with the embedding and LM head or without them (GLM-4.5's 32B leaves them out,
    DeepSeek-V3's 37B keeps them): the card's figure must lie between the two counts, each
    within 2% plus the card's rounding."""
    card, model = cards()[name], load_model(name)
    if card.active_params_b is None or model.unmodelled:
        pytest.skip(f"{name}: no active count stated, or not all keys priced yet")
    # one group holds the k experts
    active = replace(model, num_experts=model.experts_per_token, expert_groups=1,
                     expert_groups_per_token=1) if model.is_moe else model
    setup = setup_step(active, "h200")
    with_embeddings_b = parameter_count(model_operations(setup, GRID), setup.weight_bytes) / 1e9
    tables = 1 if model.tie_word_embeddings else 2
    without_b = with_embeddings_b - tables * model.vocab_size * model.hidden_size / 1e9
    slack = 0.02 * card.active_params_b + card.active_rounding_b
    assert without_b - slack <= card.active_params_b <= with_embeddings_b + slack, \
        (name, without_b, with_embeddings_b, card.active_params_b)


@pytest.mark.parametrize("name, card_b", [("llama-3.3-70b", 70), ("llama-3.1-405b", 405),
                                          ("qwen3-30b-a3b", 30.5), ("qwen3-235b-a22b", 235)])
def test_priced_models_within_two_percent(name, card_b):
    """The models priced today: never skipped."""
    assert cards()[name].total_params_b == card_b
    setup, ops = _ops(name, False)
    assert parameter_count(ops, setup.weight_bytes) / 1e9 == pytest.approx(card_b, rel=0.02)


def test_every_card_has_a_source_and_a_catalog_model():
    assert set(FRONTIER) <= set(cards())
    for card in cards().values():
        assert card.model in catalog_names() and card.source
        assert card.total_params_b is None or card.total_rounding_b > 0
        assert card.active_params_b is None or card.active_rounding_b > 0


# --------------------------------------------------------------------------- drafting checkpoints


def test_every_checkpoint_row_has_sources():
    table = ckpt.checkpoints()
    assert table.mtp and table.eagle3
    for row in table.mtp:
        assert row.source and row.model in catalog_names()
    for head in table.eagle3:
        assert head.source and head.vocab_source and "/" in head.repo and "/" in head.trained_for
        assert head.draft_vocab <= load_model(head.model).vocab_size


@pytest.mark.parametrize("name", FRONTIER + ALSO)
def test_mtp_rows_agree_with_the_configs(name):
    """A checkpoint that ships MTP layers is listed with them; the count is the config's when
    the config states one (Qwen3-Next's does not: the table gives it)."""
    rows = [r.layers for r in ckpt.checkpoints().mtp if r.model == name]
    stated = load_model(name).mtp_layers
    if stated:
        assert rows == [stated]
    assert ckpt.mtp_layers(load_model(name)) == (rows[0] if rows else 0)


def test_qwen3_next_drafts_with_its_unstated_mtp_layer():
    nxt = load_model("qwen3-next-80b-a3b")
    assert nxt.mtp_layers == 0 and ckpt.mtp_layers(nxt) == 1
    Drafting.of("mtp").check(nxt, np.array([1, 3]))
    # the same config read from a user's file (no _source) is not the catalog checkpoint
    raw = {k: v for k, v in _raw("qwen3-next-80b-a3b").items() if not k.startswith("_")}
    mine = ModelConfig.from_hf_config(raw, "my-qwen3-next")
    with pytest.raises(SpecroofError, match="needs a model with MTP layers"):
        Drafting.of("mtp").check(mine, np.array([1, 3]))


def test_drafting_options_listed():
    assert ckpt.drafting_options(load_model("deepseek-v3")) == ["mtp x1", "ngram"]
    assert ckpt.drafting_options(load_model("llama-3.3-70b")) == ["eagle3 (2 heads)", "ngram"]
    assert ckpt.drafting_options(load_model("llama-3.1-405b")) == ["ngram"]
    assert [h.repo for h in ckpt.published_heads(load_model("llama-3.3-70b"))][0] == \
        "yuhuili/EAGLE3-LLaMA3.3-Instruct-70B"


def test_bad_rows_are_one_error_line():
    with pytest.raises(SpecroofError, match=r"\[\[eagle3\]\]\[0\]: draft_vocab"):
        ckpt._rows(ckpt.HeadRow, [{"model": "llama-3.3-70b", "repo": "a/b", "trained_for": "c/d", "draft_vocab": 0,
                                   "layers": 1, "source": "s", "vocab_source": "v"}], "t [[eagle3]]")
    with pytest.raises(SpecroofError, match="not in the model catalog"):
        ckpt._rows(ckpt.MtpRow, [{"model": "no-such-model", "layers": 1, "source": "s"}], "t [[mtp]]")
    with pytest.raises(SpecroofError, match="source"):
        ckpt._rows(ckpt.MtpRow, [{"model": "deepseek-v3", "layers": 1}], "t [[mtp]]")


# --------------------------------------------------------------------------- the head's vocabulary in use


def _draft_lm_head_vocab(name: str, **drafting) -> tuple[set[int], list[str]]:
    """The vocabularies of the LM heads of an EAGLE-3 step's drafting passes, and the warnings said."""
    setup = setup_step(name, "h200")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        choice = Drafting.of("eagle3", **drafting)
        choice.check(setup.model, GRID.candidates)
        passes = choice.passes(setup, GRID)
    vocab = {int(op.shape.n) for p in passes[1:] for op in p.operations if op.info.name == f"draft:{LM_HEAD.name}"}
    return vocab, [str(w.message) for w in caught if issubclass(w.category, SpecroofWarning)]


@pytest.fixture
def head_of_16k(monkeypatch):
    """The shipped table with llama-3.3-70b's first head drafting over 16,000 tokens."""
    table = ckpt.checkpoints()
    first = table.eagle3[0]
    assert first.model == "llama-3.3-70b"
    patched = ckpt.Checkpoints(table.mtp, (ckpt.HeadRow(**{**first.__dict__, "draft_vocab": 16000}), *table.eagle3[1:]))
    monkeypatch.setattr(ckpt, "checkpoints", lambda: patched)


@pytest.mark.usefixtures("head_of_16k")
def test_eagle3_prices_the_published_heads_vocabulary():
    vocab, said = _draft_lm_head_vocab("llama-3.3-70b")
    assert vocab == {16000}
    assert len(said) == 1 and "yuhuili/EAGLE3-LLaMA3.3-Instruct-70B" in said[0] and "16,000" in said[0]


@pytest.mark.usefixtures("head_of_16k")
def test_draft_vocab_flag_wins_and_says_nothing():
    vocab, said = _draft_lm_head_vocab("llama-3.3-70b", draft_vocab=24000)
    assert vocab == {24000} and not said


def test_model_without_a_head_keeps_the_default_silently():
    vocab, said = _draft_lm_head_vocab("llama-3.1-405b")
    assert vocab == {32000} and not said


def test_cli_names_the_head_in_one_line(specroof_cli):
    run = specroof_cli("speedup", "-m", "llama-3.3-70b", "-H", "h200", "--tp", "2", "--method", "eagle3",
                       "--acceptance", "chain:0.8", "--batch", "1", "--candidates", "1,4", "--seq-len", "1024")
    assert run.code == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "EAGLE3-LLaMA3.3-Instruct-70B" in line]
    assert len(lines) == 1 and lines[0].startswith("warning:")


# --------------------------------------------------------------------------- the listing


def test_models_lists_frontier_models_with_drafting_and_cards(specroof_cli):
    table = specroof_cli("models")
    assert table.code == 0 and all(name in table.stdout for name in FRONTIER)
    records = {r["name"]: r for r in specroof_cli("models", "--format", "json").json()}
    assert records["deepseek-v3"]["card_params_b"] == 671
    assert records["deepseek-v3"]["drafting"] == ["mtp x1", "ngram"]
    assert records["llama-3.3-70b"]["drafting"] == ["eagle3 (2 heads)", "ngram"]
    assert records["llama-7b"]["card_params_b"] is None and records["llama-7b"]["drafting"] == ["ngram"]
    for name in FRONTIER:
        assert records[name]["unmodelled_keys"] == [f.key for f in load_model(name).unmodelled]


def test_models_drafting_lists_each_head_with_its_vocabulary(specroof_cli):
    rows = specroof_cli("models", "--drafting", "--format", "json").json()
    heads = {r["checkpoint"]: r for r in rows if r["method"] == "eagle3"}
    assert heads["yuhuili/EAGLE3-LLaMA3.3-Instruct-70B"]["draft_vocab"] == 32000
    assert heads["lmsys/Qwen3-235B-A22B-EAGLE3"]["model"] == "qwen3-235b-a22b"
    assert all(r["source"] for r in rows)
    mtp = {r["model"] for r in rows if r["method"] == "mtp"}
    assert {"deepseek-v3", "deepseek-r1", "deepseek-v3.2", "glm-4.5", "glm-4.6", "qwen3-next-80b-a3b"} <= mtp


def test_export_names_the_published_head(specroof_cli):
    """plan --export writes the head whose vocabulary it priced, not a placeholder."""
    args = ("plan", "-m", "llama-3.3-70b", "-H", "h200", "--tp", "4", "--method", "eagle3", "--acceptance",
            "chain:0.8", "--batch", "1,8", "--export", "vllm")
    run = specroof_cli(*args)
    assert run.code == 0, run.stderr
    assert '"model": "yuhuili/EAGLE3-LLaMA3.3-Instruct-70B"' in run.stdout
    other = specroof_cli(*args, "--draft-vocab", "16000")  # no published head drafts over 16,000 tokens
    assert other.code == 0, other.stderr
    assert "yuhuili" not in other.stdout and '"model": "<EAGLE-3 head checkpoint for llama-3.3-70b>"' in other.stdout


def test_each_checkpoint_is_one_catalog_entry():
    """Rows match a model by its _source repository, so no two entries may share one."""
    repos = [load_model(name).hf_repo.lower() for name in catalog_names() if load_model(name).hf_repo]
    assert len(repos) == len(set(repos))


def test_a_users_copy_named_like_the_entry_gets_no_head():
    raw = {k: v for k, v in _raw("llama-3.3-70b").items() if not k.startswith("_")}
    mine = ModelConfig.from_hf_config(raw, "llama-3.3-70b")  # same name, no _source
    assert ckpt.published_heads(mine) == () and ckpt.drafting_options(mine) == ["ngram"]


@pytest.mark.parametrize("name", FRONTIER)
def test_an_eagle3_head_prices_on_every_frontier_model(name):
    """An EAGLE-3 head is one plain Llama layer whatever its target runs (latent, sparse, linear,
    gated or windowed attention, experts): the head of Qwen3-Next is not refused for its target's
    36 linear layers, and no drafting operation is a latent or linear one."""
    import specroof
    from specroof.cost.operation import DRAFT_PREFIX

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = specroof.speedup(name, "h200", tp=8, method="eagle3", batch=[1], candidates=[1, 4],
                                  seq_len=[1024], acceptance="chain:0.7")
        ops = specroof.ops(name, "h200", tp=8, method="eagle3", batch=1, candidates=4, seq_len=1024,
                           acceptance="chain:0.7")
    assert np.all(np.isfinite(result.speedup)) and result.speedup.max() > 0
    drafting = {op["name"].removeprefix(DRAFT_PREFIX) for op in ops.to_records() if op["name"].startswith(DRAFT_PREFIX)}
    assert drafting and not drafting & {"mla_attention", "kv_a_proj", "q_a_proj", "linear_scan", "window_attention"}
