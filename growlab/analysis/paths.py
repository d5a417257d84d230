"""Which neurons lie on a path from the inputs to the outputs, and which connections do not.

A connection is *redundant* when no input can reach its source or its target can reach no
output (paper 000 §6.5): it can carry nothing from the inputs to the outputs. Everything
here works on the effective masks (edge mask and both neurons alive) of all P members at
once, with one batched matmul per layer, so it is cheap enough to run every epoch.

A conv network is analysed on its channel graph (:mod:`growlab.engine.graph`): nodes are
channels (and the dense neurons after the flatten), a kernel is active when any of its taps
is, and reachability is per channel. Redundancy is still reported per weight (each tap of a
redundant kernel, each column of a redundant flatten block), so counts compare with the
network's active connections; ``source``/``target`` name the channel-graph nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from growlab.engine import Network, channel_graph, reaching_outputs


@dataclass(frozen=True)
class Reachability:
    """Forward and backward reachability of every neuron of every member.

    Attributes:
        forward: per neuron layer k, ``(P, cap[k])`` bool: alive and reachable from some
            alive input through active connections (inputs reach themselves).
        backward: per neuron layer k, ``(P, cap[k])`` bool: alive and able to reach some
            output through active connections (outputs reach themselves).
    """

    forward: list[torch.Tensor]
    backward: list[torch.Tensor]

    @property
    def on_path(self) -> list[torch.Tensor]:
        """Per neuron layer, ``(P, cap[k])`` bool: on some input → output path."""
        return [f & b for f, b in zip(self.forward, self.backward)]

    @property
    def connected(self) -> torch.Tensor:
        """``(P,)`` bool: every output is reachable from some input."""
        return self.forward[-1].all(dim=1)


def _float_masks(network: Network) -> list[torch.Tensor]:
    """Effective masks as 0/1 floats, ``(P, out, in)`` per layer (matmul counts paths); on a conv
    network's channel graph, each kernel's active taps (0 for an inactive kernel)."""
    graph = channel_graph(network)
    if graph is not network:
        return [graph.tap_counts(l) for l in range(network.n_layers)]
    return [network.effective_mask(l).to(torch.float32) for l in range(network.n_layers)]


def on_taps(network: Network, layer: int, nodes: torch.Tensor) -> torch.Tensor:
    """A node-pair mask ``(P, out | 1, in | 1)`` of ``layer`` on every weight of the pair (shaped
    like the layer's weights); an MLP's as it is (it broadcasts)."""
    if network.per_edge(layer):
        return nodes
    P, out, n_in = network.population, network.capacity[layer + 1], network.capacity[layer]
    return network.spread(layer, nodes.expand(P, out, n_in))


def _spread(mask: torch.Tensor, reached: torch.Tensor) -> torch.Tensor:
    """``(P, n)`` bool: rows of ``mask`` ``(P, n, m)`` with an active entry at a reached column."""
    return torch.bmm(mask, reached.to(mask.dtype)[:, :, None])[:, :, 0] > 0


def _reach(network: Network, masks: list[torch.Tensor]) -> Reachability:
    forward = [network.alive[0].clone()]
    for l, m in enumerate(masks):
        forward.append(network.alive[l + 1] & _spread(m, forward[-1]))
    return Reachability(forward, reaching_outputs(network.alive, masks))


@torch.no_grad()
def reachability(network: Network) -> Reachability:
    """Forward reachability from the inputs and backward reachability from the outputs.

    Args:
        network: a population of P members.

    Returns:
        A :class:`Reachability` with ``(P, cap[k])`` bool tensors per neuron layer.

    Example:
        >>> net = Network((2, 2, 1), device="cpu")
        >>> _ = net.set_mask(0, torch.tensor([[[True, True], [False, False]]]))
        >>> reachability(net).forward[1].tolist()   # hidden unit 1 has no input
        [[True, False]]
    """
    return _reach(network, _float_masks(network))


@dataclass(frozen=True)
class Redundancy:
    """The redundant connections of every member.

    Attributes:
        masks: per weight layer, ``(P, out, in)`` bool: active and redundant.
        no_input: per weight layer, ``(P, out, in)`` bool: active, and no input reaches the
            source (part of ``masks``).
        no_output: per weight layer, ``(P, out, in)`` bool: active, and the target reaches
            no output (part of ``masks``; may overlap ``no_input``).
        reach: the reachability they were computed from.
    """

    masks: list[torch.Tensor]
    no_input: list[torch.Tensor]
    no_output: list[torch.Tensor]
    reach: Reachability

    @property
    def per_layer(self) -> torch.Tensor:
        """Redundant connections per member and weight layer. ``(P, n_layers)`` long"""
        return torch.stack([m.flatten(1).sum(dim=1) for m in self.masks], dim=1)

    @property
    def counts(self) -> torch.Tensor:
        """Redundant connections per member. ``(P,)`` long"""
        return self.per_layer.sum(dim=1)

    def frame(self, network: Network, member: int = 0) -> pd.DataFrame:
        """One row per redundant connection of ``member``.

        Columns: ``layer, source, target, weight, no_input, no_output``
        (``source`` indexes neuron layer ``layer``, ``target`` neuron layer ``layer + 1``; on a
        conv network they are channels, one row per redundant tap).
        """
        rows = []
        for l, m in enumerate(self.masks):
            pos = m[member].flatten().nonzero().flatten().cpu()  # flat positions in (out, in…)
            n_in = network.in_features(l)
            t, s = pos // n_in, pos % n_in // network.fan(l)  # channel-graph nodes on a conv network
            pick = lambda x: x[member].detach().cpu().flatten()[pos].numpy()  # noqa: E731
            rows.append(pd.DataFrame({
                "layer": l, "source": s.numpy(), "target": t.numpy(), "weight": pick(network.weights[l]),
                "no_input": pick(self.no_input[l]), "no_output": pick(self.no_output[l]),
            }))  # fmt: skip
        return pd.concat(rows, ignore_index=True)


@torch.no_grad()
def redundant_connections(network: Network, reach: Reachability | None = None) -> Redundancy:
    """Active connections that cannot carry anything from an input to an output.

    A connection ``j → i`` of layer ``l`` is redundant when no input reaches ``j`` or ``i``
    reaches no output; the others are exactly the connections on some input → output path.

    Args:
        network: a population of P members.
        reach: its :func:`reachability`, if already computed.

    Example:
        >>> net = Network((2, 2, 1), device="cpu")
        >>> _ = net.set_mask(1, torch.tensor([[[True, False]]]))  # hidden 1 → output cut
        >>> redundant_connections(net).per_layer.tolist()      # its 2 inputs are redundant
        [[2, 0]]
    """
    reach = reachability(network) if reach is None else reach
    masks, no_in, no_out = [], [], []
    for l in range(network.n_layers):
        active = network.effective_mask(l)  # (P, out, in); conv taps (P, out, in, k, k)
        ni = active & on_taps(network, l, ~reach.forward[l][:, None, :])
        no = active & on_taps(network, l, ~reach.backward[l + 1][:, :, None])
        masks.append(ni | no)
        no_in.append(ni)
        no_out.append(no)
    return Redundancy(masks, no_in, no_out, reach)


@torch.no_grad()
def redundant_count(network: Network) -> torch.Tensor:
    """Redundant connections per member, ``(P,)`` long (what the run history records).

    Cheaper than :func:`redundant_connections`: connections on a path are counted as the
    bilinear form ``backward[l+1]ᵀ · M[l] · forward[l]``, with no per-connection masks built.

    Example:
        >>> redundant_count(Network((3, 4, 1), device="cpu")).tolist()  # dense: none
        [0]
    """
    masks = _float_masks(network)
    reach = _reach(network, masks)
    total = torch.zeros(network.population, dtype=torch.float64, device=network.device)
    for l, m in enumerate(masks):
        f = reach.forward[l].to(m.dtype)[:, :, None]  # (P, in, 1)
        b = reach.backward[l + 1].to(m.dtype)[:, None, :]  # (P, 1, out)
        on_path = torch.bmm(b, torch.bmm(m, f))[:, 0, 0]  # (P,)
        total += m.sum(dim=(1, 2)).double() - on_path.double()
    return total.round().long()
