"""Grow parts: which dormant connections to activate, and with what weight.

A grower ``plan``s one :class:`Growth` per layer within a per-member budget (``room``: what
the sparsity threshold still allows); :meth:`Grower.grow` applies the plan through the
cycle context, which sets the initial weights, resets optimizer moments and records events.
``random`` and ``gradient`` live here; ``strategic`` in :mod:`growlab.methods.strategic`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch

from growlab.methods.base import Part
from growlab.methods.context import CycleContext
from growlab.methods.params import Param
from growlab.methods.registry import Registry
from growlab.methods.scores import BatchStats
from growlab.methods.structure import any_true, dormant, flat, pick_top, unflat


@dataclass
class Growth:
    """Connections to activate in one layer.

    Attributes:
        layer: weight layer.
        where: bool ``(P, out, in)``, dormant connections only.
        values: initial weights ``(P, out, in)`` (read where ``where``).
        causes: a string for all, or one per connection in ``where.nonzero()`` order
            (member 0 only: events are kept for single-member runs).
    """

    layer: int
    where: torch.Tensor
    values: torch.Tensor
    causes: Sequence[str] | str | None = None


class Grower(Part):
    """Activates dormant connections: ``plan`` then ``grow``."""

    label = "grow part"
    #: the diagram overlays this part fills (see :meth:`Method.overlays`), always present for its methods
    OVERLAYS: ClassVar[tuple[str, ...]] = ()

    def overlays(self) -> dict[str, list]:
        """Member 0's highlights from the last :meth:`plan`, one list per name in :attr:`OVERLAYS`."""
        return {}

    def plan(self, ctx: CycleContext, room: torch.Tensor, stats: BatchStats | None = None) -> list[Growth]:
        """Connections to grow, at most ``room[p]`` for member p ``(P,)``."""
        raise NotImplementedError

    def grow(self, ctx: CycleContext, room: torch.Tensor, stats: BatchStats | None = None) -> torch.Tensor:
        """Grow the :meth:`plan` through ``ctx``. Returns connections grown per member ``(P,)``."""
        done = torch.zeros(ctx.net.population, dtype=torch.long, device=ctx.net.device)
        for g in self.plan(ctx, room, stats):
            done += ctx.grow(g.layer, g.where, g.values, g.causes)
        return done


GROWERS: Registry[Grower] = Registry("grow")

GROW_PER_CYCLE = Param(
    "grow_per_cycle", 4, "int", low=0, high=10_000_000, per_member=True,
    doc="connections grown per cycle (fewer when the sparsity threshold is reached)",
)  # fmt: skip


def by_score(ctx: CycleContext, scores: list[torch.Tensor], counts: torch.Tensor) -> list[torch.Tensor]:
    """The ``counts[p]`` highest-scoring dormant connections over all layers, per layer ``(P, out, in)``."""
    net = ctx.net
    keyed = [torch.where(dormant(net, l), s.float(), float("-inf")) for l, s in enumerate(scores)]
    return unflat(net, pick_top(flat(keyed), counts.to(net.device)))


def budget(part: Part, ctx: CycleContext, room: torch.Tensor) -> torch.Tensor:
    """``grow_per_cycle`` per member, capped by ``room``. ``(P,)``"""
    per = part.member_tensor("grow_per_cycle", ctx.net.population, ctx.net.device)
    return torch.minimum(per, room.to(ctx.net.device))


@GROWERS.register("random")
class RandomGrower(Grower):
    """Uniformly random dormant connections, weights from the layer's initializer (the paper's
    random synthesis; with pruning ≈ SET). Some start near zero and are pruned next cycle."""

    PARAMS: ClassVar[tuple[Param, ...]] = (GROW_PER_CYCLE,)

    def plan(self, ctx: CycleContext, room: torch.Tensor, stats: BatchStats | None = None) -> list[Growth]:
        net = ctx.net
        scores = [ctx.streams.rand(*m.shape[1:]).to(net.device) for m in net.masks]
        picks = by_score(ctx, scores, budget(self, ctx, room))
        values = [net.sample_init(l, ctx.streams) for l in range(net.n_layers)]  # drawn every cycle, used or not
        return [Growth(l, w, values[l], "random") for l, w in enumerate(picks) if any_true(w)]


@GROWERS.register("gradient")
class GradientGrower(Grower):
    """Dormant connections with the largest |∂L/∂w| on a sample of training rows (RigL; NeST's
    connection growth). They start at zero, as in RigL, so growing does not change the loss;
    the gradient that ranked them then moves them away from zero."""

    PARAMS: ClassVar[tuple[Param, ...]] = (GROW_PER_CYCLE,)
    needs_gradients = True

    def plan(self, ctx: CycleContext, room: torch.Tensor, stats: BatchStats | None = None) -> list[Growth]:
        if stats is None:
            raise ValueError("gradient growth needs gradients: pass stats from batch_stats(ctx)")
        net = ctx.net
        picks = by_score(ctx, [g.abs() for g in stats.grads], budget(self, ctx, room))
        zeros = [torch.zeros_like(w) for w in net.weights]
        return [Growth(l, w, zeros[l], "gradient") for l, w in enumerate(picks) if any_true(w)]
