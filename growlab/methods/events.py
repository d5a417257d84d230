"""The event log: one row per structural change, parameter change, phase or divergence."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

COLUMNS = ("epoch", "step", "kind", "layer", "source", "target", "weight", "cause")
KINDS = ("grow", "prune", "unit_remove", "neuron_grow", "bridge", "param", "phase", "nan", "rewind", "note")


class EventLog:
    """Column lists of events; ``layer`` indexes the weight matrix (0 = inputs → first hidden),
    ``source``/``target`` are neuron indices within the two layers it joins. On a conv layer
    (and the flatten after it) they are the channel-graph nodes a kernel tap (a flattened
    column) joins, input channel → output channel or neuron: one event per tap."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {c: [] for c in COLUMNS}

    def __len__(self) -> int:
        return len(self.columns["epoch"])

    def add(self, epoch: int, step: int, kind: str, layer=None, source=None, target=None, weight=None, cause=None) -> None:
        """Record one event."""
        for col, val in zip(COLUMNS, (epoch, step, kind, layer, source, target, weight, cause)):
            self.columns[col].append(val)

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
        """Record many connection events of one kind and layer at once."""
        sources, targets, weights = list(sources), list(targets), list(weights)
        n = len(sources)
        if causes is None or isinstance(causes, str):
            causes = [causes] * n
        else:
            causes = list(causes)
        c = self.columns
        c["epoch"] += [epoch] * n
        c["step"] += [step] * n
        c["kind"] += [kind] * n
        c["layer"] += [layer] * n
        c["source"] += sources
        c["target"] += targets
        c["weight"] += weights
        c["cause"] += causes

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
        self.columns = {c: list(state.get(c, [])) for c in COLUMNS}
