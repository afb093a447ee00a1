"""The explorer's load view: ``specroof simulate`` over request rates, as records and as a chart.

A query takes simulate's own options (declared once in :mod:`specroof.app.parameters`, so the
URL takes what the command line takes) and goes through
:func:`specroof.workload.runner.run_simulation`, the function the command calls: the page, the
API and the command line cannot disagree, and there is no second copy of the sweep.

In the server a sweep runs in the request's worker thread, in this process (``workers`` 1: a
pool of processes started per request would cost seconds and memory the server does not
bound), and it is bounded BEFORE any step is priced: at most :data:`MAX_LOAD_REQUESTS` requests
simulated (rates x configurations x requests) and :data:`MAX_LOAD_TOKENS` tokens generated, and
at most :data:`MAX_LOAD_SEQUENCES` running sequences (the step prices cover batch 1 to that).
A larger sweep is one error line, as a grid over ``--max-points`` is; the command line has no
such cap. Nothing is read from the server's files: ``--arrivals trace:FILE`` and ``--schedule
FILE.json`` are refused (``--schedule plan`` works).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from specroof.app.parameters import parameters, simulate_load_keys
from specroof.app.settings import resolve_settings
from specroof.app.tables import jsonable
from specroof.errors import SpecroofError
from specroof.web.load_figure import METRICS, load_figure
from specroof.web.queries import ALIASES, Explorer, Query
from specroof.workload.requests import RequestSet
from specroof.workload.runner import run_simulation

MAX_LOAD_REQUESTS = 4_000
"""Most requests one explorer sweep simulates (rates x configurations x requests): a few seconds
of one core (about 3 ms a request at ISL 1024 / OSL 256 on the 2-core development machine)."""
MAX_LOAD_TOKENS = 1_024_000
"""Most output tokens one explorer sweep generates (its steps grow with the output, not the count)."""
MAX_LOAD_SEQUENCES = 4_096
"""Largest --max-sequences here: steps are priced for every batch from 1 to it."""
VIEW_DEFAULTS = {"rate": "1,2,4,8", "count": "200"}
"""What the load VIEW simulates when the page leaves rate or requests empty (the API, like the
command, takes the command's defaults: it needs a rate, and 1,000 requests)."""
DEFAULT_METRIC = "tpot_p50_ms"
METRICS_LIST = [{"key": key, "label": label} for key, (label, _) in METRICS.items()]
"""The page's metric menu, in order."""


def load_catalog() -> dict[str, Any]:
    """The load view's menu and caps for ``/api/catalog``: metrics, the view's defaults, the limits."""
    return {"metrics": METRICS_LIST, "default_metric": DEFAULT_METRIC,
            "defaults": {_url_name(k): v for k, v in VIEW_DEFAULTS.items()},
            "max_requests": MAX_LOAD_REQUESTS, "max_tokens": MAX_LOAD_TOKENS, "max_sequences": MAX_LOAD_SEQUENCES}


def load_records(explorer: Explorer, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The records of ``specroof simulate --format json`` for these settings (a metric no request
    defines, e.g. TPOT at OSL 1, is null as in that output)."""
    rows, _, _, _ = load_result(explorer, explorer.query("simulate", params))
    return jsonable(rows)


def load_view(explorer: Explorer, params: Mapping[str, str]) -> dict[str, Any]:
    """What the page draws: the chosen metric against request rate, one line per configuration,
    the SLO bound of that metric as a horizontal line, plus the records and the run's title."""
    params = dict(params)
    metric = params.pop("metric", "") or DEFAULT_METRIC
    if metric not in METRICS:
        raise SpecroofError(f"metric {metric!r}: choose one of {', '.join(METRICS)}")
    for key, value in VIEW_DEFAULTS.items():
        given = params.get(key, "") or params.get(_url_name(key), "")
        if not given.strip() and not (key == "rate" and params.get("concurrency", "").strip()):
            params[_url_name(key)] = value
    query = explorer.query("simulate", params)
    if query.values.get("concurrency") is not None:
        raise SpecroofError("the load view draws metrics against rate: give rate, not concurrency "
                            "(/api/load answers a closed loop)")
    rows, title, caveat, slo = load_result(explorer, query)
    return {"title": title, "caveat": caveat, "metric": metric,
            "slo_ms": {k: v * 1e3 for k, v in (slo or {}).items()},
            "figure": load_figure(rows, metric, title, slo), "records": jsonable(rows),
            "cache": {"hits": explorer.cache.hits, "misses": explorer.cache.misses}}


def _url_name(key: str) -> str:
    """The name a URL gives an option (``requests`` for ``count``)."""
    return next((url for url, option in ALIASES.items() if option == key), key)


def load_result(explorer: Explorer, query: Query) -> tuple[list[dict[str, Any]], str, str, dict[str, float] | None]:
    """(rows, title, caveat, slo) of :func:`run_simulation`, cached on the query."""
    return explorer.cache.get(query.key, lambda: _simulate(query))


def _simulate(query: Query) -> tuple[list[dict[str, Any]], str, str, dict[str, float] | None]:
    values = _with_defaults(query)
    options = {key: values.pop(key) for key in simulate_load_keys()}
    check_load_options(options)
    settings = resolve_settings(values, query.scenario, "simulate")
    options.update(executor=None, workers=1)
    return run_simulation(settings, options, budget=check_budget)


def _with_defaults(query: Query) -> dict[str, Any]:
    """Every option of simulate as click passes it: the query's value, else the option's default."""
    values = query.option_values()
    for name, option in parameters("simulate").items():
        if values.get(name) is None and name != "scenario" and option.default is not None:
            values[name] = option.default
    return values


def check_load_options(options: Mapping[str, Any]) -> None:
    """Refuse what the server does not do: read a file, or size a sweep beyond its caps."""
    if str(options["arrivals"]).strip().lower().startswith("trace:"):
        raise SpecroofError("arrivals trace:FILE: the explorer reads no file of the server; run "
                            "`specroof simulate --arrivals trace:FILE` on the command line")
    if options["schedule"] not in (None, "plan"):
        raise SpecroofError(f"schedule {options['schedule']!r}: the explorer takes schedule=plan only (a "
                            "schedule file is read by `specroof simulate --schedule FILE.json`)")
    if options["count"] > MAX_LOAD_REQUESTS:
        raise SpecroofError(f"requests {options['count']:,}: at most {MAX_LOAD_REQUESTS:,} requests are "
                            "simulated per sweep here; run `specroof simulate` for more")
    if options["max_sequences"] is not None and options["max_sequences"] > MAX_LOAD_SEQUENCES:
        raise SpecroofError(f"max_sequences {options['max_sequences']:,}: at most {MAX_LOAD_SEQUENCES:,} here "
                            "(steps are priced for every batch up to it)")


def check_budget(first: RequestSet, simulations: int) -> None:
    """The sweep's size, before any step is priced: requests and output tokens over every simulation."""
    requests = first.count * simulations
    tokens = int(first.output_tokens.sum()) * simulations
    if requests > MAX_LOAD_REQUESTS:
        raise SpecroofError(f"the sweep simulates {requests:,} requests (rates x configurations x requests), more "
                            f"than the {MAX_LOAD_REQUESTS:,} allowed here; use fewer rates, K values or requests")
    if tokens > MAX_LOAD_TOKENS:
        raise SpecroofError(f"the sweep generates {tokens:,} output tokens (rates x configurations x requests x "
                            f"osl), more than the {MAX_LOAD_TOKENS:,} allowed here; use fewer requests or a "
                            "shorter osl")
