"""Fixtures of the web tests. Each test module skips itself when what it needs (the ``web``
extra, httpx, playwright, chromium) is missing, so the core test run needs none of them."""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner

from specroof.cli import cli


@pytest.fixture()
def client(tmp_path):
    with warnings.catch_warnings():  # newer Starlette prefers httpx2; httpx works with every version
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from specroof.web.app import create_app

    app = create_app(upload_dir=tmp_path / "uploads")
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        c.app_state = app.state
        yield c


def run_cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``specroof ARGS`` run in-process, errors as the console script shows them."""
    from specroof.errors import SpecroofError

    import click

    runner = CliRunner()
    result = runner.invoke(cli, list(args), standalone_mode=False)
    if isinstance(result.exception, SpecroofError):
        return 2, result.stdout, f"error: {result.exception}"
    if isinstance(result.exception, click.ClickException):  # as specroof.cli.main prints it
        return result.exception.exit_code, result.stdout, f"error: {result.exception.format_message()}"
    if result.exception is not None:
        raise result.exception
    return 0, result.stdout, result.stderr


def cli_json(*args: str):
    code, out, err = run_cli(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)
