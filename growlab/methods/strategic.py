"""Strategic synthesis (Finlinson & Moschoyiannis, eq. 1–2), as growlab interprets it.

Each cycle:

1. The N active connections with the largest |w| over all layers are the *focal junctures*.
2. A juncture i → j of layer l seeds one new connection from the same origin i to a terminus
   k of the next neuron layer. β places i on that layer's index scale,
   β = i·(n_{l+1} − 1)/(n_l − 1) (``center="origin"``, the paper's; ``"target"`` uses β = j),
   with n the layer capacities (the configured widths unless a method grows neurons). Each
   *dormant* candidate k gets probability ∝ exp(−(|k − β| − μ)² / (2σ²)) (eq. 2; σ in
   neuron spacings; σ below 1e-6 counts as 1e-6, which already means "the nearest"). One
   terminus is sampled; a juncture whose origin has no dormant candidate is skipped.
   Two junctures that pick the same connection in one cycle grow it once (the higher-ranked
   juncture is its cause). Growth stops at the sparsity threshold, higher-ranked junctures first.
3. The new weight is the juncture's (``copy``, the paper's choice), the juncture's times the
   Gaussian factor exp(−(|k − β| − μ)²/(2σ²)) of the chosen distance (``gaussian``), or a draw
   from the layer's initializer (``random``).

The terminus draw of step 2 lives in :mod:`growlab.methods.termini`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import ClassVar

import torch

from growlab.engine import Network
from growlab.methods.context import CycleContext
from growlab.methods.grow import GROWERS, Grower, Growth
from growlab.methods.params import Param
from growlab.methods.scores import BatchStats
from growlab.methods.structure import active, flat, locate
from growlab.methods.termini import SIGMA_FLOOR, logits_at, sample_near, sample_termini, terminus_logits  # noqa: F401

STRATEGIC_PARAMS = (
    Param("focal_junctures", 4, "int", low=0, high=100_000, per_member=True,
          doc="N: the strongest active connections (|w|, all layers) that each seed one new connection per cycle"),
    Param("sigma", 1.0, "float", low=0, high=1_000, low_open=True, per_member=True,
          doc="σ: spread of the terminus Gaussian, in neuron spacings of the next layer"),
    Param("mu", 0.0, "float", low=0, high=1_000, per_member=True,
          doc="μ: preferred distance |k − β| of the terminus from β"),
    Param("center", "origin", "choice", choices=("origin", "target"),
          doc="β: level with the juncture's origin (paper), or at the juncture's own target"),
    Param("init_weight", "copy", "choice", choices=("copy", "gaussian", "random"),
          doc="new weight: the juncture's (copy), times the Gaussian factor (gaussian), or the layer initializer (random)"),
)  # fmt: skip


def juncture_cause(layer: int, source: int, target: int) -> str:
    """The ``cause`` text of a connection grown from juncture ``source → target`` of ``layer``.

    Example:
        >>> juncture_cause(0, 3, 5)
        'juncture 0:3→5'
    """
    return f"juncture {layer}:{source}→{target}"


@dataclass
class Junctures:
    """Focal junctures of a population, one entry each (``(M,)`` tensors)."""

    member: torch.Tensor
    layer: torch.Tensor
    target: torch.Tensor
    source: torch.Tensor
    weight: torch.Tensor
    rank: torch.Tensor  # 0 = the strongest of its member

    def of_member(self, p: int = 0) -> list[tuple[int, int, int]]:
        """``(layer, source, target)`` of member ``p``'s junctures, strongest first."""
        sel = self.member == p
        return list(zip(self.layer[sel].tolist(), self.source[sel].tolist(), self.target[sel].tolist()))


def focal_junctures(net: Network, n: torch.Tensor) -> Junctures:
    """The ``n[p]`` active connections of largest |w| over all layers, per member (eq. 1).

    Example:
        >>> net = Network((3, 2, 1))
        >>> len(focal_junctures(net, torch.tensor([2])).rank)
        2
    """
    weights = flat([w.detach() for w in net.weights])  # (P, total)
    scores = torch.where(flat([active(net, l) for l in range(net.n_layers)]), weights.abs(), -1.0)
    k = min(int(n.max()) if n.numel() else 0, scores.shape[1])
    vals, idx = scores.topk(k, dim=1)  # (P, k), strongest first
    rank = torch.arange(k, device=scores.device).expand_as(idx)
    valid = (vals >= 0) & (rank < n.to(scores.device)[:, None])
    member = torch.arange(net.population, device=scores.device)[:, None].expand_as(idx)[valid]
    index = idx[valid]
    layer, target, source = locate(net, index)
    return Junctures(member, layer, target, source, weights[member, index], rank[valid])


