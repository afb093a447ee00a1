"""The engines family: a registered engine is seen by exports, the CLI, the explorer's catalog.

A toy engine is declared here, in a few lines, and registered only for the tests that use it:
it must show up in ``export_table``, ``specroof plan --export`` (choice, help and output) and
``/api/catalog`` without any edit to the package.
"""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner

from specroof.cli import cli
from specroof.cost.profile import profile_data
from specroof.errors import SpecroofError
from specroof.kernels.schema import BACKENDS
from specroof.speculation.engines import ENGINES, Engine, MetricsReader, Spelling, metrics_kinds, spelling
from specroof.speculation.exports import export_table
from specroof.speculation.methods import METHODS
from specroof.speculation.plan import plan


def _toy_write(p, ranges, spelling):
    return [f"toyserve {p.model} --draft {spelling.name} --max-k {max(k for _, _, k in ranges)}"]


TOY = Engine(name="toyserve", display_name="Toy Serve", description="a toy engine of tests/test_engines.py",
             write=_toy_write, spellings={"eagle3": Spelling("eagle3", "EAGLE_THREE", option="--draft")})

PLAN_ARGS = ["-m", "llama-3.1-8b", "-H", "h100-sxm", "--batch", "1,8", "--seq-len", "1024",
             "--acceptance", "chain:0.7", "--max-candidates", "4"]


def _method_names() -> list[str]:
    return [getattr(m, "name", m) for m in METHODS]  # a registry of Method records, or of names


@pytest.fixture()
def toy():
    ENGINES.register(TOY)
    yield TOY
    ENGINES.unregister(TOY.name)


@pytest.fixture(scope="module")
def eagle3_plan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plan("llama-3.1-8b", "h100-sxm", [1, 8], [1024], acceptance="chain:0.7", method="eagle3",
                    max_candidates=4)


def _invoke(*args: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CliRunner().invoke(cli, list(args))


def test_a_toy_engine_exports_a_plan(toy, eagle3_plan):
    text = export_table(eagle3_plan, "toyserve")
    k_max = max(k for _, _, k in export_table(eagle3_plan, "json"))
    assert text.splitlines()[-1] == f"toyserve llama-3.1-8b --draft EAGLE_THREE --max-k {k_max}"
    assert text.startswith("# specroof plan: llama-3.1-8b")  # the common header comes with it


def test_a_toy_engine_is_a_cli_choice(toy):
    assert "toyserve" in _invoke("plan", "--help").output
    out = _invoke("plan", *PLAN_ARGS, "--method", "eagle3", "--export", "toyserve")
    assert out.exit_code == 0, out.output
    assert "--draft EAGLE_THREE" in out.output


def test_an_unregistered_engine_is_refused_by_the_cli():
    out = _invoke("plan", *PLAN_ARGS, "--method", "eagle3", "--export", "toyserve")
    assert out.exit_code == 2 and "choose one of vllm, sglang, trtllm, json" in out.output


def test_a_toy_engine_is_in_the_catalog(toy):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from specroof.web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        catalog = client.get("/api/catalog").json()
        view = client.get("/api/view", params={"model": "llama-3.1-8b", "hardware": "h100-sxm", "method": "ngram",
                                               "acceptance": "chain:0.7", "batch": "1,8", "candidates": "1:4:1",
                                               "seq_len": "1024"})
    assert view.status_code == 200, view.text
    exports = view.json()["exports"]
    assert list(exports) == list(ENGINES.names())  # one tab per registered engine
    assert exports["toyserve"].startswith("# engine toyserve (Toy Serve) has no spelling of drafting method 'ngram'")
    assert "--speculative-algorithm NGRAM" in exports["sglang"]  # the other engines still export
    engines = {e["name"]: e for e in catalog["engines"]}
    assert list(engines) == list(ENGINES.names())
    assert engines["toyserve"]["display_name"] == "Toy Serve"
    assert engines["toyserve"]["methods"] == {"eagle3": "EAGLE_THREE"}
    assert engines["vllm"]["acceptance_kind"] == "vllm-metrics" and engines["trtllm"]["acceptance_kind"] is None
    assert [m["name"] for m in catalog["methods"]] == _method_names()


def test_an_engine_without_the_methods_spelling_names_what_it_runs(toy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = plan("llama-3.1-8b", "h100-sxm", [1], [1024], acceptance="chain:0.7", method="ngram", max_candidates=3)
    with pytest.raises(SpecroofError, match=r"engine toyserve \(Toy Serve\) has no spelling of drafting method "
                                            r"'ngram'; it runs eagle3"):
        export_table(p, "toyserve")
    assert export_table(p, "json")  # the schedule names no method


@pytest.mark.parametrize("engine", ENGINES.names())
def test_every_engine_spells_or_refuses_every_method(engine):
    chosen = ENGINES.get(engine)
    for method in _method_names():
        found = chosen.spell(method)
        assert found.method == method
        assert found.supported or found.refused, f"{engine} neither spells nor refuses {method}"
        if not chosen.any_method:
            assert method in chosen.spellings, f"{engine}: no row [{engine}.{method}] in method_names.toml"


def test_a_refusal_says_what_the_engine_runs_instead():
    trtllm = ENGINES.get("trtllm")
    assert trtllm.refusal(trtllm.spell("heads")) == (
        "# TensorRT-LLM's PyTorch backend has no Medusa heads: it drafts with Eagle3, MTP, NGram or DraftTarget. "
        "Re-plan with --method eagle3, mtp, ngram or draft.")


def test_engines_name_their_profile_and_kernel_backend():
    profiles = profile_data()
    for engine in ENGINES:
        if engine.kernel_backend is not None:
            assert engine.kernel_backend in BACKENDS
        if engine.profile is not None:
            assert profiles[engine.profile].get("engine") == engine.kernel_backend


def test_spelling_rows_are_checked():
    with pytest.raises(SpecroofError, match="unknown key"):
        spelling("eagle3", {"name": "x", "optoin": "--y"})
    with pytest.raises(SpecroofError, match="either name"):
        spelling("eagle3", {"name": "x", "refused": "no"})
    with pytest.raises(SpecroofError, match="either name"):
        spelling("eagle3", {"option": "--y"})


def test_an_engines_metrics_reader_is_an_acceptance_kind():
    from specroof.speculation.acceptance import ChainAcceptance
    from specroof.speculation.acceptance_spec import acceptance_kinds, parse_acceptance

    assert metrics_kinds() == ("vllm-metrics", "sglang")
    toy = Engine(name="toymetrics", display_name="Toy", description="reads toy counters",
                 metrics=MetricsReader("toy-metrics", "toy-metrics:ALPHA", lambda args: ChainAcceptance(float(args))))
    ENGINES.register(toy)
    try:
        assert "toy-metrics" in acceptance_kinds()
        assert parse_acceptance("toy-metrics:0.5").tau(2) == pytest.approx(1.5)
    finally:
        ENGINES.unregister(toy.name)
    with pytest.raises(SpecroofError, match="unknown acceptance kind"):
        parse_acceptance("toy-metrics:0.5")


def test_export_json_is_the_schedule(eagle3_plan):
    out = _invoke("plan", *PLAN_ARGS, "--method", "eagle3", "--export", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1]) == export_table(eagle3_plan, "json")
