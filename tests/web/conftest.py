"""Fixtures of the web tests. Each test module skips itself when what it needs (the ``web``
extra, httpx, playwright, chromium) is missing, so the core test run needs none of them."""

from __future__ import annotations

import warnings

import pytest

from tests.support import run_cli  # the one in-process runner; the web tests import it from here

__all__ = ["cli_json", "run_cli"]


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


def cli_json(*args: str):
    """The records of ``specroof ARGS --format json`` run in-process (tests.support.run_cli)."""
    return run_cli(*args, "--format", "json").json()
