"""The event log: one row per structural change, parameter change, phase or divergence."""

from __future__ import annotations

import bisect
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
    lists when they are read (once each), so a cycle pays no Python work per event. The blocks
    stay readable as they were given (:meth:`blocks`), for readers that want typed columns
    without re-parsing the lists. Safe to read from one thread while another records.
    """

    def __init__(self) -> None:
        self._lists: dict[str, list] = {c: [] for c in COLUMNS}
        self._typed: list[tuple[int, int, tuple]] = []  # every block: (first row, rows, values)
        self._listed = 0  # blocks of _typed already in the column lists (the rest are pending)
        self._n = 0
        #: Bumped when the log is cut back or replaced (rows a reader of :meth:`blocks` saw may be gone).
        self.revision = 0
        self._lock = threading.Lock()

    @property
    def columns(self) -> dict[str, list]:
        """The log as one list per column of :data:`COLUMNS` (the lists themselves, to read:
        :meth:`truncate` drops events)."""
        if self._listed < len(self._typed):
            with self._lock:
                self._flush()
        return self._lists

    def __len__(self) -> int:
        return self._n

    def blocks(self, since: int = 0) -> tuple[int, list[tuple[int, int, tuple]]]:
        """The log's revision and its rows from ``since`` on, as the blocks they were recorded
        in: ``(first row, rows, values)``, ``values`` one per column of :data:`COLUMNS`, each a
        single value for every row of the block, or a numpy array or list of one per row."""
        with self._lock:
            out = []
            for first, n, values in self._typed[max(bisect.bisect_right(self._typed, since, key=_first) - 1, 0) :]:
                lo = max(since - first, 0)
                if lo >= n:
                    continue
                out.append((first + lo, n - lo, _rows(values, lo, n) if lo else values))
            return self.revision, out

    def _append(self, n: int, values: tuple) -> None:
        """Append a block of ``n`` rows (holding the lock)."""
        self._typed.append((self._n, n, values))
        self._n += n

    def add(self, epoch: int, step: int, kind: str, layer=None, source=None, target=None, weight=None, cause=None) -> None:
        """Record one event."""
        with self._lock:
            self._append(1, (epoch, step, kind, layer, source, target, weight, cause))

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
            self._append(n, (epoch, step, kind, layer, sources, targets, weights, causes))

    def _flush(self) -> None:
        """Append the pending blocks to the column lists (holding the lock)."""
        lists = [self._lists[c] for c in COLUMNS]
        for _, n, values in self._typed[self._listed :]:
            for column, v in zip(lists, values):
                if isinstance(v, np.ndarray):
                    column += v.tolist()
                elif isinstance(v, list):
                    column += v
                else:
                    column += [v] * n
        self._listed = len(self._typed)

    def truncate(self, n: int) -> None:
        """Drop every event after the first ``n``."""
        with self._lock:
            self._flush()
            if n >= self._n:
                return
            for column in self._lists.values():
                del column[n:]
            keep = self._typed[: bisect.bisect_left(self._typed, n, key=_first)]
            if keep and keep[-1][0] + keep[-1][1] > n:
                first, _, values = keep[-1]
                keep[-1] = (first, n - first, _rows(values, 0, n - first))
            self._typed, self._listed = keep, len(keep)
            self._n = n
            self.revision += 1

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
        self._replace({c: list(state.get(c, [])) for c in COLUMNS})

    def _replace(self, lists: dict[str, list]) -> None:
        """Make ``lists`` the whole log (one block of lists, copied so later rows stay out of it)."""
        with self._lock:
            self._lists = lists
            self._n = len(lists["cause"])
            self._typed = [(0, self._n, tuple(list(lists[c][: self._n]) for c in COLUMNS))] if self._n else []
            self._listed = len(self._typed)
            self.revision += 1

    def __getstate__(self) -> dict:  # copies and pickles hold the lists, not the lock
        return {"lists": self.state_dict()}

    def __setstate__(self, state: dict) -> None:
        self.__init__()
        self._replace(state["lists"])


def _rows(values: tuple, lo: int, hi: int) -> tuple:
    """Rows ``lo:hi`` of a block's values (a single value stands for every row)."""
    return tuple(v[lo:hi] if isinstance(v, (np.ndarray, list)) else v for v in values)


def _first(block: tuple) -> int:
    return block[0]


def _array(values) -> np.ndarray | list:
    """``values`` as a numpy array (a tensor's on the CPU) or, for other sequences, a list."""
    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return list(values)
