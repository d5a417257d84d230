"""What a method sees during a cycle, and the only way it changes structure.

Every structural change goes through :meth:`CycleContext.prune`, :meth:`CycleContext.grow`
or :meth:`CycleContext.set_units`, which keep the engine's rules in one place: pruned
weights become zero, grown ones take their initial value, the optimizer state of every
changed connection is reset, births are stamped, counts are kept and events recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from growlab.engine import Network, Optimizer, Trainer
from growlab.methods.events import EventLog


@dataclass
class CycleContext:
    """The network and its surroundings at a cycle boundary.

    Attributes:
        net: the population being trained.
        optimizer: its optimizer (state is reset for changed connections).
        trainer: gives gradients on demand (:meth:`gradients`).
        X_train, y_train, X_val, y_val: the data, on the network's device.
        generator: the method's random source (seeded from the run's seed).
        epoch: epochs completed (0 during setup).
        epochs: total epochs of the run.
        cycle: index of the current cycle (1 for the first; 0 during setup).
        events: where events go (``None`` in large experiments).
        task: ``binary`` | ``multiclass`` | ``regression``.
    """

    net: Network
    optimizer: Optimizer
    trainer: Trainer
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    generator: torch.Generator
    epoch: int = 0
    epochs: int = 1
    cycle: int = 0
    events: EventLog | None = None
    grown: torch.Tensor = field(default=None)  # (P,) connections grown this cycle
    pruned: torch.Tensor = field(default=None)  # (P,) connections pruned this cycle

    def __post_init__(self) -> None:
        self.reset_counts()

    @property
    def task(self) -> str:
        return self.net.task

    @property
    def step(self) -> int:
        return self.trainer.steps

    def reset_counts(self) -> None:
        P, dev = self.net.population, self.net.device
        self.grown = torch.zeros(P, dtype=torch.long, device=dev)
        self.pruned = torch.zeros(P, dtype=torch.long, device=dev)

    # ------------------------------------------------------------------ structure
    def prune(self, layer: int, where: torch.Tensor, cause: str | None = None) -> torch.Tensor:
        """Deactivate the active connections of ``layer`` selected by ``where`` ``(P, out, in)``.

        Returns:
            Connections pruned per member ``(P,)``.
        """
        net = self.net
        where = where.to(net.device) & net.masks[layer]
        weights = net.weights[layer].detach().clone() if self.events is not None else None
        removed, _ = net.set_mask(layer, net.masks[layer] & ~where, epoch=self.epoch, cycle=self.cycle)
        self.optimizer.reset(layer, removed)
        counts = removed.sum(dim=(1, 2))
        self.pruned += counts
        self._record("prune", layer, removed, weights, cause)
        return counts

    def grow(
        self,
        layer: int,
        where: torch.Tensor,
        values: torch.Tensor,
        causes: Sequence[str | None] | str | None = None,
    ) -> torch.Tensor:
        """Activate dormant connections of ``layer`` with initial weights ``values``.

        Args:
            layer: weight layer.
            where: bool ``(P, out, in)``; only dormant connections are grown.
            values: initial weights shaped like the layer (read where grown).
            causes: a string, or one string per grown connection in ``where.nonzero()``
                order (e.g. the focal juncture that caused it).

        Returns:
            Connections grown per member ``(P,)``.
        """
        net = self.net
        where = where.to(net.device)
        if causes is not None and not isinstance(causes, str):
            keep = (~net.masks[layer])[where]  # drop causes of already-active picks
            causes = [c for c, k in zip(causes, keep.tolist()) if k]
        where = where & ~net.masks[layer]
        _, added = net.set_mask(layer, net.masks[layer] | where, values=values, epoch=self.epoch, cycle=self.cycle)
        self.optimizer.reset(layer, added)
        counts = added.sum(dim=(1, 2))
        self.grown += counts
        self._record("grow", layer, added, net.weights[layer].detach(), causes)
        return counts

    def set_units(self, k: int, alive: torch.Tensor, kind: str = "unit_remove", cause: str | None = None) -> None:
        """Change the neuron mask of hidden layer ``k``; optimizer state of touched weights resets."""
        net = self.net
        changed = net.alive[k] ^ alive.to(net.device)
        net.set_alive(k, alive)
        if k - 1 >= 0:
            self.optimizer.reset(k - 1, changed[:, :, None].expand_as(net.weights[k - 1]), bias=changed)
        if k < net.n_layers:
            self.optimizer.reset(k, changed[:, None, :].expand_as(net.weights[k]))
        if self.events is not None and net.population == 1:
            for unit in changed[0].nonzero().flatten().tolist():
                self.events.add(self.epoch, self.step, kind, layer=k, source=unit, cause=cause)

    def gradients(self, X: torch.Tensor | None = None, y: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Dense ∂L/∂W per layer on ``(X, y)`` (default: the whole training set)."""
        X = self.X_train if X is None else X
        y = self.y_train if y is None else y
        return self.trainer.gradients(X, y)

    def note(self, kind: str, cause: str, layer: int | None = None) -> None:
        """Record a non-connection event (``phase``, ``rewind``, ``param``…)."""
        if self.events is not None:
            self.events.add(self.epoch, self.step, kind, layer=layer, cause=cause)

    def _record(self, kind: str, layer: int, changed: torch.Tensor, weights, causes) -> None:
        if self.events is None or self.net.population != 1 or not changed.any():
            return
        idx = changed[0].nonzero()  # (n, 2): target, source
        w = weights[0][changed[0]].tolist()
        self.events.extend(
            self.epoch, self.step, kind, layer, idx[:, 1].tolist(), idx[:, 0].tolist(), w, causes
        )
