"""A method made of parts: an init, optionally a grower, optionally pruning, on a schedule.

The named presets (:mod:`growlab.methods.presets`) are one-line subclasses. Parameters are
one flat namespace built from the parts (so ``sigma`` means the strategic grower's σ), and
parts are rebuilt from the current values at every cycle, so a live change made with
``run.set`` takes effect at the next cycle boundary.

Rules kept here:

- the sparsity threshold T bounds both sides: growth never takes density above 1 − T; pure
  pruning (``prune``) prunes until sparsity T following its ``schedule``;
- hybrids prune ``prune_per_cycle`` first and then grow, and never prune a connection younger
  than ``min_age`` cycles; pruning never cuts an output unit off (see :mod:`.prune`); hybrids
  turn connections over rather than shrink: they never prune more than one cycle's worth
  below their starting size or the capacity, whichever is smaller (:meth:`Composed.floor`);
- cycles happen every ``interval`` epochs between the fractions ``start`` and ``stop`` of
  training (after ``stop`` the structure is frozen), shifted by ``offset``; hybrids may prune on
  their own ``prune_interval`` / ``prune_offset`` (the paper's "hybrid scheduling");
- every numeric parameter marked ``per_member`` may hold one value per member
  (:meth:`~growlab.methods.base.Parameterized.set_member_values`), so one population can train,
  e.g., every sparsity threshold of an experiment at once. Timing and choices are shared.
"""

from __future__ import annotations

from collections import ChainMap

import dataclasses
from functools import lru_cache
from typing import ClassVar

import torch

from growlab.methods.base import Method, Part
from growlab.methods.context import CycleContext
from growlab.methods.grow import GROWERS
from growlab.methods.inits import INITS, CoreInit
from growlab.methods.params import Param
from growlab.methods.prune import CRITERION_PARAMS, KEEP_INPUTS, MIN_AGE, PRUNE_SCHEDULES, Pruner, PruneNeed
from growlab.methods.registry import Registry
from growlab.methods.schedules import SCHEDULE_PARAMS, due
from growlab.methods.scores import batch_stats
from growlab.methods.strategic import StrategicGrower  # noqa: F401  (registers "strategic")
from growlab.methods.structure import max_active, room

SPARSITY = Param(
    "sparsity", 0.9, "float", low=0, high=1, high_open=True, per_member=True,
    doc="threshold T: growth stops at density 1 − T; pure pruning prunes until sparsity T",
)  # fmt: skip
PRUNE_PER_CYCLE = Param(
    "prune_per_cycle", 4, "int", low=0, high=10_000_000, per_member=True,
    doc="connections pruned per cycle (hybrids; the steps schedule)",
)  # fmt: skip
SCHEDULE = Param(
    "schedule", "polynomial", "choice", choices=PRUNE_SCHEDULES.names(),
    doc="constant: jump to T and hold; steps: prune_per_cycle until T (the paper's); polynomial: Zhu & Gupta cubic ramp",
)  # fmt: skip
THRESHOLD = Param(
    "threshold", "cap", "choice", choices=("cap", "budget"),
    doc="T as a density cap (growth stops at density 1 − T) or as a budget: ⌊(1 − T)·n⌋ connections grown (and pruned) in all",
)  # fmt: skip
PRUNE_FLOOR = Param(
    "prune_floor", "start_or_cap", "choice", choices=("start_or_cap", "start", "none"),
    doc="fewest connections a hybrid prunes to, less one cycle's pruning: its start size or the capacity, whichever is smaller (growlab's), its start size, or none",
)  # fmt: skip
HYBRID_TIMING = (
    Param("prune_interval", 0, "int", low=0, high=10_000, doc="epochs between pruning cycles (0: the same as interval)"),
    Param("prune_offset", 0, "int", low=0, high=10_000, doc="shift pruning cycles by this many epochs"),
)
#: prune modes: pure pruning toward T on a schedule, or a fixed count per cycle before growth
PRUNE_MODES = (None, "target", "per_cycle")


def compose_params(init: str, grow: str | None, prune: str | None) -> tuple[Param, ...]:
    """The flat parameter list of a method made of these parts (form order).

    Example:
        >>> [p.name for p in compose_params("subnet", "random", None)][:3]
        ['sparsity', 'grow_per_cycle', 'interval']
    """
    if prune not in PRUNE_MODES:
        raise ValueError(f"unknown prune mode {prune!r}; valid: {', '.join(map(str, PRUNE_MODES))}")
    params = list(INITS.get(init).PARAMS)
    if grow or prune:
        params.append(SPARSITY)
    if grow:
        params += GROWERS.get(grow).PARAMS
    if prune == "target":
        params += [SCHEDULE, PRUNE_PER_CYCLE, *CRITERION_PARAMS]
    elif prune == "per_cycle":
        params += [PRUNE_PER_CYCLE, *CRITERION_PARAMS, MIN_AGE, KEEP_INPUTS]
    if grow:
        params.append(THRESHOLD)
    if grow or prune:
        params += SCHEDULE_PARAMS
    if grow and prune:
        params += [PRUNE_FLOOR, *HYBRID_TIMING]
    params.append(CoreInit.PARAMS[0])  # every composed method may start from given masks
    return tuple(params)


