"""NeST (Dai, Yin & Jha, paper 003): grow connections and neurons by gradients, then prune.

A sparse, narrow seed (``nest_seed``: widths × ``seed_ratio``, ``seed_density`` of the
connections, every neuron connected) grows every ``interval`` epochs: the dormant connections
with the largest |∂L/∂w| on a large batch (the top ``grow_fraction`` of the dormant ones;
they start at 0, as in RigL, and the gradient that chose them moves them), then
``neurons_per_cycle`` neurons in every hidden layer with dormant capacity (bridging gradients,
:mod:`growlab.methods.neurons`). Capacity is ``max_width`` × the configured widths.

The paper computes growth gradients "using the whole training set or a large batch"; both are
readings here: ``growth_rows`` training rows per member (default 256, two training batches:
the sample gradient growth and the Taylor/OBD scores use; each member draws its own), or
``growth_rows=None``, the whole training set. Every decision of a cycle (connection gradients,
bridging gradients, feature-map candidates) is read from that one batch, the births before it
included (:class:`~growlab.methods.probe.Probe`). On LeNet-5 / mnist5k (CPU) a growth cycle on
256 rows costs about a fifth of an epoch, a third of that the phase decision's validation pass;
on the whole set one to five epochs, by capacity (``benchmarks/bench_cycle.py --arch lenet-5``).

The growth phase ends when validation accuracy reaches ``target_accuracy`` A, when the
active connections reach ``max_size`` S × those of the dense network at the configured widths,
when nothing is left to grow, or at the latest at ``grow_until`` of the epochs (growlab's
bound: a run has a fixed number of epochs). The pruning phase then, every ``interval``
epochs, keeps a copy of the network while its validation accuracy is at least
``min(A, accuracy at the switch) − tolerance`` and prunes the smallest ``prune_fraction`` of
each layer's weights; the first time accuracy falls below, the last copy is restored and the
structure is frozen (phase ``done``). Using the accuracy at the switch when it is below A is
growlab's reading for a growth phase stopped by S or time: the paper's ``until a < A`` would
otherwise stop at once. With ``activation_shift`` the hidden activation is leaky ReLU while
growing and ReLU once every member prunes. Regression uses R² as its "accuracy".
Each member of a population keeps its own phase.

On a conv network (NeST's LeNet-5, paper 003 §3.2.3 and §4.1): the seed narrows the conv
layers' channels too, connection growth ranks dormant kernel taps by |∂L/∂w|, conv layers grow
feature maps by Policy 3 (random candidate kernel sets, the one that lowers the loss most is
kept: :mod:`growlab.methods.feature_maps`, ``map_candidates``), the dense layers neurons by
bridging gradients (the one after the flatten over the flattened columns), and the pruning
phase removes the smallest kernel taps per layer. ``max_width`` also gives the conv layers
dormant channel capacity, and ``max_size`` S counts every tap of the dense conv network.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from growlab.methods.base import Method
from growlab.methods.checkpoint import Checkpoint, quality
from growlab.methods.context import CycleContext
from growlab.methods.grow import by_score
from growlab.methods.inits import INITS, Init, set_structure
from growlab.methods.feature_maps import grow_map
from growlab.methods.neurons import grow_neuron
from growlab.methods.params import Param
from growlab.methods.presets import METHODS
from growlab.methods.probe import Probe
from growlab.methods.prune import strongest_incoming
from growlab.methods.scores import SCORE_ROWS
from growlab.methods.structure import active, dormant, member_generators, per_member, pick_top

PHASES = ("growth", "pruning", "done")
_SEED_SALT = 0x9E57

SEED_PARAMS = (
    Param("seed_ratio", 0.5, "float", low=0, high=1, low_open=True, live=False,
          doc="seed widths as a fraction of the configured hidden widths"),
    Param("seed_density", 0.1, "float", low=0, high=1, low_open=True, live=False,
          doc="fraction of the seed's possible connections active at the start (the paper's 10%; every neuron keeps one in and one out)"),
)  # fmt: skip


def seed_widths(sizes: tuple[int, ...], ratio: float) -> tuple[int, ...]:
    """Hidden widths × ``ratio`` (rounded up, at least 1); inputs and outputs unchanged.

    Example:
        >>> seed_widths((27, 16, 8, 1), 0.5)
        (27, 8, 4, 1)
    """
    inner = tuple(max(1, math.ceil(w * ratio)) for w in sizes[1:-1])
    return (sizes[0], *inner, sizes[-1])


def seed_masks(
    widths: tuple[int, ...], capacity: tuple[int, ...], density: float, g: torch.Generator, fans: tuple[int, ...] = ()
) -> list[torch.Tensor]:
    """Random masks at ``density`` among the first ``widths`` neurons, every neuron connected.

    Each target neuron without an incoming connection gets its best-scoring one, then each
    source neuron without an outgoing one likewise. Returns one ``(cap[l+1], cap[l])`` bool per
    layer; with ``fans`` (taps per edge of each layer, a conv network's), ``(cap[l+1], cap[l], fan)``:
    taps at ``density``, every channel with an incoming and an outgoing tap.

    Example:
        >>> ms = seed_masks((3, 2, 1), (3, 4, 1), 0.1, torch.Generator().manual_seed(0))
        >>> [bool(m[:2].any(dim=1).all()) for m in ms[:1]], bool(ms[0][:, :3].any(dim=0).all())
        ([True], True)
    """
    masks = []
    for l in range(len(widths) - 1):
        if fans and fans[l] > 1:
            masks.append(_seed_taps(widths[l + 1], widths[l], fans[l], capacity[l + 1], capacity[l], density, g))
            continue
        n_out, n_in = widths[l + 1], widths[l]
        scores = torch.rand(n_out, n_in, generator=g)
        chosen = torch.zeros(n_out * n_in, dtype=torch.bool)
        chosen[scores.flatten().topk(int(round(density * n_out * n_in))).indices] = True
        chosen = chosen.view(n_out, n_in)
        rows = (~chosen.any(dim=1)).nonzero().flatten()
        chosen[rows, scores[rows].argmax(dim=1)] = True
        cols = (~chosen.any(dim=0)).nonzero().flatten()
        chosen[scores[:, cols].argmax(dim=0), cols] = True
        mask = torch.zeros(capacity[l + 1], capacity[l], dtype=torch.bool)
        mask[:n_out, :n_in] = chosen
        masks.append(mask[:, :, None] if fans else mask)
    return masks


def _seed_taps(n_out: int, n_in: int, fan: int, cap_out: int, cap_in: int, density: float, g) -> torch.Tensor:
    """:func:`seed_masks` of one layer with ``fan`` taps per channel pair. ``(cap_out, cap_in, fan)``"""
    scores = torch.rand(n_out, n_in * fan, generator=g)
    chosen = torch.zeros(n_out * n_in * fan, dtype=torch.bool)
    chosen[scores.flatten().topk(int(round(density * n_out * n_in * fan))).indices] = True
    chosen = chosen.view(n_out, n_in * fan)
    rows = (~chosen.any(dim=1)).nonzero().flatten()
    chosen[rows, scores[rows].argmax(dim=1)] = True
    per_in = scores.view(n_out, n_in, fan).transpose(0, 1).reshape(n_in, n_out * fan)  # each input channel's taps
    cols = (~chosen.view(n_out, n_in, fan).any(dim=(0, 2))).nonzero().flatten()
    best = per_in[cols].argmax(dim=1)
    chosen.view(n_out, n_in, fan)[best // fan, cols, best % fan] = True
    mask = torch.zeros(cap_out, cap_in, fan, dtype=torch.bool)
    mask[:n_out, :n_in] = chosen.view(n_out, n_in, fan)
    return mask


@INITS.register("nest_seed")
class NestSeedInit(Init):
    """NeST's seed: narrower hidden layers (the rest dormant), sparse, every neuron connected.

    On a conv network the conv layers' channels are narrowed too (the paper's LeNet-5 seeds
    scale every layer by r), ``seed_density`` counts kernel taps, and every channel keeps an
    incoming and an outgoing tap."""

    PARAMS: ClassVar[tuple[Param, ...]] = SEED_PARAMS
    needs_capacity = True

    def apply(self, ctx: CycleContext) -> None:
        net = ctx.net
        widths = seed_widths(net.sizes, self.values["seed_ratio"])
        for k in range(1, len(widths) - 1):
            w = min(widths[k], net.capacity[k])
            net.set_alive(k, (torch.arange(net.capacity[k], device=net.device) < w).expand(net.population, -1))
        gens = member_generators(net.seeds, _SEED_SALT)
        fans = tuple(net.fan(l) for l in range(net.n_layers)) if net.n_conv else ()
        per_seed = {s: seed_masks(widths, net.capacity, self.values["seed_density"], g, fans) for s, g in gens.items()}
        masks = [torch.stack([per_seed[s][l] for s in net.seeds]) for l in range(net.n_layers)]
        set_structure(ctx, [m.reshape(net.masks[l].shape) for l, m in enumerate(masks)])


def _float(name, default, low, high, doc, **kw) -> Param:
    return Param(name, default, "float", low=low, high=high, doc=doc, **kw)


NEST_PARAMS = (
    *SEED_PARAMS,
    _float("max_width", 1.0, 1, 16, "capacity of each hidden layer as a multiple of its configured width", live=False),
    _float("grow_fraction", 0.05, 0, 1, "fraction of the dormant connections grown per cycle (largest |∂L/∂w|)"),
    Param("neurons_per_cycle", 1, "int", low=0, high=1000, doc="neurons born per hidden layer per growth cycle"),
    _float("growth_ratio", 0.1, 0, 1, "β: fraction of (previous, next)-layer neuron pairs a newborn joins", low_open=True),
    _float("birth_strength", 0.5, 0, 10, "α: a newborn's mean |w| relative to its layers' mean |w|", low_open=True),
    _float("target_accuracy", 0.85, 0, 1, "A: growth stops at this validation accuracy (R² for regression)"),
    _float("max_size", 1.0, 0, 256, "S: growth stops at this many connections, × the dense configured network's", low_open=True),
    _float("grow_until", 0.5, 0, 1, "growth stops at the latest at this fraction of the epochs"),
    _float("prune_fraction", 0.05, 0, 1, "fraction of each layer's weights pruned per pruning cycle (smallest |w|)", high_open=True),
    _float("tolerance", 0.02, 0, 1, "pruning continues while accuracy ≥ A − tolerance; the last such network is kept"),
    Param("interval", 5, "int", low=1, high=10_000, doc="epochs of training between cycles"),
    Param("activation_shift", False, "bool", live=False, doc="leaky ReLU while growing, ReLU while pruning"),
    Param("map_candidates", 8, "int", low=1, high=1000,
          doc="conv layers: random kernel sets tried per new feature map; the one that lowers the loss most is kept (Policy 3)"),
    Param("growth_rows", SCORE_ROWS, "int", low=1, high=10_000_000, optional=True, none_doc="the whole training set",
          doc="training rows (a large batch, each member its own) the growth gradients and candidate maps are computed on"),
)  # fmt: skip


@METHODS.register("nest")
class Nest(Method):
    """NeST's grow-and-prune synthesis (see the module doc for the phases and growlab's readings)."""

    doc = "seed → grow connections and neurons by gradients until accuracy A or size S → prune while accuracy holds"
    source = "Dai, Yin & Jha, NeST (paper 003)"
    PARAMS: ClassVar[tuple[Param, ...]] = NEST_PARAMS

    def __init__(self, **params):
        super().__init__(**params)
        self.phase: torch.Tensor | None = None  # (P,) index into PHASES
        self.threshold: torch.Tensor | None = None  # (P,) accuracy the pruning phase must keep
        self.best: Checkpoint | None = None  # last pruned network that met the threshold
        self.dense = 1  # connections of the dense network at the configured widths

    @property
    def members_interact(self) -> bool:
        """With the activation shift, the population's one activation switches when all prune."""
        return bool(self.values["activation_shift"])

    def capacity(self, sizes: tuple[int, ...], n_conv: int = 0) -> tuple[int, ...]:
        inner = tuple(math.ceil(w * self.values["max_width"]) for w in sizes[1:-1])
        return (sizes[0], *inner, sizes[-1])

    def setup(self, ctx: CycleContext) -> None:
        net = ctx.net
        NestSeedInit(seed_ratio=self.seed_ratio, seed_density=self.seed_density).apply(ctx)
        self.dense = net.n_dense()
        self.phase = torch.zeros(net.population, dtype=torch.long)
        self.threshold = torch.zeros(net.population, dtype=torch.float64)
        if self.activation_shift:
            net.set_activation("leaky_relu")

    # ------------------------------------------------------------------ cycles
    def after_epoch(self, ctx: CycleContext) -> bool:
        last = ctx.epoch >= ctx.epochs
        if ctx.epoch % self.interval and not last:
            return False
        self._step(ctx, last)
        return True

    def cycle(self, ctx: CycleContext) -> None:
        """One cycle now: switch phase if due, then grow or prune each member by its phase."""
        self._step(ctx, last=False)

    def _step(self, ctx: CycleContext, last: bool) -> None:
        acc = quality(ctx)  # (P,)
        self._maybe_switch(ctx, acc)
        pruning = self.phase == 1
        if pruning.any():
            self._prune_or_stop(ctx, acc, pruning, last)
        growing = self.phase == 0
        if growing.any() and not last:
            self._grow(ctx, growing)

    def _maybe_switch(self, ctx: CycleContext, acc: torch.Tensor) -> None:
        net = ctx.net
        growing = self.phase == 0
        if not growing.any():
            return
        reasons = {
            f"accuracy ≥ A = {self.target_accuracy:g}": acc >= self.target_accuracy,
            f"size ≥ S = {self.max_size:g} × {self.dense}": net.n_active().cpu() >= self.max_size * self.dense,
            "nothing left to grow": ~self._can_grow(net),
            f"epoch ≥ {self.grow_until:g} of the run": torch.full_like(growing, ctx.epoch >= self.grow_until * ctx.epochs),
        }
        switch = torch.zeros_like(growing)
        for why, hit in reasons.items():
            new = growing & hit & ~switch
            for p in new.nonzero().flatten().tolist():
                self._note(ctx, p, f"growth → pruning: {why} (validation {float(acc[p]):.3f})")
            switch |= new
        self.phase[switch] = 1
        self.threshold[switch] = torch.clamp(acc[switch], max=self.target_accuracy) - self.tolerance
        if switch.any() and self.activation_shift and not (self.phase == 0).any():
            net.set_activation("relu")

    def _can_grow(self, net) -> torch.Tensor:
        """Members with a dormant connection or neuron left ``(P,)``."""
        conns = sum(per_member(dormant(net, l)) for l in range(net.n_layers))
        units = sum((~a).sum(dim=1) for a in net.alive[1:-1]) if net.n_layers > 1 else 0
        return ((conns + units) > 0).cpu()

    def _grow(self, ctx: CycleContext, growing: torch.Tensor) -> None:
        net = ctx.net
        n_dormant = torch.stack([per_member(dormant(net, l)) for l in range(net.n_layers)]).sum(dim=0)
        counts = torch.round(n_dormant.double() * self.grow_fraction).long() * growing.to(net.device)
        probe = Probe(ctx, self.growth_rows, growing)  # one batch for every decision of the cycle
        if counts.any():
            grads = probe.gradients()
            for l, where in enumerate(by_score(ctx, [g.abs() for g in grads], counts)):
                if where.any():
                    ctx.grow(l, where, torch.zeros_like(net.weights[l].detach()), "gradient (NeST)")
        for k in range(1, net.n_layers):
            # a member stops at its first failed birth in this layer, whatever the others do, so
            # it makes the same draws alone as in a population
            members = growing.clone()
            for _ in range(self.neurons_per_cycle):
                if k <= net.n_conv:  # a conv layer grows feature maps (Policy 3)
                    born = grow_map(ctx, k, members, self.birth_strength, self.map_candidates, "feature map, Policy 3 (NeST)", probe)
                else:
                    born = grow_neuron(ctx, k, members, self.growth_ratio, self.birth_strength, "bridging gradient (NeST)", probe)
                members &= born.cpu()
                if not members.any():
                    break

    def _prune_or_stop(self, ctx: CycleContext, acc: torch.Tensor, pruning: torch.Tensor, last: bool) -> None:
        net = ctx.net
        meets = pruning & (acc >= self.threshold)
        if self.best is None:
            self.best = Checkpoint(net)
        self.best.save(net, meets)
        stop = (pruning & ~meets) | (pruning if last else torch.zeros_like(pruning))
        if (stop & ~meets).any():
            self.best.restore(ctx, stop & ~meets, "NeST: back to the last network that met A − tolerance")
        for p in stop.nonzero().flatten().tolist():
            kept = "kept" if bool(meets[p]) else "restored"
            self._note(ctx, p, f"pruning → done: {kept} the last network with accuracy ≥ {float(self.threshold[p]):.3f}")
        self.phase[stop] = 2
        if not last:
            self._prune(ctx, meets & ~stop)

    def _prune(self, ctx: CycleContext, who: torch.Tensor) -> None:
        """Remove the smallest ``prune_fraction`` of each layer's active weights (members ``who``)."""
        net = ctx.net
        who = who.to(net.device)
        for l in range(net.n_layers):
            act = active(net, l)
            counts = torch.round(per_member(act).double() * self.prune_fraction).long() * who
            imp = net.weights[l].detach().abs()
            eligible = act & ~strongest_incoming(act, imp) if l == net.n_layers - 1 else act
            keyed = torch.where(eligible, -imp, float("-inf")).flatten(1)
            where = pick_top(keyed, counts).view_as(act)
            if where.any():
                ctx.prune(l, where, f"magnitude, {self.prune_fraction:g} per layer (NeST)")

    def _note(self, ctx: CycleContext, p: int, text: str) -> None:
        ctx.note("phase", text if ctx.net.population == 1 else f"member {p}: {text}")

    # ------------------------------------------------------------------ views and state
    def overlays(self) -> dict:
        return {} if self.phase is None else {"phase": PHASES[int(self.phase[0])]}

    def state_dict(self) -> dict:
        return {
            "phase": None if self.phase is None else self.phase.clone(),
            "threshold": None if self.threshold is None else self.threshold.clone(),
            "best": None if self.best is None else self.best.state_dict(),
            "dense": self.dense,
        }

    def load_state_dict(self, state: dict) -> None:
        self.phase = None if state.get("phase") is None else state["phase"].long().cpu()
        self.threshold = None if state.get("threshold") is None else state["threshold"].double().cpu()
        self.dense = int(state.get("dense", 1))
        self.best = None if state.get("best") is None else Checkpoint.from_state(state["best"])