@GROWERS.register("strategic")
class StrategicGrower(Grower):
    """Grows from the N focal junctures toward nearby dormant neurons (see the module docstring).

    After :meth:`plan`, ``self.junctures`` holds the cycle's focal junctures (for overlays).
    """

    PARAMS: ClassVar[tuple[Param, ...]] = STRATEGIC_PARAMS

    def plan(self, ctx: CycleContext, room: torch.Tensor, stats: BatchStats | None = None) -> list[Growth]:
        out = []
        for layer, index, values, causes in self._picks(ctx, room):
            shape = ctx.net.masks[layer].shape
            where = torch.zeros(shape, dtype=torch.bool, device=index.device)
            where.view(-1)[index] = True
            full = torch.zeros(shape, dtype=values.dtype, device=index.device)
            full.view(-1)[index] = values
            out.append(Growth(layer, where, full, causes))
        return out

    def grow(self, ctx: CycleContext, room: torch.Tensor, stats: BatchStats | None = None) -> torch.Tensor:
        """:meth:`plan` and grow it, without building whole-layer masks (the same result)."""
        done = torch.zeros(ctx.net.population, dtype=torch.long, device=ctx.net.device)
        for layer, index, values, causes in self._picks(ctx, room):
            done += ctx.grow_at(layer, index, values, causes)
        return done

    def _picks(self, ctx: CycleContext, room: torch.Tensor) -> list[tuple]:
        """Per layer with growth: ``(layer, index, values, causes)``; ``index`` ascending flat
        positions in the layer's ``(P, out, in)``, ``values`` in the weights' dtype."""
        net = ctx.net
        P, dev = net.population, net.device
        self.junctures = J = focal_junctures(net, self.member_tensor("focal_junctures", P, dev))
        sigma, mu = self.member_tensor("sigma", P, dev), self.member_tensor("mu", P, dev)
        picks = [self._layer_picks(ctx, J, l, sigma, mu) for l in range(net.n_layers)]
        p, l, k, i, rank, value, cause = (torch.cat(col) for col in zip(*picks))
        p, l, k, i, rank, value, cause = _first_and_within(net, room.to(dev), p, l, k, i, rank, value, cause)
        out = []
        for layer in range(net.n_layers):
            sel = (l == layer).nonzero().flatten()
            if not len(sel):
                continue
            _, n_out, n_in = net.masks[layer].shape
            index = (p[sel] * n_out + k[sel]) * n_in + i[sel]  # ascending: picks are sorted by (p, l, k, i)
            causes = None
            if ctx.events is not None and P == 1:
                src, tgt = J.source[cause[sel]].tolist(), J.target[cause[sel]].tolist()
                causes = list(map(juncture_cause, repeat(layer), src, tgt))
            out.append((layer, index, value[sel].to(net.weights[layer].dtype), causes))
        return out

    def _layer_picks(self, ctx: CycleContext, J: Junctures, l: int, sigma: torch.Tensor, mu: torch.Tensor):
        """Sampled termini of layer ``l``'s junctures: (member, layer, k, i, rank, value, juncture index)."""
        net, dev = ctx.net, ctx.net.device
        idx = (J.layer == l).nonzero().flatten()
        p, i, j, w, rank = J.member[idx], J.source[idx], J.target[idx], J.weight[idx], J.rank[idx]
        n_in, n_out = net.capacity[l], net.capacity[l + 1]
        if self.values["center"] == "target":
            beta = j.double()
        elif n_in > 1:
            beta = i.double() * (n_out - 1) / (n_in - 1)
        else:  # a single origin sits level with the middle of the next layer
            beta = torch.full_like(i, n_out - 1, dtype=torch.float64) / 2
        # one uniform per juncture, each from its member's stream (idx is member-major)
        u = ctx.streams.rand_each(torch.bincount(p, minlength=net.population).tolist())[:, None].to(dev)
        key = p * n_in + i if self.values["center"] == "origin" else (p * n_in + i) * n_out + j  # same key, same draw
        k, has = sample_near(net, l, p, i, beta, sigma[p], mu[p], u, key)
        if self.values["init_weight"] == "copy":
            value = w.double()
        elif self.values["init_weight"] == "gaussian":
            value = w.double() * logits_at(k.double()[:, None], beta, sigma[p], mu[p])[:, 0].exp()
        else:
            value = net.sample_init(l, ctx.streams)[p, k, i].double()
        keep = slice(None) if bool(has.all()) else has
        return p[keep], torch.full_like(p[keep], l), k[keep], i[keep], rank[keep], value[keep], idx[keep]


def _first_and_within(net: Network, room: torch.Tensor, p, l, k, i, rank, value, cause):
    """Drop repeated picks (keep the highest-ranked juncture's) and keep each member's best
    ``room[p]``; the result is sorted by (member, layer, target, source), ``nonzero()`` order."""
    L, n_out, n_in = net.n_layers, max(net.capacity), max(net.capacity)
    key = ((p * L + l) * n_out + k) * n_in + i
    span = int(rank.max()) + 1 if len(rank) else 1  # ranks are distinct within a member
    if len(key) and int(key.max()) >= 2**62 // span:  # too large to combine: sort twice, stably
        order = torch.argsort(rank, stable=True)
        order = order[torch.argsort(key[order], stable=True)]
    else:
        order = torch.argsort(key * span + rank)  # by key, then rank (distinct: no ties to break)
    key_sorted = key[order]
    first = torch.ones_like(key_sorted, dtype=torch.bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    order = order[first]
    # within each member, junctures by rank: keep the first room[p]
    by_rank = order[torch.argsort(p[order] * span + rank[order])]
    members = p[by_rank]
    start = torch.searchsorted(members, members, right=False)
    pos = torch.arange(len(members), device=members.device) - start
    kept = by_rank[pos < room[members]]
    kept = kept[torch.argsort(key[kept])]
    return p[kept], l[kept], k[kept], i[kept], rank[kept], value[kept], cause[kept]
