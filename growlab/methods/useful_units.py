"""ε useful-unit selection (ODF2NNA, paper 002, Algorithm 3), bias folding and layer removal.

Hidden layers are visited in order. A unit is *useful* when the standard deviation of its
output (after the activation) over the evaluation rows exceeds ε. A useless unit is removed
and its mean output times its outgoing weights is added to the next layer's biases, so a unit
whose output is exactly constant leaves the network's function unchanged. Every unit is
measured on the network as it was before the selection, as the paper's Algorithm 4 builds each
unit's subnet from the original model; the removals are then applied layer by layer in order.

When every unit of a layer is useless, the layer is deleted from the layout
(:meth:`Network.remove_layer`): its constant output is folded into the next layer's biases
and the previous layer connects *directly* to the next one through a new weight layer with
freshly initialised weights (the layer's initializer), as DESIGN §4 states. This is not an
identity pass-through: the network has one hidden layer fewer, which exports, diagrams and
counts see. In a population all members share one layout, so a layer is deleted only when it
is useless in every member; a member whose layer would empty while another member still uses
it keeps its most variable unit (and the ``note`` event says so). Single-member runs, the
app's, never need this compromise.

On a conv network a channel layer's units are its channels: a channel's output std is taken
over the batch and every position of its map, its mean value folds into the next layer's
biases through the sum of each kernel's taps (or of its flatten block), and removing it takes
its kernels and flatten block with it. A conv layer is never deleted (its neighbours could
not be bridged by one weight layer): a member whose conv layer would empty keeps its most
variable channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from growlab.engine import MemberStreams, Network
from growlab.methods.context import CycleContext


@torch.no_grad()
def unit_outputs(net: Network, X: torch.Tensor, k: int) -> torch.Tensor:
    """Outputs of hidden neuron layer ``k`` after the activation. ``(P, B, cap[k])``

    Example:
        >>> unit_outputs(Network((3, 4, 1)), torch.zeros(5, 3), 1).shape
        torch.Size([1, 5, 4])
    """
    return net.trace(X).hidden(k)


@dataclass
class Plan:
    """Which units ε selection removes, decided on the network as it is (nothing changed yet).

    Attributes:
        useless: hidden neuron layer k → bool ``(P, cap[k])``, the units to remove.
        means: hidden neuron layer k → their mean outputs ``(P, cap[k])`` (what is folded).
        layers: hidden neuron layers deleted whole (useless in every member).
        kept: ``(member, neuron_layer, unit)`` kept only so a layer other members use stays.
    """

    useless: dict[int, torch.Tensor] = field(default_factory=dict)
    means: dict[int, torch.Tensor] = field(default_factory=dict)
    layers: list[int] = field(default_factory=list)
    kept: list[tuple[int, int, int]] = field(default_factory=list)

    def units(self, member: int = 0) -> list[tuple[int, int]]:
        """``(neuron_layer, unit)`` of one member that go (all units of deleted layers included)."""
        return [(k, u) for k, m in self.useless.items() for u in m[member].nonzero().flatten().tolist()]


@torch.no_grad()
def plan_removal(net: Network, X: torch.Tensor, eps: float) -> Plan:
    """Algorithm 3's decisions: unit output std over ``X`` ≤ ``eps`` → useless; nothing changes.

    Example:
        >>> net = Network((2, 3, 1))
        >>> len(plan_removal(net, torch.randn(8, 2), 1e9).units())  # every unit is useless
        3
    """
    plan, trace = Plan(), net.trace(X)
    for k in range(1, len(net.sizes) - 1):
        h = trace.hidden(k)  # (P, B, cap[k]); a channel layer's maps (P, B, C, H, W)
        if h.dim() == 5:  # a channel's values over the batch and every position of its map
            h = h.transpose(1, 2).flatten(2).transpose(1, 2)  # (P, B·H·W, C)
        std, mean = h.std(dim=1, correction=0), h.mean(dim=1)  # (P, cap[k])
        alive = net.alive[k]
        useless = alive & (std <= eps)
        empty = ~(alive & ~useless).any(dim=1)  # (P,) no useful unit would be left
        if bool(empty.all()) and k > net.n_conv:  # a conv layer is never deleted: it keeps a channel
            plan.layers.append(k)
        else:
            for p in (empty & alive.any(dim=1)).nonzero().flatten().tolist():
                best = int(torch.where(alive[p], std[p], float("-inf")).argmax())
                useless[p, best] = False  # the population shares one layout: keep the layer
                plan.kept.append((p, k, best))
        plan.useless[k], plan.means[k] = useless, mean
    return plan


@dataclass
class Removal:
    """What one ε selection removed.

    Attributes:
        units: ``(neuron_layer, unit)`` of member 0, layers numbered as before the selection.
        layers: neuron layers deleted whole (numbered as before the selection).
        counts: units removed per member ``(P,)``.
        kept: ``(member, neuron_layer, unit)`` kept only so a layer other members use stays.
    """

    units: list[tuple[int, int]] = field(default_factory=list)
    layers: list[int] = field(default_factory=list)
    counts: torch.Tensor | None = None
    kept: list[tuple[int, int, int]] = field(default_factory=list)


@torch.no_grad()
def fold_units(net: Network, k: int, units: torch.Tensor, mean: torch.Tensor) -> None:
    """Add ``mean`` output × outgoing weights of ``units`` (bool ``(P, cap[k])``) to layer k + 1's biases.

    A channel's mean value feeds each output through the sum of the kernel's taps (after the
    flatten, of its block of columns): exact for a constant map without zero padding; with
    padding the border positions see fewer taps (ODF2NNA's fold is an approximation anyway:
    a useless unit varies by up to ε)."""
    const = (mean * units)[:, :, None]  # (P, cap[k], 1)
    w = net.weights[k].detach() if net.per_edge(k) else net.taps(k, net.weights[k].detach()).sum(dim=-1)
    net.biases[k].add_(torch.bmm(w, const)[:, :, 0] * net.alive_float(k))


def select_units(net: Network, X: torch.Tensor, eps: float, streams: MemberStreams, ctx: CycleContext | None = None) -> Removal:
    """Remove the units of ``net`` whose output std over ``X`` is ≤ ``eps``, in place.

    Decided by :func:`plan_removal` first, then applied layer by layer in order: fold, then
    remove the units or delete the layer (``streams`` draw the bridge's fresh weights).
    With ``ctx`` (``net`` is ``ctx.net``) changes go through the cycle context:
    ``unit_remove``, ``bridge`` and ``grow`` events, optimizer kept in step. Without it the
    network is changed directly.

    Example:
        >>> net = Network((2, 3, 1))
        >>> r = select_units(net, torch.randn(8, 2), 1e9, MemberStreams([0]))
        >>> r.layers, net.sizes  # every unit useless: the hidden layer is gone
        ([1], (2, 1))
    """
    plan = plan_removal(net, X, eps)
    counts = torch.zeros(net.population, dtype=torch.long)
    for useless in plan.useless.values():
        counts += useless.sum(dim=1).cpu()
    removal = Removal(units=plan.units(0), layers=list(plan.layers), counts=counts, kept=list(plan.kept))
    names = list(range(len(net.sizes)))  # numbers before the selection, of the layers still there
    for layer, useless in plan.useless.items():
        k = names.index(layer)
        fold_units(net, k, useless, plan.means[layer])
        if layer in plan.layers:
            bridge_layer(net, k, streams, ctx, f"ODF2NNA: every unit of layer {layer} has output std ≤ ε = {eps:g}")
            names.remove(layer)
        else:
            _remove_units(net, k, net.alive[k] & ~useless, ctx, f"ODF2NNA: output std ≤ ε = {eps:g}")
    return removal


def _remove_units(net: Network, k: int, alive: torch.Tensor, ctx: CycleContext | None, cause: str) -> None:
    if ctx is None:
        net.set_alive(k, alive)
    elif bool((alive != net.alive[k]).any()):
        ctx.set_units(k, alive, kind="unit_remove", cause=cause)


def bridge_layer(net: Network, k: int, streams: MemberStreams, ctx: CycleContext | None, cause: str) -> None:
    """Delete hidden layer ``k`` and connect layer ``k − 1`` to layer ``k + 1`` with fresh weights.

    Every pair of alive neurons gets a connection, initialised like a new layer of that
    fan-in. Through ``ctx``: the optimizer is rebuilt for the new tensors, a ``bridge`` event
    (``layer`` = the removed neuron layer) and ``grow`` events for the new connections.
    """
    if ctx is not None:
        ctx.note("bridge", cause, layer=k)
    net.remove_layer(k)
    pairs = net.connected(k - 1, torch.ones_like(net.masks[k - 1]))  # (P, cap[k+1 before], in of layer k-1)
    values = net.sample_init(k - 1, streams)
    if ctx is None:
        net.set_mask(k - 1, pairs, values)
        return
    ctx.optimizer.rebuild()
    ctx.grow(k - 1, pairs, values, f"bridge over removed layer {k}")
