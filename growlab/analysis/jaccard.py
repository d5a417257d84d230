"""How alike networks end up: Jaccard similarity of active-connection sets, and their core.

Paper 000 §6.1 (Fig. 6) compares the residual networks of different methods and suggests
that connections shared by most runs form a *common core* that could initialise new runs
(the ``core`` init). Every member of every network given is one item. Conv networks are
compared on their channel graph: two members share a kernel when both have any of its taps.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch

from growlab.engine import Network


def _nets(networks: Network | Iterable[Network]) -> list[Network]:
    nets = [networks] if isinstance(networks, Network) else list(networks)
    if not nets or not all(isinstance(n, Network) for n in nets):
        raise ValueError("expected a Network or a non-empty sequence of Networks")
    cap, kernels = nets[0].capacity, nets[0].kernels
    if any(n.capacity != cap for n in nets):
        raise ValueError(f"networks must share one layout; capacities differ: {sorted({n.capacity for n in nets})}")
    if any(n.kernels != kernels or n.image != nets[0].image for n in nets):
        raise ValueError("networks must share one layout; their conv layers or image shapes differ")
    return nets


def _items(networks: Network | Iterable[Network]) -> list[torch.Tensor]:
    """Per weight layer, the active masks of every member of every network. ``(N, out, in)``
    (a conv network's channel-graph edges: a kernel is active when any of its taps is)."""
    nets = _nets(networks)
    dev = nets[0].device
    return [torch.cat([n.edges(l, n.effective_mask(l)).to(dev) for n in nets]) for l in range(nets[0].n_layers)]


@torch.no_grad()
def similarity(networks: Network | Iterable[Network]) -> torch.Tensor:
    """Jaccard similarity |A ∩ B| / |A ∪ B| of the active-connection sets of N items.

    Args:
        networks: a population (each member is an item), or a sequence of networks with
            the same layout (single members and/or populations, in order).

    Returns:
        ``(N, N)`` float64, symmetric with a unit diagonal (two empty sets count as equal).

    Example:
        >>> a = Network((2, 2, 1), population=2, device="cpu")
        >>> _ = a.set_mask(0, torch.tensor([[[1, 1], [1, 1]], [[1, 0], [0, 1]]]).bool())
        >>> similarity(a).tolist()   # member 1 keeps 4 of member 0's 6 connections
        [[1.0, 0.6666666666666666], [0.6666666666666666, 1.0]]
    """
    flat = torch.cat([m.flatten(1) for m in _items(networks)], dim=1).double()  # (N, D)
    inter = flat @ flat.T  # (N, N) shared connections
    size = flat.sum(dim=1)  # (N,)
    union = size[:, None] + size[None, :] - inter
    sim = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))
    return sim.cpu()


@torch.no_grad()
def common_core(networks: Network | Iterable[Network], q: float = 0.5) -> list[torch.Tensor]:
    """Connections active in at least a fraction ``q`` of the items (the ``core`` init's input).

    Args:
        networks: as for :func:`similarity`.
        q: fraction in (0, 1]; 1 = connections every item shares.

    Returns:
        Per weight layer, a ``(out, in)`` bool mask at the networks' capacity (CPU). On conv
        networks the core is a set of kernels of the channel graph, returned on every tap of
        each (shaped like the layer's weights, what the ``core`` init takes).

    Example:
        >>> a = Network((2, 2, 1), population=2, device="cpu")
        >>> _ = a.set_mask(0, torch.tensor([[[1, 1], [1, 1]], [[1, 0], [0, 1]]]).bool())
        >>> common_core(a, q=1.0)[0].tolist()
        [[True, False], [False, True]]
    """
    if not (isinstance(q, (int, float)) and 0 < q <= 1):
        raise ValueError(f"q must be a fraction in (0, 1], got {q!r}")
    items = _items(networks)
    need = math.ceil(q * items[0].shape[0] - 1e-9)  # at least this many items
    net = _nets(networks)[0]
    return [net.spread(l, m.sum(dim=0) >= need).cpu() for l, m in enumerate(items)]
