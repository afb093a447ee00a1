"""Fields declared once: the schemas, fit bounds and docs table are derived from the declarations."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

import specroof
from specroof.calibration.fit import LAUNCH, PARAMETERS
from specroof.calibration.kernels.physics import FIT_FIELDS
from specroof.checks import (
    FRACTION,
    NAME,
    POSITIVE_INT,
    Check,
    check_fields,
    choice,
    declare,
    number,
    schema,
    spec_of,
    specs,
)
from specroof.cost.profile import ImplementationProfile, get_profile, profile_fields
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator, load_hardware
from specroof.models.architecture import ModelConfig
from specroof.report.fields_doc import fields_document

DOCS = Path(__file__).resolve().parents[1] / "docs" / "fields.md"
DECLARED = (ImplementationProfile, ModelConfig, Accelerator)


@pytest.mark.parametrize("cls", DECLARED, ids=lambda c: c.__name__)
def test_every_field_is_declared_with_a_meaning(cls):
    declared = specs(cls)
    assert list(declared) == [f.name for f in dataclasses.fields(cls)]
    assert all(spec.meaning.strip() for spec in declared.values()), [k for k, s in declared.items() if not s.meaning]


def test_the_committed_docs_table_is_the_generated_one():
    assert DOCS.read_text(encoding="utf-8") == fields_document(), (
        "docs/fields.md is stale: python -m specroof.report.fields_doc docs/fields.md")


def test_the_docs_table_lists_every_field_once():
    text = fields_document()
    for cls in DECLARED:
        for name in specs(cls):
            assert text.count(f"| `{name}` |") >= 1, name
    assert text.count("| `compute_efficiency` |") == 1


def _numeric(cls):
    return {k: s for k, s in specs(cls).items() if s.check.scalar is number and s.check.le is not None}


@pytest.mark.parametrize("field", sorted(_numeric(ImplementationProfile)))
def test_profile_schema_enforces_each_declared_upper_bound(field):
    bound = spec_of(ImplementationProfile, field).check.le
    beyond = bound * 2 + 1
    with pytest.raises(SpecroofError, match=f"profile serving: {field} must be <= "):
        get_profile().with_overrides(**{field: beyond})
    assert getattr(get_profile().with_overrides(**{field: bound}), field) == bound


def test_profile_defaults_pass_their_own_checks():
    default = ImplementationProfile()
    assert default.validated() == default


def test_unknown_profile_key_is_named_with_a_suggestion():
    with pytest.raises(SpecroofError, match="unknown key bandwith_efficiency .*did you mean: bandwidth_efficiency"):
        profile_fields({"bandwith_efficiency": 0.5}, "x")


def test_calibration_fit_bounds_are_the_declared_ones():
    fitted = {p.name: (p.lower, p.upper) for p in (*PARAMETERS, LAUNCH)}
    declared = {k: s.fit for k, s in specs(ImplementationProfile).items() if s.fit is not None}
    assert fitted == declared
    assert all(p.meaning.startswith(spec_of(ImplementationProfile, p.name).meaning) for p in PARAMETERS)


def test_kernel_fit_bounds_are_the_declared_ones():
    used = set()
    for section, table in FIT_FIELDS.items():
        for name, (start, lower, upper) in table.items():
            assert (lower, upper) == spec_of(ImplementationProfile, name).kernel_fit, (section, name)
            assert lower <= start <= upper, (section, name)
            used.add(name)
    declared = {k for k, s in specs(ImplementationProfile).items() if s.kernel_fit is not None}
    assert used == declared


@dataclasses.dataclass(frozen=True)
class Toy:
    """A record declared like the project's own: its schema comes from the declarations alone."""

    label: str = declare(..., NAME, "", "what it is called")
    share: float = declare(0.5, FRACTION, "fraction", "a part of the whole")
    count: int = declare(1, POSITIVE_INT.within(le=8), "items", "how many")
    mode: str = declare("a", choice("a", "b"), "", "which way")


