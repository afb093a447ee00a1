"""The acceptance catalog: published acceptance lengths per K, one sourced row per measurement.

``speculation/data/acceptance-catalog.csv`` (built by ``tools/acceptance/build_acceptance_catalog.py``
from transcribed files, never typed) holds tau, the tokens a step yields, for a CHAIN of K draft
tokens, keyed by target model, method, checkpoint, domain, dataset, setting, temperature and
context. Rows sharing a key form one entry: a curve over K.

Why a curve and not a fitted chain: a measured tau(K) flattens in ways a one-parameter chain
does not know (MTP heads reused past the depth they were trained for, n-gram matches that run
out), so between measured K the entry interpolates linearly (a lower bound for the concave
curves published) and past its largest K it never extrapolates:

- ``catalog:MODEL/METHOD[/DOMAIN]`` refuses budgets past the largest K measured (an error that
  names the row and its largest K);
- as the default (no ``--acceptance``), tau is held at its last measured value beyond it -- a
  floor for a chain, whose tau never falls as K grows -- and the line naming the row says so.

Validation (:func:`parse_catalog`): every row has a source URL, a known method and domain,
tau within [1, K + 1], and tau does not fall as K grows within an entry; every problem is one
line of one :class:`~specroof.errors.SpecroofError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from specroof.datafiles import csv_rows, read_text
from specroof.errors import SpecroofError
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.methods import METHODS

CATALOG_FILE = "acceptance-catalog.csv"
KEY = ("model", "method", "checkpoint", "domain", "dataset", "setting", "temperature", "context")
INFO = ("derivation", "engine", "engine_version", "chat_template", "dataset_kind", "source_url", "source_where")
COLUMNS = (*KEY, "k_draft_tokens", "acceptance_length", "spread", *INFO)
DOMAINS = ("chat", "coding", "math", "summarization", "rag", "long-context", "mixed", "unstated")
"""Domains a row may name; ``unstated`` where the source does not say what it measured on."""
CHOICES = {"chat_template": ("yes", "no", "unknown"), "dataset_kind": ("real", "random", "unknown")}


@dataclass(frozen=True)
class CatalogEntry:
    """One measured curve: tau at each K of one (model, method, checkpoint, domain, ...) key."""

    key: dict[str, str]
    info: dict[str, str]
    points: tuple[tuple[int, float], ...]
    spreads: tuple[float | None, ...]

    @property
    def model(self) -> str:
        return self.key["model"]

    @property
    def method(self) -> str:
        return self.key["method"]

    @property
    def domain(self) -> str:
        return self.key["domain"]

    @property
    def k_max(self) -> int:
        return self.points[-1][0]

    def k_range(self) -> str:
        """The K measured: ``K 1..15``, or ``K 3`` for one point."""
        first = self.points[0][0]
        return f"K {first}" if first == self.k_max else f"K {first}..{self.k_max}"

    def name(self) -> str:
        """``model/method/domain``, what ``catalog:`` takes."""
        return f"{self.model}/{self.method}/{self.domain}"

    def label(self) -> str:
        """The name with what tells two entries of one name apart: dataset, setting, engine, K."""
        extra = [self.key["dataset"], self.key["setting"], f"{self.info['engine']} {self.info['engine_version']}".strip(),
                 f"temperature {self.key['temperature'] or 'not stated'}", self.k_range()]
        return f"{self.name()} ({'; '.join(e for e in extra if e)})"


def _number(text: str, what: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{what} {text!r} is not finite")
    return value


def _row_problems(row: dict[str, str]) -> list[str]:
    """What is wrong with one row on its own (one line each)."""
    problems = []
    if not row["source_url"].startswith(("https://", "http://")):
        problems.append(f"source_url {row['source_url']!r} is not a URL: every row names its source")
    if row["method"] not in METHODS:
        problems.append(f"method {row['method']!r} is not one of {', '.join(METHODS.names())}")
    if row["domain"] not in DOMAINS:
        problems.append(f"domain {row['domain']!r} is not one of {', '.join(DOMAINS)}")
    if not row["model"]:
        problems.append("model is empty")
    for column, allowed in CHOICES.items():
        if row[column] not in allowed:
            problems.append(f"{column} {row[column]!r} is not one of {', '.join(allowed)}")
    try:
        k = int(row["k_draft_tokens"])
        tau = _number(row["acceptance_length"], "acceptance_length")
        spread = _number(row["spread"], "spread") if row["spread"] else 0.0
    except ValueError as exc:
        return [*problems, f"not a number: {exc}"]
    if k < 1:
        problems.append(f"k_draft_tokens {k} is below 1")
    elif not 1.0 <= tau <= k + 1:
        problems.append(f"acceptance_length {tau:g} is outside [1, K + 1] = [1, {k + 1}]")
    if spread < 0:
        problems.append(f"spread {spread:g} is negative")
    return problems + _temperature_problems(row["temperature"])


def _temperature_problems(text: str) -> list[str]:
    """A stated temperature is a number in [0, 2] (OpenAI-style sampling range); empty = not stated."""
    if not text:
        return []
    try:
        value = _number(text, "temperature")
    except ValueError:
        return [f"temperature {text!r} is not a number (leave it empty when the source does not state it)"]
    return [] if 0.0 <= value <= 2.0 else [f"temperature {value:g} is outside [0, 2]"]


def parse_catalog(text: str, where: str) -> list[CatalogEntry]:
    """The entries of catalog text; a SpecroofError with one line per problem otherwise."""
    rows = csv_rows(text)
    if not rows or tuple(rows[0][1]) != COLUMNS:
        raise SpecroofError(f"{where}: the header must be {','.join(COLUMNS)}")
    problems: list[str] = []
    grouped: dict[tuple[str, ...], list[tuple[int, dict[str, str]]]] = {}
    for line, cells in rows[1:]:
        if len(cells) != len(COLUMNS):
            problems.append(f"{where}:{line}: expected {len(COLUMNS)} values, got {len(cells)}")
            continue
        row = dict(zip(COLUMNS, cells))
        found = _row_problems(row)
        problems.extend(f"{where}:{line}: {p}" for p in found)
        if not found:
            grouped.setdefault(tuple(row[c] for c in KEY), []).append((line, row))
    entries = []
    for members in grouped.values():
        entry, found = _entry(members, where)
        problems.extend(found)
        entries.append(entry)
    if problems:
        raise SpecroofError(f"{where}: {len(problems)} problem(s):\n" + "\n".join(problems))
    return entries


def _entry(members: list[tuple[int, dict[str, str]]], where: str) -> tuple[CatalogEntry, list[str]]:
    """One key's rows as an entry, and what breaks the curve (a K twice, tau falling as K grows)."""
    members = sorted(members, key=lambda m: int(m[1]["k_draft_tokens"]))
    problems = []
    for (line_a, a), (line_b, b) in zip(members, members[1:]):
        ka, kb = int(a["k_draft_tokens"]), int(b["k_draft_tokens"])
        if ka == kb:
            problems.append(f"{where}:{line_b}: K={kb} is given twice for this key (also line {line_a})")
        elif float(b["acceptance_length"]) < float(a["acceptance_length"]):
            problems.append(f"{where}:{line_b}: tau falls from {a['acceptance_length']} at K={ka} (line {line_a}) "
                            f"to {b['acceptance_length']} at K={kb}; a chain's tau never falls as K grows")
    first = members[0][1]
    points = tuple((int(r["k_draft_tokens"]), float(r["acceptance_length"])) for _, r in members)
    spreads = tuple(float(r["spread"]) if r["spread"] else None for _, r in members)
    return CatalogEntry({c: first[c] for c in KEY}, {c: first[c] for c in INFO}, points, spreads), problems


