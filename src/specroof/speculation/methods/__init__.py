"""Drafting methods: one module per method, registered in :data:`METHODS`.

The built-in methods, in the order the CLI lists them: ``none`` (free candidates), ``heads``
(Medusa), ``draft`` (a draft model), ``eagle`` / ``eagle3`` (EAGLE heads), ``mtp`` (the
model's MTP module), ``ngram`` (prompt lookup). Everything above this folder (the settled
:class:`~specroof.speculation.drafting.Drafting`, the CLI's ``--method`` choice, scenario files,
exports, the explorer's catalog) asks :data:`METHODS`, so a method's name is written once.

Adding a drafting method (one module, plus data):

1. Write ``methods/<name>.py``. A method that drafts with forward passes subclasses
   :class:`~specroof.speculation.methods.base.PassMethod` and implements ``draft_pass``: the
   operations of one pass over ``width`` tokens per sequence, from a builder of
   :mod:`specroof.cost.drafting_ops` (a new kind of drafter is a new builder there). The chain
   and tree schedule comes with the base. A method without passes subclasses
   :class:`~specroof.speculation.methods.base.Method` and overrides the hooks it changes
   (``verification_extras``, ``verified_grid``, ``tokens_per_step``, ``shape_limits``).
2. Declare its ``description`` (one line for ``--help`` and the catalog), ``label``, the
   ``parameters`` it takes from :data:`~specroof.speculation.methods.parameters.PARAMETERS`
   (``tree`` makes it tree capable) and those it ``required``; a target it cannot draft for
   is refused in ``check_target``.
3. ``METHODS.register(...)`` at the bottom of the module, and import the module below.
4. Data: its default acceptance is a row of ``speculation/data/default-acceptance.csv``
   (keyed by the method's name; without one a ``warning:`` says the unmeasured fallback is
   used); each engine spells it in its own module (:mod:`specroof.speculation.engines`).

A method registered from outside the package (a plug-in, a test's toy method) is seen
everywhere the built-in ones are.
"""

from __future__ import annotations

# Importing a member registers it: this order is the order --help and the catalog list them.
# isort: off
from specroof.speculation.methods import none  # noqa: F401
from specroof.speculation.methods import heads  # noqa: F401
from specroof.speculation.methods import draft  # noqa: F401
from specroof.speculation.methods import eagle  # noqa: F401
from specroof.speculation.methods import mtp  # noqa: F401
from specroof.speculation.methods import ngram  # noqa: F401
# isort: on
from specroof.speculation.methods.base import METHODS, Choice, Method, PassMethod
from specroof.speculation.methods.parameters import PARAMETERS, Parameter
from specroof.speculation.methods.shape import TreeShape

__all__ = ["METHODS", "PARAMETERS", "Choice", "Method", "Parameter", "PassMethod", "TreeShape"]
