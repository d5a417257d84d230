"""Per-epoch weight history of a single-member run, for the inspector.

Small networks are traced whole from epoch 0, so any edge or neuron the user clicks later
has its full history. Large ones (LeNet-300-100 has 266k connections) trace only what is
watched, from the moment it is watched. Long runs are decimated (every other record is
dropped and the stride doubles) so a trace stays within a fixed number of floats.
"""

from __future__ import annotations

import threading

import numpy as np
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
        #: taps per edge of each layer (a conv kernel's k×k, a channel's H·W flattened columns)
        self.fans = tuple(network.fan(l) for l in range(len(cap) - 1))
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
                    rec[k] = _values(k, ws, bs, self.fans)
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
        """``epoch, weight`` of one connection (0 while it is inactive).

        On a conv network an edge of the channel graph has many taps (a kernel's k×k, a
        channel's flattened columns): ``weight`` is their root mean square signed like their
        sum, and a ``taps`` column holds every tap's value (row-major, a numpy array per epoch).
        """
        key = ("edge", int(layer), int(source), int(target))
        series = list(self._series(key))
        df = pd.DataFrame([(e, v[0]) for e, v in series], columns=["epoch", "weight"])
        if 0 <= layer < len(self.fans) and self.fans[layer] > 1:
            df["taps"] = [np.asarray(v[1:], np.float32) for _, v in series]
        return df

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
                    yield epoch, _values(key, *rec, self.fans)
                except IndexError:  # a selection outside this network
                    return
            elif key in rec:
                yield epoch, rec[key]


def _taps(weights, layer: int, fan: int, target, source):
    """The taps of edge ``source → target``: a conv kernel ``(out, in, k, k)`` or a channel's
    ``fan`` flattened columns; the weight itself for a dense layer."""
    w = weights[layer]
    if w.ndim == 4:
        return w[target, source].reshape(-1)
    return w[target, source * fan : (source + 1) * fan] if fan > 1 else w[target, source]


def _values(key: tuple, weights, biases, fans=None) -> tuple[float, ...]:
    """The traced numbers of ``key`` from member-0 weights ``(out, in)`` and biases ``(out,)``
    (a conv layer's ``(out, in, k, k)``; ``fans``: taps per edge of each layer, 1 for an MLP).

    An edge of many taps gives its signed root mean square, then every tap. Works on numpy
    arrays and on tensors alike; raises ``IndexError`` outside the network.
    """
    n_layers = len(weights)
    fans = fans or (1,) * n_layers

    def width_in(l):
        return weights[l].shape[1] // (1 if weights[l].ndim == 4 else fans[l])

    if key[0] == "edge":
        _, layer, source, target = key
        if not (0 <= layer < n_layers and 0 <= target < weights[layer].shape[0] and 0 <= source < width_in(layer)):
            raise IndexError(key)
        taps = _taps(weights, layer, fans[layer], target, source)
        if fans[layer] == 1 and weights[layer].ndim == 2:
            return (float(taps),)
        values = [float(v) for v in taps]
        live = [v for v in values if v != 0.0]  # inactive taps are exactly 0
        rms = (sum(v * v for v in live) / max(len(live), 1)) ** 0.5
        return (-rms if sum(values) < 0 else rms, *values)
    _, layer, unit = key
    width = width_in(layer) if layer < n_layers else weights[-1].shape[0]
    if not (0 <= layer <= n_layers and 0 <= unit < width):
        raise IndexError(key)
    bias = float(biases[layer - 1][unit]) if layer >= 1 else 0.0
    in_abs = float(abs(weights[layer - 1][unit]).sum()) if layer >= 1 else 0.0
    if layer < n_layers:
        w, fan = weights[layer], fans[layer]
        out = w[:, unit] if w.ndim == 4 or fan == 1 else w[:, unit * fan : (unit + 1) * fan]
        out_abs = float(abs(out).sum())
    else:
        out_abs = 0.0
    return bias, in_abs, out_abs
