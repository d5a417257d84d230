"""The event log: one row per structural change, parameter change, phase or divergence."""

from __future__ import annotations

import threading
from typing import Iterable

import numpy as np
import pandas as pd

COLUMNS = ("epoch", "step", "kind", "layer", "source", "target", "weight", "cause")
KINDS = ("grow", "prune", "unit_remove", "neuron_grow", "bridge", "param", "phase", "nan", "rewind", "note")


class EventLog:
    """Column lists of events; ``layer`` indexes the weight matrix (0 = inputs → first hidden),
    ``source``/``target`` are neuron indices within the two layers it joins. On a conv layer
    (and the flatten after it) they are the channel-graph nodes a kernel tap (a flattened
    column) joins, input channel → output channel or neuron: one event per tap.

    A grow/prune cycle records thousands of events at once: :meth:`extend` keeps them as the
    arrays it is given (a block), and :attr:`columns` turns pending blocks into the column
    lists when they are read (once each), so a cycle pays no Python work per event. Safe to
    read from one thread while another records.
    """

    def __init__(self) -> None:
        self._lists: dict[str, list] = {c: [] for c in COLUMNS}
        self._blocks: list[tuple[int, tuple]] = []  # (rows, one value or array per column)
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def columns(self) -> dict[str, list]:
        """The log as one list per column of :data:`COLUMNS` (the lists themselves: deleting
        from their ends truncates the log)."""
        if self._blocks:
            with self._lock:
                self._flush()
        return self._lists

    def __len__(self) -> int:
        return len(self._lists["epoch"]) + self._pending

    def add(self, epoch: int, step: int, kind: str, layer=None, source=None, target=None, weight=None, cause=None) -> None:
        """Record one event."""
        with self._lock:
            self._blocks.append((1, (epoch, step, kind, layer, source, target, weight, cause)))
            self._pending += 1

    def extend(
        self,
        epoch: int,
        step: int,
        kind: str,
        layer: int,
        sources: Iterable[int],
        targets: Iterable[int],
        weights: Iterable[float],
        causes: Iterable[str | None] | str | None = None,
    ) -> None:
        """Record many connection events of one kind and layer at once (``sources``,
        ``targets`` and ``weights`` as sequences, numpy arrays or tensors, one value each)."""
        sources, targets, weights = (_array(v) for v in (sources, targets, weights))
        n = len(sources)
        if not n:
            return
        if causes is not None and not isinstance(causes, str):
            causes = list(causes)
        with self._lock:
            self._blocks.append((n, (epoch, step, kind, layer, sources, targets, weights, causes)))
            self._pending += n

    def _flush(self) -> None:
        """Append the pending blocks to the column lists (holding the lock)."""
        lists = [self._lists[c] for c in COLUMNS]
        for n, values in self._blocks:
            for column, v in zip(lists, values):
                if isinstance(v, np.ndarray):
                    column += v.tolist()
                elif isinstance(v, list):
                    column += v
                else:
                    column += [v] * n
        self._blocks, self._pending = [], 0

    def truncate(self, n: int) -> None:
        """Drop every event after the first ``n``."""
        for column in self.columns.values():
            del column[n:]

    def frame(self) -> pd.DataFrame:
        """The log as a DataFrame with the columns of :data:`COLUMNS`."""
        df = pd.DataFrame(self.columns, columns=list(COLUMNS))
        for col in ("layer", "source", "target"):
            df[col] = df[col].astype("Int64")
        df["weight"] = df["weight"].astype(float)
        return df

    def state_dict(self) -> dict:
        return {c: list(v) for c, v in self.columns.items()}

    def load_state_dict(self, state: dict) -> None:
        with self._lock:
            self._lists = {c: list(state.get(c, [])) for c in COLUMNS}
            self._blocks, self._pending = [], 0

    def __getstate__(self) -> dict:  # copies and pickles hold the lists, not the lock
        return {"lists": self.state_dict()}

    def __setstate__(self, state: dict) -> None:
        self.__init__()
        self._lists = state["lists"]


def _array(values) -> np.ndarray | list:
    """``values`` as a numpy array (a tensor's on the CPU) or, for other sequences, a list."""
    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return list(values)
