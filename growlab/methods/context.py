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

from growlab.engine import MemberStreams, Network, Optimizer, Trainer
from growlab.methods.events import EventLog
from growlab.methods.structure import flat_nonzero

#: salt of the method's random streams (the batch order and initial structures use others)
METHOD_SALT = 0xC0FFEE


def method_streams(seeds) -> MemberStreams:
    """The method's random streams of members with these seeds (one per member)."""
    return MemberStreams(seeds, METHOD_SALT)


#: largest training set :meth:`CycleContext.train_rows` copies to row-major layout
ROW_COPY_BYTES = 64 * 2**20


@dataclass
class CycleContext:
    """The network and its surroundings at a cycle boundary.

    Attributes:
        net: the population being trained.
        optimizer: its optimizer (state is reset for changed connections).
        trainer: gives gradients on demand (:meth:`gradients`).
        X_train, y_train, X_val, y_val: the data, on the network's device.
        streams: the method's random source, one stream per member seeded from its seed
            (so a member draws the same numbers alone as in any population).
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
    streams: MemberStreams
    epoch: int = 0
    epochs: int = 1
    cycle: int = 0
    events: EventLog | None = None
    grown: torch.Tensor = field(default=None)  # (P,) connections grown this cycle
    pruned: torch.Tensor = field(default=None)  # (P,) connections pruned this cycle
    _rows: tuple | None = field(default=None, init=False, repr=False)  # (X_train, its row-major copy)

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
        """Deactivate the active connections of ``layer`` selected by ``where`` ``(P, out, in)``
        (a conv layer: ``(P, out, in, k, k)``, one per tap).

        Returns:
            Connections pruned per member ``(P,)``.
        """
        net = self.net
        return self.prune_at(layer, flat_nonzero(where.to(net.device) & net.masks[layer]), cause)

    def prune_at(self, layer: int, index: torch.Tensor, cause: str | None = None) -> torch.Tensor:
        """:meth:`prune` for the active connections at ``index``: ascending positions in the
        flattened ``(P, out, in)`` layer. Returns connections pruned per member ``(P,)``."""
        net = self.net
        weights = net.weight_values(layer, index) if self._recording(index) else None
        net.set_edges(layer, index, False, epoch=self.epoch, cycle=self.cycle)
        self.optimizer.reset_at(layer, index)
        counts = self._per_member(layer, index)
        self.pruned += counts
        self._record("prune", layer, index, weights, cause)
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
        shape = net.masks[layer].shape
        index = flat_nonzero(where.to(net.device).expand(shape))  # positions in (P, out, in)
        dormant = ~net.masks[layer].reshape(-1)[index]  # (n,): already-active picks are skipped
        if causes is not None and not isinstance(causes, str):
            causes = [c for c, k in zip(causes, dormant.tolist()) if k]
        if not bool(dormant.all()):
            index = index[dormant]
        return self.grow_at(layer, index, values.to(net.device).expand(shape).reshape(-1)[index], causes)

    def grow_at(
        self, layer: int, index: torch.Tensor, values: torch.Tensor, causes: Sequence[str | None] | str | None = None
    ) -> torch.Tensor:
        """:meth:`grow` for the dormant connections at ``index`` (ascending positions in the
        flattened ``(P, out, in)`` layer) with initial weights ``values`` ``(n,)`` and ``causes``
        in the same order. Returns connections grown per member ``(P,)``."""
        net = self.net
        net.set_edges(layer, index, True, values=values, epoch=self.epoch, cycle=self.cycle)
        self.optimizer.reset_at(layer, index)
        counts = self._per_member(layer, index)
        self.grown += counts
        if self._recording(index):
            self._record("grow", layer, index, net.weight_values(layer, index), causes)
        return counts

    def set_units(self, k: int, alive: torch.Tensor, kind: str = "unit_remove", cause: str | None = None) -> None:
        """Change the neuron mask of hidden layer ``k``; optimizer state of touched weights resets."""
        net = self.net
        changed = net.alive[k] ^ alive.to(net.device)
        net.set_alive(k, alive)
        into, out = net.unit_weights(k, changed)  # a channel's kernels and flatten block included
        if into is not None:
            self.optimizer.reset(k - 1, into, bias=changed)
        if out is not None:
            self.optimizer.reset(k, out)
        if self.events is not None and net.population == 1:
            for unit in changed[0].nonzero().flatten().tolist():
                self.events.add(self.epoch, self.step, kind, layer=k, source=unit, cause=cause)

    def train_rows(self) -> torch.Tensor:
        """``X_train`` with contiguous rows, for drawing row samples: the tensor itself, or a
        row-major copy made once when it is stored column by column (gathering rows from that
        strides through memory, several times slower) and takes at most 64 MB."""
        X = self.X_train
        if X.is_contiguous() or X.numel() * X.element_size() > ROW_COPY_BYTES:
            return X
        if self._rows is None or self._rows[0] is not X:
            self._rows = (X, X.contiguous())
        return self._rows[1]

    def gradients(self, X: torch.Tensor | None = None, y: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Dense ∂L/∂W per layer on ``(X, y)`` (default: the whole training set)."""
        X = self.X_train if X is None else X
        y = self.y_train if y is None else y
        return self.trainer.gradients(X, y)

    def note(self, kind: str, cause: str, layer: int | None = None) -> None:
        """Record a non-connection event (``phase``, ``rewind``, ``param``…)."""
        if self.events is not None:
            self.events.add(self.epoch, self.step, kind, layer=layer, cause=cause)

    def _recording(self, index: torch.Tensor) -> bool:
        """Whether changes at ``index`` become events (single-member runs with a log)."""
        return self.events is not None and self.net.population == 1 and len(index) > 0

    def _per_member(self, layer: int, index: torch.Tensor) -> torch.Tensor:
        """How many of the flat positions ``index`` of ``layer`` each member holds ``(P,)``."""
        net = self.net
        if net.population == 1:
            return torch.full((1,), len(index), dtype=torch.long, device=net.device)
        return torch.bincount(index // net.masks[layer][0].numel(), minlength=net.population)

    def _record(self, kind: str, layer: int, index: torch.Tensor, weights, causes) -> None:
        """One event per connection at flat ``index`` (member 0's, row-major), ``weights`` ``(n,)``.

        On a conv layer or the flatten, ``source`` and ``target`` are the nodes of the channel
        graph the tap joins (input channel → output channel or neuron): one event per tap.
        """
        if not self._recording(index):
            return
        net = self.net
        n_in = net.in_features(layer)  # weights per output node
        fan = net.fan(layer)
        sources, targets = index % n_in // fan, index // n_in  # tensors: the log keeps them as arrays
        self.events.extend(self.epoch, self.step, kind, layer, sources, targets, weights, causes)
