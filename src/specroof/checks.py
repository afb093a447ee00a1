"""Scalar checkers, field declarations and the one wording of a bad value (floor 0).

Every value that enters specroof from outside (a Hugging Face ``config.json``, a hardware or
calibrated-profile TOML, an implementation profile, a scenario, a measurement line) is checked
against a schema *derived* from the dataclass that holds it: each field is declared once, with
:func:`declare`, and its :class:`FieldSpec` (checker, unit, meaning, fit bounds) is the field's
``metadata``. :func:`schema` turns those declarations into a pydantic model, :func:`check`
validates a table against it, and every failure reads the same:
``<file or object>: <key> <what is wrong>, got <value>``.

Why the custom scalar checkers: pydantic's lax mode reads the string ``"false"`` as False and
``"3"`` as 3, and its strict mode refuses ``4096.0`` for an integer. A data file should get
neither: strings are never numbers or booleans, integral floats are integers, booleans are
never numbers, NaN and infinity are never accepted, and integers too large for a float are an
error rather than an OverflowError later.

pydantic takes a while to import, so it is imported inside the functions that build or run a
schema: declaring fields costs nothing and ``specroof --help`` never pays for it. This module
imports nothing of specroof above :mod:`specroof.errors`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from specroof.errors import SpecroofError, shown, suggest

#: Largest integer size accepted anywhere (model widths, vocabularies, SM counts, grid axes).
MAX_INT = 1_000_000_000
#: Largest float accepted for a physical quantity: far beyond any device, small enough that
#: products of a few of them stay finite.
MAX_FLOAT = 1e12


# --------------------------------------------------------------------------- scalar checkers


def kind_of(value: Any) -> str:
    """How a wrong value is named in a message ("a string", "int", "list")."""
    return "a string" if isinstance(value, str) else type(value).__name__


def number(value: Any) -> float:
    """A finite number (an int or float, never a bool or a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, not {kind_of(value)}")
    try:
        result = float(value)
    except OverflowError:
        raise ValueError("is too large to be a number of this kind") from None
    if not math.isfinite(result):
        raise ValueError("must be a finite number (not NaN or infinity)")
    return result


def integer(value: Any) -> int:
    """A whole number of at most :data:`MAX_INT` (an integral float is accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer, not {kind_of(value)}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("must be a whole number")
        value = int(value)
    if abs(value) > MAX_INT:
        raise ValueError(f"must be at most {MAX_INT:,}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false (a boolean, not a string or number)")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {kind_of(value)}")
    return value


def name(value: Any) -> str:
    if not text(value).strip():
        raise ValueError("must be a non-empty string")
    return value


def anything(value: Any) -> Any:
    return value


def pair_of(length: int, what: str) -> Callable[[Any], Any]:
    """A checker that a value is a sequence of ``length`` items (``what`` names the row)."""
    def row(value: Any) -> Any:
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != length:
            raise ValueError(f"{what}, got {shown(value)}")
        return value
    return row


# --------------------------------------------------------------------------- declarations

_TYPES: dict[Callable[[Any], Any], type] = {number: float, integer: int, boolean: bool, text: str, name: str}


@dataclass(frozen=True)
class Check:
    """How one value is checked: a scalar checker and its range, or a fixed set of choices.

    ``build`` is for values that are not scalars (a list of tiles, a table of peaks): a
    function returning the pydantic type, called only when a schema is built; ``words`` says
    what it accepts, for the docs table.
    """

    scalar: Callable[[Any], Any] = anything
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    optional: bool = False
    build: Callable[[], Any] | None = None
    words: str = ""

    def within(self, **bounds: Any) -> "Check":
        """This check with other bounds (``le=1e6``...)."""
        return dataclasses.replace(self, **bounds)

    def or_none(self) -> "Check":
        return dataclasses.replace(self, optional=True)

    def describe(self) -> str:
        """The rule in words, for the docs table: ``number > 0, <= 1``."""
        if self.words:
            return self.words
        if self.choices:
            return " | ".join(self.choices)
        kind = {number: "number", integer: "integer", boolean: "boolean", text: "string",
                name: "name"}.get(self.scalar, "any")
        rules = [f"{sign} {bound:g}" for sign, bound in ((">", self.gt), (">=", self.ge), ("<=", self.le))
                 if bound is not None]
        return kind + (" " + ", ".join(rules) if rules else "")


POSITIVE_FLOAT = Check(number, gt=0, le=MAX_FLOAT)
NON_NEGATIVE_FLOAT = Check(number, ge=0, le=MAX_FLOAT)
FRACTION = Check(number, gt=0, le=1)
POSITIVE_INT = Check(integer, ge=1)
NON_NEGATIVE_INT = Check(integer, ge=0)
BOOL = Check(boolean)
TEXT = Check(text)
NAME = Check(name, max_length=500)
ANY = Check(anything)


def choice(*choices: str) -> Check:
    return Check(choices=choices)


@dataclass(frozen=True)
class FieldSpec:
    """Everything said about one field, once: its check, unit, meaning and fit bounds.

    ``fit``: (lower, upper) bounds a calibration fit may move the field within;
    ``kernel_fit``: the same for the fit to measured engine kernels (wider: those kernels span
    more devices and shapes).
    """

    check: Check
    unit: str = ""
    meaning: str = ""
    fit: tuple[float, float] | None = None
    kernel_fit: tuple[float, float] | None = None


def declare(default: Any, check: Check, unit: str = "", meaning: str = "", *,
            fit: tuple[float, float] | None = None, kernel_fit: tuple[float, float] | None = None,
            **options: Any) -> Any:
    """A dataclass field whose metadata is its :class:`FieldSpec` (``default=...``: required).

    ``options`` go to :func:`dataclasses.field` (``compare=False``...); a list or dict default
    becomes a factory.
    """
    spec = FieldSpec(check, unit, meaning, fit, kernel_fit)
    if default is ...:
        return dataclasses.field(metadata={"spec": spec}, **options)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={"spec": spec}, **options)
    return dataclasses.field(default=default, metadata={"spec": spec}, **options)


def specs(cls: type) -> dict[str, FieldSpec]:
    """``{field: FieldSpec}`` of a dataclass declared with :func:`declare`, in order."""
    return {f.name: f.metadata["spec"] for f in dataclasses.fields(cls) if "spec" in f.metadata}


def spec_of(cls: type, field_name: str) -> FieldSpec:
    return specs(cls)[field_name]


# --------------------------------------------------------------------------- derived schemas


def pydantic() -> Any:
    """The pydantic module, imported on first use; a broken install says how to fix it."""
    try:
        import pydantic as module
    except ImportError:
        raise SpecroofError("specroof needs pydantic 2 to read data files; pip install 'pydantic>=2'") from None
    return module


def annotation(check: Check) -> Any:
    """The pydantic type of a :class:`Check` (pydantic imported here, on first use)."""
    from typing import Annotated, Literal

    pd = pydantic()
    BeforeValidator, Field = pd.BeforeValidator, pd.Field  # noqa: N806

    if check.build is not None:
        kind: Any = check.build()
    elif check.choices:
        kind = Literal[check.choices]
    else:
        limits = {k: v for k, v in (("gt", check.gt), ("ge", check.ge), ("le", check.le),
                                    ("max_length", check.max_length)) if v is not None}
        kind = Annotated[_TYPES.get(check.scalar, Any), BeforeValidator(check.scalar), Field(**limits)]
    return kind | None if check.optional else kind


def schema_of(title: str, fields: dict[str, tuple[Check, Any]], *, extra: str = "forbid") -> Any:
    """A pydantic model called ``title`` with ``{field: (check, default)}`` (``...``: required)."""
    pd = pydantic()
    config = pd.ConfigDict(extra=extra, frozen=True)  # type: ignore[typeddict-item]
    return pd.create_model(title, __config__=config,
                        **{k: (annotation(c), default) for k, (c, default) in fields.items()})


@lru_cache(maxsize=None)
def schema(cls: type, *, all_optional: bool = False) -> Any:
    """The pydantic model of a dataclass declared with :func:`declare`, built once.

    ``all_optional``: every field may be left out (a subset of fields, as a profile override
    table gives); otherwise the dataclass's defaults apply and fields without one are required.
    """
    defaults = {f.name: _default(f) for f in dataclasses.fields(cls)}
    fields = {k: ((s.check.or_none(), None) if all_optional else (s.check, defaults[k])) for k, s in specs(cls).items()}
    return schema_of(cls.__name__ + ("Fields" if all_optional else "Spec"), fields)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return ...


def check_fields(cls: type, data: dict[str, Any], label: str) -> dict[str, Any]:
    """``data`` (every field of a ``cls`` instance) checked against its declarations:
    the checked values (integral floats as ints...), or a one-line :class:`SpecroofError`."""
    checked = check(schema(cls), data, label)
    return {k: getattr(checked, k) for k in data}


# --------------------------------------------------------------------------- error translation


def _location(loc: tuple[Any, ...], quote: bool) -> str:
    # A key from the file may hold a newline or other control character: shown escaped, so
    # the message stays one line.
    parts = [str(p) if str(p).isprintable() else repr(str(p))[1:-1]
             for p in loc if p not in ("function-before", "function-after")]
    if not parts:
        return ""
    if quote:
        return "'" + parts[0] + "'" + "".join(f"[{p!r}]" if not p.isdigit() else f"[{p}]" for p in parts[1:])
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def _message(error: dict[str, Any], known: tuple[str, ...], quote: bool, hint: str) -> str:
    kind = error["type"]
    loc = _location(tuple(error["loc"]), quote)
    if kind == "missing":
        return f"missing required key {loc}{hint}"
    if kind == "extra_forbidden":
        return f"unknown key {loc}{suggest(str(error['loc'][-1]), known)}"
    msg = re.sub(r"^(Value|Assertion) error, ", "", str(error["msg"]))
    msg = msg.replace("Input should be", "must be")
    for words, sign in (("greater than or equal to", ">="), ("less than or equal to", "<="),
                        ("greater than", ">"), ("less than", "<")):
        msg = msg.replace(f"must be {words} ", f"must be {sign} ")
    if kind == "too_short":
        least = (error.get("ctx") or {}).get("min_length", 1)
        msg = f"must have at least {least} item{'s' if least != 1 else ''}"
    msg = {"list_type": "must be a list", "dict_type": "must be a table/object",
           "model_type": "must be a table/object"}.get(kind, msg)
    if not loc:
        return msg
    value = error.get("input")
    said = kind.startswith("value_error") and ("got" in msg or isinstance(value, (list, tuple, dict)))
    return f"{loc} {msg}" + ("" if said else f", got {shown(value)}")


def problem_line(exc: Any, model: Any, label: str, *, quote: bool = False, hint: str = "") -> str:
    """A pydantic ``ValidationError`` of ``model`` as one line, ``"<label>: <key> <problem>"``:
    the first problem described, the others counted (what :func:`check` raises; readers that
    validate with pydantic themselves, e.g. straight from JSON bytes, word their errors with it)."""
    errors = exc.errors(include_url=False)
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    prefix = f"{label}: " if label else ""
    return f"{prefix}{_message(errors[0], tuple(model.model_fields), quote, hint)}{more}"


def check(model: Any, data: Any, label: str, *, quote: bool = False, hint: str = "") -> Any:
    """``model`` (a pydantic model) validated from ``data``; a SpecroofError
    ``"<label>: <key> <problem>"`` if not.

    ``quote`` writes keys as ``'ops_ms'['qkv_proj']`` (the measurement files' style) instead of
    ``ops_ms.qkv_proj``; ``hint`` is added to a missing-key message. Only the first problem is
    described (one line), with a count of the others.
    """
    ValidationError = pydantic().ValidationError  # noqa: N806
    if not isinstance(data, dict):
        raise SpecroofError(f"{label or 'value'}: expected a table/object of keys, got {kind_of(data)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecroofError(problem_line(exc, model, label, quote=quote, hint=hint)) from None
    except RecursionError:
        raise SpecroofError(f"{label or 'value'}: nested too deeply") from None


# --------------------------------------------------------------------------- docs


def _cell(value: Any) -> str:
    if value is ...:
        return "required"
    if isinstance(value, tuple) and len(value) > 4:
        return f"{len(value)} items"
    return f"`{value!r}`".replace("|", "\\|")


def fields_markdown(cls: type) -> str:
    """A markdown table of a declared dataclass: field, default, check, unit, meaning, fit bounds."""
    defaults = {f.name: _default(f) for f in dataclasses.fields(cls)}
    lines = ["| field | default | accepted | unit | meaning | fit bounds | kernel-fit bounds |",
             "|---|---|---|---|---|---|---|"]
    for key, spec in specs(cls).items():
        bounds = [f"{lo:g} .. {hi:g}" if b else "" for b in (spec.fit, spec.kernel_fit) for lo, hi in [b or (0, 0)]]
        cells = [f"`{key}`", _cell(defaults[key]), spec.check.describe().replace("|", "\\|"), spec.unit,
                 spec.meaning.replace("|", "\\|"), *bounds]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