@lru_cache(maxsize=1)
def catalog_entries() -> tuple[CatalogEntry, ...]:
    """The shipped catalog, read and validated once."""
    text = read_text(resources.files("specroof.speculation") / "data" / CATALOG_FILE, CATALOG_FILE)
    return tuple(parse_catalog(text, f"speculation/data/{CATALOG_FILE}"))


class CatalogAcceptance(AcceptanceModel):
    """tau(n) of one catalog entry: n = K + 1 candidates, (1, 1) implied, linear between
    measured K; past the largest K it refuses (``hold=False``) or holds the last value."""

    def __init__(self, entry: CatalogEntry, hold: bool = False, spec: str | None = None) -> None:
        self.entry = entry
        self.spec = spec or entry.name()
        self.hold = hold
        self.candidates = np.array([1.0] + [k + 1.0 for k, _ in entry.points])
        self.acceptance = np.array([1.0] + [tau for _, tau in entry.points])
        self.max_candidates = None if hold else entry.k_max + 1
        self.source = entry.info["source_url"]
        self.measured = True

    def _tau(self, n: np.ndarray) -> np.ndarray:
        return np.interp(n, self.candidates, self.acceptance)

    def describe(self) -> str:
        return f"catalog:{self.spec}"

    def _limit_reason(self) -> str:
        return (f"catalog row {self.entry.label()} was measured up to K={self.entry.k_max} draft tokens "
                f"(n={self.entry.k_max + 1} candidates), refusing to extrapolate")
