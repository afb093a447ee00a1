"""Query parameters (strings, as in a URL) -> results, through the commands' own functions.

Every endpoint of the explorer answers with what the matching command prints with
``--format json``: the parameters become the command's option values
(:mod:`specroof.app.parameters`) and go through ``run_speedup`` / ``run_plan`` /
``run_explain`` of :mod:`specroof.app.run`, as the command does, so a query and a command
line with the same settings cannot disagree. Bad input raises
:class:`~specroof.errors.SpecroofError` with the CLI's one-line message.

Results are cached (least recently used) on the normalized parameters, and grids are capped
(:data:`MAX_POINTS`) so one request cannot occupy the server for long.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from specroof.app import run
from specroof.app.parameters import parameters
from specroof.app.tables import jsonable
from specroof.errors import SpecroofError, suggest
from specroof.speculation.exports import export_table
from specroof.web.guard import require_finite

MAX_POINTS = 50_000
"""Largest speedup/latency grid (batch x candidates x seq_len) one request may ask for."""
MAX_PLAN_POINTS = 200_000
"""Largest plan search (batch x 1..max_candidates x seq_len) one request may ask for."""
CACHE_BYTES = 128 * 2**20
"""Most bytes (estimated) the result cache holds: 128 MiB, a dozen of the largest grids or thousands of small ones."""
_PLAN = ("max_candidates", "objective", "current", "reserve_gb", "min_gain")
"""Options of plan that run_plan takes as its own arguments."""

ALIASES = {"ops": "operators", "requests": "count", "k": "ks", "acceptance_spread": "spread"}
"""URL names that differ from the option's own name (``--ops`` is stored as ``operators``; simulate's
``--requests``, ``--k``, ``--acceptance-spread`` as ``count``, ``ks``, ``spread``)."""
_URL_NAMES = {option: url for url, option in ALIASES.items()}
_UPLOAD = re.compile(r"upload:([0-9a-f]{16}\.(?:json|csv|toml|prom|log))")
"""An upload token (see :mod:`specroof.web.uploads`), replaced by its file's path on the server."""


class Query:
    """Parsed parameters of one request: typed values, scenario, and a cache key."""

    def __init__(self, command: str, params: Mapping[str, str], uploads: Path | None = None,
                 ignore: tuple[str, ...] = ()) -> None:
        options = parameters(command)
        values: dict[str, Any] = {}
        for name, raw in params.items():
            if name in ignore:
                continue
            key = ALIASES.get(name, name)
            if key not in options:
                shown = [_URL_NAMES.get(n, n) for n in options]
                raise SpecroofError(f"unknown parameter {name!r} for {command}{suggest(name, shown)}; "
                                    f"valid: {', '.join(shown)}")
            text = str(raw).strip()
            if text == "":
                continue
            values[key] = _convert(options[key], _with_uploads(text, uploads))
        self.command = command
        self.scenario: str | None = values.pop("scenario", None)
        self.values = values
        self.key = (command, self.scenario, tuple(sorted((k, repr(v)) for k, v in values.items())))

    def option_values(self) -> dict[str, Any]:
        """The values as click would pass them (every option present, None when not given)."""
        out = {name: None for name in parameters(self.command) if name != "scenario"}
        out.update(self.values)
        return out


def _with_uploads(text: str, uploads: Path | None) -> str:
    """``upload:<id>.json`` (a file the page uploaded) -> its path on the server."""
    def path(match: re.Match[str]) -> str:
        if uploads is None or not (uploads / match.group(1)).is_file():
            raise SpecroofError(f"uploaded file {match.group(0)!r} is not on this server (uploads last only "
                                "while it runs); upload it again")
        return str(uploads / match.group(1))

    return _UPLOAD.sub(path, text)


def _convert(option: Any, text: str) -> Any:
    """The value as the command line would read it, or SpecroofError with click's message."""
    import click

    try:
        return option.type.convert(text, option, None)
    except click.BadParameter as exc:  # "Invalid value for '--tp': 'two' is not a valid integer."
        raise SpecroofError(exc.format_message()) from None


