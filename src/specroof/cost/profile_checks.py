"""The checks of profile fields that are not plain scalars: tiles, operations, all-reduce rows,
CUDA-graph sizes and the engine name, plus the normal form of a checked table.

Each is a :class:`specroof.checks.Check` used by one field declaration in
:class:`specroof.cost.profile.ImplementationProfile`; the pydantic types are built only when a
schema is (pydantic is imported there, on first use).
"""

from __future__ import annotations

from typing import Any

from specroof.checks import Check, annotation, integer, number, pair_of, pydantic
from specroof.cost.engine_kernels import fitted_pairs
from specroof.cost.operation import STEP_OPERATIONS
from specroof.errors import shown, suggest

MICROSECONDS = Check(number, ge=0, le=1e7)
PASSES = Check(number, ge=0, le=1000)
TILE = Check(integer, ge=1, le=65536)
KERNELS = Check(integer, ge=0, le=10000)
OVERLAP = Check(number, ge=0, le=100)

_TILE_ROW = pair_of(2, "each tile must be a [rows, cols] pair of integers")
_ALLREDUCE_ROW = pair_of(5, "each row must be [gpus, latency_us, oneshot_gbps, twoshot_us, busbw_gbps]")


def _scalar(check: Check) -> Any:
    return annotation(check)


def _tiles() -> Any:
    from typing import Annotated

    pd = pydantic()
    tile = _scalar(TILE)
    return Annotated[list[Annotated[tuple[tile, tile], pd.BeforeValidator(_TILE_ROW)]],
                     pd.Field(min_length=1, max_length=64)]


def _allreduce_rows() -> Any:
    from typing import Annotated

    pd = pydantic()
    gpus, us, gbps = _scalar(Check(integer, ge=2, le=4096)), _scalar(MICROSECONDS), _scalar(Check(number, gt=0, le=1e7))
    row = Annotated[tuple[gpus, us, gbps, us, gbps], pd.BeforeValidator(_ALLREDUCE_ROW)]
    return Annotated[list[row], pd.Field(max_length=64)]


def _graph_sizes() -> Any:
    from typing import Annotated

    return Annotated[list[_scalar(Check(integer, ge=1, le=100_000_000))], pydantic().Field(max_length=100_000)]


def _some_operations(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and not value:
        raise ValueError("must name at least one operator (" + ", ".join(STEP_OPERATIONS) + "); "
                         "a step without operators takes no time")
    if isinstance(value, (list, tuple)):
        unknown = [op for op in value if op not in STEP_OPERATIONS]
        if unknown:
            raise ValueError(f"has unknown operator(s) {', '.join(map(repr, unknown))}"
                             f"{suggest(str(unknown[0]), STEP_OPERATIONS)}; valid: {', '.join(STEP_OPERATIONS)}")
        return list(value)
    return value


def _operations() -> Any:
    from typing import Annotated, Literal

    pd = pydantic()
    return Annotated[list[Literal[STEP_OPERATIONS]], pd.BeforeValidator(_some_operations),  # type: ignore[valid-type]
                     pd.Field(min_length=1)]


def engine_name(value: Any) -> Any:
    """An engine whose kernels are fitted in ``engine_kernels.toml``, or empty (none): the
    vocabulary is the fitted data's own."""
    engines = sorted({e for pair in fitted_pairs().values() for e in pair})
    if value == "" or value in engines:
        return value
    raise ValueError(f"must be one of {', '.join(engines)} (or empty), got {shown(value)}")


GEMM_TILES = Check(build=_tiles, words="list of 1-64 [rows, cols] pairs, each 1-65536")
ALLREDUCE_FITS = Check(build=_allreduce_rows, words="list of up to 64 rows [gpus 2-4096, us, GB/s, us, GB/s]")
GRAPH_SIZES = Check(build=_graph_sizes, words="list of sizes 1-1e8")
OPERATIONS = Check(build=_operations, words="non-empty list of operation names (`specroof ops`)")
ENGINE = Check(engine_name, words="an engine of cost/engine_kernels.toml, or empty")


def normal_form(out: dict[str, Any]) -> dict[str, Any]:
    """A checked table with its lists as tuples (profiles are frozen and hashable)."""
    if out.get("gemm_tiles") is not None:
        out["gemm_tiles"] = tuple(tuple(t) for t in out["gemm_tiles"])
    if out.get("operators") is not None:
        out["operators"] = tuple(out["operators"])
    if out.get("allreduce_fits") is not None:
        out["allreduce_fits"] = tuple(tuple(float(x) for x in row) for row in out["allreduce_fits"])
    if out.get("cuda_graph_sizes") is not None:  # sizes a step is padded up to: a sorted set
        out["cuda_graph_sizes"] = tuple(sorted(set(out["cuda_graph_sizes"])))
    return out
