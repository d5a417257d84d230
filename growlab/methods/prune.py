"""Pruning: criteria (what to remove first), scope, granularity, and schedules (how many, when).

A criterion scores every active connection's importance; the pruner removes the lowest-scoring
eligible ones, over the whole network (``global``) or each layer in proportion to its active
connections (``per_layer``). Eligible means active, at least ``min_age`` cycles old, and not
the last incoming connection of an output unit (the pruner always keeps each output's most
important incoming connection, so no output is ever cut off). With ``keep_inputs`` it also
keeps every input on an input → output path: each neuron on such a path keeps its most
important connection onward to a neuron that still reaches an output (:func:`path_links`), so
by induction every input that reached an output before a cycle still does after it. On a conv network a connection
is a kernel tap; ``granularity`` prunes whole kernels or whole channels instead (see
:mod:`growlab.methods.groups`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from growlab.engine import Network, reaching_outputs
from growlab.methods.base import Part
from growlab.methods.context import CycleContext
from growlab.methods.groups import GRANULARITIES, channel_units, kernel_masks
from growlab.methods.params import Param
from growlab.methods.registry import Registry
from growlab.methods.scores import BatchStats
from growlab.methods.structure import active, any_true, flat, pick_top, share, unflat


class Criterion(Part):
    """Importance of each connection: the lowest is pruned first."""

    label = "prune criterion"
    #: whether it needs the empirical Fisher diagonal as well as gradients
    needs_fisher: ClassVar[bool] = False

    def scores(self, net: Network, stats: BatchStats | None) -> list[torch.Tensor]:
        """One importance tensor per layer, shaped like its weights (``(P, out, in)``; conv taps
        ``(P, out, in, k, k)``)."""
        raise NotImplementedError


CRITERIA: Registry[Criterion] = Registry("prune criterion")


@CRITERIA.register("magnitude")
class Magnitude(Criterion):
    """|w|: the paper's criterion."""

    def scores(self, net: Network, stats: BatchStats | None) -> list[torch.Tensor]:
        return [w.detach().abs() for w in net.weights]


@CRITERIA.register("taylor")
class Taylor(Criterion):
    """|w·∂L/∂w|: the first-order estimate of the loss change when w is set to 0."""

    needs_gradients = True

    def scores(self, net: Network, stats: BatchStats | None) -> list[torch.Tensor]:
        return [(w.detach() * g).abs() for w, g in zip(net.weights, stats.grads)]


@CRITERIA.register("obd")
class OBD(Criterion):
    """Optimal Brain Damage saliency ½·H_kk·w², with the Hessian diagonal H_kk approximated by
    the empirical Fisher diagonal (the mean squared per-example gradient), not the true Hessian."""

    needs_gradients = True
    needs_fisher = True

    def scores(self, net: Network, stats: BatchStats | None) -> list[torch.Tensor]:
        return [0.5 * f * w.detach().square() for w, f in zip(net.weights, stats.fisher)]


CRITERION_PARAMS = (
    Param("criterion", "magnitude", "choice", choices=CRITERIA.names(),
          doc="what is pruned first: smallest |w|, |w·∂L/∂w| (taylor) or ½·F·w² (obd, Fisher ≈ Hessian)"),
    Param("scope", "global", "choice", choices=("global", "per_layer"),
          doc="rank all layers together, or prune each layer in proportion to its active connections"),
    Param("granularity", "weight", "choice", choices=GRANULARITIES,
          doc="what one pruning step removes: a weight (a kernel tap), a whole kernel (a channel-graph edge) "
          "or a whole hidden channel / neuron; groups rank by their mean score"),
)  # fmt: skip
MIN_AGE = Param(
    "min_age", 1, "int", low=0, high=10_000, per_member=True,
    doc="never prune a connection younger than this many cycles (a newborn is not removed at once)",
)  # fmt: skip
#: Off by default (plain magnitude pruning may cut an input off, as the paper's does). For the
#: strategic hybrid it matters most: strategic growth grows only from the origin of an active
#: connection, so an input whose last connection is pruned is never reconnected.
KEEP_INPUTS = Param(
    "keep_inputs", False, "bool",
    doc="never cut an input off the outputs: each neuron on an input → output path keeps its strongest link onward",
)  # fmt: skip


