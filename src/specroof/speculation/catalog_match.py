"""Which catalog entry answers a (model, method[, domain]) question, and how well.

``catalog:MODEL/METHOD[/DOMAIN]`` is strict: the model and method must have an entry (and the
domain, when given); an unknown one is an error listing what the catalog has. The default
(no ``--acceptance``) is lenient: the best entry of the method, ranked

1. the same model, then the same family at another size (``llama-3.1-70b`` -> ``llama-3.1-8b``),
   then another model (the one sharing the longest name prefix);
2. the asked domain (the default asks none: chat first, as the most general workload);
3. the most K measured (the curve the plan can search furthest), then file order;

and every step down from an exact match is a *weak match* the naming line states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from specroof.errors import SpecroofError, suggest
from specroof.speculation.acceptance_catalog import CatalogAcceptance, CatalogEntry, catalog_entries

DOMAIN_ORDER = ("chat", "mixed", "coding", "math", "summarization", "rag", "long-context", "unstated")
"""The domain preferred when none is asked: the most general workload first."""
_SIZE = re.compile(r"^(a?\d+(\.\d+)?[bmk]|e\d+|\d+x\d+b)$")
_SYNTAX = "catalog:MODEL/METHOD[/DOMAIN[/WHICH]] (list them: specroof acceptance --catalog)"


@dataclass(frozen=True)
class CatalogMatch:
    """An entry chosen for a question, with why it is weak (empty: an exact match)."""

    entry: CatalogEntry
    weak: tuple[str, ...]
    alternatives: int

    def line(self, asked_model: str, with_source: bool = True) -> str:
        """One line naming the row used, and saying how weak the match is."""
        text = f"catalog row {self.entry.label()}"
        if with_source:
            text += f", source {self.entry.info['source_url']}"
        if self.weak:
            text += f"; WEAK match for {asked_model}: " + ", ".join(self.weak)
        if self.alternatives:
            text += (f"; {self.alternatives} other {self.entry.method} curve(s) in the catalog "
                     f"(specroof acceptance --catalog --method {self.entry.method})")
        return text


def normalize(model: str) -> str:
    """A model name as the catalog spells it: lower case, no ``-instruct``/``-chat`` suffix."""
    name = str(model).strip().lower().rsplit("/", 1)[-1]
    for suffix in ("-instruct", "-chat"):
        name = name.removesuffix(suffix)
    return name


def family(model: str) -> tuple[str, ...]:
    """A name's tokens without its size tokens: ``llama-3.1-70b`` -> ``('llama', '3.1')``."""
    return tuple(t for t in normalize(model).split("-") if not _SIZE.match(t))


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    count = 0
    for x, y in zip(a, b):
        if x != y:
            break
        count += 1
    return count


def _model_rank(asked: str, entry: CatalogEntry) -> tuple[int, int, str]:
    """(0 same model | 1 same family | 2 another model, -shared name tokens, weak reason)."""
    if normalize(entry.model) == asked:
        return 0, 0, ""
    if family(entry.model) == family(asked):
        return 1, 0, f"another size ({entry.model})"
    return 2, -_common_prefix(family(entry.model), family(asked)), f"another model ({entry.model})"


def best_match(model: str, method: str, domain: str | None = None) -> CatalogMatch | None:
    """The best entry of ``method`` for ``model`` (and ``domain``), or None if the method has none."""
    asked = normalize(model)
    entries = [e for e in catalog_entries() if e.method == method]
    if not entries:
        return None

    def rank(item: tuple[int, CatalogEntry]) -> tuple[int, int, int, int, int]:
        order, entry = item
        level, shared, _ = _model_rank(asked, entry)
        place = (0 if entry.domain == domain else 1) if domain else DOMAIN_ORDER.index(entry.domain)
        return level, shared, place, -entry.k_max, order

    _, best = min(enumerate(entries), key=rank)
    weak = [_model_rank(asked, best)[2]] if _model_rank(asked, best)[2] else []
    if domain and best.domain != domain:
        weak.append(f"another domain ({best.domain}, not {domain})")
    return CatalogMatch(best, tuple(weak), len(entries) - 1)


def parse_catalog_spec(args: str) -> CatalogAcceptance:
    """``MODEL/METHOD[/DOMAIN[/WHICH]]`` -> the model of that entry (strict; refuses past its
    largest K). ``WHICH`` picks among entries of one domain: a word of their dataset, setting or
    checkpoint (``thinking_off``, ``mt-bench``, ``RedHatAI``)."""
    parts = [p.strip() for p in str(args).split("/", 3)]
    if len(parts) not in (2, 3, 4) or not all(parts):
        raise SpecroofError(f"catalog spec {args!r} is not MODEL/METHOD[/DOMAIN[/WHICH]]; use {_SYNTAX}")
    if len(parts) == 4:
        return CatalogAcceptance(_which(parts), spec="/".join(parts))
    model, method = normalize(parts[0]), parts[1].lower()
    domain = parts[2].lower() if len(parts) >= 3 else None
    of_method = [e for e in catalog_entries() if e.method == method]
    if not of_method:
        methods = sorted({e.method for e in catalog_entries()})
        raise SpecroofError(f"the acceptance catalog has no row for method {method!r}{suggest(method, methods)}; "
                            f"it has {', '.join(methods)}")
    of_model = [e for e in of_method if normalize(e.model) == model]
    if not of_model:
        models = sorted({e.model for e in of_method})
        raise SpecroofError(f"the acceptance catalog has no {method} row for model {parts[0]!r}"
                            f"{suggest(model, models)}; {method} rows exist for {', '.join(models)}")
    if domain is not None and not any(e.domain == domain for e in of_model):
        domains = sorted({e.domain for e in of_model})
        raise SpecroofError(f"the acceptance catalog has no {model}/{method} row for domain {domain!r}; "
                            f"it has {', '.join(domains)}")
    match = best_match(model, method, domain)
    assert match is not None and not match.weak
    return CatalogAcceptance(match.entry)


def _which(parts: list[str]) -> CatalogEntry:
    """The one entry of MODEL/METHOD/DOMAIN whose dataset, setting or checkpoint holds WHICH."""
    model, method, domain, which = normalize(parts[0]), parts[1].lower(), parts[2].lower(), parts[3].lower()
    parse_catalog_spec("/".join(parts[:3]))  # the model, method and domain exist (errors name what does)
    same = [e for e in catalog_entries()
            if (normalize(e.model), e.method, e.domain) == (model, method, domain)]
    hits = [e for e in same if any(which in e.key[c].lower() for c in ("dataset", "setting", "checkpoint"))]
    if len(hits) != 1:
        labels = "; ".join(e.label() for e in same)
        found = "no" if not hits else f"{len(hits)}"
        raise SpecroofError(f"{found} {model}/{method}/{domain} entries match {parts[3]!r}; they are: {labels}")
    return hits[0]
