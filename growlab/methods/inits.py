"""Init parts: which connections are active when training starts.

``dense`` (all), ``subnet`` (the paper's random-walk sub-network), ``random`` (Erdős–Rényi at
a given density) and ``core`` (given masks, e.g. the common core of earlier runs).

Initial structures are drawn from per-seed generators, not the run's shared one, so members
that share a seed start from the same structure whichever method trains them (the paper
trains "the same 50 models" under every method). Setting the structure records no events
and counts nothing as grown or pruned: it is where the run starts.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from growlab.engine import Network
from growlab.methods.base import Part
from growlab.methods.context import CycleContext
from growlab.methods.params import Param
from growlab.methods.registry import Registry
from growlab.methods.structure import member_generators


class Init(Part):
    """Chooses the active connections at the start (``apply``)."""

    label = "init"

    def apply(self, ctx: CycleContext) -> None:
        """Set the network's edge masks."""
        raise NotImplementedError


INITS: Registry[Init] = Registry("init")

_WALK_SALT = 0x5AB
_RANDOM_SALT = 0xE12D05


def set_structure(ctx: CycleContext, masks: list[torch.Tensor]) -> None:
    """Make ``masks`` (one ``(P, out, in)`` bool per layer) the active set; newly active weights
    come from the layer's initializer (a fresh dense network keeps its initial weights)."""
    net = ctx.net
    for l, m in enumerate(masks):
        net.set_mask(l, m, values=net.sample_init(l, ctx.streams), epoch=ctx.epoch, cycle=ctx.cycle)


@INITS.register("dense")
class DenseInit(Init):
    """Every connection active."""

    def apply(self, ctx: CycleContext) -> None:
        set_structure(ctx, [torch.ones_like(m) for m in ctx.net.masks])


def random_walk(sizes: tuple[int, ...], capacity: tuple[int, ...], generator: torch.Generator) -> list[torch.Tensor]:
    """The paper's sub-network: one coalescing random walk from every input to the outputs.

    Every input connects to a uniformly random neuron of the next layer; every neuron reached
    then connects to a uniformly random neuron of the layer after, and so on to the outputs.
    Walks that meet at a neuron go on together, sharing their connections from there (so the
    27-16-8-1 network starts at about 8% density, the paper's ~92% sub-network sparsity).
    Each output no walk reached gets a walk traced back from it to a random input.

    Returns:
        One bool mask ``(capacity[l+1], capacity[l])`` per layer.

    Example:
        >>> masks = random_walk((3, 4, 1), (3, 4, 1), torch.Generator().manual_seed(0))
        >>> [int(m.sum(dim=0).max()) for m in masks]  # one outgoing connection per neuron
        [1, 1]
    """
    masks = [torch.zeros(capacity[l + 1], capacity[l], dtype=torch.bool) for l in range(len(sizes) - 1)]
    reached = torch.arange(sizes[0])
    for l, mask in enumerate(masks):
        nxt = torch.randint(sizes[l + 1], (sizes[l],), generator=generator)  # one choice per neuron
        mask[nxt[reached], reached] = True
        reached = torch.unique(nxt[reached])
    missing = sorted(set(range(sizes[-1])) - set(reached.tolist()))
    for out in missing:
        cur = out
        for l in reversed(range(len(masks))):
            prev = int(torch.randint(sizes[l], (1,), generator=generator))
            masks[l][cur, prev] = True
            cur = prev
    return masks


@INITS.register("subnet")
class SubnetInit(Init):
    """The random-walk sub-network of the synthesis paper (see :func:`random_walk`).

    On a conv network the walk runs on the channel graph (DESIGN §3b): from every input
    channel to a random channel of the next layer, and so on, each step activating a whole
    kernel (every tap; after the flatten, the channel's whole block of columns into a neuron).
    """

    def apply(self, ctx: CycleContext) -> None:
        net = ctx.net
        gens = member_generators(net.seeds, _WALK_SALT)
        walks = {s: random_walk(net.sizes, net.capacity, g) for s, g in gens.items()}
        masks = [net.spread(l, torch.stack([walks[s][l] for s in net.seeds])) for l in range(net.n_layers)]
        set_structure(ctx, masks)


def erdos_renyi_densities(shapes: list[tuple[int, ...]], density: float) -> list[float]:
    """Per-layer densities of the Erdős–Rényi topology of SET (Mocanu et al. 2018): layer
    (n_out, n_in) gets ε·(n_in + n_out)/(n_in·n_out), capped at 1, with ε chosen so the whole
    network has ``density``. Small layers (the output layer) end up denser than large ones.
    A conv layer (n_out, n_in, k, k) gets RigL's Erdős–Rényi-Kernel ε·(n_out + n_in + k + k)/(n_out·n_in·k·k).

    Example:
        >>> [round(d, 3) for d in erdos_renyi_densities([(16, 27), (8, 16), (1, 8)], 0.1)]
        [0.074, 0.14, 0.841]
    """
    sizes = [math.prod(s) for s in shapes]
    raw = [sum(s) / math.prod(s) for s in shapes]
    dense: set[int] = set()
    while True:  # layers that would exceed 1 are made dense; the rest share what is left
        left = density * sum(sizes) - sum(sizes[l] for l in dense)
        eps = left / max(sum(raw[l] * sizes[l] for l in range(len(sizes)) if l not in dense), 1e-12)
        over = {l for l in range(len(sizes)) if l not in dense and eps * raw[l] > 1}
        if not over:
            return [1.0 if l in dense else max(eps * raw[l], 0.0) for l in range(len(sizes))]
        dense |= over


