"""The explorer's web application: a JSON API and one page (Starlette, served by uvicorn).

Why Starlette: the API is a handful of GET endpoints whose parameters are validated by the
CLI's own parsers (so they give the CLI's messages), which is all a web framework has to
route; Starlette does that, serves static files, and ships a test client, without the
request-model layer (pydantic) FastAPI would add on top. Why Plotly: a charting library whose
whole runtime is one JavaScript file (shipped inside the ``plotly`` wheel, served from it
here and inlined by ``specroof report``), with heatmaps, waterfalls and log axes built in,
hover values, and PNG/SVG export from the chart's own toolbar.

Endpoints (GET unless said; query parameters are the matching command's options, ``_`` for ``-``,
read from the click command itself, see :func:`specroof.web.queries.parameters`):

- ``/api/speedup``, ``/api/plan``, ``/api/latency``, ``/api/ops``: the records of ``specroof
  speedup|plan|latency|ops --format json``; ``/api/explain``: ``specroof explain --format json``
  plus ``note``;
- ``/api/export?engine=vllm|sglang|trtllm|json&...``: ``specroof plan --export ENGINE``;
- ``/api/view?...``: everything the page draws for one state (figures, plan, exports);
- ``/api/load``: the records of ``specroof simulate --format json``; ``/api/load_view``: the
  load view (a metric against request rate), see :mod:`specroof.web.load`;
- ``/api/catalog``: models, accelerators, profiles and scenarios for the page's menus;
- ``POST /api/upload?kind=model|hardware|curve|metrics|sglang|medusa``: a config.json, a
  hardware TOML, an acceptance CSV, vLLM's ``/metrics`` text or an SGLang log (turned into the
  acceptance curve its counters imply), a Medusa accuracy CSV; checked at once, answered with
  a token (``upload:<id>.json``) usable where the command line takes a file (kept while the
  server runs, see :mod:`specroof.web.uploads`).

Bad input answers HTTP 400 with ``{"error": "<the CLI's one-line message>"}`` (at most 300
characters); an internal error answers 500 and is logged with its traceback on the server's
terminal. No response carries a traceback, a NaN, or a path of the server. What keeps the
server local (Host and Origin checks, no path named by a query) is :mod:`specroof.web.guard`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from specroof.errors import SpecroofError
from specroof.web.assets import plotly_js_path
from specroof.web.catalog import catalog
from specroof.web.guard import (
    LOOPBACK_NAMES,
    LocalOnly,
    check_no_paths,
    log_internal,
    require_finite,
    short,
    single_values,
)
from specroof.web.load import load_catalog, load_records, load_view
from specroof.web.queries import CACHE_BYTES, MAX_POINTS, Explorer
from specroof.web.uploads import Uploads
from specroof.web.view import page_view

STATIC = Path(__file__).parent / "static"
COMPUTE_THREADS = 2
"""Computations running at once (the others wait): bounds the memory of requests in flight."""
LOAD_THREADS = 1
"""Load sweeps (``/api/load*``) running at once, apart from the others: a sweep takes seconds, and
it never holds up the speedup views."""


class StrictJSON(JSONResponse):
    """JSON as the standard defines it: a NaN or an infinity is refused, never written as a number."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_scalar)
        except ValueError:  # json's "Out of range float values": say where, as require_finite does
            require_finite(content, "the answer")
            raise
        return text.encode("utf-8")


