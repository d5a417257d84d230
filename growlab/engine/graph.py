"""The channel graph of a conv network (DESIGN §3b): what the analyses and strategic synthesis see.

Nodes are the channels of each channel layer (the image's, then each conv layer's maps) and,
after the flatten, the dense neurons; an edge of weight layer ``l`` joins input node ``i`` to
output node ``o``: a kernel ``i → o`` (its k×k taps), a channel's block of H·W flattened
columns into a neuron, or a single dense weight. An edge is active when any of its taps is.

:func:`channel_graph` gives an MLP back unchanged (its graph is itself), so code written
against the graph computes exactly what it computed before on MLPs.
"""

from __future__ import annotations

import torch


class ChannelGraph:
    """A conv :class:`~growlab.engine.Network` as its channel graph, with the attributes the
    analyses and strategic synthesis read from a network (masks, alive, widths, effective
    masks), each edge shaped ``(P, out_nodes, in_nodes)``.

    Attributes:
        net: the network it views (read-only: the graph holds copies of its edge masks).
        masks: per weight layer ``(P, out, in)`` bool: an edge with any tap's edge mask on.
        weights: per weight layer ``(P, out, in)``: each edge's signed strength, the root mean
            square of its active taps signed like their sum (a dense weight: the weight itself).

    Example:
        >>> from growlab.config import ConvShape
        >>> from growlab.engine import Network
        >>> net = Network((1, 2, 3), image=(1, 4, 4), kernels=(ConvShape(3),))
        >>> g = channel_graph(net)
        >>> [tuple(m.shape) for m in g.masks], g.fan(1)
        ([(1, 2, 1), (1, 3, 2)], 4)
    """

    def __init__(self, net):
        self.net = net
        self.population, self.device = net.population, net.device
        self.capacity, self.sizes, self.alive = net.capacity, net.sizes, net.alive
        self.task, self.activation, self.seeds = net.task, net.activation, net.seeds
        self.n_layers, self.n_conv = net.n_layers, net.n_conv
        self.masks = [net.edges(l, net.masks[l]) for l in range(net.n_layers)]
        self._emask = [net.edges(l, net.effective_mask(l)) for l in range(net.n_layers)]
        self._weights: list[torch.Tensor] | None = None

    @property
    def weights(self) -> list[torch.Tensor]:
        if self._weights is None:
            self._weights = [self.strength(l) for l in range(self.n_layers)]
        return self._weights

    def fan(self, layer: int) -> int:
        """Taps per edge of ``layer`` (see :meth:`Network.fan`)."""
        return self.net.fan(layer)

    def effective_mask(self, layer: int) -> torch.Tensor:
        """Active edges of ``layer``: some tap active (edge mask on, both channels alive). ``(P, out, in)``"""
        return self._emask[layer].clone()

    def connected(self, layer: int, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` ``(P, out, in)`` restricted to edges whose two nodes are alive."""
        return mask & self.alive[layer + 1][:, :, None] & self.alive[layer][:, None, :]

    @torch.no_grad()
    def tap_counts(self, layer: int) -> torch.Tensor:
        """Active taps of each edge ``(P, out, in)`` float32 (0 for an inactive edge)."""
        return self.net.taps(layer, self.net.active_float(layer)).sum(dim=-1)

    @torch.no_grad()
    def tap_sums(self, layer: int) -> torch.Tensor:
        """The sum of each edge's weights ``(P, out, in)`` float64: what a constant input map
        contributes through it per unit of its value (with no zero padding in the way)."""
        return self.net.taps(layer, self.net.weights[layer].detach().double()).sum(dim=-1)

    @torch.no_grad()
    def strength(self, layer: int) -> torch.Tensor:
        """Each edge's signed strength ``(P, out, in)``: ``sign(Σ taps) · √(mean of the active taps²)``."""
        w = self.net.taps(layer, self.net.weights[layer].detach())
        n = self.tap_counts(layer).clamp(min=1)
        rms = (w.square().sum(dim=-1) / n).sqrt()
        return torch.where(w.sum(dim=-1) < 0, -rms, rms)

    def edge_taps(self, layer: int, member: torch.Tensor, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """The weights of edges ``source → target`` of ``member`` (``(M,)`` each). ``(M, fan)``"""
        return self.net.taps(layer, self.net.weights[layer].detach())[member, target, source]


def channel_graph(net):
    """The channel graph of ``net``: a :class:`ChannelGraph` for a conv network, the network
    itself for an MLP (whose graph it is)."""
    return ChannelGraph(net) if net.n_conv else net


def reaching_outputs(alive: list[torch.Tensor], edges: list[torch.Tensor]) -> list[torch.Tensor]:
    """Backward reachability: per neuron layer ``(P, cap[k])`` bool, alive and joined to an
    alive output by a path of ``edges`` (per weight layer ``(P, out, in)``: bool, or counts ≥ 0),
    the inputs' first. On a network, or on its channel graph (alive channels, edges).

    Example:
        >>> alive = [torch.ones(1, 2, dtype=torch.bool), torch.ones(1, 1, dtype=torch.bool)]
        >>> reaching_outputs(alive, [torch.tensor([[[True, False]]])])[0].tolist()
        [[True, False]]
    """
    onward = [alive[-1].clone()]
    for l in reversed(range(len(edges))):
        e = edges[l] if edges[l].is_floating_point() else edges[l].float()
        reached = torch.bmm(e.transpose(1, 2), onward[0].to(e.dtype)[:, :, None])[:, :, 0] > 0
        onward.insert(0, alive[l] & reached)
    return onward
