"""Fixtures of the web tests; they skip when the ``web`` extra (or httpx) is not installed."""

from __future__ import annotations

import json
import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("plotly")
pytest.importorskip("httpx")

from click.testing import CliRunner  # noqa: E402

with warnings.catch_warnings():  # newer Starlette prefers httpx2; httpx works with every version
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from specroof.cli import cli  # noqa: E402
from specroof.web.app import create_app  # noqa: E402


@pytest.fixture()
def client(tmp_path):
    app = create_app(upload_dir=tmp_path / "uploads")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.app_state = app.state
        yield c


def run_cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``specroof ARGS`` run in-process, errors as the console script shows them."""
    from specroof.errors import SpecroofError

    runner = CliRunner()
    result = runner.invoke(cli, list(args), standalone_mode=False)
    if isinstance(result.exception, SpecroofError):
        return 2, result.stdout, f"error: {result.exception}"
    if result.exception is not None:
        raise result.exception
    return 0, result.stdout, result.stderr


def cli_json(*args: str):
    code, out, err = run_cli(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)
