"""Hybrid linear attention (Gated DeltaNet, KDA): layer counts, a state that does not grow with
the context, the chunked scan's FLOPs by hand, rollback checkpoints per candidate, bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import specroof
from specroof.cost.architectures import model_operations
from specroof.cost.dtypes import kv_token_bytes
from specroof.cost.grid import Grid
from specroof.cost.operation import LinearScanShape
from specroof.cost.pricing_linear import scan_bytes, scan_flops
from specroof.cost.setup import setup_step
from specroof.cost.step import latency_for_setup
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig, load_model
from tests.support import run_specroof

CONFIGS = Path(__file__).parent / "data" / "configs"
QWEN3_NEXT = CONFIGS / "qwen3-next-80b-a3b.json"
QWEN35 = CONFIGS / "qwen3.5-35b-a3b.json"


def _setup(path: Path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the shared expert is another helper's key
        return setup_step(str(path), "h200", dtype="bf16", allow_unmodelled=True, **options)


def _ops(setup, batch=1, candidates=1, seq_len=1024):
    return {op.name: op for op in model_operations(setup, Grid.of([batch], [candidates], [seq_len]))}


def test_qwen3_next_every_fourth_layer_is_full_attention():
    model = load_model(str(QWEN3_NEXT))
    assert (model.num_layers, model.linear_layers, model.linear_kind) == (48, 36, "gated_deltanet")
    ops = _ops(_setup(QWEN3_NEXT))
    assert ops["attention"].count == 12 and ops["linear_scan"].count == 36


def test_qwen35_layer_types_give_the_linear_layers_and_the_state_dtype():
    model = load_model(str(QWEN35))
    assert (model.num_layers, model.linear_layers, model.linear_state_dtype) == (40, 30, "fp32")


def test_state_per_sequence_by_hand():
    """Qwen3-Next on one GPU: 32 value heads of 128 x 128 bf16, and the conv window over
    q, k (16 heads x 128 each) and v (32 x 128) with 3 past inputs."""
    scan = _ops(_setup(QWEN3_NEXT))["linear_scan"]
    assert scan.state_bytes_per_sequence == 32 * 128 * 128 * 2 + (2 * 16 * 128 + 32 * 128) * 3 * 2
    assert scan.cache_bytes_per_token == 0.0


def test_memory_does_not_grow_with_context_on_linear_layers():
    setup = _setup(QWEN3_NEXT)
    short, long = (specroof.memory_footprint(setup, batch=1, candidates=1, seq_len=s).kv_cache_per_sequence.item()
                   for s in (1024, 65536))
    full_layers_only = (65536 - 1024) * 12 * kv_token_bytes(2, 256, "bf16")
    assert long - short == pytest.approx(full_layers_only)
    # every layer full attention (the same model without its linear layers) grows four times as fast
    plain = ModelConfig(**{**load_model(str(QWEN3_NEXT)).__dict__, "linear_layers": 0, "linear_kind": "",
                           "unmodelled": ()})
    grow = [specroof.memory_footprint(plain, "h200", batch=1, candidates=1, seq_len=s, dtype="bf16")
            .kv_cache_per_sequence.item() for s in (1024, 65536)]
    assert grow[1] - grow[0] == pytest.approx(4 * full_layers_only)


def test_scan_flops_by_hand_on_a_small_shape():
    """3 tokens over one 2 x 3 state: the recurrent kernel does 6 n dk dv = 108; the chunked one
    (chunks of 2) adds 2 (3 dk + 2 dv) (1 full chunk of 2^2 + a tail of 1^2) = 24 x 5 = 120."""
    shape = LinearScanShape(batch=1, queries=3, heads=1, key_dim=2, value_dim=3, state_bytes=4.0, chunk=2)
    assert scan_flops(shape) == pytest.approx(108.0)
    chunked = LinearScanShape(batch=1, queries=3, heads=1, key_dim=2, value_dim=3, state_bytes=4.0, chunk=2,
                              chunked=True)
    assert scan_flops(chunked) == pytest.approx(228.0)
    two = LinearScanShape(batch=2, queries=3, heads=4, key_dim=2, value_dim=3, state_bytes=4.0, chunk=2, chunked=True)
    assert scan_flops(two) == pytest.approx(8 * 228.0)
    # state in and out (2 x 2 x 3 x 4 bytes), v in and o out (2 x 3 x 3 x 2), q and k in (2 x 3 x 2 x 2)
    assert scan_bytes(shape, 2.0) == pytest.approx(48 + 36 + 24)
    # two checkpoints alone: two states (2 x 3 x 4 bytes) and their conv windows (10 bytes), no q/k/v
    alone = LinearScanShape(batch=1, queries=0, heads=1, key_dim=2, value_dim=3, state_bytes=4.0,
                            checkpoints=2.0, window_bytes=10.0)
    assert scan_bytes(alone, 2.0) == pytest.approx(2 * (24 + 10)) and scan_flops(alone) == 0.0


def test_rollback_costs_nothing_at_one_candidate_and_grows_with_candidates():
    setup = _setup(QWEN3_NEXT)
    grid = Grid.of([4], [1, 2, 4, 8], [2048])
    rollback = next(op for op in model_operations(setup, grid) if op.name == "linear_rollback")
    held = np.asarray(rollback.state_bytes_per_sequence).ravel()
    state = _ops(setup)["linear_scan"].state_bytes_per_sequence
    assert list(held) == [0.0, state, 3 * state, 7 * state]
    result = latency_for_setup(setup, 4, [1, 2, 4, 8], 2048)
    seconds = result.ops_ms["linear_rollback"].ravel()
    assert seconds[0] == 0.0 and np.all(np.diff(seconds) > 0)
    fits = specroof.memory_footprint(setup, batch=4, candidates=[1, 8], seq_len=2048).kv_cache_per_sequence.ravel()
    assert fits[1] - fits[0] == pytest.approx(36 * 7 * state + 7 * 12 * kv_token_bytes(2, 256, "bf16"))


def test_tensor_parallel_splits_the_state_heads():
    one, eight = (_ops(_setup(QWEN3_NEXT, tp=tp))["linear_scan"] for tp in (1, 4))
    assert eight.state_bytes_per_sequence == pytest.approx(one.state_bytes_per_sequence / 4)


def _write(tmp_path: Path, **changes) -> Path:
    cfg = json.loads(QWEN3_NEXT.read_text())
    cfg.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del cfg[key]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def test_missing_state_dims_are_one_error_naming_the_keys(tmp_path):
    path = _write(tmp_path, linear_key_head_dim=None, linear_conv_kernel_dim=None)
    with pytest.raises(SpecroofError, match="linear_key_head_dim, linear_conv_kernel_dim") as info:
        load_model(str(path))
    assert "\n" not in str(info.value)


def test_more_linear_layers_than_layers_is_one_error(tmp_path):
    types = ["linear_attention"] * 50
    # layer_types' own length is checked first (models/windows.py reads the same list)
    with pytest.raises(SpecroofError, match="num_hidden_layers = 48 layers, got 50 entries"):
        load_model(str(_write(tmp_path, layer_types=types)))
    with pytest.raises(SpecroofError, match="linear_layers 60 exceeds the 48 layers"):
        ModelConfig(**{**load_model(str(QWEN3_NEXT)).__dict__, "linear_layers": 60})


def test_cli_bad_config_is_one_error_line(tmp_path):
    path = _write(tmp_path, linear_num_value_heads=None)
    run = run_specroof("latency", "-m", str(path), "-H", "h200")
    assert run.returncode == 2 and run.stderr.startswith("error: ") and "linear_num_value_heads" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_kimi_linear_kda_layers(tmp_path):
    """A Kimi-Linear-shaped config: KDA layers listed 1-based in linear_attn_config."""
    cfg = {"hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 8, "num_attention_heads": 32,
           "num_key_value_heads": 32, "head_dim": 72, "vocab_size": 1000,
           "linear_attn_config": {"kda_layers": [1, 2, 3, 5, 6, 7], "full_attn_layers": [4, 8], "num_heads": 32,
                                  "head_dim": 128, "short_conv_kernel_size": 4}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    model = load_model(str(path))
    assert (model.linear_layers, model.linear_kind, model.linear_value_heads) == (6, "kda", 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setup = setup_step(model, "h200", dtype="bf16")
    names = [op.name for op in model_operations(setup, Grid.of([1], [1], [64]))]
    assert names.count("linear_in_proj") == 2  # the projections, then the gates' low-rank up-projections
    scan = next(op for op in model_operations(setup, Grid.of([1], [1], [64])) if op.name == "linear_scan")
    assert scan.state_bytes_per_sequence == 32 * 128 * 128 * 2 + 3 * 32 * 128 * 3 * 2
    from specroof.cost.architectures import parameter_count

    listed = parameter_count(model_operations(setup, Grid.of([1], [1], [16])), setup.weight_bytes)
    assert listed == model.parameter_count()


def test_explain_says_what_the_rollback_costs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = specroof.explain(str(QWEN3_NEXT), "h200", batch=8, candidates=4, method="ngram", tp=2,
                             allow_unmodelled=True)
    record = e.linear_rollback
    assert record["linear_layers"] == 36 and record["checkpoints"] == 3
    rollback = next(c for c in e.causes if c["cause"] == "linear_rollback")
    assert record["rollback_ms"] == pytest.approx(rollback["added_ms"]) and record["rollback_ms"] > 0
    assert e.summary()["linear_rollback"] == record
    assert specroof.explain("llama-3-8b", "h200", candidates=4).linear_rollback is None
    run = run_specroof("explain", "-m", str(QWEN3_NEXT), "-H", "h200", "--tp", "2", "--batch", "8", "--candidates",
                       "4", "--method", "ngram", "--allow-unmodelled")
    assert run.returncode == 0, run.stderr
    assert "linear-attention rollback: 36 linear layers keep 3 state checkpoint(s) per sequence" in run.stdout


def test_tensor_parallel_must_split_the_linear_heads(tmp_path):
    """vLLM divides the linear layers' key and value heads by the TP degree: 12 value heads
    cannot run on 8 devices, though every other size of the model splits."""
    path = _write(tmp_path, linear_num_key_heads=4, linear_num_value_heads=12)
    with pytest.raises(SpecroofError, match="12 linear-attention value heads"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            setup_step(str(path), "h200", dtype="bf16", tp=8, allow_unmodelled=True)


QWEN3_NEXT_PARAMETERS = 79_674_391_296
"""Total parameters of the Qwen3-Next-80B-A3B architecture (hidden 2048, 48 layers, 512 experts,
the config of tests/data/configs/qwen3-next-80b-a3b.json), counted from the safetensors headers
of Qwen/Qwen3-Coder-Next (same shapes) as quoted in a public test found with the search tool;
the model card says 80B."""


def test_qwen3_next_parameter_count_matches_the_checkpoint():
    """Every weight of the linear layers and the gated full-attention layers is in the list: with
    the shared experts (another helper's builder; added by hand if the model does not price them
    yet) the count is the checkpoint's to 0.01% (left out: q/k norms, 6,144 weights)."""
    from specroof.cost.architectures import parameter_count

    setup = _setup(QWEN3_NEXT)
    listed = parameter_count(model_operations(setup, Grid.of([1], [1], [16])), setup.weight_bytes)
    counted = listed
    if not getattr(setup.model, "shared_experts", 0):
        counted += 48 * (3 * 2048 * 512 + 2048)  # one shared expert and its sigmoid gate per layer
    assert counted == pytest.approx(QWEN3_NEXT_PARAMETERS, rel=1e-4)
    ungated = setup.for_model(ModelConfig(**{**setup.model.__dict__, "attention_output_gate": False}))
    without_gate = parameter_count(model_operations(ungated, Grid.of([1], [1], [16])), setup.weight_bytes)
    assert listed - without_gate == pytest.approx(12 * 2048 * 16 * 256)  # q_proj's gate half, 12 full layers


