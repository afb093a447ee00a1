"""Operation-list builders, one per model family, chosen from the model: :data:`ARCHITECTURES`.

A step's cost is its operation list (:mod:`specroof.cost.operation`); an architecture is the
builder of that list for the models it ``accepts``. :func:`model_operations` asks
:func:`builder_for` which one builds a model (the most recently registered that accepts it),
so every caller (the verification pass, drafting passes, memory, parameter counts) builds a
model's list the same way.

Members: ``dense`` (:mod:`.dense`, a gated MLP per layer) and ``moe`` (:mod:`.moe`, a router
and experts per layer), both on the shared blocks of :mod:`.decoder` (q/k/v, attention,
o_proj, elementwise, all-reduce, LM head, embedding table).

Adding an architecture (e.g. multi-head latent attention, MLA):

1. Its model fields (e.g. the attention kind, the KV and query LoRA ranks) on the model config,
   read from config.json (``specroof.models``).
2. One module here with its builder ``(setup, grid, tokens, layers) -> list[Operation]``, built
   from :mod:`.decoder`'s blocks where they apply. Its attention is one operation: of an
   existing shape when it prices like one, else a new shape in :mod:`specroof.cost.operation`
   and one pricing function in :mod:`specroof.cost.pricing` (its attention kernel). Give
   the attention operation its ``cache_bytes_per_token`` (MLA: the compressed latent and the
   RoPE key), so the KV cache and memory follow.
3. ``ARCHITECTURES.register(Architecture(name, description, accepts, build))`` in that module,
   with ``accepts`` true for its models only, and import the module below.

Nothing else changes: pricing, latency, memory, ``ops`` and the charts read the list.
"""

from specroof.cost.architectures import dense, moe  # noqa: F401 (members register on import)
from specroof.cost.architectures.base import (
    ARCHITECTURES,
    Architecture,
    builder_for,
    model_operations,
    parameter_count,
)

__all__ = ["ARCHITECTURES", "Architecture", "builder_for", "model_operations", "parameter_count"]
