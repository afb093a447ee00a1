"""The drafting checkpoints published for the catalog's models: MTP layers and EAGLE-3 heads.

``checkpoints.toml`` (shipped beside this module) lists, per catalog model, the MTP layers its
checkpoint carries and the EAGLE-3 heads trained for it, each with a source. Why a table and
not the config: a config does not say which heads exist for it, and some checkpoints ship MTP
weights their config does not count (Qwen3-Next). N-gram lookup needs no checkpoint and is
offered for every model.

A model matches a row when it IS that catalog entry: its ``_source`` names the same Hugging Face
repository (:attr:`ModelConfig.hf_repo`). A user's own ``config.json`` (no ``_source``) matches
nothing, so it keeps the plain defaults (``--draft-vocab`` 32000) rather than inheriting a head
trained for some other checkpoint because of a file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from specroof.checks import NAME, POSITIVE_INT, TEXT, check, declare, schema
from specroof.datafiles import read_toml
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig, catalog_names, load_model

FILE = "checkpoints.toml"
ALWAYS = "ngram"
"""The method every model can draft with: prompt lookup needs no checkpoint."""


@dataclass(frozen=True)
class MtpRow:
    """The MTP layers a catalog model's checkpoint ships (method ``mtp``)."""

    model: str = declare(..., NAME, "", "catalog model name")
    layers: int = declare(..., POSITIVE_INT, "layers", "MTP modules in the checkpoint")
    source: str = declare(..., TEXT, "", "where the count is stated")


@dataclass(frozen=True)
class HeadRow:
    """One published EAGLE-3 head (method ``eagle3``) for a catalog model."""

    model: str = declare(..., NAME, "", "catalog model name")
    repo: str = declare(..., NAME, "", "the head's Hugging Face repository")
    trained_for: str = declare(..., NAME, "", "the checkpoint (HF repository) the head was trained on")
    draft_vocab: int = declare(..., POSITIVE_INT, "tokens", "the head's draft vocabulary (draft_vocab_size)")
    layers: int = declare(..., POSITIVE_INT, "layers", "decoder layers of the head")
    source: str = declare(..., TEXT, "", "where the head is published")
    vocab_source: str = declare(..., TEXT, "", "where the draft vocabulary is stated")
    trained_k: int | None = declare(None, POSITIVE_INT.or_none(), "tokens", "draft length trained for, if stated")


@dataclass(frozen=True)
class Checkpoints:
    """Every row of ``checkpoints.toml``, checked."""

    mtp: tuple[MtpRow, ...]
    eagle3: tuple[HeadRow, ...]


def _rows(cls: type, table: object, label: str) -> tuple:
    if not isinstance(table, list):
        raise SpecroofError(f"{label} must be an array of tables ([[...]])")
    out = []
    for i, row in enumerate(table):
        checked = check(schema(cls), row, f"{label}[{i}]")
        out.append(cls(**checked.model_dump()))
    known = set(catalog_names())
    for row in out:
        if row.model not in known:
            raise SpecroofError(f"{label}: model {row.model!r} is not in the model catalog")
    return tuple(out)


@lru_cache(maxsize=1)
def checkpoints() -> Checkpoints:
    """The shipped table, read and checked once."""
    data = read_toml(resources.files("specroof.speculation.methods") / FILE, FILE)
    unknown = sorted(set(data) - {"mtp", "eagle3"})
    if unknown:
        raise SpecroofError(f"{FILE}: unknown table(s) {', '.join(unknown)}; expected [[mtp]] and [[eagle3]]")
    return Checkpoints(mtp=_rows(MtpRow, data.get("mtp", []), f"{FILE} [[mtp]]"),
                       eagle3=_rows(HeadRow, data.get("eagle3", []), f"{FILE} [[eagle3]]"))


def _same_checkpoint(model: ModelConfig, name: str) -> bool:
    """``model`` is the catalog entry ``name`` (or a copy of it with the same ``_source`` repository)."""
    repo = model.hf_repo
    return repo is not None and repo.lower() == (load_model(name).hf_repo or "").lower()


def published_heads(model: ModelConfig) -> tuple[HeadRow, ...]:
    """The EAGLE-3 heads published for ``model``, the preferred one first (the table's order)."""
    return tuple(h for h in checkpoints().eagle3 if _same_checkpoint(model, h.model))


def priced_head(model: ModelConfig, draft_vocab: int | None) -> HeadRow | None:
    """The published head an EAGLE-3 choice drafts with: the first listed one without
    ``--draft-vocab``, else the first whose vocabulary is the given one (None: no such head)."""
    heads = published_heads(model)
    if draft_vocab is None:
        return heads[0] if heads else None
    return next((h for h in heads if h.draft_vocab == draft_vocab), None)


def mtp_layers(model: ModelConfig) -> int:
    """MTP layers the checkpoint ships: the config's count, or the table's where the config has none."""
    listed = [r.layers for r in checkpoints().mtp if _same_checkpoint(model, r.model)]
    return model.mtp_layers or (listed[0] if listed else 0)


def drafting_options(model: ModelConfig) -> list[str]:
    """The methods ``model`` can draft with from published checkpoints, in words for a listing:
    ``mtp x1``, ``eagle3 (2 heads)``, and always ``ngram``."""
    options = []
    layers = mtp_layers(model)
    if layers:
        options.append(f"mtp x{layers}")
    heads = published_heads(model)
    if heads:
        options.append(f"eagle3 ({len(heads)} head{'s' if len(heads) > 1 else ''})")
    return options + [ALWAYS]


def drafting_rows(model: ModelConfig) -> list[dict[str, object]]:
    """One record per published drafting checkpoint of ``model`` (its MTP layers, each EAGLE-3
    head in the table's order) with the source of each figure, for ``specroof models --drafting``."""
    rows: list[dict[str, object]] = []
    layers = mtp_layers(model)
    if layers:
        stated = [r.source for r in checkpoints().mtp if _same_checkpoint(model, r.model)]
        rows.append({"model": model.name, "method": "mtp", "checkpoint": "the model's own MTP layers",
                     "layers": layers, "draft_vocab": model.vocab_size, "trained_k": None,
                     "source": stated[0] if stated else "config.json num_nextn_predict_layers"})
    for head in published_heads(model):
        rows.append({"model": model.name, "method": "eagle3", "checkpoint": head.repo, "layers": head.layers,
                     "draft_vocab": head.draft_vocab, "trained_k": head.trained_k, "source": f"{head.source}; vocabulary: {head.vocab_source}"})
    return rows
