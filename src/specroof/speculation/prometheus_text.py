"""A strict reader of the Prometheus (and OpenMetrics) text exposition format.

Only what engine metrics need: samples with their labels and values, each with its line
number, so that every malformed line of a kept metric ends in a one-line SpecroofError naming
the file and line. ``prometheus_client``'s parser is not used: it would be a new dependency for
one function, reads NaN and fractional values as samples alike, and names no line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from specroof.errors import SpecroofError


@dataclass(frozen=True)
class Sample:
    """One sample line of a Prometheus text exposition."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    line: int
    text: str = ""  # the value as written

    def label(self, key: str, default: str = "") -> str:
        for k, v in self.labels:
            if k == key:
                return v
        return default




_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_prometheus_text(text: str, where: str, keep: str = "") -> tuple[list[Sample], int]:
    """Samples of a Prometheus (or OpenMetrics) text exposition, and the number of lines skipped.

    Only samples whose name starts with ``keep`` are returned. A line that is not a valid
    sample is an error when it concerns a kept metric and is skipped (and counted) otherwise,
    so a scrape with one odd line from another exporter still reads, while garbage reads as
    "no counters found". ``where`` names the file in errors.
    """
    samples: list[Sample] = []
    skipped = 0
    for line_no, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # blank, # HELP, # TYPE, # UNIT, # EOF and comments
        try:
            sample = _parse_sample(line, line_no)
        except _BadLine as exc:
            if keep and line.startswith(keep):
                raise SpecroofError(f"{where}:{line_no}: cannot read sample {_clip(line)!r}: {exc}; "
                                    "expect 'name{label=\"value\",...} number'") from None
            skipped += 1
            continue
        if sample.name.startswith(keep):
            samples.append(sample)
    return samples, skipped


class _BadLine(Exception):
    pass


def _parse_sample(line: str, line_no: int) -> Sample:
    match = _NAME.match(line)
    if not match:
        raise _BadLine("no metric name at the start")
    name = match.group(0)
    if match.end() < len(line) and line[match.end()] not in " \t{":
        raise _BadLine("the metric name runs into other characters")
    pos = _skip_blanks(line, match.end())
    labels: list[tuple[str, str]] = []
    if pos < len(line) and line[pos] == "{":
        labels, pos = _parse_labels(line, pos + 1)
    fields = line[pos:].split()
    if not fields:
        raise _BadLine("no value")
    value = _parse_value(fields[0])
    if len(fields) > 1 and not fields[1].startswith("#"):  # an optional timestamp, then an exemplar
        _parse_value(fields[1])
        if len(fields) > 2 and not fields[2].startswith("#"):
            raise _BadLine(f"unexpected {fields[2]!r} after the value and timestamp")
    names = [k for k, _ in labels]
    if len(set(names)) != len(names):
        raise _BadLine("a label appears twice")
    return Sample(name, tuple(sorted(labels)), value, line_no, fields[0])


def _skip_blanks(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def _parse_labels(line: str, pos: int) -> tuple[list[tuple[str, str]], int]:
    labels: list[tuple[str, str]] = []
    while True:
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL_NAME.match(line, pos)
        if not match:
            raise _BadLine("bad label name")
        key = match.group(0)
        pos = _skip_blanks(line, match.end())
        if pos >= len(line) or line[pos] != "=":
            raise _BadLine(f"label {key!r} lacks '='")
        pos = _skip_blanks(line, pos + 1)
        if pos >= len(line) or line[pos] != '"':
            raise _BadLine(f"label {key!r} value is not quoted")
        pos += 1
        chars: list[str] = []
        while True:
            if pos >= len(line):
                raise _BadLine(f"label {key!r} value is not closed")
            ch = line[pos]
            if ch == "\\":
                if pos + 1 >= len(line) or line[pos + 1] not in _ESCAPES:
                    raise _BadLine(f"bad escape in label {key!r}")
                chars.append(_ESCAPES[line[pos + 1]])
                pos += 2
            elif ch == '"':
                pos += 1
                break
            else:
                chars.append(ch)
                pos += 1
        labels.append((key, "".join(chars)))
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == ",":
            pos += 1
        elif pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        else:
            raise _BadLine("labels must be separated by ',' and closed by '}'")


def _parse_value(text: str) -> float:
    try:
        return float(text)  # accepts NaN, +Inf, -Inf, exponents, as the format does
    except ValueError:
        raise _BadLine(f"{_clip(text)!r} is not a number") from None


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