def test_a_new_declared_record_gets_its_schema_and_messages():
    ok = check_fields(Toy, {"label": "t", "share": 1, "count": 8.0, "mode": "b"}, "toy")
    assert ok == {"label": "t", "share": 1.0, "count": 8, "mode": "b"} and type(ok["count"]) is int
    for data, words in (({"label": "t", "share": 0}, "toy: share must be > 0, got 0"),
                        ({"label": "t", "count": 9}, "toy: count must be <= 8, got 9"),
                        ({"label": "t", "count": True}, "toy: count must be an integer, not bool"),
                        ({"label": "t", "mode": "c"}, "toy: mode must be 'a' or 'b', got 'c'"),
                        ({"share": math.nan}, "toy: "),
                        ({"label": " "}, "toy: label must be a non-empty string")):
        with pytest.raises(SpecroofError) as info:
            check_fields(Toy, data, "toy")
        assert str(info.value).startswith(words), str(info.value)
    assert "label" in schema(Toy).model_fields and schema(Toy, all_optional=True).model_fields["label"].default is None


def test_a_check_describes_itself_for_the_docs():
    assert Check(number, gt=0, le=1).describe() == "number > 0, <= 1"
    assert choice("x", "y").describe() == "x | y"


def test_model_and_device_fields_check_what_they_declare():
    with pytest.raises(SpecroofError, match="model config 'm': mtp_layers must be <= 64"):
        ModelConfig("m", 8, 8, 1, 1, 1, 8, 10, mtp_layers=65)
    h200 = load_hardware("h200")
    with pytest.raises(SpecroofError, match="accelerator 'h200': memory_gb must be <= 1000000"):
        dataclasses.replace(h200, memory_gb=2e6)


def test_a_calibrated_files_profile_fields_are_checked_and_named_by_the_file(tmp_path):
    path = tmp_path / "prof.toml"
    path.write_text('base = "h200"\nprofile_base = "pytorch-sdpa"\n[profile]\ncompute_efficiency = 1.5\n')
    accel = load_hardware(str(path))
    assert accel.file == str(path)
    with pytest.raises(SpecroofError, match=r"hardware file .*prof.toml: \[profile\]: compute_efficiency must be <= 1"):
        specroof.latency("llama-7b", accel)
    path.write_text('base = "h200"\nprofile_base = "pytorch-sdpa"\n[profile]\nbandwidth_efficiency = 0.3\n')
    fitted = specroof.latency("llama-7b", load_hardware(str(path)))
    plain = specroof.latency("llama-7b", "h200", profile="pytorch-sdpa")
    assert fitted.profile.bandwidth_efficiency == 0.3
    assert float(fitted.latency_ms.max()) > float(plain.latency_ms.max())  # the slower fitted field is applied


def test_a_calibrated_files_profile_section_is_checked_even_when_another_profile_is_chosen(tmp_path):
    """The [profile] table and profile_base apply only to the device's own profile, but a broken
    one is refused whatever --profile says: a file is never passed over in silence."""
    path = tmp_path / "prof.toml"
    path.write_text('base = "h200"\n[profile]\nbogus_field = 3\n')
    with pytest.raises(SpecroofError, match=r"prof.toml: \[profile\]: unknown key bogus_field"):
        specroof.latency("llama-7b", load_hardware(str(path)), profile="vllm")
    path.write_text('base = "h200"\nprofile_base = "nope"\n')
    with pytest.raises(SpecroofError, match=r"prof.toml: profile_base: unknown implementation profile 'nope'"):
        specroof.latency("llama-7b", load_hardware(str(path)), profile="vllm")
    path.write_text('base = "h200"\nprofile_base = "pytorch-sdpa"\n[profile]\nbandwidth_efficiency = 0.3\n')
    other = specroof.latency("llama-7b", load_hardware(str(path)), profile="serving")
    assert other.profile.bandwidth_efficiency == specroof.latency("llama-7b", "h200").profile.bandwidth_efficiency


def test_cli_help_of_profile_options_comes_from_the_declarations():
    from hostile.harness import run_cli

    code, out, _ = run_cli(["latency", "--help"])
    out = " ".join(out.split())
    assert code == 0
    attention = spec_of(ImplementationProfile, "attention")
    assert "[" + "|".join(attention.check.choices) + "]" in out
    assert attention.meaning[1:40] in out and spec_of(ImplementationProfile, "cuda_graph").meaning[1:40] in out
