"""The explorer's uploads: streamed to disk under a size limit, checked at once, gone at shutdown.

An upload is read in chunks as it arrives and written to a part file; the limit applies to
the bytes read so far (a ``Content-Length`` above it is refused before reading anything), so
a 200 MB body costs one chunk of memory, never its size. The file is then named by its
content's hash and checked by the reader that will use it (the same reader as the command
line's), so a bad file is refused at upload, and removed. The folder is a fresh temporary
one, created when the server starts and removed when it stops (the lifespan of the app).
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException

from specroof.datafiles import csv_records, looks_like_path, read_text, read_toml
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import load_hardware
from specroof.models.architecture import load_model
from specroof.speculation.acceptance import CurveAcceptance
from specroof.speculation.engines.sglang_metrics import MAX_DRAFT_TOKENS, read_sglang
from specroof.speculation.engines.vllm_metrics import read_vllm_metrics
from specroof.speculation.trees import MedusaTreeAcceptance
from specroof.web.guard import log_internal

MAX_UPLOAD_BYTES = 2_000_000
"""Largest file one upload may hold (a config.json is a few kB; a metrics scrape tens of kB)."""
MAX_TOTAL_BYTES = 64_000_000
"""Most bytes the uploads folder may hold (32 uploads of the largest size)."""
_FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _check_model(path: Path) -> None:
    load_model(path)


def _check_hardware(path: Path) -> None:
    """A catalog-style device or a calibrated profile, whose ``base`` names a catalog device."""
    base = read_toml(path, "the uploaded hardware file").get("base")
    if isinstance(base, str) and (looks_like_path(base, ".toml") or "\\" in base):
        raise SpecroofError("the uploaded hardware file's base names a file; on the explorer, base must name a "
                            "catalog device (this server reads no file named by a client)")
    load_hardware(path)


def _check_curve(path: Path) -> None:
    CurveAcceptance.from_csv(path)


def _check_metrics(path: Path) -> None:
    read_vllm_metrics(path)


def _check_sglang(path: Path) -> None:
    """A server-info JSON states N; a log does not (the user adds ``:N``), so it is read at the largest N."""
    with open(path, "rb") as handle:
        is_json = handle.read(64).lstrip().startswith(b"{")
    read_sglang(path, None if is_json else MAX_DRAFT_TOKENS)


MAX_MEDUSA_MODELS = 64
"""Most models one uploaded Medusa accuracy file may hold (each is checked at upload)."""


def _check_medusa(path: Path) -> None:
    """Every model of the file, each read as ``medusa:FILE:MODEL`` will read it."""
    rows = csv_records(read_text(path, "the uploaded Medusa file"))
    models = sorted({row.get("model", "") for row in rows} - {""})
    if len(models) > MAX_MEDUSA_MODELS:
        raise SpecroofError(f"the uploaded Medusa file holds {len(models):,} models, more than {MAX_MEDUSA_MODELS}")
    for model in models or [None]:
        MedusaTreeAcceptance.from_csv(path, model)


KINDS: dict[str, tuple[str, Callable[[Path], None], str | None]] = {
    # kind: (suffix, the check its users make, the acceptance spec it gives)
    "model": (".json", _check_model, None),
    "hardware": (".toml", _check_hardware, None),
    "curve": (".csv", _check_curve, "curve"),
    "metrics": (".prom", _check_metrics, "vllm-metrics"),
    "sglang": (".log", _check_sglang, "sglang"),
    "medusa": (".csv", _check_medusa, "medusa"),
}


class Uploads:
    """The uploads folder of one server run: :meth:`open` at startup, :meth:`close` at shutdown."""

    def __init__(self, folder: str | Path | None = None, max_bytes: int = MAX_UPLOAD_BYTES,
                 max_total_bytes: int = MAX_TOTAL_BYTES) -> None:
        self._asked = Path(folder) if folder is not None else None
        self.folder: Path | None = None
        self.max_bytes = max_bytes
        self.max_total_bytes = max_total_bytes

    def open(self) -> Path:
        if self._asked is None:
            self.folder = Path(tempfile.mkdtemp(prefix="specroof-uploads-"))
        else:
            self._asked.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.folder = self._asked
        return self.folder

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def hide(self, message: str) -> str:
        """``message`` with the folder's path written as ``upload:`` (the client's own name for it)."""
        return message.replace(f"{self.folder}{os.sep}", "upload:") if self.folder is not None else message

    async def store(self, kind: str, chunks: AsyncIterator[bytes], content_length: str | None) -> dict[str, Any]:
        """Write, name and check one upload; its token (and acceptance spec), or an HTTP error."""
        if kind not in KINDS:
            raise SpecroofError(f"upload kind {short_repr(kind)} is not one of {', '.join(KINDS)}")
        if self.folder is None:
            raise HTTPException(503, "the server is not running (uploads live only while it runs)")
        self._check_length(content_length)
        suffix, check, spec = KINDS[kind]
        name = await self._write(chunks, suffix)
        path = self.folder / name
        try:
            from anyio import to_thread

            await to_thread.run_sync(check, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        token = f"upload:{name}"
        return {"token": token, "acceptance": f"{spec}:{token}"} if spec else {"token": token}

    def _check_length(self, content_length: str | None) -> None:
        if content_length is None:
            return
        if not content_length.strip().isdigit():
            raise SpecroofError("the Content-Length header is not a number")
        if int(content_length) > self.max_bytes:
            raise HTTPException(413, f"the upload has {int(content_length):,} bytes, more than the "
                                     f"{self.max_bytes:,} allowed")

    async def _write(self, chunks: AsyncIterator[bytes], suffix: str) -> str:
        """The upload written to a part file as it arrives, renamed to its hash; partial files removed."""
        assert self.folder is not None
        part = self.folder / f".part-{secrets.token_hex(8)}"
        digest, size = hashlib.sha256(), 0
        try:
            with open(part, "xb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise HTTPException(413, f"the upload is larger than the {self.max_bytes:,} bytes allowed")
                    digest.update(chunk)
                    handle.write(chunk)
            if size == 0:
                raise SpecroofError("the uploaded file is empty")
            if self._used_bytes() > self.max_total_bytes:
                raise HTTPException(507, f"the server's uploads hold more than {self.max_total_bytes:,} bytes; "
                                         "restart it to clear them")
            name = digest.hexdigest()[:16] + suffix
            os.replace(part, self.folder / name)
            return name
        except OSError as exc:
            raise _write_failure(exc) from None
        finally:
            part.unlink(missing_ok=True)

    def _used_bytes(self) -> int:
        assert self.folder is not None
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())


def _write_failure(exc: OSError) -> HTTPException:
    """507 for a full disk, else a logged 500; both say the upload could not be stored, not a bug."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _FULL_DISK:
        return HTTPException(507, f"cannot store the upload: {reason} on the server's disk")

    log_internal(f"cannot store an upload: {reason}", exc)
    return HTTPException(500, f"cannot store the upload on the server: {reason} (logged)")


def short_repr(value: str, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