def test_mamba2_state_and_widths_by_hand():
    """A Mamba-2 layer (fields set directly: no config reader yet): 8 groups of B and C of
    state size 128, 64 heads of 64 channels, 4 taps. State 64 x 128 x 64 fp32; conv over
    x (64 x 64) and B, C (2 x 8 x 128) with 3 past inputs; in_proj z, x, B, C and dt."""
    model = ModelConfig(name="mamba2-hybrid", hidden_size=2688, intermediate_size=1856, num_layers=4, num_heads=32,
                        num_kv_heads=2, head_dim=128, vocab_size=1000, linear_layers=3, linear_kind="mamba2",
                        linear_key_heads=8, linear_value_heads=64, linear_key_head_dim=128, linear_value_head_dim=64,
                        linear_conv_kernel=4, linear_state_dtype="fp32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setup = setup_step(model, "h200", dtype="bf16")
    ops = _ops(setup)
    conv = 64 * 64 + 2 * 8 * 128
    assert ops["linear_scan"].state_bytes_per_sequence == 64 * 128 * 64 * 4 + conv * 3 * 2
    assert ops["linear_in_proj"].shape.n == 2 * 64 * 64 + 2 * 8 * 128 + 64
    assert ops["attention"].count == 1 and ops["linear_scan"].count == 3
    from specroof.cost.architectures import parameter_count

    listed = parameter_count(model_operations(setup, Grid.of([1], [1], [16])), setup.weight_bytes)
    assert listed == model.parameter_count()


@pytest.mark.parametrize("path", [QWEN3_NEXT, QWEN35], ids=lambda p: p.stem)
def test_closed_form_parameter_count_agrees_with_the_operation_list(path):
    """ModelConfig.parameter_count (what `specroof models` lists) and the builder's operations
    count the same weights for hybrid models."""
    from specroof.cost.architectures import parameter_count

    setup = _setup(path)
    listed = parameter_count(model_operations(setup, Grid.of([1], [1], [16])), setup.weight_bytes)
    assert listed == setup.model.parameter_count()


def test_engines_that_copy_the_accepted_state_back_hold_and_move_one_more():
    """SGLang and TensorRT-LLM keep the candidates' states apart from the running one and copy the
    accepted state back: one more state held per sequence and layer, and read and written."""
    vllm, sglang = (_setup(QWEN3_NEXT, profile=p) for p in ("vllm", "sglang"))
    assert sglang.profile.linear_state_copy and not vllm.profile.linear_state_copy
    grid = Grid.of([8], [1, 4], [1024])
    state = _ops(vllm)["linear_scan"].state_bytes_per_sequence
    held = {name: np.asarray(next(op for op in model_operations(s, grid) if op.name == "linear_rollback")
                             .state_bytes_per_sequence).ravel() for name, s in (("vllm", vllm), ("sglang", sglang))}
    assert list(held["vllm"]) == [0.0, 3 * state] and list(held["sglang"]) == [0.0, 4 * state]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = specroof.explain(str(QWEN3_NEXT), "h200", batch=8, candidates=4, method="ngram", profile="sglang",
                             allow_unmodelled=True)
    assert e.linear_rollback["checkpoints"] == 4


@pytest.mark.parametrize("spec", [{"kda_layers": [{"a": 1}], "num_heads": 2, "head_dim": 8, "short_conv_kernel_size": 4},
                                  {"kda_layers": "1,2", "num_heads": 2, "head_dim": 8, "short_conv_kernel_size": 4},
                                  {"kda_layers": [1, 2], "num_heads": True, "head_dim": 8, "short_conv_kernel_size": 4},
                                  [1, 2]])
def test_malformed_kda_config_is_one_error(tmp_path, spec):
    cfg = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 2,
           "vocab_size": 100, "linear_attn_config": spec}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SpecroofError, match="linear_attn_config") as info:
        load_model(str(path))
    assert "\n" not in str(info.value)
