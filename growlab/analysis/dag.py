"""DAG pruning: remove every redundant connection without changing any output.

Paper 000 proposes it as future work ("find all connections at the leaf of each
disconnected pathway and recursively remove these connections"). Removing a connection
whose target reaches no output changes nothing downstream. Removing one whose source no
input reaches is subtler: that source still outputs ``act(bias + contributions of other
input-less neurons)``, a constant. We compute those constants layer by layer (in float64)
and add ``weight × constant`` to the target's bias before cutting the connection, so every
output, and the activation of every neuron an input reaches, is unchanged.

A conv network is pruned on its channel graph: an input-less channel is a constant map, which
a kernel turns into its value × the kernel's tap sum (see :func:`_conv_constants` for zero
padding, where that is not exact and the connections stay).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from growlab.analysis.paths import Redundancy, on_taps, redundant_connections
from growlab.engine import Network, activation_fn, channel_graph


@dataclass(frozen=True)
class PruneReport:
    """What :func:`prune_redundant` removed and folded, for every member.

    Attributes:
        removed: per weight layer, ``(P, out, in)`` bool: the connections removed.
        constant: per neuron layer, ``(P, cap[k])`` bool: alive hidden neurons that no
            input reaches; their constant outputs were folded downstream.
        values: per neuron layer, ``(P, cap[k])`` float64: those constant outputs (0 elsewhere).
        bias_shift: per weight layer, ``(P, out)`` float64: what was added to the biases.
        isolated: per neuron layer, ``(P, cap[k])`` bool: alive hidden neurons left on no
            input → output path (still alive, so growth may reconnect them; ``compact``
            drops them).
        held: per neuron layer, ``(P, cap[k])`` bool: input-less channels of a conv network
            whose contribution could not fold into a bias (a non-constant map, or a constant
            into a zero-padded conv); their connections stay, and ``compact`` keeps them.
    """

    removed: list[torch.Tensor]
    constant: list[torch.Tensor]
    values: list[torch.Tensor]
    bias_shift: list[torch.Tensor]
    isolated: list[torch.Tensor]
    held: list[torch.Tensor] | None = None

    @property
    def per_layer(self) -> torch.Tensor:
        """Connections removed per member and weight layer. ``(P, n_layers)`` long"""
        return torch.stack([r.flatten(1).sum(dim=1) for r in self.removed], dim=1)

    @property
    def counts(self) -> torch.Tensor:
        """Connections removed per member. ``(P,)`` long"""
        return self.per_layer.sum(dim=1)

    @property
    def folded(self) -> torch.Tensor:
        """Biases that changed per member. ``(P,)`` long"""
        return sum((s != 0).sum(dim=1) for s in self.bias_shift)

    def describe(self, member: int = 0) -> str:
        """One line for people, e.g. ``removed 14 connections (layer 0: 9, ...)``."""
        per = self.per_layer[member].tolist()
        layers = ", ".join(f"layer {l}: {n}" for l, n in enumerate(per))
        n_const = int(sum(c[member].sum() for c in self.constant))
        n_iso = int(sum(i[member].sum() for i in self.isolated))
        n_held = int(sum(h[member].sum() for h in self.held)) if self.held else 0
        kept = f"; {n_held} input-less channels kept (zero padding: their contributions are not constant)" if n_held else ""
        return (
            f"removed {sum(per)} redundant connections ({layers}); {n_const} hidden neurons have no "
            f"input (constant outputs), {int(self.folded[member])} biases absorbed their contributions; "
            f"{n_iso} hidden neurons are left on no input→output path{kept}"
        )


@torch.no_grad()
def _constants(network: Network, red: Redundancy):
    """Constant outputs of input-less neurons and the bias shifts that fold them, per layer."""
    if network.n_conv:
        return _conv_constants(network, red)
    act = activation_fn(network.activation)
    fwd, alive, last = red.reach.forward, network.alive, network.n_layers - 1
    constant = [torch.zeros_like(alive[0])]  # inputs are never constant
    values = [torch.zeros(alive[0].shape, dtype=torch.float64, device=network.device)]
    shifts = []
    for l in range(network.n_layers):
        w, b = network.weights[l].double(), network.biases[l].double()  # (P, out, in), (P, out)
        contrib = torch.bmm(w, values[l][:, :, None])[:, :, 0]  # (P, out): from constant sources
        pre = b + contrib
        is_const = alive[l + 1] & ~fwd[l + 1] if l < last else torch.zeros_like(alive[l + 1])
        out = act(pre) if l < last else pre
        constant.append(is_const)
        values.append(torch.where(is_const, out, torch.zeros_like(out)))
        # Fold where the neuron keeps a role: reached by an input, or an output (which then
        # outputs its constant from its bias alone). Input-less neurons carry theirs in `values`.
        keep = fwd[l + 1] | (alive[l + 1] if l == last else torch.zeros_like(fwd[l + 1]))
        shifts.append(torch.where(keep, contrib, torch.zeros_like(contrib)))
    held = [torch.zeros_like(a) for a in alive]
    return constant, values, shifts, held


def _conv_constants(network: Network, red: Redundancy):
    """:func:`_constants` on a conv network's channel graph.

    An input-less channel outputs a constant map (act(bias + folded contributions), max-pooling
    keeps it constant); through a kernel it adds its value × the kernel's tap sum at every output
    position, through a flatten block its value × the block's sum. With zero padding, border
    positions see fewer taps, so a non-zero constant cannot fold into a bias there: its
    connections into that layer are *held* (kept), and an input-less channel they feed holds its
    own connections too (its map is not constant).
    """
    graph = channel_graph(network)
    act = activation_fn(network.activation)
    fwd, alive, last = red.reach.forward, network.alive, network.n_layers - 1
    constant = [torch.zeros_like(alive[0])]
    values = [torch.zeros(alive[0].shape, dtype=torch.float64, device=network.device)]
    stuck = torch.zeros_like(alive[0])  # input-less nodes whose map is not constant
    held, shifts = [], []
    for l in range(network.n_layers):
        padded = network.is_conv(l) and network.kernels[l].padding > 0
        foldable = constant[l] & ~stuck & ((values[l] == 0) if padded else True)
        held.append(constant[l] & ~foldable)
        w, b = graph.tap_sums(l), network.biases[l].double()  # (P, out, in), (P, out)
        contrib = torch.bmm(w, (values[l] * foldable)[:, :, None])[:, :, 0]  # (P, out)
        fed = torch.bmm(graph.tap_counts(l), held[l].float()[:, :, None])[:, :, 0] > 0  # by a held node
        is_const = alive[l + 1] & ~fwd[l + 1] if l < last else torch.zeros_like(alive[l + 1])
        out = act(b + contrib) if l < last else b + contrib
        stuck = is_const & fed
        constant.append(is_const)
        values.append(torch.where(is_const & ~stuck, out, torch.zeros_like(out)))
        keep = fwd[l + 1] | stuck | (alive[l + 1] if l == last else torch.zeros_like(fwd[l + 1]))
        shifts.append(torch.where(keep, contrib, torch.zeros_like(contrib)))
    held.append(torch.zeros_like(alive[-1]))
    return constant, values, shifts, held


@torch.no_grad()
def prune_redundant(network: Network, inplace: bool = False) -> tuple[Network, PruneReport]:
    """Remove every redundant connection, folding input-less neurons' constants into biases.

    Args:
        network: a population of P members.
        inplace: change ``network`` itself (a live run's network; the caller then resets the
            optimizer state of ``report.removed``) instead of returning a changed copy.

    Returns:
        ``(pruned, report)``: the pruned network (outputs equal the original's to float
        tolerance on every input) and a :class:`PruneReport`.

    Example:
        >>> net = Network((2, 2, 1), activation="tanh", device="cpu")
        >>> _ = net.set_mask(0, torch.tensor([[[True, True], [False, False]]]))
        >>> pruned, report = prune_redundant(net)   # hidden 1 has no input: a constant
        >>> report.counts.tolist()
        [1]
        >>> x = torch.randn(5, 2)
        >>> torch.allclose(pruned(x), net(x), atol=1e-6)
        True
    """
    red = redundant_connections(network)
    constant, values, shifts, held = _constants(network, red)
    removed = red.masks
    if any(bool(h.any()) for h in held):  # connections out of held channels stay (see _conv_constants)
        removed = [r & ~(red.no_input[l] & ~red.no_output[l] & on_taps(network, l, held[l][:, None, :]))
                   for l, r in enumerate(red.masks)]  # fmt: skip
    out = network if inplace else network.copy()
    for l in range(network.n_layers):
        out.set_mask(l, out.masks[l] & ~removed[l])
        out.biases[l].add_(shifts[l].to(out.biases[l].dtype))
    out.refresh()
    after = redundant_connections(out).reach.on_path
    isolated = [a & ~p & ~h for a, p, h in zip(out.alive, after, held)]
    isolated[0] = torch.zeros_like(isolated[0])
    isolated[-1] = torch.zeros_like(isolated[-1])
    report = PruneReport(removed, constant, values, shifts, isolated, held)
    return out, report
