"""Per-epoch weight history of a single-member run, for the inspector.

Small networks are traced whole from epoch 0, so any edge or neuron the user clicks later
has its full history. Large ones (LeNet-300-100 has 266k connections) trace only what is
watched, from the moment it is watched. Long runs are decimated (every other record is
dropped and the stride doubles) so a trace stays within a fixed number of floats.
"""

from __future__ import annotations

import threading

import pandas as pd

#: Networks with at most this many possible connections are traced whole.
FULL_TRACE_LIMIT = 20_000
#: Most floats a trace keeps (about 8 MB) before it decimates.
TRACE_BUDGET = 2_000_000


def _key(selection: dict) -> tuple:
    if selection.get("kind") == "edge":
        return ("edge", int(selection["layer"]), int(selection["source"]), int(selection["target"]))
    if selection.get("kind") == "neuron":
        return ("neuron", int(selection["layer"]), int(selection["unit"]))
    raise ValueError(f"a selection is an edge or a neuron, got {selection!r}")


class WeightTrace:
    """Weights recorded after every epoch (or every ``stride`` epochs once decimated).

    Args:
        network: the engine ``Network`` (member 0 is traced).
        limit: trace every connection when the network has at most this many.
        budget: most floats kept before decimating.
    """

    def __init__(self, network, limit: int = FULL_TRACE_LIMIT, budget: int = TRACE_BUDGET):
        cap = network.capacity
        self.full = sum(a * b for a, b in zip(cap[:-1], cap[1:])) <= limit
        self.budget = budget
        self.stride = 1
        self.epochs: list[int] = []
        self.records: list[tuple] = []  # full: (weights, biases); watched: {key: values}
        self.watched: set[tuple] = set()
        self._lock = threading.Lock()  # the trainer appends while the UI reads

    def watch(self, selection: dict | None) -> None:
        """Start recording ``selection`` (only matters for networks not traced whole)."""
        if selection is not None:
            key = _key(selection)
            with self._lock:
                self.watched = self.watched | {key}

    def record(self, epoch: int, network) -> None:
        """Record the weights after ``epoch`` (call from the thread that trains)."""
        if epoch % self.stride:
            return
        if self.full:
            ws = tuple(w[0].detach().cpu().numpy().copy() for w in network.weights)
            bs = tuple(b[0].detach().cpu().numpy().copy() for b in network.biases)
            rec = (ws, bs)
        else:
            ws, bs = [w[0] for w in network.weights], [b[0] for b in network.biases]
            rec = {}
            for k in self.watched:
                try:
                    rec[k] = _values(k, ws, bs)
                except IndexError:  # watched outside this network: nothing to record
                    pass
        with self._lock:
            self.records.append(rec)
            self.epochs.append(epoch)
            if self._floats() > self.budget:
                self.epochs, self.records = self.epochs[::2], self.records[::2]
                self.stride *= 2

    def _floats(self) -> int:
        if not self.records:
            return 0
        first = self.records[0]
        per = sum(w.size + b.size for w, b in zip(*first)) if self.full else 4 * max(len(self.watched), 1)
        return per * len(self.records)

    def edge(self, layer: int, source: int, target: int) -> pd.DataFrame:
        """``epoch, weight`` of one connection (0 while it is inactive)."""
        key = ("edge", int(layer), int(source), int(target))
        rows = [(e, v[0]) for e, v in self._series(key)]
        return pd.DataFrame(rows, columns=["epoch", "weight"])

    def neuron(self, layer: int, unit: int) -> pd.DataFrame:
        """``epoch, bias, in_abs, out_abs`` of one neuron (sums of |w| in and out)."""
        key = ("neuron", int(layer), int(unit))
        rows = [(e, *v) for e, v in self._series(key)]
        return pd.DataFrame(rows, columns=["epoch", "bias", "in_abs", "out_abs"])

    def _series(self, key: tuple):
        with self._lock:
            epochs, records = list(self.epochs), list(self.records)
        for epoch, rec in zip(epochs, records):
            if self.full:
                try:
                    yield epoch, _values(key, *rec)
                except IndexError:  # a selection outside this network
                    return
            elif key in rec:
                yield epoch, rec[key]


def _values(key: tuple, weights, biases) -> tuple[float, ...]:
    """The traced numbers of ``key`` from member-0 weights ``(out, in)`` and biases ``(out,)``.

    Works on numpy arrays and on tensors alike; raises ``IndexError`` outside the network.
    """
    n_layers = len(weights)
    if key[0] == "edge":
        _, layer, source, target = key
        if not (0 <= layer < n_layers and 0 <= target < weights[layer].shape[0] and 0 <= source < weights[layer].shape[1]):
            raise IndexError(key)
        return (float(weights[layer][target, source]),)
    _, layer, unit = key
    width = weights[layer].shape[1] if layer < n_layers else weights[-1].shape[0]
    if not (0 <= layer <= n_layers and 0 <= unit < width):
        raise IndexError(key)
    bias = float(biases[layer - 1][unit]) if layer >= 1 else 0.0
    in_abs = float(abs(weights[layer - 1][unit, :]).sum()) if layer >= 1 else 0.0
    out_abs = float(abs(weights[layer][:, unit]).sum()) if layer < n_layers else 0.0
    return bias, in_abs, out_abs