def random_sparse(net: Network, density: float, generator: torch.Generator) -> list[torch.Tensor]:
    """Erdős–Rényi masks at overall ``density``: layer l gets ``round(d_l · out · in)``
    uniformly random connections among its alive neurons, d_l from
    :func:`erdos_renyi_densities`, plus one random incoming connection for any output left
    without one (an output with no input cannot learn).

    Example:
        >>> net = Network((27, 16, 8, 1))
        >>> [int(m.sum()) for m in random_sparse(net, 0.1, torch.Generator().manual_seed(0))]
        [32, 18, 7]
    """
    shapes = [(net.sizes[l + 1], net.sizes[l], *net.weight_shape(l)[2:]) for l in range(net.n_layers)]
    masks = []
    for l, d in enumerate(erdos_renyi_densities(shapes, density)):
        n_out, n_in = shapes[l][0], net.sizes[l] * net.fan(l)  # a conv layer's taps, the flatten's columns
        scores = torch.rand(n_out, n_in, generator=generator)
        chosen = torch.zeros(n_out * n_in, dtype=torch.bool)
        chosen[scores.flatten().topk(int(round(d * n_out * n_in))).indices] = True
        mask = torch.zeros(net.capacity[l + 1], net.in_features(l), dtype=torch.bool)
        if net.fan(l) == 1:
            mask[:n_out, :n_in] = chosen.view(n_out, n_in)
        else:  # the configured channels' taps (or columns), in the capacity's layout
            net.taps(l, mask.view(net.weight_shape(l)))[:n_out, : net.sizes[l]] = chosen.view(n_out, net.sizes[l], -1)
        if l == net.n_layers - 1:
            rows = (~mask[:n_out, :n_in].any(dim=1)).nonzero().flatten()
            mask[rows, scores[rows].argmax(dim=1)] = True
        masks.append(mask.view(net.weight_shape(l)))
    return masks


@INITS.register("random")
class RandomInit(Init):
    """Random sparse connections at overall ``density`` (Erdős–Rényi, see :func:`random_sparse`)."""

    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param(
            "density", 0.1, "float", low=0, high=1, low_open=True, live=False, per_member=True,
            doc="fraction of connections active at the start (random sparse init, Erdős–Rényi per layer)",
        ),
    )  # fmt: skip

    def apply(self, ctx: CycleContext) -> None:
        net = ctx.net
        density = self.member_tensor("density", net.population).tolist()
        cache: dict[tuple[int, float], list[torch.Tensor]] = {}
        for seed, d in zip(net.seeds, density):
            if (seed, d) not in cache:
                g = torch.Generator().manual_seed((int(seed) * 1_000_003 + _RANDOM_SALT) % 2**63)
                cache[seed, d] = random_sparse(net, d, g)
        per_member = [cache[s, d] for s, d in zip(net.seeds, density)]
        set_structure(ctx, [torch.stack([m[l] for m in per_member]) for l in range(net.n_layers)])


@INITS.register("core")
class CoreInit(Init):
    """Start from given masks, e.g. the common core of earlier runs (DESIGN §5)."""

    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param(
            "core", None, "masks", live=False,
            doc="start from these connections: one bool (out, in) or (P, out, in) mask per layer",
        ),
    )  # fmt: skip

    def apply(self, ctx: CycleContext) -> None:
        set_structure(ctx, core_masks(ctx.net, self.values["core"]))


def core_masks(net: Network, masks: list[torch.Tensor] | None) -> list[torch.Tensor]:
    """``masks`` checked against ``net`` and broadcast to its masks' shape ``(P, out, in)`` (conv
    taps ``(P, out, in, k, k)``); ``ValueError`` if they do not fit (the message lists the shapes
    expected). A conv layer may also be given on its channel graph, one ``(out, in)`` kernel mask
    (every tap of a kernel in the core is on)."""
    want = [tuple(m.shape[1:]) for m in net.masks]
    if masks is None:
        raise ValueError("the core init needs masks: pass core=[mask per layer] (e.g. a common core)")
    if len(masks) == net.n_layers:
        masks = [_on_taps(net, l, m) for l, m in enumerate(masks)]
    got = [tuple(m.shape[m.dim() - len(w) :]) if m.dim() >= len(w) else tuple(m.shape) for m, w in zip(masks, want)]
    bad_p = [m for m, w in zip(masks, want) if m.dim() == len(w) + 1 and m.shape[0] not in (1, net.population)]
    bad_dim = [m for m, w in zip(masks, want) if m.dim() not in (len(w), len(w) + 1)]
    if len(masks) != net.n_layers or got != want or bad_p or bad_dim:
        raise ValueError(
            f"core masks have shapes {[tuple(m.shape) for m in masks]} but this network needs {want} "
            f"(one (out, in) or (P={net.population}, out, in) bool mask per weight layer; conv layers "
            "(out, in, k, k), or their (out, in) kernels)"
        )
    return [m.to(net.device).bool().expand_as(net.masks[l]).clone() for l, m in enumerate(masks)]


def _on_taps(net: Network, layer: int, mask: torch.Tensor) -> torch.Tensor:
    """A kernel-level ``(…, out, in_channels)`` mask of a conv layer (or the flatten) on every tap;
    other masks as they are."""
    kernels = (net.capacity[layer + 1], net.capacity[layer])
    if net.per_edge(layer) or mask.dim() > 3 or tuple(mask.shape[-2:]) != kernels:
        return mask
    return net.spread(layer, mask)