class Pruner(Part):
    """Removes the least important eligible connections: ``prune(ctx, counts)``."""

    label = "pruner"
    PARAMS = (*CRITERION_PARAMS, MIN_AGE, KEEP_INPUTS)

    @property
    def criterion(self) -> Criterion:
        return CRITERIA.make(self.values["criterion"])

    def _candidates(self, ctx: CycleContext, stats: BatchStats | None):
        """Per layer: importance, active connections, and which of them may be pruned."""
        net = ctx.net
        importance = self.criterion.scores(net, stats)
        min_age = self.member_tensor("min_age", net.population, net.device)
        acts = [active(net, l) for l in range(net.n_layers)]
        kept = path_links(net, importance, acts) if self.values.get("keep_inputs") else None
        eligible = []
        for l, (imp, act) in enumerate(zip(importance, acts)):
            born_by = (ctx.cycle - min_age).to(torch.int32).view(-1, *[1] * (act.dim() - 1))  # old enough if born by then
            ok = act & (net.birth_cycle[l] <= born_by)
            if l == net.n_layers - 1:
                ok &= ~strongest_incoming(act, imp)
            if kept is not None:
                ok &= ~kept[l]
            eligible.append(ok)
        return importance, acts, eligible

    def select(self, ctx: CycleContext, counts: torch.Tensor, stats: BatchStats | None = None) -> list[torch.Tensor]:
        """Which connections to prune, ``counts[p]`` per member at most (whole kernels or channels:
        at least, see :mod:`growlab.methods.groups`). One bool per layer, shaped like its weights."""
        net = ctx.net
        importance, acts, eligible = self._candidates(ctx, stats)
        counts = counts.to(net.device)
        scope, granularity = self.values["scope"], self.values.get("granularity", "weight")
        if granularity == "kernel":
            return kernel_masks(net, importance, acts, eligible, counts, scope)
        if granularity == "channel":
            units = channel_units(net, importance, acts, eligible, counts, scope)
            return _unit_masks(net, units, acts)
        keyed = [torch.where(ok, -imp.float(), float("-inf")) for ok, imp in zip(eligible, importance)]  # highest first
        if scope == "global":
            return unflat(net, pick_top(flat(keyed), counts))
        shares = share(counts, torch.stack([a.flatten(1).sum(dim=1) for a in acts], dim=1))
        return [pick_top(k.flatten(1), shares[:, l]).view_as(k) for l, k in enumerate(keyed)]

    def prune(self, ctx: CycleContext, counts: torch.Tensor, stats: BatchStats | None = None) -> torch.Tensor:
        """Prune through ``ctx`` (weights zeroed, moments reset, events; removed channels
        switched off). Returns connections pruned per member ``(P,)``."""
        granularity = self.values.get("granularity", "weight")
        cause = f"{self.values['criterion']} ({self.values['scope']})"
        if granularity != "weight":
            cause = f"{self.values['criterion']} ({self.values['scope']}, {granularity})"
        net = ctx.net
        done = torch.zeros(net.population, dtype=torch.long, device=net.device)
        if granularity == "channel":
            importance, acts, eligible = self._candidates(ctx, stats)
            units = channel_units(net, importance, acts, eligible, counts.to(net.device), self.values["scope"])
            for k, gone in units.items():
                if any_true(gone):
                    done += remove_units(ctx, k, gone, cause)
            return done
        for l, where in enumerate(self.select(ctx, counts, stats)):
            if any_true(where):
                done += ctx.prune(l, where, cause=cause)
        return done


def _unit_masks(net: Network, units: dict[int, torch.Tensor], acts: list[torch.Tensor]) -> list[torch.Tensor]:
    """The active weights into and out of ``units`` (neuron layer → ``(P, cap[k])``), per layer."""
    out = [torch.zeros_like(a) for a in acts]
    for k, gone in units.items():
        into, away = net.unit_weights(k, gone)
        out[k - 1] |= into & acts[k - 1]
        out[k] |= away & acts[k]
    return out


def remove_units(ctx: CycleContext, k: int, gone: torch.Tensor, cause: str) -> torch.Tensor:
    """Prune every connection into and out of hidden units ``gone`` (bool ``(P, cap[k])``) of
    neuron layer ``k`` and switch them off (a channel's kernels, bias and flatten block go).
    Returns the connections pruned per member ``(P,)``."""
    net = ctx.net
    into, away = net.unit_weights(k, gone)
    done = ctx.prune(k - 1, into, cause=cause) + ctx.prune(k, away, cause=cause)
    ctx.set_units(k, net.alive[k] & ~gone, kind="unit_remove", cause=cause)
    return done


