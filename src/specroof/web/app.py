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
- ``/api/catalog``: models, accelerators, profiles and scenarios for the page's menus;
- ``POST /api/upload?kind=model|curve|metrics``: a config.json, an acceptance CSV, or vLLM's
  ``/metrics`` text (turned into the acceptance curve its counters imply), answered with a
  token (``upload:<id>.json``) usable wherever a file path is (kept while the server runs).

Bad input answers HTTP 400 with ``{"error": "<the CLI's one-line message>"}``; a bug answers
500 with a one-line error. No response carries a traceback.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from specroof.errors import SpecroofError
from specroof.web.assets import plotly_js_path
from specroof.web.queries import MAX_POINTS, Explorer
from specroof.web.view import page_view

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 2_000_000
log = logging.getLogger("specroof.web")


def create_app(upload_dir: str | Path | None = None, max_points: int = MAX_POINTS) -> Starlette:
    """The application; uploads go to ``upload_dir`` (a fresh temporary folder by default)."""
    uploads = Path(upload_dir) if upload_dir is not None else Path(tempfile.mkdtemp(prefix="specroof-uploads-"))
    uploads.mkdir(parents=True, exist_ok=True)
    explorer = Explorer(uploads=uploads, max_points=max_points)
    plotly_js = plotly_js_path()

    def params(request: Request) -> dict[str, str]:
        return dict(request.query_params)

    def speedup_api(request: Request) -> Response:
        return JSONResponse(explorer.speedup_records(params(request)))

    def plan_api(request: Request) -> Response:
        return JSONResponse(explorer.plan_records(params(request)))

    def latency_api(request: Request) -> Response:
        return JSONResponse(explorer.latency_records(params(request)))

    def ops_api(request: Request) -> Response:
        return JSONResponse(explorer.ops_records(params(request)))

    def explain_api(request: Request) -> Response:
        return JSONResponse(explorer.explain_dict(params(request)))

    def export_api(request: Request) -> Response:
        query = params(request)
        engine = query.pop("engine", "vllm")
        return JSONResponse({"engine": engine, "export": explorer.export(query, engine)})

    def view_api(request: Request) -> Response:
        return JSONResponse(page_view(explorer, params(request)))

    def catalog_api(request: Request) -> Response:
        return JSONResponse({**catalog(), "max_points": explorer.max_points})

    async def upload_api(request: Request) -> Response:
        kind = request.query_params.get("kind", "model")
        suffix = {"model": ".json", "curve": ".csv", "metrics": ".prom", "hardware": ".toml"}.get(kind)
        if suffix is None:
            raise SpecroofError(f"upload kind {kind!r} is not one of model, curve, metrics, hardware")
        body = await request.body()
        if not body:
            raise SpecroofError("the uploaded file is empty")
        if len(body) > MAX_UPLOAD_BYTES:
            raise SpecroofError(f"the uploaded file has {len(body):,} bytes, more than {MAX_UPLOAD_BYTES:,}")
        name = hashlib.sha256(body).hexdigest()[:16] + suffix
        (uploads / name).write_bytes(body)
        token = f"upload:{name}"
        if kind == "model":  # parse it now, so a bad file is reported at upload time
            from specroof.models.architecture import load_model

            load_model(uploads / name)
        elif kind == "curve":
            from specroof.speculation.acceptance import CurveAcceptance

            CurveAcceptance.from_csv(uploads / name)
        elif kind == "metrics":  # vLLM's spec-decode counters: the acceptance curve they imply
            from specroof.speculation.engine_metrics import read_vllm_metrics

            read_vllm_metrics(uploads / name)
            return JSONResponse({"token": token, "acceptance": f"vllm-metrics:{token}"})
        return JSONResponse({"token": token})

    def index(request: Request) -> Response:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    def plotly(request: Request) -> Response:
        return FileResponse(plotly_js, media_type="application/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    async def user_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=400)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path)
        return JSONResponse({"error": f"internal error (a bug in specroof, please report it): "
                                      f"{type(exc).__name__}"}, status_code=500)

    routes = [
        Route("/", index),
        Route("/api/speedup", speedup_api),
        Route("/api/plan", plan_api),
        Route("/api/latency", latency_api),
        Route("/api/ops", ops_api),
        Route("/api/explain", explain_api),
        Route("/api/export", export_api),
        Route("/api/view", view_api),
        Route("/api/catalog", catalog_api),
        Route("/api/upload", upload_api, methods=["POST"]),
        Route("/static/plotly.min.js", plotly),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={SpecroofError: user_error, HTTPException: http_error,
                                                        Exception: bug})
    app.state.explorer = explorer
    return app


def catalog() -> dict[str, Any]:
    from specroof.cost.profile import profile_names
    from specroof.hardware.accelerator import catalog_names as hardware_names
    from specroof.models.architecture import catalog_names as model_names
    from specroof.scenarios import scenario_names

    from specroof.web.queries import parameters

    methods = list(parameters("speedup")["method"].type.choices)
    return {"models": list(model_names()), "hardware": list(hardware_names()), "profiles": list(profile_names()),
            "scenarios": list(scenario_names()), "methods": methods}
