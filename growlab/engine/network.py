"""A population of P masked MLPs sharing one layer layout: weights, edge masks, neuron masks.

Invariant: a weight is exactly zero wherever its connection is inactive (edge mask off, or
either end's neuron mask off), and a bias is zero for inactive neurons. The forward pass
therefore multiplies by the stored weights directly, which equals ``W * M * (U_out ⊗ U_in)``,
and the gradient it yields at an inactive connection is the true ∂L/∂w at w = 0 (what
gradient-based growth ranks by). Training masks gradients so inactive weights stay zero.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from growlab.config import ACTIVATIONS

TASKS = ("binary", "multiclass", "regression")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """CUDA when available, else CPU; an explicit ``device`` overrides (and must exist)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"unknown device {device!r}: {e}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available here")
    return dev


def activation_fn(name: str):
    """The hidden activation by name."""
    fns = {"relu": F.relu, "leaky_relu": F.leaky_relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    if name not in fns:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return fns[name]


class Network:
    """P masked MLPs with layer sizes ``sizes`` = (inputs, hidden..., outputs).

    Layer ``l`` (0 = inputs → first hidden) holds ``weights[l]`` ``(P, cap[l+1], cap[l])``,
    ``biases[l]`` ``(P, cap[l+1])``, the edge mask ``masks[l]`` (bool, like ``weights[l]``)
    and ``birth_epoch[l]`` / ``birth_cycle[l]`` (int32, when each connection was last
    activated). ``alive[k]`` ``(P, cap[k])`` is the neuron mask of neuron layer ``k``
    (0 = inputs, last = outputs). Hidden capacities may exceed the active widths so that
    neuron growth activates dormant neurons instead of reallocating.

    Args:
        sizes: active widths, e.g. ``(27, 16, 8, 1)``.
        population: number of members P.
        capacity: widths allocated per layer (defaults to ``sizes``).
        activation: hidden activation (``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``).
        task: ``binary``, ``multiclass`` or ``regression`` (decides the loss).
        seeds: one seed per member for the initial dense weights; members sharing a seed
            start from identical weights. Defaults to ``0..P-1``.
        device: CUDA when available unless given.

    Example:
        >>> net = Network((27, 16, 8, 1), population=2, seeds=[0, 0])
        >>> torch.equal(net.weights[0][0], net.weights[0][1])
        True
    """

    def __init__(
        self,
        sizes: Sequence[int],
        population: int = 1,
        capacity: Sequence[int] | None = None,
        activation: str = "relu",
        task: str = "binary",
        seeds: Sequence[int] | None = None,
        device: str | torch.device | None = None,
    ):
        sizes = tuple(int(s) for s in sizes)
        capacity = tuple(int(c) for c in (capacity or sizes))
        if len(sizes) < 2 or len(capacity) != len(sizes):
            raise ValueError(f"sizes {sizes} and capacity {capacity} must have the same length ≥ 2")
        if any(c < s for c, s in zip(capacity, sizes)) or capacity[0] != sizes[0] or capacity[-1] != sizes[-1]:
            raise ValueError(f"capacity {capacity} must be ≥ sizes {sizes}, equal at inputs and outputs")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
        activation_fn(activation)
        seeds = list(range(population)) if seeds is None else [int(s) for s in seeds]
        if len(seeds) != population:
            raise ValueError(f"need {population} seeds, got {len(seeds)}")
        self.sizes, self.capacity, self.task, self.activation = sizes, capacity, task, activation
        self.population, self.seeds = population, seeds
        self.device = resolve_device(device)
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        self._init_dense()
        P, dev = population, self.device
        self.alive = [
            (torch.arange(c, device=dev) < s).expand(P, c).clone() for s, c in zip(sizes, capacity)
        ]
        self.masks = [torch.ones_like(w, dtype=torch.bool) for w in self.weights]
        self.birth_epoch = [torch.zeros_like(w, dtype=torch.int32) for w in self.weights]
        self.birth_cycle = [torch.zeros_like(w, dtype=torch.int32) for w in self.weights]
        self._act = activation_fn(activation)
        self.refresh()

    # ------------------------------------------------------------------ construction
    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self.weights)

    def init_bound(self, layer: int) -> float:
        """Half-width of the uniform initializer of ``layer`` (PyTorch's ``nn.Linear`` default)."""
        return 1.0 / math.sqrt(self.sizes[layer])

    def _init_dense(self) -> None:
        per_member = []
        for seed in self.seeds:
            g = torch.Generator().manual_seed(seed)
            layers = []
            for l in range(len(self.capacity) - 1):
                bound = self.init_bound(l)
                w = (torch.rand(self.capacity[l + 1], self.capacity[l], generator=g) * 2 - 1) * bound
                b = (torch.rand(self.capacity[l + 1], generator=g) * 2 - 1) * bound
                layers.append((w, b))
            per_member.append(layers)
        for l in range(len(self.capacity) - 1):
            w = torch.stack([m[l][0] for m in per_member]).to(self.device)
            b = torch.stack([m[l][1] for m in per_member]).to(self.device)
            self.weights.append(w.requires_grad_())
            self.biases.append(b.requires_grad_())

    def sample_init(self, layer: int, generator: torch.Generator) -> torch.Tensor:
        """Fresh values from ``layer``'s initializer, shaped like its weights (for growth)."""
        w = self.weights[layer]
        u = torch.rand(w.shape, generator=generator, device=generator.device)
        return ((u * 2 - 1) * self.init_bound(layer)).to(self.device)

    # ------------------------------------------------------------------ structure
    def refresh(self, layers: Sequence[int] | None = None) -> None:
        """Recompute effective masks and restore the zero-weight invariant."""
        if not hasattr(self, "_wmask"):
            self._wmask = [None] * self.n_layers
            self._bmask = [None] * self.n_layers
            self._emask = [None] * self.n_layers
        self._full = None  # which masks are all ones: recomputed lazily by mask_grads
        with torch.no_grad():
            for l in range(self.n_layers) if layers is None else layers:
                eff = (self.masks[l] & self.alive[l + 1][:, :, None] & self.alive[l][:, None, :]).contiguous()
                self._emask[l] = eff
                # bool → float through uint8: the same 0/1 values, several times faster on the CPU
                self._wmask[l] = eff.view(torch.uint8).to(self.weights[l].dtype)
                self._bmask[l] = self.alive[l + 1].view(torch.uint8).to(self.biases[l].dtype)
                self.weights[l].mul_(self._wmask[l])
                self.biases[l].mul_(self._bmask[l])

    def effective_mask(self, layer: int) -> torch.Tensor:
        """Active connections of ``layer``: edge mask and both ends alive. ``(P, out, in)`` bool."""
        return self._emask[layer].clone()

    def set_mask(
        self,
        layer: int,
        new_mask: torch.Tensor,
        values: torch.Tensor | None = None,
        epoch: int = 0,
        cycle: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Replace ``layer``'s edge mask; removed weights become 0, added ones take ``values``.

        Returns:
            ``(removed, added)`` boolean tensors shaped like the layer's weights.
        """
        new_mask = new_mask.to(device=self.device, dtype=torch.bool)
        if new_mask.shape != self.masks[layer].shape:
            raise ValueError(f"mask shape {tuple(new_mask.shape)} != layer shape {tuple(self.masks[layer].shape)}")
        old = self.masks[layer]
        removed, added = old & ~new_mask, new_mask & ~old
        with torch.no_grad():
            w = self.weights[layer]
            if added.any():
                if values is None:
                    raise ValueError("values are required for added connections")
                w.copy_(torch.where(added, values.to(w), w))
                self.birth_epoch[layer][added] = epoch
                self.birth_cycle[layer][added] = cycle
            w.masked_fill_(removed, 0.0)
        self.masks[layer] = new_mask
        self.refresh([layer])
        return removed, added

    def set_edges(
        self,
        layer: int,
        index: torch.Tensor,
        on: bool,
        values: torch.Tensor | None = None,
        epoch: int = 0,
        cycle: int = 0,
    ) -> None:
        """Switch the connections at ``index`` of ``layer`` on (with weights ``values``) or off.

        The same result as :meth:`set_mask`, touching only those connections instead of
        recomputing the layer: a grow/prune cycle on a large network changes a few thousand
        connections out of hundreds of thousands. ``index`` holds positions in the flattened
        ``(P, out, in)`` layer of connections whose edge mask is now the opposite of ``on``;
        ``values`` ``(n,)`` are their initial weights. Births are stamped on switching on; a
        connection to a dead neuron keeps weight 0, as with :meth:`set_mask`.

        Example:
            >>> net = Network((2, 1))
            >>> net.set_edges(0, torch.tensor([1]), on=False)
            >>> net.masks[0].tolist(), net.weights[0][0, 0, 1].item()
            ([[[True, False]]], 0.0)
        """
        # a new mask tensor, as set_mask gives (callers may hold the old one); the caches and
        # weights are contiguous, so flat positions index them through views
        mask = self.masks[layer].clone(memory_format=torch.contiguous_format)
        mask.view(-1)[index] = on
        self._full = None
        self.masks[layer] = mask
        w, wmask, emask = self.weights[layer], self._wmask[layer].view(-1), self._emask[layer].view(-1)
        with torch.no_grad():
            if on:
                if values is None:
                    raise ValueError("values are required for added connections")
                live = self._both_alive(layer, index)  # (n,) or None: every neuron is alive
                scale = 1.0 if live is None else live.to(w.dtype)
                w.view(-1)[index] = values.to(device=w.device, dtype=w.dtype) * scale
                wmask[index] = scale
                emask[index] = True if live is None else live
                self.birth_epoch[layer].view(-1)[index] = epoch
                self.birth_cycle[layer].view(-1)[index] = cycle
            else:
                w.view(-1)[index] = 0.0
                wmask[index] = 0.0
                emask[index] = False
            w.mul_(self._wmask[layer])  # restore the invariant everywhere, as refresh does (cheap)
            self.biases[layer].mul_(self._bmask[layer])

    def _both_alive(self, layer: int, index: torch.Tensor) -> torch.Tensor | None:
        """Whether both ends of the connections at flat ``index`` of ``layer`` are alive ``(n,)``;
        ``None`` when every neuron of both layers is."""
        alive_out, alive_in = self.alive[layer + 1], self.alive[layer]
        if bool(alive_out.all()) and bool(alive_in.all()):
            return None
        n_out, n_in = self.masks[layer].shape[1:]
        member, rest = index // (n_out * n_in), index % (n_out * n_in)
        return alive_out[member, rest // n_in] & alive_in[member, rest % n_in]

    def set_alive(self, k: int, alive: torch.Tensor) -> None:
        """Replace the neuron mask of neuron layer ``k`` (hidden layers only)."""
        if not 0 < k < len(self.sizes) - 1:
            raise ValueError(f"only hidden neuron layers (1..{len(self.sizes) - 2}) can change, got {k}")
        self.alive[k] = alive.to(device=self.device, dtype=torch.bool).clone()
        self.refresh([l for l in (k - 1, k) if 0 <= l < self.n_layers])

    def remove_layer(self, k: int) -> None:
        """Delete hidden neuron layer ``k``: layer ``k - 1`` then feeds layer ``k + 1`` directly.

        ODF2NNA's whole-layer removal. The network is re-laid out in place (one weight layer
        fewer); the joining weight layer ``k - 1`` ``(P, cap[k+1], cap[k-1])`` starts with no
        active connection (weights 0, edge mask off) so the caller grows it with fresh weights;
        layer ``k + 1`` keeps its biases. Weight tensors are new objects: rebuild the optimizer
        (:meth:`~growlab.engine.optim.Optimizer.rebuild`) before training on.

        Example:
            >>> net = Network((4, 3, 2, 1))
            >>> net.remove_layer(1)
            >>> net.sizes, tuple(net.weights[0].shape)
            ((4, 2, 1), (1, 2, 4))
        """
        if not 0 < k < len(self.sizes) - 1:
            raise ValueError(f"only hidden neuron layers (1..{len(self.sizes) - 2}) can be removed, got {k}")
        w0 = self.weights[k - 1]
        bridge = torch.zeros(self.population, self.capacity[k + 1], self.capacity[k - 1], dtype=w0.dtype, device=w0.device)
        self.weights[k - 1 : k + 1] = [bridge.requires_grad_()]
        self.biases[k - 1 : k + 1] = [self.biases[k].detach().clone().requires_grad_()]
        self.masks[k - 1 : k + 1] = [torch.zeros_like(bridge, dtype=torch.bool)]
        for births in (self.birth_epoch, self.birth_cycle):
            births[k - 1 : k + 1] = [torch.zeros_like(bridge, dtype=torch.int32)]
        del self.alive[k]
        self.sizes = self.sizes[:k] + self.sizes[k + 1 :]
        self.capacity = self.capacity[:k] + self.capacity[k + 1 :]
        for cache in (self._wmask, self._bmask, self._emask):
            cache[k - 1 : k + 1] = [None]
        self.refresh([k - 1])

    def n_active(self) -> torch.Tensor:
        """Active connections per member. ``(P,)``"""
        return sum(m.sum(dim=(1, 2)) for m in self._wmask).long()

    def n_params(self) -> torch.Tensor:
        """Active connections plus biases of alive neurons, per member. ``(P,)``"""
        return self.n_active() + sum(b.sum(dim=1) for b in self._bmask).long()

    def n_possible(self) -> int:
        """Connections of the dense network at full capacity."""
        return sum(a * b for a, b in zip(self.capacity[:-1], self.capacity[1:]))

    def density(self) -> torch.Tensor:
        """Active connections / connections of the dense network at full capacity. ``(P,)``"""
        return self.n_active().double() / self.n_possible()

    def widths(self) -> torch.Tensor:
        """Alive neurons per neuron layer. ``(P, n_layers + 1)``"""
        return torch.stack([a.sum(dim=1) for a in self.alive], dim=1)

    # ------------------------------------------------------------------ compute
    def forward(self, x: torch.Tensor, activation: str | None = None) -> torch.Tensor:
        """Outputs (logits or values) of every member.

        Args:
            x: inputs shared by all members ``(B, n_in)``, or per member ``(P, B, n_in)``.

        Returns:
            ``(P, B, n_out)``
        """
        act = self._act if activation is None else activation_fn(activation)
        last = self.n_layers - 1
        if self.population == 1 and x.dim() == 2:
            return self.forward_single(x, act).unsqueeze(0)  # (1, B, n_out)
        h = x
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            P, n_out, n_in = w.shape
            if h.dim() == 2:
                # shared inputs: one GEMM for all members
                h = F.linear(h, w.reshape(P * n_out, n_in), b.reshape(P * n_out))  # (B, P*out)
                h = h.view(h.shape[0], P, n_out).transpose(0, 1)  # (P, B, out)
            else:
                h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))  # (P, B, out)
            if l < last:
                h = act(h)
        return h

    __call__ = forward

    def forward_single(self, x: torch.Tensor, act=None) -> torch.Tensor:
        """Outputs of a one-member network as plain linear layers (as fast as ``nn.Sequential``). ``(B, n_out)``"""
        act = self._act if act is None else act
        h, last = x, self.n_layers - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = F.linear(h, w.view(w.shape[1], w.shape[2]), b.view(b.shape[1]))  # (B, out)
            if l < last:
                h = act(h)
        return h

    def mask_grads(self) -> None:
        """Zero the gradients of inactive connections and neurons (keeps the invariant)."""
        masks = self._wmask + self._bmask
        if getattr(self, "_full", None) is None:  # once per structure change, not per step
            self._full = [bool(m.all()) for m in masks]
        grads, keep = [], []
        for t, m, full in zip(self.weights + self.biases, masks, self._full):
            if t.grad is not None and not full:
                grads.append(t.grad)
                keep.append(m)
        if grads:
            torch._foreach_mul_(grads, keep)

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors, weights and biases interleaved by layer."""
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def is_finite(self) -> bool:
        """Whether every weight and bias is finite."""
        return all(bool(torch.isfinite(t).all()) for t in self.parameters())

    # ------------------------------------------------------------------ copies
    def state_dict(self) -> dict:
        """Tensors and layout (CPU copies), loadable with ``torch.load(weights_only=True)``."""
        cpu = lambda ts: [t.detach().cpu().clone() for t in ts]  # noqa: E731
        return {
            "sizes": list(self.sizes), "capacity": list(self.capacity), "task": self.task,
            "activation": self.activation, "seeds": list(self.seeds),
            "weights": cpu(self.weights), "biases": cpu(self.biases), "masks": cpu(self.masks),
            "alive": cpu(self.alive), "birth_epoch": cpu(self.birth_epoch), "birth_cycle": cpu(self.birth_cycle),
        }  # fmt: skip

    def load_state_dict(self, state: dict, relayout: bool = False) -> None:
        """Copy tensors from :meth:`state_dict` output (same layout) into this network.

        ``relayout=True`` also accepts a state with other hidden layers (e.g. after
        :meth:`remove_layer`): the network takes the state's layout, with new weight tensors.
        """
        same = list(state["capacity"]) == list(self.capacity)
        ends = [state["capacity"][0], state["capacity"][-1]] == [self.capacity[0], self.capacity[-1]]
        if len(state["seeds"]) != self.population or not (same or (relayout and ends)):
            raise ValueError("state does not match this network's layout")
        if not same:
            self._take_layout(state)
        with torch.no_grad():
            for l in range(self.n_layers):
                self.weights[l].copy_(state["weights"][l])
                self.biases[l].copy_(state["biases"][l])
        dev = self.device
        self.masks = [m.to(dev).bool() for m in state["masks"]]
        self.alive = [a.to(dev).bool() for a in state["alive"]]
        self.birth_epoch = [t.to(dev) for t in state["birth_epoch"]]
        self.birth_cycle = [t.to(dev) for t in state["birth_cycle"]]
        self.sizes = tuple(state["sizes"])
        self.set_activation(state["activation"])
        self.refresh()

    def _take_layout(self, state: dict) -> None:
        """Adopt ``state``'s layer layout with zero tensors of its shapes (values are copied next)."""
        dev = self.device
        self.capacity = tuple(int(c) for c in state["capacity"])
        self.weights = [torch.zeros_like(w, device=dev).requires_grad_() for w in state["weights"]]
        self.biases = [torch.zeros_like(b, device=dev).requires_grad_() for b in state["biases"]]
        self._wmask = [None] * self.n_layers
        self._bmask = [None] * self.n_layers
        self._emask = [None] * self.n_layers

    @classmethod
    def from_state_dict(cls, state: dict, device: str | torch.device | None = None) -> "Network":
        """A new network holding ``state``."""
        net = cls(
            state["sizes"], population=len(state["seeds"]), capacity=state["capacity"],
            activation=state["activation"], task=state["task"], seeds=state["seeds"], device=device,
        )  # fmt: skip
        net.load_state_dict(state)
        return net

    def copy(self, device: str | torch.device | None = None) -> "Network":
        """An independent copy (on ``device``, default the same device)."""
        return Network.from_state_dict(self.state_dict(), device=device or self.device)

    def cpu(self) -> "Network":
        """An independent CPU copy (safe to read from another thread)."""
        return self.copy(device="cpu")

    def member(self, p: int) -> "Network":
        """An independent single-member copy of member ``p``."""
        s = self.state_dict()
        pick = lambda ts: [t[p : p + 1].clone() for t in ts]  # noqa: E731
        for key in ("weights", "biases", "masks", "alive", "birth_epoch", "birth_cycle"):
            s[key] = pick(s[key])
        s["seeds"] = [self.seeds[p]]
        return Network.from_state_dict(s, device=self.device)

    def set_activation(self, name: str) -> None:
        """Change the hidden activation (NeST's activation shift)."""
        self._act = activation_fn(name)
        self.activation = name

    def to_sequential(self, p: int = 0) -> torch.nn.Sequential:
        """Member ``p`` as a dense ``torch.nn.Sequential`` at full capacity (inactive weights 0)."""
        acts = {"relu": torch.nn.ReLU, "leaky_relu": torch.nn.LeakyReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
        mods: list[torch.nn.Module] = []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            lin = torch.nn.Linear(w.shape[2], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(w[p].detach().cpu())
                lin.bias.copy_(b[p].detach().cpu())
            mods.append(lin)
            if l < self.n_layers - 1:
                mods.append(acts[self.activation]())
        return torch.nn.Sequential(*mods)

    def __repr__(self) -> str:
        cap = "" if self.capacity == self.sizes else f", capacity={'-'.join(map(str, self.capacity))}"
        return (
            f"Network({'-'.join(map(str, self.sizes))}{cap}, population={self.population}, "
            f"task={self.task!r}, activation={self.activation!r}, device={str(self.device)!r})"
        )