@lru_cache(maxsize=256)
def scheduled_epochs(epochs: int, interval: int, start: float, stop: float, offset: int) -> tuple[int, ...]:
    """The epochs (1-based) at which :func:`~growlab.methods.schedules.due` is true."""
    return tuple(e for e in range(1, epochs + 1) if due(e, epochs, interval, start, stop, offset))


class Composed(Method):
    """A method from parts. Subclasses set ``init_part``, ``grow_part`` and ``prune_mode``."""

    init_part: ClassVar[str] = "dense"
    grow_part: ClassVar[str | None] = None
    prune_mode: ClassVar[str | None] = None
    #: this preset's own defaults for some parameters (e.g. a longer interval)
    defaults: ClassVar[dict[str, object]] = {}

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        if "PARAMS" not in cls.__dict__:
            params = compose_params(cls.init_part, cls.grow_part, cls.prune_mode)
            cls.PARAMS = tuple(
                dataclasses.replace(p, default=p.validate(cls.defaults[p.name])) if p.name in cls.defaults else p
                for p in params
            )

    def __init__(self, **params):
        super().__init__(**params)
        self._initial: torch.Tensor | None = None  # (P,) sparsity at the start
        self._start_active: torch.Tensor | None = None  # (P,) active connections at the start
        # (n, 3) long: (layer, source, target) of the last growth's focal junctures (one tensor,
        # not n lists: a run copies this method's state before every cycle)
        self._junctures = _juncture_rows([])
        self._grown: torch.Tensor | None = None  # (P,) connections grown by cycles so far (the budget reading)
        self._pruned: torch.Tensor | None = None  # (P,) connections pruned by cycles so far
        self._parts: dict[type[Part], Part] = {}  # built once by part(), reading self.values

    # ------------------------------------------------------------------ parts
    def part(self, registry: Registry | type[Part], name: str | None = None) -> Part:
        """The method's part of this kind, built once: it reads the method's own values and
        per-member values (one namespace, validated by the method), so a live change reaches
        it at the next cycle without building it again."""
        cls = registry.get(name) if isinstance(registry, Registry) else registry
        part = self._parts.get(cls)
        if part is None:
            specs = cls.param_specs()
            part = self._parts[cls] = cls(**{k: self.values[k] for k in specs if k in self.values})
            # the method's values first; a parameter the method keeps fixed (hides) is the part's own
            part.values = ChainMap(self.values, {k: v for k, v in part.values.items() if k not in self.values})
        part.member_values = self.member_values
        return part

    def setup(self, ctx: CycleContext) -> None:
        init = "core" if self.values.get("core") is not None else self.init_part
        self.part(INITS, init).apply(ctx)
        self._initial = (1 - ctx.net.density()).cpu()
        self._start_active = ctx.net.n_active().cpu()
        self._grown = torch.zeros(ctx.net.population, dtype=torch.long)
        self._pruned = torch.zeros(ctx.net.population, dtype=torch.long)

    # ------------------------------------------------------------------ timing
    def _timing(self, pruning: bool) -> tuple[int, float, float, int]:
        v = self.values
        if pruning and self.grow_part:
            return v["prune_interval"] or v["interval"], v["start"], v["stop"], v["prune_offset"]
        return v["interval"], v["start"], v["stop"], v["offset"]

    def grow_due(self, ctx: CycleContext) -> bool:
        """Whether growth is scheduled after epoch ``ctx.epoch``."""
        return self.grow_part is not None and due(ctx.epoch, ctx.epochs, *self._timing(False))

    def prune_due(self, ctx: CycleContext) -> bool:
        """Whether pruning is scheduled after epoch ``ctx.epoch``."""
        return self.prune_mode is not None and due(ctx.epoch, ctx.epochs, *self._timing(True))

    def due(self, ctx: CycleContext) -> bool:
        return self.grow_due(ctx) or self.prune_due(ctx)

    def after_epoch(self, ctx: CycleContext) -> bool:
        prune, grow = self.prune_due(ctx), self.grow_due(ctx)
        if prune or grow:
            self._cycle(ctx, prune, grow)
        return prune or grow

    def cycle(self, ctx: CycleContext) -> None:
        """One cycle now: prune (if the method prunes), then grow (if it grows)."""
        self._cycle(ctx, self.prune_mode is not None, self.grow_part is not None)

    def _cycle(self, ctx: CycleContext, prune: bool, grow: bool) -> None:
        if prune:
            self._prune(ctx)
        if grow:
            self._grow(ctx)

    # ------------------------------------------------------------------ operations
    def _prune(self, ctx: CycleContext) -> None:
        pruner: Pruner = self.part(Pruner)
        criterion = pruner.criterion
        stats = batch_stats(ctx, fisher=criterion.needs_fisher) if criterion.needs_gradients else None
        done = pruner.prune(ctx, self.prune_counts(ctx), stats)
        self._pruned = self._totals(self._pruned, done)

    def _totals(self, total: torch.Tensor | None, done: torch.Tensor) -> torch.Tensor:
        return done.cpu() if total is None else total + done.cpu()

    def budget_left(self, net, done: torch.Tensor | None) -> torch.Tensor:
        """The budget reading of T: connections a member may still grow (or prune), ⌊(1 − T)·n⌋
        less what it has so far. ``(P,)``"""
        budget = max_active(net, self.member_tensor("sparsity", net.population))
        spent = torch.zeros_like(budget) if done is None else done.to(budget.device)
        return (budget - spent).clamp(min=0)

    def prune_counts(self, ctx: CycleContext) -> torch.Tensor:
        """Connections to prune this cycle per member ``(P,)``, before eligibility rules."""
        net = ctx.net
        per_cycle = self.member_tensor("prune_per_cycle", net.population, net.device)
        if self.prune_mode == "per_cycle":
            counts = torch.minimum(per_cycle, (net.n_active() - self.floor(net, per_cycle)).clamp(min=0))
            if self.grow_part and self.values["threshold"] == "budget":
                counts = torch.minimum(counts, self.budget_left(net, self._pruned))
            return counts
        initial = self._initial if self._initial is not None else torch.zeros(net.population, dtype=torch.float64)
        target = self.member_tensor("sparsity", net.population, net.device)
        need = PruneNeed(
            active=net.n_active(), possible=net.n_possible(), target=target,
            initial=initial.to(net.device), per_cycle=per_cycle, progress=self.progress(ctx),
        )  # fmt: skip
        return self.part(PRUNE_SCHEDULES, self.values["schedule"]).count(need)

    def floor(self, net, per_cycle: torch.Tensor) -> torch.Tensor:
        """Fewest connections a hybrid prunes down to ``(P,)``, by ``prune_floor``:

        - ``start_or_cap`` (default): its size at the start or the threshold's capacity
          ⌊(1 − T)·n⌋, whichever is smaller, less one cycle's pruning;
        - ``start``: its size at the start, less one cycle's pruning;
        - ``none``: no floor (pruning is still bounded by the output units' last connections).

        The default is growlab's reading of the paper's hybrids, which "remain at the desired
        compression throughout training": they turn connections over (prune k, grow k) instead
        of shrinking. Without a floor, every cycle that prunes more than growth puts back
        (strategic growth skips junctures with no dormant terminus) shrinks the network.
        """
        rule = self.values.get("prune_floor", "start_or_cap")
        if rule == "none":
            return torch.zeros(net.population, dtype=torch.long, device=net.device)
        start = (self._start_active if self._start_active is not None else net.n_active()).to(net.device)
        if rule == "start_or_cap":
            start = torch.minimum(start, max_active(net, self.member_tensor("sparsity", net.population)))
        return (start - per_cycle).clamp(min=0)

    def progress(self, ctx: CycleContext) -> float:
        """How far ``ctx.epoch`` is through the pruning window, first to last scheduled cycle, in [0, 1]."""
        epochs = scheduled_epochs(ctx.epochs, *self._timing(True))
        if len(epochs) < 2:
            return 1.0
        return min(max((ctx.epoch - epochs[0]) / (epochs[-1] - epochs[0]), 0.0), 1.0)

    def _grow(self, ctx: CycleContext) -> None:
        net = ctx.net
        grower = self.part(GROWERS, self.grow_part)
        stats = batch_stats(ctx) if grower.needs_gradients else None
        if self.values["threshold"] == "budget":
            allowed = self.budget_left(net, self._grown).to(net.device)
        else:
            allowed = room(net, self.member_tensor("sparsity", net.population, net.device))
        self._grown = self._totals(self._grown, grower.grow(ctx, allowed, stats))
        self._junctures = _juncture_rows(grower.overlays().get("focal_junctures", []))

    # ------------------------------------------------------------------ views and state
    def overlays(self) -> dict:
        names = GROWERS.get(self.grow_part).OVERLAYS if self.grow_part else ()
        return {"focal_junctures": list(map(tuple, self._junctures.tolist()))} if "focal_junctures" in names else {}

    def state_dict(self) -> dict:
        return {
            "initial": None if self._initial is None else self._initial.clone(),
            "start_active": None if self._start_active is None else self._start_active.clone(),
            "junctures": self._junctures.clone(),
            "member_values": {k: v.clone() for k, v in self.member_values.items()},
            "grown": None if self._grown is None else self._grown.clone(),
            "pruned": None if self._pruned is None else self._pruned.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("initial") is not None:
            self._initial = state["initial"].double().cpu()
        if state.get("start_active") is not None:
            self._start_active = state["start_active"].long().cpu()
        self._junctures = _juncture_rows(state.get("junctures", []))  # a tensor, or lists (older archives)
        self.member_values = dict(state.get("member_values", {}))
        for key in ("grown", "pruned"):  # absent from archives before the budget reading
            if state.get(key) is not None:
                setattr(self, f"_{key}", state[key].long().cpu())


def _juncture_rows(junctures) -> torch.Tensor:
    """Focal junctures ``(layer, source, target)`` (a list of triples or a tensor) as ``(n, 3)`` long."""
    return torch.as_tensor(junctures, dtype=torch.long).reshape(-1, 3)
