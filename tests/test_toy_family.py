"""Adding a drafting method and an engine is one module each: here, a few lines of this file.

A toy method and a toy engine that spells it are declared below and registered only for these
tests. Nothing in the package names them, yet both must be priced, planned, exported, offered
as CLI choices and listed by the explorer's ``/api/catalog``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

import specroof
from specroof.cli import cli
from specroof.cost.drafting_ops import mtp_operations
from specroof.speculation.engines import ENGINES, Engine, Spelling
from specroof.speculation.methods import METHODS, PassMethod


@dataclass(frozen=True)
class OneLayerDrafter(PassMethod):
    """Each drafting pass is one decoder layer of the target."""

    def draft_pass(self, choice, setup, grid, width, first):
        return mtp_operations(setup, grid, width, first)


METHOD = OneLayerDrafter(name="onelayer", description="one decoder layer drafts", label="one-layer drafter",
                         parameters=("tree",))


def _write(plan, ranges, spelling):
    return [f"toyserve serve {plan.model} --spec {spelling.name} --k {max(k for _, _, k in ranges)}"]


ENGINE = Engine(name="toyserve", display_name="Toy Serve", description="an engine declared in a test file",
                write=_write, spellings={"onelayer": Spelling("onelayer", "ONE_LAYER", option="--spec")})

ARGS = ["-m", "llama-3.1-8b", "-H", "h100-sxm", "--method", "onelayer", "--acceptance", "chain:0.8",
        "--seq-len", "1024"]


@pytest.fixture()
def toys():
    METHODS.register(METHOD)
    ENGINES.register(ENGINE)
    try:
        yield
    finally:
        ENGINES.unregister(ENGINE.name)
        METHODS.unregister(METHOD.name)


def _invoke(*args: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CliRunner().invoke(cli, list(args))


@pytest.mark.usefixtures("toys")
def test_the_toy_method_is_priced():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = specroof.speedup("llama-3.1-8b", "h100-sxm", [1, 8], [1, 3], 1024, method="onelayer",
                                  acceptance="chain:0.8")
    assert (result.draft_ms[:, 1] > 0).all() and (result.draft_ms[:, 0] == 0).all()


@pytest.mark.usefixtures("toys")
def test_the_toy_engine_exports_the_toy_methods_plan():
    out = _invoke("plan", *ARGS, "--batch", "1,8", "--max-candidates", "4", "--export", "toyserve")
    assert out.exit_code == 0, out.output
    last = out.output.strip().splitlines()[-1]
    assert last.startswith("toyserve serve llama-3.1-8b --spec ONE_LAYER --k ")


@pytest.mark.usefixtures("toys")
def test_both_are_cli_choices():
    assert "onelayer" in _invoke("speedup", "--help").output
    assert "toyserve" in _invoke("plan", "--help").output
    engine_refused = _invoke("plan", *ARGS, "--batch", "1", "--export", "toyserve2")
    assert engine_refused.exit_code == 2 and "toyserve" in engine_refused.output  # listed among the choices


@pytest.mark.usefixtures("toys")
def test_both_are_in_the_catalog():
    pytest.importorskip("httpx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from specroof.web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        catalog = client.get("/api/catalog").json()
    assert "onelayer" in [m["name"] for m in catalog["methods"]]
    engines = {e["name"]: e for e in catalog["engines"]}
    assert engines["toyserve"]["methods"] == {"onelayer": "ONE_LAYER"}


def test_unregistered_toys_are_gone_everywhere():
    assert "onelayer" not in METHODS and "toyserve" not in ENGINES
    out = _invoke("plan", *ARGS, "--batch", "1")
    assert out.exit_code == 2 and "onelayer" in out.output
