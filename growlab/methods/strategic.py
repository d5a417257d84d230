"""Strategic synthesis (Finlinson & Moschoyiannis, eq. 1–2), as growlab interprets it.

Each cycle:

1. The N active connections with the largest |w| over all layers are the *focal junctures*
   (eq. 1: "the top ranked magnitudes … bound by the parameter N").
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

The paper leaves three choices open; each reading is a parameter, today's the default:

- ``junctures`` — which connections seed growth. The paper ranks "the absolute magnitude of the
  tensor weights in all layers" and takes the top N (``all``). With the juncture's weight
  copied, the strongest connections soon share an origin every terminus of which is already
  connected, and growth stalls; ``usable`` takes the top N among connections whose
  grow-from neuron can still grow, ``one_per_origin`` at most one per grow-from neuron.
- ``grow_from`` — "the junctures have an origin (neuron) … The vector is used to select the
  terminus of the new connection using the origin of the target in the subsequent layer": the
  new connection starts at the juncture's origin (``origin``), or extends the juncture forward
  from its terminus j into the layer after (``terminus``; β is then level with j, and a
  juncture into the output layer, which has nothing after it, grows from its origin), or
  ``both``: each juncture seeds one connection from its origin and one forward from its
  terminus (the origin's first). Growing from origins only never gives a neuron its first
  connection onward (a new terminus is nobody's origin), so the neurons on input → output
  paths stay the sub-network's; growing forward only never adds an input connection, so
  each input keeps its one first-layer neuron (xor 16-8: two hidden neurons each seeing one
  input). ``both`` does both: a new terminus of a strong connection extends onward next cycle.
- ``max_grow`` — the paper's "allowing for a more significant threshold for synthesis per
  cycle" (§6.3) suggests a per-cycle budget besides N: at most this many connections per cycle
  (0: no cap but N).

The terminus draw of step 2 lives in :mod:`growlab.methods.termini`.

On a conv network strategic synthesis works on the channel graph (DESIGN §3b,
:mod:`growlab.engine.graph`): a connection is a kernel (after the flatten, a channel's block of
columns into a neuron), a focal juncture is one of the N strongest kernels — ranked by the root
mean square of their active taps, which for a dense weight is |w| — and a candidate terminus is
a *dormant kernel* (no tap on) from the same origin channel; β and the Gaussian are over the
next layer's channel index. A pick grows every tap of its kernel: ``copy`` copies the juncture's
taps (a juncture of another layer, with ``grow_from="terminus"``, gives each tap its signed
strength), ``gaussian`` scales them by the Gaussian factor, ``random`` draws them from the
layer's initializer. The budget (the threshold's room, ``max_grow``) counts taps, so a kernel
that no longer fits is not grown; ``junctures``, ``grow_from`` and ``max_grow`` keep their
meaning on the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import ClassVar

import torch

from growlab.engine import Network, channel_graph
from growlab.methods.context import CycleContext
from growlab.methods.grow import GROWERS, Grower, Growth
from growlab.methods.params import Param
from growlab.methods.scores import BatchStats
from growlab.methods.structure import active, dormant, flat, locate
from growlab.methods.termini import SIGMA_FLOOR, logits_at, sample_near, sample_termini, terminus_logits  # noqa: F401

#: Where a juncture's new connection starts (see the module docstring).
GROW_FROM = ("origin", "terminus", "both")

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
    Param("junctures", "all", "choice", choices=("all", "usable", "one_per_origin"),
          doc="which junctures seed growth: the top N by |w| (all), the top N that can still grow (usable), at most one per grow-from neuron"),
    Param("grow_from", "origin", "choice", choices=GROW_FROM,
          doc="a new connection starts at the juncture's origin (paper's reading), extends it forward from its terminus, or both (two per juncture)"),
    Param("max_grow", 0, "int", low=0, high=10_000_000, per_member=True,
          doc="at most this many connections grown per cycle (0: no cap but N)"),
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


def focal_junctures(net: Network, n: torch.Tensor, choose: str = "all", grow_from: str = "origin") -> Junctures:
    """The ``n[p]`` active connections of largest |w| over all layers, per member (eq. 1), among
    those ``choose`` allows (see the module docstring: ``all``, ``usable``, ``one_per_origin``).

    Example:
        >>> net = Network((3, 2, 1))
        >>> len(focal_junctures(net, torch.tensor([2])).rank)
        2
    """
    weights = flat([w.detach() for w in net.weights])  # (P, total)
    eligible = flat([active(net, l) for l in range(net.n_layers)])
    if choose == "usable":
        eligible &= flat(can_grow_from(net, grow_from))
    scores = torch.where(eligible, weights.abs(), -1.0)
    if choose == "one_per_origin":
        scores = _best_per_group(scores, grow_from_ids(net, grow_from).to(scores.device))
    k = min(int(n.max()) if n.numel() else 0, scores.shape[1])
    vals, idx = scores.topk(k, dim=1)  # (P, k), strongest first
    rank = torch.arange(k, device=scores.device).expand_as(idx)
    valid = (vals >= 0) & (rank < n.to(scores.device)[:, None])
    member = torch.arange(net.population, device=scores.device)[:, None].expand_as(idx)[valid]
    index = idx[valid]
    layer, target, source = locate(net, index)
    return Junctures(member, layer, target, source, weights[member, index], rank[valid])


def grows_forward(net: Network, layer: torch.Tensor, grow_from: str) -> torch.Tensor:
    """Which junctures of weight layers ``layer`` grow forward from their terminus (bool, like
    ``layer``), for ``grow_from`` ``origin`` or ``terminus`` (``both`` seeds one of each: :func:`seeds`)."""
    return (layer < net.n_layers - 1) if grow_from == "terminus" else torch.zeros_like(layer, dtype=torch.bool)


def seeds(net: Network, J: Junctures, grow_from: str) -> tuple[Junctures, torch.Tensor]:
    """The connections the junctures seed: ``J`` itself and which grow forward, or for ``both``
    each juncture twice (from its origin, then forward from its terminus where a layer follows),
    member-major with distinct ranks (the origin's first)."""
    if grow_from != "both":
        return J, grows_forward(net, J.layer, grow_from)
    n = len(J.rank)
    fwd = (J.layer < net.n_layers - 1).nonzero().flatten()
    idx = torch.cat([torch.arange(n, device=J.rank.device), fwd])
    forward = torch.cat([torch.zeros(n, dtype=torch.bool, device=idx.device), torch.ones(len(fwd), dtype=torch.bool, device=idx.device)])
    rank = torch.cat([2 * J.rank, 2 * J.rank[fwd] + 1])
    order = torch.argsort(J.member[idx] * (2 * (int(rank.max()) + 1 if n else 1)) + rank)
    idx, forward, rank = idx[order], forward[order], rank[order]
    return Junctures(J.member[idx], J.layer[idx], J.target[idx], J.source[idx], J.weight[idx], rank), forward


def can_grow_from(net: Network, grow_from: str) -> list[torch.Tensor]:
    """Per layer ``(P, out, in)``: whether connection j ← i's grow-from neuron (i, or j growing
    forward) still has a dormant terminus in the layer it grows into."""
    free = [dormant(net, l).any(dim=1) for l in range(net.n_layers)]  # (P, in_l): neuron i of layer l can grow
    if grow_from == "both":
        return [o | t for o, t in zip(can_grow_from(net, "origin"), can_grow_from(net, "terminus"))]
    out = []
    for l, m in enumerate(net.masks):
        if grow_from == "terminus" and l < net.n_layers - 1:
            out.append(free[l + 1][:, :, None].expand_as(m))  # from terminus j into layer l + 1
        else:
            out.append(free[l][:, None, :].expand_as(m))  # from origin i into layer l
    return out


def grow_from_ids(net: Network, grow_from: str) -> torch.Tensor:
    """A number for every connection's grow-from neuron (its origin, or its terminus growing
    forward; with ``both``, its origin), the same across layers only for the same neuron. ``(total,)``"""
    ids, offsets = [], [0]
    for c in net.capacity:
        offsets.append(offsets[-1] + c)
    for l, m in enumerate(net.masks):
        n_out, n_in = m.shape[1:]
        if grow_from == "terminus" and l < net.n_layers - 1:
            ids.append((offsets[l + 1] + torch.arange(n_out))[:, None].expand(n_out, n_in).flatten())
        else:
            ids.append((offsets[l] + torch.arange(n_in))[None, :].expand(n_out, n_in).flatten())
    return torch.cat(ids)


def _best_per_group(scores: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """``scores`` ``(P, n)`` with all but each group's best (lowest index among ties) set to −1."""
    P, n = scores.shape
    g = group.expand(P, n)
    best = torch.full((P, int(group.max()) + 1), -2.0, dtype=scores.dtype, device=scores.device)
    best = best.scatter_reduce(1, g, scores, "amax")
    top = scores == best.gather(1, g)
    pos = torch.arange(n, device=scores.device).expand(P, n)
    first = torch.full_like(best, n, dtype=torch.long).scatter_reduce(1, g, torch.where(top, pos, n), "amin")
    return torch.where(pos == first.gather(1, g), scores, -1.0)


@GROWERS.register("strategic")
class StrategicGrower(Grower):
    """Grows from the N focal junctures toward nearby dormant neurons (see the module docstring).

    After :meth:`plan`, ``self.junctures`` holds the cycle's focal junctures (for overlays).
    """

    PARAMS: ClassVar[tuple[Param, ...]] = STRATEGIC_PARAMS
    OVERLAYS: ClassVar[tuple[str, ...]] = ("focal_junctures",)
    junctures: Junctures | None = None

    def overlays(self) -> dict[str, list]:
        return {"focal_junctures": [] if self.junctures is None else self.junctures.of_member(0)}

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
        positions in the layer's ``(P, out, in)``, ``values`` in the weights' dtype.

        On a conv network the junctures, termini and Gaussian live on the channel graph
        (:mod:`growlab.engine.graph`): a juncture is a strong kernel, a terminus a dormant
        kernel (no tap on), β is on the next layer's channel index, and a pick grows every
        tap of its kernel (see :meth:`_edge_taps`); ``room`` counts taps.
        """
        net = ctx.net
        graph = channel_graph(net)
        P, dev = net.population, net.device
        v = self.values
        n = self.member_tensor("focal_junctures", P, dev)
        self.junctures = focal_junctures(graph, n, v["junctures"], v["grow_from"])
        J, forward = seeds(graph, self.junctures, v["grow_from"])
        sigma, mu = self.member_tensor("sigma", P, dev), self.member_tensor("mu", P, dev)
        at = torch.where(forward, J.layer + 1, J.layer)  # the weight layer each juncture grows into
        start = torch.where(forward, J.target, J.source)  # and the neuron it grows from
        picks = [self._layer_picks(ctx, graph, J, l, at, start, forward, sigma, mu) for l in range(net.n_layers)]
        p, l, k, i, rank, value, cause = (torch.cat(col) for col in zip(*picks))
        cap = self.member_tensor("max_grow", P, dev)
        room = torch.where(cap > 0, torch.minimum(room.to(dev), cap), room.to(dev))
        fans = None if graph is net else torch.tensor([net.fan(x) for x in range(net.n_layers)], device=dev)[l]
        p, l, k, i, rank, value, cause = _first_and_within(graph, room, p, l, k, i, rank, value, cause, fans)
        out = []
        for layer in range(net.n_layers):
            sel = (l == layer).nonzero().flatten()
            drawn = self._drawn(ctx, graph, layer)
            if not len(sel):
                continue
            _, n_out, n_in = graph.masks[layer].shape
            index = (p[sel] * n_out + k[sel]) * n_in + i[sel]  # ascending: picks are sorted by (p, l, k, i)
            causes = None
            if ctx.events is not None and P == 1:
                src, tgt = J.source[cause[sel]].tolist(), J.target[cause[sel]].tolist()
                causes = list(map(juncture_cause, repeat(layer), src, tgt))
            if graph is net:
                out.append((layer, index, value[sel].to(net.weights[layer].dtype), causes))
            else:
                picked = (p[sel], k[sel], i[sel], value[sel], cause[sel])
                out.append(self._edge_taps(graph, J, layer, index, *picked, drawn, causes))
        return out

    def _drawn(self, ctx: CycleContext, graph, layer: int) -> torch.Tensor | None:
        """A conv network's fresh initializer taps of ``layer`` for ``init_weight="random"``,
        drawn every cycle for every layer (as an MLP's are), so a member's stream does not
        depend on where the others grow."""
        if graph is ctx.net or self.values["init_weight"] != "random":
            return None
        return ctx.net.sample_init(layer, ctx.streams)

    def _edge_taps(self, graph, J: Junctures, layer: int, index, p, k, i, scale, cause, drawn, causes) -> tuple:
        """The taps of the kernels picked at channel-graph positions ``index`` of ``layer``, and
        their initial weights: ``copy`` gives each tap the juncture kernel's tap (times the
        Gaussian factor ``scale`` for ``gaussian``); a juncture of another layer (``grow_from=
        "terminus"`` across layers of different taps) gives every tap its signed strength (RMS of
        its taps); ``random`` the layer initializer's taps. One cause per tap."""
        net, fan = graph.net, graph.fan(layer)
        taps = index[:, None] * fan + torch.arange(fan, device=index.device)  # (M, fan), ascending
        if drawn is not None:
            values = net.taps(layer, drawn)[p, k, i].double()
        else:
            jl = J.layer[cause]
            same = (jl == layer)[:, None]
            own = graph.edge_taps(layer, J.member[cause], J.target[cause].clamp(max=graph.capacity[layer + 1] - 1),
                                  J.source[cause].clamp(max=graph.capacity[layer] - 1)).double()  # fmt: skip
            values = torch.where(same, own, J.weight[cause].double()[:, None]) * scale[:, None]
        tap_causes = None if causes is None else [c for c in causes for _ in range(fan)]
        return layer, taps.flatten(), values.flatten().to(net.weights[layer].dtype), tap_causes

    def _layer_picks(self, ctx: CycleContext, graph, J: Junctures, l: int, at, start, forward, sigma, mu):
        """Sampled termini of the junctures growing into weight layer ``l`` (``at == l``), from the
        neurons ``start``: (member, layer, k, i, rank, value, juncture index). On a channel graph
        ``value`` is the juncture's scale (1, or the Gaussian factor), its taps come later."""
        net, dev = graph, ctx.net.device
        idx = (at == l).nonzero().flatten()  # member-major, as the junctures are
        p, i, j, w, rank = J.member[idx], start[idx], J.target[idx], J.weight[idx], J.rank[idx]
        n_in, n_out = net.capacity[l], net.capacity[l + 1]
        by_target = (~forward[idx]) if self.values["center"] == "target" else torch.zeros_like(idx, dtype=torch.bool)
        if n_in > 1:
            beta = i.double() * (n_out - 1) / (n_in - 1)
        else:  # a single origin sits level with the middle of the next layer
            beta = torch.full_like(i, n_out - 1, dtype=torch.float64) / 2
        beta = torch.where(by_target, j.double(), beta)
        # one uniform per juncture, each from its member's stream (idx is member-major)
        u = ctx.streams.rand_each(torch.bincount(p, minlength=net.population).tolist())[:, None].to(dev)
        key = (p * n_in + i) * (n_out + 1) + torch.where(by_target, j + 1, 0)  # same key, same distribution
        k, has = sample_near(net, l, p, i, beta, sigma[p], mu[p], u, key)
        w = w.double() if graph is ctx.net else torch.ones_like(w, dtype=torch.float64)
        if self.values["init_weight"] == "copy":
            value = w
        elif self.values["init_weight"] == "gaussian":
            value = w * logits_at(k.double()[:, None], beta, sigma[p], mu[p])[:, 0].exp()
        elif graph is ctx.net:
            value = net.sample_init(l, ctx.streams)[p, k, i].double()
        else:
            value = w  # taps drawn per layer in _picks
        keep = slice(None) if bool(has.all()) else has
        return p[keep], torch.full_like(p[keep], l), k[keep], i[keep], rank[keep], value[keep], idx[keep]


def _first_and_within(net: Network, room: torch.Tensor, p, l, k, i, rank, value, cause, sizes=None):
    """Drop repeated picks (keep the highest-ranked juncture's) and keep each member's best
    ``room[p]`` (with ``sizes``, the connections each pick grows: its best picks that fit in
    ``room[p]``); the result is sorted by (member, layer, target, source), ``nonzero()`` order."""
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
    if sizes is None:
        pos = torch.arange(len(members), device=members.device) - start
        kept = by_rank[pos < room[members]]
    else:  # the member's running total of connections, best pick first
        total = sizes[by_rank].cumsum(0)
        before = total[start] - sizes[by_rank][start]  # what the member's earlier rows hold
        kept = by_rank[total - before <= room[members]]
    kept = kept[torch.argsort(key[kept])]
    return p[kept], l[kept], k[kept], i[kept], rank[kept], value[kept], cause[kept]
