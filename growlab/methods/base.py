"""Base classes: a ``Part`` (init, grow, prune criterion, schedule) and a ``Method``.

A part is a small class with explicit keyword parameters (``PARAMS``) and a pure core;
capabilities are class attributes. A method is a named composition with a flat parameter
namespace; its live values are re-read at every cycle boundary, so ``set`` takes effect at
the next cycle.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import torch

from growlab.methods.context import CycleContext
from growlab.methods.params import Param, validate_all


class Parameterized:
    """Holds validated values for a tuple of :class:`Param`."""

    PARAMS: ClassVar[tuple[Param, ...]] = ()
    name: ClassVar[str] = ""
    #: what error messages call it ("method", "grow part"...)
    label: ClassVar[str] = "part"

    def __init__(self, **params: Any):
        spec = self.param_specs()
        self.values: dict[str, Any] = {k: p.default for k, p in spec.items()}
        self.values.update(validate_all(spec, params, self._owner()))
        #: per-member overrides of ``per_member`` parameters: name → ``(P,)`` tensor
        self.member_values: dict[str, torch.Tensor] = {}

    @classmethod
    def param_specs(cls) -> dict[str, Param]:
        return {p.name: p for p in cls.PARAMS}

    def _owner(self) -> str:
        return f"{self.label} {self.name!r}" if self.name else type(self).__name__

    def get_params(self) -> dict[str, Any]:
        """Current parameter values."""
        return dict(self.values)

    def validate(self, **params: Any) -> dict[str, Any]:
        """Coerced values, or ``ValueError`` (nothing changes either way)."""
        return validate_all(self.param_specs(), params, self._owner())

    def set_params(self, **params: Any) -> dict[str, Any]:
        """Validate all, then apply all; returns the previous values of those changed.

        A value set here applies to every member: it replaces any per-member values of it.
        """
        new = self.validate(**params)
        old = {k: self.values[k] for k in new}
        self.values.update(new)
        for k in new:
            self.member_values.pop(k, None)
        return old

    def set_member_values(self, **values: Sequence[float]) -> None:
        """Give each member of a population its own value of ``per_member`` parameters.

        An experiment that varies, say, the sparsity threshold can then train all its members
        in one population instead of one population per value. All or nothing: a bad name or
        element raises ``ValueError`` and nothing changes.

        Example:
            >>> from growlab.methods import make_method
            >>> m = make_method("random")
            >>> m.set_member_values(sparsity=[0.8, 0.9, 0.99])
            >>> m.member_tensor("sparsity", 3).tolist()
            [0.8, 0.9, 0.99]
        """
        spec, new = self.param_specs(), {}
        for k, seq in values.items():
            if k not in spec or not spec[k].per_member:
                allowed = ", ".join(n for n, p in spec.items() if p.per_member) or "none"
                raise ValueError(f"{self._owner()}: {k!r} cannot vary per member; these can: {allowed}")
            vals = [spec[k].validate(v) for v in (seq.tolist() if torch.is_tensor(seq) else list(seq))]
            dtype = torch.long if spec[k].kind == "int" else torch.float64
            new[k] = torch.tensor(vals, dtype=dtype)
        self.member_values.update(new)

    def member_tensor(self, key: str, population: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """The value of ``key`` for each member ``(P,)`` (int64 for ints, float64 otherwise)."""
        spec = self.param_specs()[key]
        dtype = torch.long if spec.kind == "int" else torch.float64
        if key in self.member_values:
            t = self.member_values[key]
            if t.numel() != population:
                raise ValueError(f"{key} has {t.numel()} per-member values for a population of {population}")
            return t.to(device)
        return torch.full((population,), self.values[key], dtype=dtype, device=device)

    def __getattr__(self, key: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and key in values:
            return values[key]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")


class Part(Parameterized):
    """A method component. Capabilities tell the caller what the part needs."""

    needs_gradients: ClassVar[bool] = False
    needs_eval_data: ClassVar[bool] = False
    needs_capacity: ClassVar[bool] = False


class Method(Parameterized):
    """A named grow/prune method: how the network starts and what each cycle does.

    Subclasses override :meth:`setup` (initial structure), :meth:`cycle` (one grow/prune
    cycle) and, when cycles are not simply scheduled, :meth:`after_epoch`. They may keep
    state in :meth:`state_dict` (tensors and plain values only) so runs can be saved.
    """

    label = "method"
    #: one line shown by ``available()`` and the method selector
    doc: ClassVar[str] = ""
    #: the paper or idea it comes from
    source: ClassVar[str] = ""

    @property
    def members_interact(self) -> bool:
        """Whether the members of one population affect each other (a layout or activation they
        share): experiments then train each member as its own population, so every member's
        result is the same as when it trains alone."""
        return False

    def capacity(self, sizes: tuple[int, ...], n_conv: int = 0) -> tuple[int, ...]:
        """Neurons (channels) to allocate per layer given the configured widths, of which the
        first ``n_conv`` hidden layers are conv channel layers (methods that grow neurons or
        feature maps return more; dormant ones start switched off)."""
        return sizes

    def setup(self, ctx: CycleContext) -> None:
        """Choose the connections active at the start (default: all, i.e. dense)."""

    def due(self, ctx: CycleContext) -> bool:
        """Whether a cycle happens after epoch ``ctx.epoch`` (default: never)."""
        return False

    def cycle(self, ctx: CycleContext) -> None:
        """Perform one grow/prune cycle (default: nothing)."""

    def after_epoch(self, ctx: CycleContext) -> bool:
        """Called after every epoch; runs a cycle when due. Returns whether one ran."""
        if self.due(ctx):
            self.cycle(ctx)
            return True
        return False

    def overlays(self) -> dict:
        """What the diagram should highlight now, for a single-member run.

        Keys (all optional): ``"focal_junctures"``: list of ``(layer, source, target)`` used in
        the latest cycle; ``"useless_units"``: list of ``(neuron_layer, unit)`` that would be
        removed (ODF2NNA's ε preview); ``"phase"``: a short text such as ``"growth"``.
        """
        return {}

    #: whether :meth:`preview_epsilon` shows what applying an ε now would remove (ODF2NNA)
    previews_epsilon: ClassVar[bool] = False

    def preview_epsilon(self, ctx, eps: float) -> list[tuple[int, int]]:
        """The hidden units ``(neuron_layer, unit)`` of member 0 that ε selection would remove now."""
        raise ValueError(f"preview_epsilon needs a method with ε selection (odf2nna); this one is {self.name!r}")

    def state_dict(self) -> dict:
        """Method state for archives (tensors and plain values)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output."""

    @classmethod
    def describe(cls) -> dict:
        """Name, doc, source and parameter descriptions (what the UI and CLI build from).

        Parameters that are not form values (the ``core`` masks) are left out.
        """
        return {
            "name": cls.name,
            "doc": cls.doc,
            "source": cls.source,
            "params": {p.name: p.describe() for p in cls.PARAMS if p.form},
        }
