"""The lottery ticket procedure (Frankle & Carbin; survey paper 004, §3.2).

Dense start. The weights after epoch ``rewind_epoch`` are stored (0: the initial weights).
Each of ``rounds`` rounds trains ``epochs_per_round`` epochs, prunes ``rate`` of the remaining
weights by magnitude over all hidden layers together and the output layer separately at half
the rate (Frankle & Carbin's rule for fully connected networks), and then rewinds every
surviving weight and bias to its stored value, with fresh optimizer state: a ``rewind``
event marks the round boundary. After the last round the ticket trains for the rest of the
run. ``epochs_per_round = 0`` splits the run evenly: ``epochs // (rounds + 1)`` per round, so
the final ticket trains as long as each round did.

On a conv network the hidden layers ranked together are the conv layers (every kernel tap)
and the dense hidden layers: global magnitude pruning, as the later lottery-ticket work prunes
deeper conv nets (the original paper's Conv-2/4/6 used lower per-layer rates for conv layers);
the output layer keeps its half rate.

growlab's readings: a round always trains ``epochs_per_round`` epochs after its rewind (with
late rewinding, ``rewind_epoch > 0``, the survivors restart from their epoch-k values and
train a full round); no round ends on the run's last epoch (a rewound, untrained ticket would
be the result); pruning never removes an output unit's strongest incoming connection.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from growlab.methods.base import Method
from growlab.methods.checkpoint import Checkpoint
from growlab.methods.context import CycleContext
from growlab.methods.params import Param
from growlab.methods.presets import METHODS
from growlab.methods.prune import strongest_incoming
from growlab.methods.structure import active, flat, pick_top


def lottery_prune_masks(net, rate: float) -> list[torch.Tensor]:
    """Connections one round prunes: ``rate`` of the active hidden-layer weights (smallest |w|,
    ranked together) and ``rate / 2`` of the output layer's. One ``(P, out, in)`` bool per layer.

    Example:
        >>> from growlab.engine import Network
        >>> net = Network((4, 5, 1))
        >>> [int(m.sum()) for m in lottery_prune_masks(net, 0.2)]
        [4, 0]
    """
    last = net.n_layers - 1
    imp = [w.detach().abs() for w in net.weights]
    acts = [active(net, l) for l in range(net.n_layers)]
    keyed = [torch.where(a, -i, float("-inf")) for a, i in zip(acts, imp)]
    picks: list[torch.Tensor] = []
    if last > 0:
        n_hidden = sum(a.flatten(1).sum(dim=1) for a in acts[:last])  # (P,)
        counts = torch.round(n_hidden.double() * rate).long()
        picks = unflat_hidden(net, pick_top(flat(keyed[:last]), counts))
    out_act = acts[last]
    eligible = out_act & ~strongest_incoming(out_act, imp[last])  # never cut an output off
    counts = torch.round(out_act.flatten(1).sum(dim=1).double() * rate / 2).long()
    out_keyed = torch.where(eligible, -imp[last], float("-inf")).flatten(1)
    picks.append(pick_top(out_keyed, counts).view_as(out_act))
    return picks


def unflat_hidden(net, x: torch.Tensor) -> list[torch.Tensor]:
    """:func:`~growlab.methods.structure.unflat` for all weight layers but the last."""
    shapes = [m.shape for m in net.masks[:-1]]
    parts = torch.split(x, [m[0].numel() for m in net.masks[:-1]], dim=1)
    return [p.reshape(s) for p, s in zip(parts, shapes)]


@METHODS.register("lottery")
class Lottery(Method):
    """Rounds of train → prune ``rate`` (output layer at half) → rewind survivors."""

    doc = "rounds of train → prune a fraction of the weights (output layer at half) → rewind survivors"
    source = "Frankle & Carbin 2019, as summarised in Vadera & Ameen (paper 004, §3.2)"
    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param("rounds", 5, "int", low=0, high=100, doc="prune-and-rewind rounds"),
        Param("rate", 0.2, "float", low=0, high=1, low_open=True, high_open=True,
              doc="fraction of the remaining weights pruned per round (the output layer at half this)"),
        Param("epochs_per_round", 0, "int", low=0, high=100_000,
              doc="epochs trained per round; 0 = epochs // (rounds + 1)"),
        Param("rewind_epoch", 0, "int", low=0, high=100_000, live=False,
              doc="survivors rewind to their weights after this epoch (0 = the initial weights)"),
    )  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        self.stored: Checkpoint | None = None
        self.round = 0  # rounds done
        self.since = 0  # epochs trained since the last rewind

    def round_length(self, epochs: int) -> int:
        """Epochs per round: ``epochs_per_round``, or ``epochs // (rounds + 1)`` (at least 1)."""
        return self.epochs_per_round or max(1, epochs // (self.rounds + 1))

    def setup(self, ctx: CycleContext) -> None:
        if self.rewind_epoch == 0:
            self.stored = Checkpoint(ctx.net)

    def after_epoch(self, ctx: CycleContext) -> bool:
        self.since += 1
        if self.stored is None and ctx.epoch >= self.rewind_epoch:
            self.stored = Checkpoint(ctx.net)
        if self.round >= self.rounds or ctx.epoch >= ctx.epochs or self.since < self.round_length(ctx.epochs):
            return False
        self.cycle(ctx)
        return True

    def cycle(self, ctx: CycleContext) -> None:
        """One round boundary now: prune, then rewind the survivors to the stored weights.

        Forced before ``rewind_epoch``, it stores the current weights first (so nothing moves).
        """
        net = ctx.net
        if self.stored is None:
            self.stored = Checkpoint(net)
        self.round += 1
        pruned = sum(
            int(ctx.prune(l, where, f"lottery round {self.round}, magnitude").sum())
            for l, where in enumerate(lottery_prune_masks(net, self.rate))
            if where.any()
        )
        everyone = torch.ones(net.population, dtype=torch.bool)
        kept = self.stored.rewind(ctx, everyone)
        self.since = 0
        ctx.note(
            "rewind",
            f"round {self.round}/{self.rounds}: pruned {pruned} ({self.rate:.0%}, output layer {self.rate / 2:.0%}); "
            f"rewound {kept} survivors to epoch {self.rewind_epoch}",
        )

    def overlays(self) -> dict:
        return {"phase": f"round {min(self.round + 1, self.rounds)}/{self.rounds}" if self.round < self.rounds else "ticket"}

    def state_dict(self) -> dict:
        return {
            "stored": None if self.stored is None else self.stored.state_dict(),
            "round": self.round,
            "since": self.since,
        }

    def load_state_dict(self, state: dict) -> None:
        self.round, self.since = int(state.get("round", 0)), int(state.get("since", 0))
        stored = state.get("stored")
        self.stored = None if stored is None else Checkpoint.from_state(stored)
