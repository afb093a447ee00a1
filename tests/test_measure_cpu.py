"""The measurement harness on the CPU with a tiny model (skipped without torch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from specroof.calibration.harness.torch_decoder import TIMED_OPERATIONS as OP_NAMES
from specroof.calibration.measurements import load_measurements
from specroof.errors import SpecroofError

ROOT = Path(__file__).resolve().parents[1]
SPECROOF = ROOT / ".venv" / "bin" / "specroof"
TINY = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256,
}
TINY_MOE = {**TINY, "num_key_value_heads": 4, "num_local_experts": 4, "num_experts_per_tok": 2,
            "moe_intermediate_size": 32}


def config(tmp_path: Path, cfg: dict, name: str = "tiny") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def cli_command() -> list[str]:
    if SPECROOF.exists():
        return [str(SPECROOF)]
    return [sys.executable, "-c", "from specroof.cli import main; main()"]


def test_import_does_not_import_torch():
    code = "import sys, specroof.calibration.measure, specroof.cli.measure_cmd; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_torch_is_a_clear_error(monkeypatch):
    from specroof.calibration import measure as harness

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(SpecroofError, match=r"pip install 'specroof\[measure\]'"):
        harness.check_device("cpu")


def test_memory_estimate_grows_with_the_point():
    from specroof.calibration.measure import estimate_memory
    from specroof.models.architecture import ModelConfig

    llama = ModelConfig("llama-7b", 4096, 11008, 32, 32, 32, 128, 32000)
    small = estimate_memory(llama, 64, 112, 1024)
    large = estimate_memory(llama, 64, 1, 8192)
    assert 12e9 < small.weights < 14e9
    assert small.kv_cache == 2 * 32 * 64 * 32 * 1136 * 128 * 2
    assert small.total < 130e9 < large.total  # fits an H200 / must be skipped there


def test_hardware_slug_and_dtype_defaults():
    from specroof.calibration.measure import hardware_slug, normalize_dtype

    assert hardware_slug("NVIDIA H200") == "h200"
    assert hardware_slug("NVIDIA A100 80GB PCIe") == "a100-80gb-pcie"
    assert normalize_dtype(None, "cuda") == "fp16" and normalize_dtype(None, "cpu") == "fp32"
    assert normalize_dtype("bfloat16", "cuda") == "bf16"
    with pytest.raises(SpecroofError, match="--dtype"):
        normalize_dtype("int3", "cuda")


torch = pytest.importorskip("torch")

from specroof.calibration.harness.torch_decoder import Decoder as _Decoder  # noqa: E402
from specroof.calibration.harness.torch_decoder import Point as _Point
from specroof.calibration.measure import measure  # noqa: E402


def test_measure_tiny_grid_writes_valid_jsonl(tmp_path):
    from specroof.calibration.measurements import write_measurements

    path_of_config = config(tmp_path, TINY)
    result = measure(path_of_config, [1, 2], [1, 4], [8], device="cpu", repeats=2, warmup=1)
    assert result.skipped == []
    rows = result.measurements
    assert [(r.batch, r.candidates, r.seq_len) for r in rows] == [(1, 1, 8), (1, 4, 8), (2, 1, 8), (2, 4, 8)]
    for row in rows:
        assert row.latency_ms > 0 and row.dtype == "fp32" and row.hardware == "cpu"
        # a model from a file is named by its absolute path, so validate can load it again
        assert row.cuda_graph is False and row.model == str(Path(path_of_config).resolve())
        assert tuple(row.ops_ms) == OP_NAMES and all(v > 0 for v in row.ops_ms.values())
        assert row.extra["gqa_mode"] == ("enable_gqa" if row.candidates == 1 else "repeat_interleave")
        assert {"torch_version", "device_name", "date", "repeats"} <= set(row.extra)
    path = write_measurements(tmp_path / "out.jsonl", rows)
    assert load_measurements(path) == rows
    from specroof.calibration.validate import validate

    assert len(validate(path, "h200").points) == 4  # the rows name a model validate can load


def test_measure_moe_and_eager_too(tmp_path):
    result = measure(config(tmp_path, TINY_MOE, "moe"), 2, 4, 8, device="cpu", repeats=1, warmup=0,
                     eager_too=True, hardware_name="my-box")
    (row,) = result.measurements
    assert row.hardware == "my-box" and row.eager_latency_ms > 0
    assert row.extra["gqa_mode"] == "mha" and 2 <= row.extra["active_experts"] <= 4


def test_max_memory_guard_skips_large_points(tmp_path):
    seen = []
    result = measure(config(tmp_path, TINY), 1, 1, [8, 200_000], device="cpu", repeats=1, warmup=0,
                     ops=False, max_memory_gb=0.01, progress=lambda b, n, s, r: seen.append(s))
    assert [r.seq_len for r in result.measurements] == [8]
    assert result.measurements[0].ops_ms == {}
    (skipped,) = result.skipped
    assert (skipped.batch, skipped.candidates, skipped.seq_len) == (1, 1, 200_000)
    assert "GB" in skipped.reason and "limit" in skipped.reason
    assert seen == [8, 200_000]


def test_gqa_modes_and_tree_mask_agree(tmp_path):
    """enable_gqa and repeat_interleave compute the same step; candidate 0 ignores later ones."""
    from specroof.models import load_model

    cfg = load_model(config(tmp_path, TINY))
    with torch.inference_mode():
        dec = _Decoder(torch, cfg, torch.device("cpu"), torch.float32, seed=1)
        point = _Point(dec, 2, 4, 8, "repeat_interleave")
        reference = point.step()
        point.gqa_mode = "enable_gqa"
        torch.testing.assert_close(point.step(), reference)
        changed = point.x.clone().view(2, 4, -1)
        changed[:, 1:] += 1.0  # later candidates differ: the first one's logits must not move
        point.x = changed.view(8, -1)
        after = point.step().view(2, 4, -1)
        torch.testing.assert_close(after[:, 0], reference.view(2, 4, -1)[:, 0])
        assert not torch.allclose(after[:, 1], reference.view(2, 4, -1)[:, 1])


def test_cuda_without_gpu_suggests_cpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(SpecroofError, match="--device cpu"):
        measure(config(tmp_path, TINY), 1, 1, 8, device="cuda")


def test_cli_measure_cpu(tmp_path):
    out = tmp_path / "m.jsonl"
    proc = subprocess.run(
        [*cli_command(), "measure", "--model", str(config(tmp_path, TINY)), "--batch", "1,2",
         "--candidates", "1,4", "--seq-len", "8,200000", "--device", "cpu", "--repeats", "2",
         "--warmup", "1", "--max-memory-gb", "0.01", "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = load_measurements(out)
    assert len(rows) == 4 and all(tuple(r.ops_ms) == OP_NAMES for r in rows)
    assert "wrote 4 measurement(s)" in proc.stdout
    assert proc.stderr.count("skipped batch=") == 4


def test_cli_bad_model_exits_2(tmp_path):
    proc = subprocess.run(
        [*cli_command(), "measure", "--model", str(tmp_path / "missing" / "config.json"),
         "--device", "cpu", "-o", str(tmp_path / "x.jsonl")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "not found" in lines[0]
    assert not (tmp_path / "x.jsonl").exists()
