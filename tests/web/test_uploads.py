"""Uploads of the explorer: every kind checked at upload, bad ones removed, the size
limit applied while reading, write failures said plainly, the folder gone at shutdown."""

from __future__ import annotations

import errno
import tracemalloc

import pytest

pytest.importorskip("starlette")
pytest.importorskip("plotly")
pytest.importorskip("httpx")

from specroof.web.app import create_app  # noqa: E402
from tests.web.test_security import (  # noqa: E402
    BASE,
    CURVE,
    LLAMA_68M,
    METRICS,
    ROOT,
    assert_short_error,
    files_in,
    make_client,
)


def good_uploads() -> dict[str, bytes]:
    return {
        "model": LLAMA_68M.read_bytes(),
        "hardware": b'base = "h200"\nname = "my-h200"\n',
        "curve": CURVE,
        "metrics": (METRICS / "vllm-eagle3-k3.prom").read_bytes(),
        "sglang": (METRICS / "sglang-decode.log").read_bytes(),
        "medusa": (ROOT / "src/specroof/speculation/data/medusa-head-accuracy.csv").read_bytes(),
    }


BAD_UPLOADS = [
    ("model", b"{not json"), ("model", b'{"hidden_size": 64}'), ("model", b"\xff\xfe\x00binary"),
    ("hardware", b"memory_gb = 'lots'\n"), ("hardware", b'base = "/etc/h200.toml"\n'),
    ("hardware", b'base = "../catalog/h200.toml"\n'), ("hardware", b"not toml ["),
    ("curve", b"candidates,acceptance_length\n1,nan\n"), ("curve", b"a,b\n"),
    ("metrics", b"vllm:num_requests_running 3\n"), ("sglang", b"nothing here\n"), ("medusa", b"model,head\n"),
]


@pytest.mark.parametrize("kind", list(good_uploads()))
def test_every_upload_kind_is_checked_and_usable(client, kind):
    answer = client.post(f"/api/upload?kind={kind}", content=good_uploads()[kind])
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert (client.app_state.uploads.folder / token.removeprefix("upload:")).is_file()
    if kind == "hardware":
        use = {**BASE, "hardware": token}
    elif kind == "model":
        use = {**BASE, "model": token, "hardware": "a10g"}
    else:
        spec = answer.json()["acceptance"] + {"sglang": ":4", "medusa": ":vicuna-7b"}.get(kind, "")
        use = {**BASE, "acceptance": spec, **({"method": "heads", "heads": "4"} if kind == "medusa" else {})}
    used = client.get("/api/speedup", params=use)
    assert used.status_code == 200, used.text


@pytest.mark.parametrize("kind, body", BAD_UPLOADS)
def test_a_bad_upload_is_refused_at_upload_and_removed(client, kind, body):
    folder = client.app_state.uploads.folder
    error = assert_short_error(client.post(f"/api/upload?kind={kind}", content=body), 400)
    assert files_in(folder) == []
    assert str(folder) not in error  # the server's folder is named upload: in messages


def test_an_oversized_upload_is_refused_with_content_length_or_chunked(client):
    folder = client.app_state.uploads.folder
    limit = client.app_state.uploads.max_bytes
    error = assert_short_error(client.post("/api/upload?kind=model", content=b" " * (limit + 1)), 413)
    assert f"{limit:,}" in error

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    assert_short_error(client.post("/api/upload?kind=model", content=chunks()), 413)
    assert files_in(folder) == []
    assert client.post("/api/upload?kind=curve", content=CURVE).status_code == 200  # the server still answers


def test_an_upload_is_read_in_chunks_never_whole(tmp_path):
    """Memory while refusing a body 5x the limit, measured inside the app (tracemalloc), not the client."""
    import anyio

    from specroof.web.uploads import Uploads

    uploads = Uploads(tmp_path / "up", max_bytes=1_000_000)
    uploads.open()
    chunk = b" " * 65536

    async def body():
        for _ in range(80):  # 5.2 MB
            yield chunk

    async def send():
        tracemalloc.start()
        try:
            await uploads.store("model", body(), None)
        except Exception as exc:  # noqa: BLE001 - the 413 is what is expected
            assert getattr(exc, "status_code", None) == 413
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    peak = anyio.run(send)
    assert peak < 1_000_000, f"{peak:,} bytes traced while refusing a 5 MB body"
    uploads.close()


def test_uploads_are_not_unbounded_on_disk(tmp_path):
    from specroof.web.uploads import Uploads

    app = create_app(upload_dir=tmp_path / "up")
    app.state.uploads.max_total_bytes = 3 * len(CURVE)  # two fit, the third does not
    with make_client(app) as c:
        for i in range(2):
            assert c.post("/api/upload?kind=curve", content=CURVE + f"# {i}\n".encode()).status_code == 200
        assert_short_error(c.post("/api/upload?kind=curve", content=CURVE + b"# 3 and more\n" * 4), 507)
        assert len(files_in(tmp_path / "up")) == 2
    assert isinstance(app.state.uploads, Uploads)


@pytest.mark.parametrize("code, status, words", [(errno.ENOSPC, 507, "No space left"),
                                                 (errno.EIO, 500, "Input/output error (logged)")])
def test_a_failed_upload_write_says_so_and_is_not_called_a_bug(client, monkeypatch, capsys, code, status, words):
    import os

    import specroof.web.uploads as uploads_module

    class Failing:
        def __init__(self, path, mode):
            self.handle = open(path, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(code, os.strerror(code))

    monkeypatch.setattr(uploads_module, "open", Failing, raising=False)
    error = assert_short_error(client.post("/api/upload?kind=curve", content=CURVE), status)
    assert words in error and "bug" not in error and "cannot store the upload" in error
    assert files_in(client.app_state.uploads.folder) == []
    if status == 500:
        assert "Traceback" in capsys.readouterr().err


def test_the_uploads_folder_is_removed_at_shutdown(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    app = create_app()  # its own temporary folder
    assert list(tmp_path.iterdir()) == []  # created at startup, not before
    with make_client(app) as c:
        token = c.post("/api/upload?kind=curve", content=CURVE).json()["token"]
        folder = app.state.uploads.folder
        assert folder.parent == tmp_path and folder.name.startswith("specroof-uploads-")
        assert (folder / token.removeprefix("upload:")).is_file()
        assert folder.stat().st_mode & 0o077 == 0  # this user's only
    assert list(tmp_path.iterdir()) == []
    given = tmp_path / "given"
    with make_client(create_app(upload_dir=given)) as c:
        assert c.post("/api/upload?kind=curve", content=CURVE).status_code == 200
    assert not given.exists()


