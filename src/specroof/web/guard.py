"""What keeps the explorer local: the ``Host`` and ``Origin`` checks, one value per parameter,
no server path named by a query, strict JSON and short errors.

Threat model (see ``docs/explorer.md``): the server listens on this machine only, but any web
page the user visits can make the browser send requests to it. Through DNS rebinding such a
page can even read the answers: its own name resolves to 127.0.0.1, so the browser treats
the explorer as the page's own origin. What tells these requests apart is the ``Host`` header
(the attacker's name, not ours) and, for an upload, the ``Origin`` header (the attacker's
page). Both are checked here before any route runs.

Why not Starlette's ``TrustedHostMiddleware``: it checks the host name but not the port,
answers in plain text where every other error of the API is JSON, and has no ``Origin``
check; the check below is the same comparison plus those two, in a few lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from specroof.errors import SpecroofError
from specroof.speculation.trees import bundled_medusa_models

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
"""The names a browser on this machine uses for a server bound to a loopback address."""
MAX_ERROR_CHARS = 300
"""Longest error message an answer carries (longer ones are cut, with an ellipsis)."""
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
NO_PATHS = "this server reads no file named by a query"


def _host_port(netloc: str) -> tuple[str, int | None] | None:
    """(lower-case host without brackets, port or None) of ``host[:port]``; None if malformed."""
    if not netloc or any(c in netloc for c in "/?#@\\ \t"):
        return None
    try:
        parts = urlsplit("//" + netloc)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range; a bracket left open
        return None
    return (parts.hostname or "", port) if parts.hostname else None


class LocalOnly:
    """ASGI middleware: answer only requests addressed to this server by one of its own names.

    ``hosts``: the names the ``Host`` header may carry (compared without case and brackets).
    ``port``: the port the server bound, which the header must name too (None: any port, for
    a server whose port the application is not told, as in the tests).
    A state-changing request (POST) carrying an ``Origin`` must come from a page of this
    same server; one without ``Origin`` (curl, scripts) is not a browser's cross-site request.
    """

    def __init__(self, app: ASGIApp, hosts: Iterable[str], port: int | None = None) -> None:
        self.app = app
        self.hosts = frozenset(h.strip("[]").lower() for h in hosts)
        self.port = port

    def _ours(self, netloc: str | None) -> bool:
        parsed = _host_port(netloc or "")
        if parsed is None or parsed[0] not in self.hosts:
            return False
        port = parsed[1] if parsed[1] is not None else 80
        return self.port is None or port == self.port

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = Headers(scope=scope)
        if not self._ours(headers.get("host")):
            return 403, "refused: the Host header does not name this local server (a DNS-rebinding request?)"
        if scope.get("method", "GET") in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme != "http" or not self._ours(parts.netloc):
                return 403, "refused: a cross-origin request may not change this server's state"
        elif headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, "refused: a cross-site request may not change this server's state"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refusal = self._refusal(scope)
            if refusal is not None:
                status, message = refusal
                await JSONResponse({"error": message}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def single_values(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The query's parameters as a dict; a parameter given twice is an error, never a silent pick."""
    values: dict[str, str] = {}
    for name, value in items:
        if name in values:
            count = sum(1 for n, _ in items if n == name)
            raise SpecroofError(f"parameter {short(name, 40)!r} is given {count} times; give it once")
        values[name] = value
    return values


_UPLOAD_TOKEN = r"upload:[0-9a-f]{16}"
_TOKEN_FILE = {  # what a parameter may name: a catalog entry, or an upload of this suffix
    "model": ".json", "draft_model": ".json", "hardware": ".toml",
}
_ACCEPTANCE_FILE = {"curve": ".csv", "vllm-metrics": ".prom", "sglang": ".log", "medusa": ".csv"}


def _token(text: str, suffix: str, extra: bool = False) -> bool:
    """Whether ``text`` is an upload token with ``suffix`` (then ``:EXTRA`` when ``extra``)."""
    tail = r"(?::[^/\\]*)?" if extra else ""
    return re.fullmatch(_UPLOAD_TOKEN + re.escape(suffix) + tail, text) is not None


def check_no_paths(params: Mapping[str, str]) -> None:
    """SpecroofError for a value the loaders would read as a file path, unless an upload token.

    The loaders read a value as a path when it ends with the file suffix or holds a ``/``
    (:func:`specroof.datafiles.looks_like_path`); here such a value is refused with one message,
    the same whether the path exists or not, so a client learns nothing about the server's files.
    """
    for name, raw in params.items():
        text = str(raw).strip()
        if name in _TOKEN_FILE:
            suffix = _TOKEN_FILE[name]
            if text.startswith("upload:") or text.endswith(suffix) or "/" in text or "\\" in text:
                if _token(text, suffix):
                    continue
                raise SpecroofError(f"{name}: {NO_PATHS}; give a catalog name, or upload the file and "
                                    f"use its token (upload:<id>{suffix})")
        elif name == "scenario" and (text.endswith(".toml") or "/" in text or "\\" in text):
            raise SpecroofError(f"scenario: {NO_PATHS}; give a shipped scenario name")
        elif name == "acceptance":
            _check_acceptance(text)


def _check_acceptance(text: str) -> None:
    kind, sep, args = text.partition(":")
    kind, args = kind.strip().lower(), args.strip()
    suffix = _ACCEPTANCE_FILE.get(kind)
    if suffix is None or not sep or not args:
        return  # no file in it (log, chain, positional), or the parser's own error
    if _token(args, suffix, extra=True):
        return
    if kind == "medusa" and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", args) and ".csv" not in args.lower():
        if args in bundled_medusa_models():
            return
    raise SpecroofError(f"acceptance {kind}: {NO_PATHS}; upload the file and give {kind}:upload:<id>{suffix}"
                        + (" or a bundled model" if kind == "medusa" else ""))


def short(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """One line of at most ``limit`` characters: whitespace runs folded, the rest cut with '…'."""
    line = " ".join(str(message).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def first_non_finite(value: Any, where: str = "") -> str | None:
    """Where the first NaN or infinity in ``value`` (records, dicts, lists) is, or None."""
    if isinstance(value, dict):
        label = ", ".join(f"{k} {value[k]}" for k in ("batch", "candidates", "seq_len") if k in value
                          and not isinstance(value[k], (list, dict)))
        for key, item in value.items():
            found = first_non_finite(item, f"{key}" + (f" at {label}" if label else ""))
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for item in value:
            found = first_non_finite(item, where)
            if found:
                return found
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where or 'a value'} is {value}"
    return None


def require_finite(value: Any, what: str) -> Any:
    """``value`` unchanged, or SpecroofError naming the first non-finite number in it."""
    found = first_non_finite(value)
    if found:
        raise SpecroofError(f"{what} holds a number that is not finite ({found}); these settings cannot be "
                            "priced, so nothing is served")
    return value


def log_internal(message: str, exc: BaseException) -> None:
    """``message`` and the traceback of ``exc`` on the server's terminal (stderr), where the user sees them."""
    import sys
    import traceback

    print(f"specroof explorer: {message}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
