"""A population of P masked MLPs sharing one layer layout: weights, edge masks, neuron masks.

Invariant: a weight is exactly zero wherever its connection is inactive (edge mask off, or
either end's neuron mask off), and a bias is zero for inactive neurons. The forward pass
therefore multiplies by the stored weights directly, which equals ``W * M * (U_out ⊗ U_in)``,
and the gradient it yields at an inactive connection is the true ∂L/∂w at w = 0 (what
gradient-based growth ranks by). Training masks gradients so inactive weights stay zero.

The trainable tensors are one per layer, stored at widths padded to a multiple of
:data:`~growlab.engine.products.ALIGN`, the bias as the weight of a constant input (see
:mod:`growlab.engine.products`: this makes a member bit-identical alone and in any
population). Everything else — ``weights`` and ``biases`` as the rest of growlab reads them,
masks, births — has the true shapes ``(P, cap[l+1], cap[l])`` and ``(P, cap[l+1])``;
``weights[l]`` and ``biases[l]`` are views into the stored tensor, so writing to them writes
the parameter.

Structure edits live in :mod:`growlab.engine.edits`, copies and saving in
:mod:`growlab.engine.copies`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from growlab.config import ACTIVATIONS
from growlab.engine.copies import Copies
from growlab.engine.edits import StructureEdits
from growlab.engine.products import Trace, aligned, in_width, member_linear, with_ones
from growlab.engine.streams import MemberStreams

TASKS = ("binary", "multiclass", "regression")

#: hidden activations by name (the one table; ``to_sequential`` maps them to modules)
ACTIVATION_FNS = {"relu": F.relu, "leaky_relu": F.leaky_relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
assert tuple(ACTIVATION_FNS) == ACTIVATIONS


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """CUDA when available, else CPU; an explicit ``device`` overrides (and must exist)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"unknown device {device!r}: {e}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r} is not supported; use 'cpu' or 'cuda' (or leave it unset)")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available here")
    return dev


def activation_fn(name: str):
    """The hidden activation by name."""
    if name not in ACTIVATION_FNS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATION_FNS[name]


