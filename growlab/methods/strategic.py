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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from growlab.engine import Network
from growlab.methods.context import CycleContext
from growlab.methods.grow import GROWERS, Grower, Growth
from growlab.methods.params import Param
from growlab.methods.scores import BatchStats
from growlab.methods.structure import active, flat, locate

SIGMA_FLOOR = 1e-6

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
    scores = flat([torch.where(active(net, l), w.detach().abs(), -1.0) for l, w in enumerate(net.weights)])
    k = min(int(n.max()) if n.numel() else 0, scores.shape[1])
    vals, idx = scores.topk(k, dim=1)  # (P, k), strongest first
    rank = torch.arange(k, device=scores.device).expand_as(idx)
    valid = (vals >= 0) & (rank < n.to(scores.device)[:, None])
    member = torch.arange(net.population, device=scores.device)[:, None].expand_as(idx)[valid]
    layer, target, source = locate(net, idx[valid])
    weight = torch.zeros(len(member), dtype=net.weights[0].dtype, device=scores.device)
    for l, w in enumerate(net.weights):  # signed weights of the junctures, layer by layer
        sel = layer == l
        weight[sel] = w.detach()[member[sel], target[sel], source[sel]]
    return Junctures(member, layer, target, source, weight, rank[valid])


def terminus_logits(beta: torch.Tensor, n_out: int, sigma: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """Log of the unnormalised eq. 2 weight of every terminus: −(|k − β| − μ)² / (2σ²). ``(M, n_out)``."""
    k = torch.arange(n_out, dtype=torch.float64, device=beta.device)
    dist = (k[None, :] - beta.double()[:, None]).abs()
    sigma = sigma.double().clamp(min=SIGMA_FLOOR)[:, None]
    return -((dist - mu.double()[:, None]) ** 2) / (2 * sigma**2)


def sample_termini(
    logits: torch.Tensor, candidates: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One terminus per row with probability ∝ exp(logits) among ``candidates``.

    Returns:
        ``(choice, has)``: chosen index ``(M,)`` and whether the row had any candidate ``(M,)``
        (a row without one returns index 0; ignore it).

    Example:
        >>> logits = torch.tensor([[0.0, -1.0, -1e9]], dtype=torch.float64)
        >>> sample_termini(logits, torch.tensor([[False, True, True]]), torch.Generator())[0].tolist()
        [1]
    """
    has = candidates.any(dim=1)
    masked = torch.where(candidates, logits, float("-inf"))
    best = masked.max(dim=1, keepdim=True).values.nan_to_num(neginf=0.0)  # (M, 1)
    # relative to each row's best, so a tiny σ cannot underflow every candidate; below e^-200 a
    # candidate's chance is nil anyway, and clamping there keeps exp fast (no denormals)
    probs = torch.where(candidates, torch.exp((masked - best).clamp(min=-200.0)), 0.0)
    cdf = probs.cumsum(dim=1)  # (M, n_out); inverse-CDF sampling, one uniform per row
    u = torch.rand(len(has), 1, generator=generator, dtype=cdf.dtype).to(cdf.device) * cdf[:, -1:]
    choice = torch.searchsorted(cdf, u, right=True)[:, 0].clamp(max=max(cdf.shape[1] - 1, 0))
    return choice, has


@GROWERS.register("strategic")
class StrategicGrower(Grower):
    """Grows from the N focal junctures toward nearby dormant neurons (see the module docstring).

    After :meth:`plan`, ``self.junctures`` holds the cycle's focal junctures (for overlays).
    """

    PARAMS: ClassVar[tuple[Param, ...]] = STRATEGIC_PARAMS

    def plan(self, ctx: CycleContext, room: torch.Tensor, stats: BatchStats | None = None) -> list[Growth]:
        net = ctx.net
        P, dev = net.population, net.device
        self.junctures = J = focal_junctures(net, self.member_tensor("focal_junctures", P, dev))
        sigma, mu = self.member_tensor("sigma", P, dev), self.member_tensor("mu", P, dev)
        picks = [self._layer_picks(ctx, J, l, sigma, mu) for l in range(net.n_layers)]
        p, l, k, i, rank, value, cause = (torch.cat(col) for col in zip(*picks))
        p, l, k, i, rank, value, cause = _first_and_within(net, room.to(dev), p, l, k, i, rank, value, cause)
        out = []
        for layer in range(net.n_layers):
            sel = l == layer
            if not sel.any():
                continue
            where = torch.zeros_like(net.masks[layer])
            where[p[sel], k[sel], i[sel]] = True
            values = torch.zeros_like(net.weights[layer], dtype=net.weights[layer].dtype)
            values[p[sel], k[sel], i[sel]] = value[sel].to(values.dtype)
            causes = None
            if ctx.events is not None and P == 1:
                causes = [juncture_cause(layer, int(src), int(tgt)) for src, tgt in _pairs(J, cause[sel])]
            out.append(Growth(layer, where, values, causes))
        return out

    def _layer_picks(self, ctx: CycleContext, J: Junctures, l: int, sigma: torch.Tensor, mu: torch.Tensor):
        """Sampled termini of layer ``l``'s junctures: (member, layer, k, i, rank, value, juncture index)."""
        net = ctx.net
        idx = (J.layer == l).nonzero().flatten()
        p, i, j, w, rank = J.member[idx], J.source[idx], J.target[idx], J.weight[idx], J.rank[idx]
        n_in, n_out = net.capacity[l], net.capacity[l + 1]
        if self.values["center"] == "target":
            beta = j.double()
        elif n_in > 1:
            beta = i.double() * (n_out - 1) / (n_in - 1)
        else:  # a single origin sits level with the middle of the next layer
            beta = torch.full_like(i, n_out - 1, dtype=torch.float64) / 2
        logits = terminus_logits(beta, n_out, sigma[p], mu[p])  # (M, n_out)
        alive_i = net.alive[l][p, i][:, None]  # (M, 1)
        candidates = ~net.masks[l][p, :, i] & net.alive[l + 1][p] & alive_i  # (M, n_out): dormant termini
        k, has = sample_termini(logits, candidates, ctx.generator)
        if self.values["init_weight"] == "copy":
            value = w.double()
        elif self.values["init_weight"] == "gaussian":
            value = w.double() * torch.gather(logits, 1, k[:, None])[:, 0].exp()
        else:
            value = net.sample_init(l, ctx.generator)[p, k, i].double()
        keep = has
        return p[keep], torch.full_like(p[keep], l), k[keep], i[keep], rank[keep], value[keep], idx[keep]


def _pairs(J: Junctures, index: torch.Tensor) -> list[tuple[int, int]]:
    """``(source, target)`` of the junctures at ``index``."""
    return list(zip(J.source[index].tolist(), J.target[index].tolist()))


def _first_and_within(net: Network, room: torch.Tensor, p, l, k, i, rank, value, cause):
    """Drop repeated picks (keep the highest-ranked juncture's) and keep each member's best
    ``room[p]``; the result is sorted by (member, layer, target, source), ``nonzero()`` order."""
    L, n_out, n_in = net.n_layers, max(net.capacity), max(net.capacity)
    key = ((p * L + l) * n_out + k) * n_in + i
    order = torch.argsort(rank, stable=True)
    order = order[torch.argsort(key[order], stable=True)]  # by key, then rank
    key_sorted = key[order]
    first = torch.ones_like(key_sorted, dtype=torch.bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    order = order[first]
    # within each member, junctures by rank: keep the first room[p]
    by_rank = order[torch.argsort(rank[order], stable=True)]
    by_rank = by_rank[torch.argsort(p[by_rank], stable=True)]
    members = p[by_rank]
    start = torch.searchsorted(members, members, right=False)
    pos = torch.arange(len(members), device=members.device) - start
    kept = by_rank[pos < room[members]]
    kept = kept[torch.argsort(key[kept])]
    return p[kept], l[kept], k[kept], i[kept], rank[kept], value[kept], cause[kept]