def _scalar(value: Any) -> Any:
    """A numpy scalar or array as JSON sees it (``--format json`` does the same)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def create_app(upload_dir: str | Path | None = None, max_points: int = MAX_POINTS,
               hosts: Iterable[str] = LOOPBACK_NAMES, port: int | None = None,
               cache_bytes: int = CACHE_BYTES) -> Starlette:
    """The application. ``hosts``/``port``: the names and port requests must be addressed to
    (``port`` None: any); ``upload_dir``: where uploads go while the app runs (a fresh temporary
    folder by default), removed at shutdown."""
    plotly_js = plotly_js_path()  # missing plotly: said now, not at the first page load
    uploads = Uploads(upload_dir)
    explorer = Explorer(uploads=None, max_points=max_points, cache_bytes=cache_bytes)
    app = Starlette(routes=_routes(explorer), lifespan=_lifespan,
                    middleware=[Middleware(LocalOnly, hosts=hosts, port=port)],
                    exception_handlers={SpecroofError: _user_error, HTTPException: _http_error,
                                        ClientDisconnect: _disconnected, Exception: _bug})
    app.state.explorer = explorer
    app.state.uploads = uploads
    app.state.plotly_js = plotly_js
    return app


def _routes(explorer: Explorer) -> list[Route | Mount]:
    """Every endpoint: the pages' API over ``explorer``, the upload, the page and its scripts."""
    def export(query: dict[str, str]) -> dict[str, Any]:
        engine = query.pop("engine", "vllm")
        return {"engine": engine, "export": explorer.export(query, engine)}

    return [
        Route("/", _index),
        *(Route(f"/api/{name}", _api(fn)) for name, fn in (
            ("speedup", explorer.speedup_records), ("plan", explorer.plan_records),
            ("latency", explorer.latency_records), ("ops", explorer.ops_records),
            ("explain", explorer.explain_dict), ("export", export),
            ("view", lambda query: page_view(explorer, query)))),
        *(Route(f"/api/{name}", _api(fn, "load_compute")) for name, fn in (
            ("load", lambda query: load_records(explorer, query)),
            ("load_view", lambda query: load_view(explorer, query)))),
        Route("/api/catalog", _catalog_api),
        Route("/api/upload", _upload_api, methods=["POST"]),
        Route("/static/plotly.min.js", _plotly),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Uploads open (a folder) while the app runs; COMPUTE_THREADS computations at once."""
    import anyio

    app.state.explorer.uploads = app.state.uploads.open()
    app.state.compute = anyio.CapacityLimiter(COMPUTE_THREADS)
    app.state.load_compute = anyio.CapacityLimiter(LOAD_THREADS)
    try:
        yield
    finally:
        app.state.explorer.uploads = None
        app.state.uploads.close()


def _api(compute: Callable[[dict[str, str]], Any], limiter: str = "compute") -> Callable[[Request], Any]:
    """A GET endpoint answering ``compute(query)`` as strict JSON, computed in a worker thread
    (at most as many at once as the app's ``limiter`` allows)."""
    async def endpoint(request: Request) -> Response:
        from anyio import to_thread

        query = single_values(request.query_params.multi_items())
        check_no_paths(query)

        def answer() -> Response:  # rendered in the worker too: a large answer never stalls the server
            return StrictJSON(compute(query))

        return await to_thread.run_sync(answer, limiter=getattr(request.app.state, limiter, None))
    return endpoint


async def _catalog_api(request: Request) -> Response:
    single_values(request.query_params.multi_items())
    explorer, uploads = request.app.state.explorer, request.app.state.uploads
    return StrictJSON({**catalog(), "max_points": explorer.max_points, "max_upload_bytes": uploads.max_bytes,
                       "cache_bytes": explorer.cache.max_bytes, "load": load_catalog()})


async def _upload_api(request: Request) -> Response:
    query = single_values(request.query_params.multi_items())
    unknown = sorted(set(query) - {"kind"})
    if unknown:
        raise SpecroofError(f"unknown parameter {unknown[0]!r} for upload; valid: kind")
    uploads = request.app.state.uploads
    answer = await uploads.store(query.get("kind", "model"), request.stream(), request.headers.get("content-length"))
    return StrictJSON(answer)


def _index(request: Request) -> Response:
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))


def _plotly(request: Request) -> Response:
    return FileResponse(request.app.state.plotly_js, media_type="application/javascript",
                        headers={"Cache-Control": "max-age=86400"})


async def _user_error(request: Request, exc: Exception) -> Response:
    return StrictJSON({"error": short(request.app.state.uploads.hide(str(exc)))}, status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return StrictJSON({"error": short(str(exc.detail))}, status_code=exc.status_code)


async def _disconnected(request: Request, exc: Exception) -> Response:
    return StrictJSON({"error": "the client disconnected before the request's body was read"}, status_code=400)


async def _bug(request: Request, exc: Exception) -> Response:
    log_internal(f"internal error on {request.url.path}", exc)
    return StrictJSON({"error": f"internal error ({type(exc).__name__}), logged on the server's terminal"},
                      status_code=500)