def path_links(net: Network, importance: list[torch.Tensor], acts: list[torch.Tensor]) -> list[torch.Tensor]:
    """The fewest connections that keep every input on an input → output path: each input on a
    path keeps its most important active connection to a neuron of the next layer that reaches
    an output, each neuron so reached keeps its own, and so on to the outputs. One bool per
    layer, shaped like its weights.

    Kept, they leave every input that was on a path on one, whatever else is pruned. On a conv
    network this is the channel graph's (:mod:`growlab.engine.graph`): a link is a kernel (a
    channel's block after the flatten), ranked by its most important active tap, the one kept.

    Example:
        >>> net = Network((2, 2, 1))
        >>> acts = [m.clone() for m in net.masks]
        >>> imp = [torch.tensor([[[0.1, 0.2], [0.3, 0.4]]]), torch.tensor([[[0.5, 0.6]]])]
        >>> [k[0].int().tolist() for k in path_links(net, imp, acts)]  # both inputs through hidden 1
        [[[0, 0], [1, 1]], [[0, 1]]]
    """
    edges = [net.edges(l, a) for l, a in enumerate(acts)]  # (P, out, in) channel-graph edges
    onward = reaching_outputs(net.alive, edges)  # per neuron layer: alive and reaching an output
    keeping = onward[0]  # the inputs on a path, then the neurons their kept links reach
    kept = []
    for l, (imp, act) in enumerate(zip(importance, acts)):
        taps = net.taps(l, torch.where(act, imp.float(), float("-inf")))  # (P, out, in, fan)
        best, tap = taps.max(dim=-1)  # each link's most important active tap
        ok = edges[l] & keeping[:, None, :] & onward[l + 1][:, :, None]
        to = torch.where(ok, best, float("-inf")).argmax(dim=1, keepdim=True)  # (P, 1, in): the best link onward
        link = torch.zeros_like(ok).scatter_(1, to, True) & ok.any(dim=1, keepdim=True)
        one = torch.zeros(taps.shape, dtype=torch.bool, device=act.device).scatter_(-1, tap[..., None], True)
        kept.append((one & link[..., None]).reshape(act.shape))
        keeping = link.any(dim=2)
    return kept


def strongest_incoming(mask: torch.Tensor, importance: torch.Tensor) -> torch.Tensor:
    """Each unit's most important active incoming connection. Bool like ``mask`` ``(P, out, in)``."""
    best = torch.where(mask, importance.float(), float("-inf")).argmax(dim=2, keepdim=True)  # (P, out, 1)
    keep = torch.zeros_like(mask).scatter_(2, best, True)
    return keep & mask.any(dim=2, keepdim=True)


# ---------------------------------------------------------------------------- schedules
@dataclass
class PruneNeed:
    """What a schedule decides from: all per member ``(P,)`` except ``possible`` and ``progress``."""

    active: torch.Tensor  # connections active now
    possible: int  # connections of the dense network
    target: torch.Tensor  # final sparsity T
    initial: torch.Tensor  # sparsity when the run started (Zhu & Gupta's s_i)
    per_cycle: torch.Tensor  # prune_per_cycle
    progress: float  # (t - t0) / (nΔt) in [0, 1]: how far through the pruning window

    def excess(self, sparsity: torch.Tensor) -> torch.Tensor:
        """Connections above what sparsity ``sparsity`` allows (≥ 0)."""
        keep = torch.floor((1 - sparsity.double()) * self.possible + 1e-6).long()
        return (self.active - keep.to(self.active.device)).clamp(min=0)


class PruneSchedule(Part):
    """How many connections a pure-pruning cycle removes."""

    label = "prune schedule"

    def count(self, need: PruneNeed) -> torch.Tensor:
        raise NotImplementedError


PRUNE_SCHEDULES: Registry[PruneSchedule] = Registry("prune schedule")


@PRUNE_SCHEDULES.register("constant")
class ConstantSchedule(PruneSchedule):
    """Jump to the target sparsity at the first cycle and hold it (TF-MOT ``ConstantSparsity``)."""

    def count(self, need: PruneNeed) -> torch.Tensor:
        return need.excess(need.target)


@PRUNE_SCHEDULES.register("steps")
class StepsSchedule(PruneSchedule):
    """Remove ``prune_per_cycle`` connections per cycle until the target (the paper's constant pruning)."""

    def count(self, need: PruneNeed) -> torch.Tensor:
        return torch.minimum(need.excess(need.target), need.per_cycle.to(need.active.device))


@PRUNE_SCHEDULES.register("polynomial")
class PolynomialSchedule(PruneSchedule):
    """Zhu & Gupta's cubic ramp from the starting sparsity to the target over the pruning window."""

    def count(self, need: PruneNeed) -> torch.Tensor:
        return need.excess(polynomial_sparsity(need.progress, need.initial, need.target))


def polynomial_sparsity(progress: float, initial: torch.Tensor, final: torch.Tensor) -> torch.Tensor:
    """Zhu & Gupta (2017): s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(nΔt))³, with ``progress`` = (t − t0)/(nΔt).

    Example:
        >>> s = polynomial_sparsity(0.5, torch.zeros(1, dtype=torch.float64), torch.full((1,), 0.8, dtype=torch.float64))
        >>> round(float(s), 6)  # 0.8 - 0.8 · 0.5³
        0.7
    """
    p = min(max(float(progress), 0.0), 1.0)
    return final + (initial - final) * (1 - p) ** 3
