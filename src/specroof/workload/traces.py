"""Recorded requests as a :class:`RequestSet`: ``trace:FILE``, the format told by the file's ending.

- ``.jsonl``: a Mooncake trace, one JSON object a line with ``timestamp`` (ms since the trace's
  start), ``input_length`` and ``output_length`` (tokens) and ``hash_ids`` (the prompt's KV blocks;
  read and checked, not used: prefix caching is not modelled). Keys as the Mooncake repository's
  ``FAST25-release/traces`` and NVIDIA's AIPerf ``trace_replay.md`` state them; other keys
  (AIPerf's ``session_id``, ``delay``) are named in one warning and not used.
- ``.json``: the result file of ``vllm bench serve --save-result --save-detailed``
  (``vllm/benchmarks/serve.py``): per request ``input_lens`` and ``output_lens`` (failed requests
  have output 0 and are left out, with a warning). The file holds no send times, so arrivals are
  drawn again from its ``request_rate`` and ``burstiness`` (gamma, CV ``1 / sqrt(burstiness)``),
  all at 0 for ``request_rate`` "inf"; ``max_concurrency`` is warned about, ramp-up runs refused.
- ``.csv``: the header ``arrival_s,prompt_tokens,output_tokens`` and one row per request;
  ``#`` lines are comments.

Line files are read line by line and stop at ``max_requests``; without it, a trace longer than
:data:`TRACE_LIMIT` requests is an error before the rest of it is read. A malformed line is one
SpecroofError naming the file and the line.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from specroof.checks import problem_line
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.workload.renewal import gamma_arrivals_s
from specroof.workload.requests import RequestSet

TRACE_LIMIT = 200_000
"""Requests read from a trace without ``max_requests``: a longer one is an error saying to pass it."""
JSON_LIMIT_BYTES = 1 << 30
"""A ``vllm bench serve`` result is one JSON document, parsed whole: larger files are refused."""
CSV_COLUMNS = ["arrival_s", "prompt_tokens", "output_tokens"]


class MooncakeLine(BaseModel):
    """One Mooncake trace line."""

    model_config = ConfigDict(extra="allow")
    timestamp: float = Field(ge=0, allow_inf_nan=False)
    input_length: int = Field(ge=1, strict=True)
    output_length: int = Field(ge=1, strict=True)
    hash_ids: list[int] = Field(default_factory=list, strict=True)


class CsvRow(BaseModel):
    """One CSV row (strings, converted)."""

    arrival_s: float = Field(ge=0, allow_inf_nan=False)
    prompt_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)


class VllmBenchResult(BaseModel):
    """The keys of a ``vllm bench serve`` result that are read (the others are its metrics)."""

    request_rate: float | str = "inf"
    burstiness: float = Field(default=1.0, gt=0, allow_inf_nan=True)
    max_concurrency: int | None = None
    ramp_up_strategy: str | None = None
    input_lens: list[int] | None = None
    output_lens: list[int] | None = None


def read_trace(file: str, *, max_requests: int | None = None, seed: int = 0) -> RequestSet:
    """The requests of a trace file (the module says which formats)."""
    path = Path(file)
    if not path.is_file():
        raise SpecroofError(f"trace {file}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _from_rows(path, _mooncake_rows(path), max_requests, "Mooncake trace")
    if suffix == ".csv":
        return _from_rows(path, _csv_rows(path), max_requests, "CSV trace")
    if suffix == ".json":
        return _vllm_result(path, max_requests, seed)
    raise SpecroofError(f"trace {file}: unknown format {suffix or '(no ending)'}; use .jsonl (Mooncake), "
                        ".json (vllm bench serve --save-detailed) or .csv (arrival_s,prompt_tokens,output_tokens)")


def _from_rows(path: Path, rows: Iterator[tuple[int, float, int, int]], max_requests: int | None,
               what: str) -> RequestSet:
    """Collect (line, arrival_s, prompt, output) rows up to the limit, checking arrival order."""
    arrival: list[float] = []
    prompt: list[int] = []
    output: list[int] = []
    for line, at_s, p, o in rows:
        if arrival and at_s < arrival[-1]:
            raise SpecroofError(f"trace {path}, line {line}: arrival {at_s:g} s is before the previous request's "
                                f"{arrival[-1]:g} s (a trace must be in arrival order)")
        if max_requests is None and len(arrival) == TRACE_LIMIT:
            raise SpecroofError(f"trace {path} has more than {TRACE_LIMIT:,} requests: pass --max-requests N "
                                "(max_requests=N) to simulate its first N")
        arrival.append(at_s)
        prompt.append(p)
        output.append(o)
        if max_requests is not None and len(arrival) == max_requests:
            break
    if not arrival:
        raise SpecroofError(f"trace {path}: no requests")
    start = arrival[0]
    return RequestSet(np.asarray(arrival) - start, np.asarray(prompt), np.asarray(output),
                      f"{what} {path.name} ({len(arrival)} requests)")


def _mooncake_rows(path: Path) -> Iterator[tuple[int, float, int, int]]:
    extra: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = MooncakeLine.model_validate_json(text)
            except ValidationError as error:
                raise SpecroofError(problem_line(error, MooncakeLine, f"trace {path}, line {number}")) from None
            if row.model_extra and not extra:
                extra = set(row.model_extra)
                warnings.warn(f"trace {path}: key(s) {', '.join(sorted(extra))} are not used (read: timestamp, "
                              "input_length, output_length, hash_ids)", SpecroofWarning, stacklevel=4)
            yield number, row.timestamp / 1000.0, row.input_length, row.output_length


def _csv_rows(path: Path) -> Iterator[tuple[int, float, int, int]]:
    with open(path, encoding="utf-8", newline="") as handle:
        numbered = ((n, text) for n, text in enumerate(handle, start=1) if text.strip() and not text.startswith("#"))
        header_seen = False
        for number, text in numbered:
            cells = [cell.strip() for cell in next(csv.reader([text]))]
            if not header_seen:
                if cells != CSV_COLUMNS:
                    raise SpecroofError(f"trace {path}, line {number}: the header must be {','.join(CSV_COLUMNS)}, "
                                        f"got {','.join(cells)}")
                header_seen = True
                continue
            if len(cells) != len(CSV_COLUMNS):
                raise SpecroofError(f"trace {path}, line {number}: {len(cells)} cells, expected "
                                    f"{len(CSV_COLUMNS)} ({','.join(CSV_COLUMNS)})")
            try:
                row = CsvRow(**dict(zip(CSV_COLUMNS, cells)))
            except ValidationError as error:
                raise SpecroofError(problem_line(error, CsvRow, f"trace {path}, line {number}")) from None
            yield number, row.arrival_s, row.prompt_tokens, row.output_tokens


def _vllm_result(path: Path, max_requests: int | None, seed: int) -> RequestSet:
    if path.stat().st_size > JSON_LIMIT_BYTES:
        raise SpecroofError(f"trace {path}: over {JSON_LIMIT_BYTES >> 30} GiB; a vllm bench serve result is parsed "
                            "whole: save the lengths as CSV (arrival_s,prompt_tokens,output_tokens) instead")
    try:
        result = VllmBenchResult.model_validate_json(path.read_bytes())
    except ValidationError as error:
        what = f"trace {path}: not a vllm bench serve result"
        raise SpecroofError(problem_line(error, VllmBenchResult, what)) from None
    if result.input_lens is None or result.output_lens is None:
        raise SpecroofError(f"trace {path}: no per-request lengths (input_lens, output_lens); vllm bench serve writes "
                            "them with --save-result --save-detailed")
    if len(result.input_lens) != len(result.output_lens):
        raise SpecroofError(f"trace {path}: {len(result.input_lens)} input_lens but {len(result.output_lens)} "
                            "output_lens")
    if result.ramp_up_strategy is not None:
        raise SpecroofError(f"trace {path}: a ramp-up run ({result.ramp_up_strategy}) has no single request rate to "
                            "draw arrivals from; use a run at a fixed --request-rate")
    prompt, output = _vllm_lengths(path, result, max_requests)
    return RequestSet(_vllm_arrivals(path, result, prompt.size, seed), prompt, output,
                      f"vllm bench serve result {path.name} ({prompt.size} requests)")


def _vllm_lengths(path: Path, result: VllmBenchResult, max_requests: int | None) -> tuple[np.ndarray, np.ndarray]:
    prompt, output = np.asarray(result.input_lens, dtype=np.int64), np.asarray(result.output_lens, dtype=np.int64)
    done = output > 0
    if not done.all():
        warnings.warn(f"trace {path}: {int((~done).sum())} failed request(s) (output length 0) left out",
                      SpecroofWarning, stacklevel=5)
    prompt, output = prompt[done], output[done]
    if max_requests is None and prompt.size > TRACE_LIMIT:
        raise SpecroofError(f"trace {path} has more than {TRACE_LIMIT:,} requests: pass --max-requests N "
                            "(max_requests=N) to simulate its first N")
    if max_requests is not None:
        prompt, output = prompt[:max_requests], output[:max_requests]
    bad = np.flatnonzero(prompt < 1)
    if bad.size:
        raise SpecroofError(f"trace {path}: input_lens[{int(bad[0])}] is {int(prompt[bad[0]])}, expected >= 1")
    if prompt.size == 0:
        raise SpecroofError(f"trace {path}: no completed requests")
    return prompt, output


def _vllm_arrivals(path: Path, result: VllmBenchResult, count: int, seed: int) -> np.ndarray:
    """Send times are not in the file: drawn again as vllm bench serve draws them."""
    if result.max_concurrency is not None:
        warnings.warn(f"trace {path}: the benchmark ran with --max-concurrency {result.max_concurrency}; arrivals "
                      "are drawn open-loop from its request rate, which that cap throttled", SpecroofWarning,
                      stacklevel=5)
    rate = math.inf if result.request_rate == "inf" else _rate(path, result.request_rate)
    if math.isinf(rate):
        return np.zeros(count)
    if math.isinf(result.burstiness):  # vLLM: infinite burstiness is a constant gap of 1 / rate
        return np.arange(count) / rate
    return gamma_arrivals_s(rate, 1.0 / math.sqrt(result.burstiness), count, seed)


def _rate(path: Path, value: float | str) -> float:
    try:
        return float(value)
    except ValueError:
        raise SpecroofError(f"trace {path}: request_rate {value!r} is neither a number nor \"inf\"") from None