class Cache:
    """A thread-safe LRU cache of results keyed by Query.key, bounded in bytes (errors are not cached).

    Each entry's size is estimated by :func:`estimated_bytes` (numpy arrays by their buffers,
    containers and objects by their contents); the least recently used entries go until the
    total is within ``max_bytes``, and a result larger than a quarter of it is not kept.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key][0]
        value = compute()
        size = estimated_bytes(value)
        with self._lock:
            self.misses += 1
            if size > self.max_bytes // 4 or key in self._items:
                return value
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped
        return value

    def __len__(self) -> int:
        return len(self._items)


def estimated_bytes(value: Any, seen: set[int] | None = None) -> int:
    """Bytes ``value`` holds: numpy buffers, strings, containers and object fields, each object once.

    An estimate (Python's per-object overheads are counted with ``sys.getsizeof``), good to
    tens of percent, which is what a memory bound needs: results are dominated by their arrays.
    """
    import sys
    import types

    import numpy as np

    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, (type, types.ModuleType, types.FunctionType, types.MethodType,
                                                types.BuiltinFunctionType)):
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):  # a view (a broadcast one too) holds its base's buffer, counted once
        return estimated_bytes(value.base, seen) if isinstance(value.base, np.ndarray) else value.nbytes
    size = sys.getsizeof(value)
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return size
    if isinstance(value, dict):
        return size + sum(estimated_bytes(k, seen) + estimated_bytes(v, seen) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return size + sum(estimated_bytes(v, seen) for v in value)
    fields = getattr(value, "__dict__", None)
    if fields is not None:
        size += estimated_bytes(fields, seen)
    for slot in getattr(type(value), "__slots__", ()):
        size += estimated_bytes(getattr(value, slot, None), seen)
    return size


class Explorer:
    """The explorer's computations: one cache, the commands' functions (:mod:`specroof.app.run`), JSON-ready records."""

    def __init__(self, uploads: Path | None = None, cache_bytes: int = CACHE_BYTES,
                 max_points: int = MAX_POINTS, max_plan_points: int = MAX_PLAN_POINTS) -> None:
        self.uploads = uploads
        self.cache = Cache(cache_bytes)
        self.max_points = max_points
        self.max_plan_points = max_plan_points

    def query(self, command: str, params: Mapping[str, str], ignore: tuple[str, ...] = ()) -> Query:
        return Query(command, params, self.uploads, ignore)

    # Result objects -------------------------------------------------------------------
    def speedup_result(self, q: Query) -> tuple[Any, str | None, Any]:
        return self.cache.get(q.key, lambda: run.run_speedup(q.option_values(), q.scenario, self.max_points))

    def plan_result(self, q: Query) -> tuple[Any, str | None, Any]:
        def compute() -> Any:
            values = q.option_values()
            extra = {k: values.pop(k) for k in _PLAN if k in values}
            return run.run_plan(values, q.scenario, max_points=self.max_plan_points,
                            **{k: v for k, v in extra.items() if v is not None})

        return self.cache.get(q.key, compute)

    def latency_result(self, q: Query) -> Any:
        return self.cache.get(q.key, lambda: run.run_latency(q.option_values(), self.max_points))

    def explain_result(self, q: Query) -> tuple[Any, str]:
        values = q.option_values()
        point = {k: values.pop(k) for k in ("batch", "candidates", "seq_len")}
        if point["candidates"] is None:
            raise SpecroofError("explain needs --candidates N (verified tokens per sequence, e.g. 16)")
        return self.cache.get(q.key, lambda: run.run_explain(values, q.scenario, point["batch"] or 1,
                                                         point["candidates"], point["seq_len"] or 1024))

    def ops_result(self, q: Query) -> Any:
        values = q.option_values()
        point = {k: values.pop(k) for k in ("batch", "candidates", "seq_len")}
        for key, default in (("batch", 1), ("candidates", 1), ("seq_len", 1024)):
            if point[key] is None:
                point[key] = default
            elif point[key] < 1:
                raise SpecroofError(f"--{key.replace('_', '-')}: {point[key]} is not in the range x>=1")
        return self.cache.get(q.key, lambda: run.run_ops(values, **point))

    def point_ops(self, params: Mapping[str, str], batch: int, candidates: int, seq_len: int) -> Any:
        """The operations of one speculative step under the settings of a speedup query (scenario included)."""
        q = self.query("speedup", params)
        key = ("point_ops", q.key, batch, candidates, seq_len)

        def compute() -> Any:
            return run.run_point_ops(q.option_values(), q.scenario, batch, candidates, seq_len)

        return self.cache.get(key, compute)

    # Records, as the CLI's --format json prints them --------------------------------------
    def ops_records(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return _as_json(self.ops_result(self.query("ops", params)).to_records())

    def speedup_records(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return _as_json(self.speedup_result(self.query("speedup", params))[0].to_records())

    def latency_records(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return _as_json(self.latency_result(self.query("latency", params)).to_records())

    def plan_records(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return _as_json(self.plan_result(self.query("plan", params))[0].to_records())

    def explain_dict(self, params: Mapping[str, str]) -> dict[str, Any]:
        result, note = self.explain_result(self.query("explain", params))
        return {**jsonable(require_finite(result.to_dict(), "the explanation")), "note": note}

    def export(self, params: Mapping[str, str], engine: str) -> Any:
        result = self.plan_result(self.query("plan", params))[0]
        return export_table(result, engine)


def _as_json(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records ``--format json`` prints, as they are: the answer is rendered once, by
    :class:`specroof.web.app.StrictJSON` (numpy scalars as numbers; a NaN or an infinity refused
    with the field and point it is at, never served as ``null``). No copy through a JSON text
    here: for a 50,000-point grid that copy cost a few hundred MiB at its peak."""
    return records