class Network(StructureEdits, Copies):
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
        self._act = activation_fn(activation)
        self.population, self.seeds = population, seeds
        self.device = resolve_device(device)
        P, dev = population, self.device
        self.allocate([(capacity[l + 1], capacity[l]) for l in range(len(capacity) - 1)])
        self._init_dense()
        self.alive = [(torch.arange(c, device=dev) < s).expand(P, c).clone() for s, c in zip(sizes, capacity)]
        self.masks = [torch.ones(w.shape, dtype=torch.bool, device=dev) for w in self.weights]
        self.birth_epoch = [torch.zeros(w.shape, dtype=torch.int32, device=dev) for w in self.weights]
        self.birth_cycle = [torch.zeros(w.shape, dtype=torch.int32, device=dev) for w in self.weights]
        self.refresh()

    # ------------------------------------------------------------------ tensors
    def allocate(self, shapes: Sequence[tuple[int, int]]) -> None:
        """New zero parameters for weight layers of true shapes ``(out, in)``, stored padded and
        transposed, ``(P, in_pad, out_pad)``, the bias in row ``in`` (the constant input): the
        forward product ``h @ W`` then gives each layer's gradient in the parameter's own layout."""
        P, dev, last = self.population, self.device, len(shapes) - 1
        self._w = [
            torch.zeros(P, in_width(i), aligned(o) if l == last else in_width(o), device=dev).requires_grad_()
            for l, (o, i) in enumerate(shapes)
        ]
        self._views()
        n = len(shapes)
        self._emask, self._wmask, self._bmask, self._gmask = [None] * n, [None] * n, [None] * n, [None] * n
        self._full = None

    def _views(self) -> None:
        """``weights`` / ``biases``: true-shaped views into the stored parameters, outside autograd
        (writing to them writes the parameters; reading them records nothing)."""
        shapes = [(self.capacity[l + 1], self.capacity[l]) for l in range(len(self._w))]
        self.weights = [w.detach().transpose(1, 2)[:, :o, :i] for w, (o, i) in zip(self._w, shapes)]
        self.biases = [w.detach()[:, i, :o] for w, (o, i) in zip(self._w, shapes)]

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self._w)

    def init_bound(self, layer: int) -> float:
        """Half-width of the uniform initializer of ``layer`` (PyTorch's ``nn.Linear`` default)."""
        return 1.0 / math.sqrt(self.sizes[layer])

    def _init_dense(self) -> None:
        with torch.no_grad():
            for p, seed in enumerate(self.seeds):
                g = torch.Generator().manual_seed(seed)
                for l in range(self.n_layers):
                    bound = self.init_bound(l)
                    n_out, n_in = self.capacity[l + 1], self.capacity[l]
                    self.weights[l][p] = (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound
                    self.biases[l][p] = (torch.rand(n_out, generator=g) * 2 - 1) * bound

    def sample_init(self, layer: int, streams: MemberStreams) -> torch.Tensor:
        """Fresh values from ``layer``'s initializer, shaped like its weights (for growth); member
        ``p``'s from its own stream ``streams[p]``. ``(P, out, in)``"""
        _, n_out, n_in = self.weights[layer].shape
        u = streams.rand(n_out, n_in)
        return ((u * 2 - 1) * self.init_bound(layer)).to(self.device)

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors, one per layer (padded; weights and bias together)."""
        return list(self._w)

    def grads(self) -> list[torch.Tensor | None]:
        """The gradients of ``weights`` at their true shapes (views; ``None`` before a backward)."""
        return [None if w.grad is None else w.grad.transpose(1, 2)[:, : v.shape[1], : v.shape[2]] for w, v in zip(self._w, self.weights)]

    def bias_grads(self) -> list[torch.Tensor | None]:
        """The gradients of ``biases`` at their true shapes (views; ``None`` before a backward)."""
        return [None if w.grad is None else w.grad[:, v.shape[2], : v.shape[1]] for w, v in zip(self._w, self.weights)]

    def padded(self, layer: int, where: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """A per-connection ``where`` ``(P, out, in)`` (and per-bias ``bias`` ``(P, out)``) in
        zeros of the stored shape of ``layer``."""
        out = torch.zeros(self._w[layer].shape, dtype=where.dtype, device=where.device)
        _, n_out, n_in = where.shape
        out.transpose(1, 2)[:, :n_out, :n_in] = where
        if bias is not None:
            out[:, n_in, :n_out] = bias
        return out

    # ------------------------------------------------------------------ masks
    def refresh(self, layers: Sequence[int] | None = None) -> None:
        """Recompute effective masks and restore the zero-weight invariant."""
        self._full = None  # which gradient masks are all ones: recomputed lazily by mask_grads
        with torch.no_grad():
            for l in range(self.n_layers) if layers is None else layers:
                eff = (self.masks[l] & self.alive[l + 1][:, :, None] & self.alive[l][:, None, :]).contiguous()
                self._emask[l] = eff
                # bool → float through uint8: the same 0/1 values, several times faster on the CPU
                self._wmask[l] = eff.view(torch.uint8).to(self._w[l].dtype)
                self._bmask[l] = self.alive[l + 1].view(torch.uint8).to(self._w[l].dtype)
                self._gmask[l] = self.padded(l, self._wmask[l], self._bmask[l])  # what may be non-zero
                self._w[l].mul_(self._gmask[l])

    def effective_mask(self, layer: int) -> torch.Tensor:
        """Active connections of ``layer``: edge mask and both ends alive. ``(P, out, in)`` bool."""
        return self._emask[layer].clone()

    def active_float(self, layer: int) -> torch.Tensor:
        """:meth:`effective_mask` as 0./1. in the weights' dtype (read-only; not a copy). ``(P, out, in)``"""
        return self._wmask[layer]

    def alive_float(self, layer: int) -> torch.Tensor:
        """Alive neurons of weight layer ``layer``'s outputs as 0./1. (read-only). ``(P, out)``"""
        return self._bmask[layer]

    def mask_grads(self) -> None:
        """Zero the gradients of inactive connections and neurons and of the padding (keeps the invariant)."""
        if self._full is None:  # once per structure change, not per step
            self._full = [bool(m.all()) for m in self._gmask]
        grads, keep = [], []
        for t, m, full in zip(self._w, self._gmask, self._full):
            if t.grad is not None and not full:
                grads.append(t.grad)
                keep.append(m)
        if grads:
            torch._foreach_mul_(grads, keep)

    # ------------------------------------------------------------------ counts
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

    def is_finite(self) -> bool:
        """Whether every weight and bias is finite."""
        return all(bool(torch.isfinite(t).all()) for t in self.parameters())

    # ------------------------------------------------------------------ compute
    def forward(self, x: torch.Tensor, activation: str | None = None) -> torch.Tensor:
        """Outputs (logits or values) of every member.

        Args:
            x: inputs shared by all members ``(B, n_in)``, or per member ``(P, B, n_in)``.

        Returns:
            ``(P, B, n_out)``
        """
        return self.trace(x, activation).outputs

    __call__ = forward

    def trace(self, x: torch.Tensor, activation: str | None = None) -> Trace:
        """:meth:`forward`, keeping every layer's input and pre-activation (what gradient
        statistics, bridging gradients and unit outputs are computed from).

        Member p computes alone exactly what it computes in any population, bit for bit
        (see :mod:`growlab.engine.products`).
        """
        act = self._act if activation is None else activation_fn(activation)
        h = with_ones(x, self._w[0].shape[1])
        h = h.expand(self.population, *h.shape) if h.dim() == 2 else h  # (P, B, in_pad)
        inputs, pre = [], []
        for l, w in enumerate(self._w):
            inputs.append(h)
            z = member_linear(h, w)  # (P, B, out_pad)
            pre.append(z)
            if l < self.n_layers - 1:  # activate every (aligned) column, keep the true ones, add the 1
                h = with_ones(act(z)[..., : self.capacity[l + 1]], self._w[l + 1].shape[1])
        return Trace(z[..., : self.capacity[-1]], inputs, pre, self.capacity)

    def set_activation(self, name: str) -> None:
        """Change the hidden activation (NeST's activation shift)."""
        self._act = activation_fn(name)
        self.activation = name

    def __repr__(self) -> str:
        cap = "" if self.capacity == self.sizes else f", capacity={'-'.join(map(str, self.capacity))}"
        return (
            f"Network({'-'.join(map(str, self.sizes))}{cap}, population={self.population}, "
            f"task={self.task!r}, activation={self.activation!r}, device={str(self.device)!r})"
        )
