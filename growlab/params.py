"""Typed, documented, range-checked parameters: the training settings (:mod:`growlab.settings`) and
every method part's tunables are declared with :class:`Param`; the CLI flags, the app's form, the
URL, ``Run.set`` and archives are derived from those declarations."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

#: A message quotes at most this many characters of a refused value.
ECHO = 60
KINDS = ("float", "int", "choice", "bool", "text", "masks")


@dataclass(frozen=True)
class Param:
    """One tunable of a method part.

    Args:
        name: keyword name (``sigma``); the CLI spells it ``--sigma``, kebab-cased.
        default: the value when none is given.
        kind: ``float``, ``int``, ``choice``, ``bool`` or ``text`` (a string that ``check`` accepts).
        low, high: inclusive bounds for numbers (``None`` = unbounded).
        low_open, high_open: make a bound exclusive (σ > 0, sparsity < 1).
        choices: the valid values of a ``choice``.
        doc: one line for the form and ``--help``.
        live: whether it may change while a run trains.
        per_member: whether a population may hold one value per member (numbers only; see
            :meth:`~growlab.methods.base.Parameterized.set_member_values`).
        optional: ``None`` is a value too (``batch_size=None``: the full batch), meaning ``none_doc``.
        group: where forms put it (``"training"``, ``"schedule"``…; empty: the main group).
        url: whether a shared link carries it (under its name).
        check, hint: a ``text`` value's test and the accepted values in words.

    The ``masks`` kind holds per-layer boolean connection masks (the ``core`` init). It is
    not a form value: :attr:`form` is false, so ``available()``, the app and the CLI leave it
    out, and only the Python API passes it.

    Example:
        >>> Param("sigma", 1.0, "float", low=0, low_open=True).validate(2)
        2.0
    """

    name: str
    default: Any
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    doc: str = ""
    live: bool = True
    per_member: bool = False
    optional: bool = False
    none_doc: str = ""
    group: str = ""
    url: bool = True
    check: Callable[[str], bool] | None = None
    hint: str = ""

    @property
    def form(self) -> bool:
        """Whether forms and ``--help`` show it (every kind but ``masks``)."""
        return self.kind != "masks"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"param {self.name}: kind must be one of {KINDS}")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"param {self.name}: default {self.default!r} not in {self.choices}")

    @property
    def flag(self) -> str:
        """The command line's spelling: ``--split-seed``."""
        return "--" + self.name.replace("_", "-")

    def expected(self) -> str:
        """What a refusal says it wants: ``a number in (0, 1)``, ``None (the full batch) or a whole number in [1, ∞)``."""
        text = self.range_text()
        if self.kind in ("float", "int"):
            text = f"{'a whole number' if self.kind == 'int' else 'a number'} in {text}"
        return f"None ({self.none_doc}) or {text}" if self.optional else text

    def range_text(self) -> str:
        """The accepted values in words, e.g. ``(0, 1)`` or ``one of copy, gaussian, random``."""
        if self.kind == "text":
            return self.hint or "text"
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        if self.kind == "bool":
            return "true or false"
        if self.kind == "masks":
            return "None, or one boolean (out, in) mask per weight layer"
        lo = "-∞" if self.low is None else _number(self.low)
        hi = "∞" if self.high is None else _number(self.high)
        return f"{'(' if self.low_open or self.low is None else '['}{lo}, {hi}{')' if self.high_open or self.high is None else ']'}"

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise ``ValueError`` saying why."""
        if self.kind == "masks":
            return validate_masks(self.name, value)
        if value is None and self.optional:
            return None
        if self.kind == "text":
            if not isinstance(value, str) or (self.check is not None and not self.check(value)):
                raise ValueError(f"{self.name} must be {self.expected()}, got {echo(value)}")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{self.name} must be {self.expected()}, got {echo(value)}")
            return value
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError(f"{self.name} must be true or false, got {value!r}")
        refused = f"{self.name} must be {self.expected()}, got {echo(value)}"
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError(refused) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(refused)
        if self.kind == "int":
            if math.isinf(value) or value != int(value):
                raise ValueError(refused)
            value = int(value)
        else:
            value = float(value)
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high or (self.kind == "float" and math.isinf(value)):
            wanted = self.expected() if self.optional else f"in {self.range_text()}"
            raise ValueError(f"{self.name} must be {wanted}, got {value!r}")
        return value

    def describe(self) -> dict:
        """Plain description for forms and listings."""
        return {
            "name": self.name, "default": self.default, "kind": self.kind, "low": self.low, "high": self.high,
            "low_open": self.low_open, "high_open": self.high_open, "choices": list(self.choices),
            "range": self.range_text(), "doc": self.doc, "live": self.live, "per_member": self.per_member,
            "optional": self.optional, "group": self.group, "url": self.url,
        }  # fmt: skip


def _number(v: float) -> str:
    """``0.5``, ``1000``, ``1,000,000`` (not ``1e+06``)."""
    return f"{int(v):,}" if float(v).is_integer() and abs(v) >= 1e5 else f"{v:g}"


def echo(value: Any) -> str:
    """``repr(value)``, cut to :data:`ECHO` characters: a message never repeats a huge input whole."""
    text = repr(value) if not isinstance(value, (tuple, list)) or len(value) <= ECHO else repr(type(value)(value[:ECHO]))
    return text if len(text) <= ECHO else text[: ECHO - 4] + "…" + text[-3:]


def validate_masks(name: str, value: Any) -> list[torch.Tensor] | None:
    """``None``, or per-layer masks as CPU bool tensors ``(out, in)`` or ``(P, out, in)``.

    Accepts a sequence of tensors or arrays, or any object with a ``masks`` attribute
    (a :class:`~growlab.engine.Network`, an analysis result). Shapes are checked against the
    network when the method starts.

    Example:
        >>> [m.shape for m in validate_masks("core", [[[1, 0]], [[1]]])]
        [torch.Size([1, 2]), torch.Size([1, 1])]
    """
    if value is None:
        return None
    value = getattr(value, "masks", value)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(
            f"{name} must be a non-empty list of boolean masks, one per weight layer, got {type(value).__name__}"
        )
    masks = []
    for l, m in enumerate(value):
        try:
            t = torch.as_tensor(m.detach().cpu() if torch.is_tensor(m) else m)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name}: mask {l} is not an array of booleans") from None
        if t.dim() not in (2, 3, 4, 5) or t.is_floating_point() and not bool(((t == 0) | (t == 1)).all()):
            raise ValueError(
                f"{name}: mask {l} must be a 2-D (out, in) or 3-D (P, out, in) array of 0/1 (a conv layer's "
                f"(out, in, k, k) or (P, out, in, k, k)), got shape {tuple(t.shape)}"
            )
        masks.append(t.bool())
    return masks


def validate_all(params: dict[str, Param], values: dict[str, Any], owner: str) -> dict[str, Any]:
    """Validate every value (all or nothing); unknown names raise ``ValueError`` listing valid ones."""
    unknown = sorted(set(values) - set(params))
    if unknown:
        valid = ", ".join(k if p.form else f"{k} (Python API only)" for k, p in params.items()) or "none"
        raise ValueError(f"{owner} has no parameter {', '.join(unknown)}; its parameters: {valid}")
    return {k: params[k].validate(v) for k, v in values.items()}
