"""The event log as a filterable table: newest first, filter by kind, layer or text.

Events are only sent to the table while the Events tab is shown; meanwhile they wait and go
in one assignment when it is opened (a prune cycle on a large network logs thousands).
"""

from __future__ import annotations

import re

import pandas as pd
import panel as pn
import param

from growlab.methods.events import COLUMNS, KINDS
from growlab.view.diagram_layout import neuron_name

#: At most this many events are kept in the table (a LeNet prune cycle logs thousands).
MAX_ROWS = 20_000


#: Column types of the table. Layer, source and target are objects holding ints or None:
#: pandas' nullable Int64 (what ``Runner.events`` returns) does not reach the browser.
DTYPES = {"epoch": "int64", "step": "int64", "kind": "object", "layer": "object", "source": "object",
          "target": "object", "weight": "float64", "cause": "object"}  # fmt: skip


#: The table's columns: the log's, with the connection or unit named as the Inspector names it.
TABLE = (*COLUMNS[:3], "connection", *COLUMNS[3:])
#: "juncture 1:3→2" in a cause (strategic growth), named like the Inspector: "juncture h1 #3 → h2 #2".
_JUNCTURE = re.compile(r"juncture (\d+):(\d+)→(\d+)")
#: Kinds whose ``layer`` is a neuron layer (the others' is a weight matrix).
UNIT_KINDS = {"neuron_grow", "unit_remove", "bridge"}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=DTYPES.get(c, "object")) for c in TABLE})


def _name(snap, k: int, u: int) -> str:
    try:
        return neuron_name(snap, k, u)
    except (IndexError, TypeError, AttributeError):  # numbered before a bridge, or a layer the diagram does not name
        return f"layer {k} #{u}"


def _connection(snap, kind, layer, source, target) -> str:
    """The Inspector's name for what an event is about: "h1 #3 → h2 #2", "age → h1 #0", "h2 #4"."""
    if layer is None or source is None or snap is None:
        return ""
    if target is None or kind in UNIT_KINDS:
        return _name(snap, layer, source)
    return f"{_name(snap, layer, source)} → {_name(snap, layer + 1, target)}"


def _typed(df: pd.DataFrame, snap=None) -> pd.DataFrame:
    df = df.astype({c: DTYPES[c] for c in COLUMNS if c in df})
    for col in ("layer", "source", "target"):
        if col in df:
            df[col] = [None if pd.isna(v) else int(v) for v in df[col]]
    if "cause" in df:  # the text filter cannot mask with missing values
        df["cause"] = df["cause"].fillna("")
        if snap is not None:
            df["cause"] = [_JUNCTURE.sub(lambda m: "juncture " + _connection(snap, "grow", *map(int, m.groups())), c)
                           if "juncture" in c else c for c in df["cause"]]  # fmt: skip
    if {"kind", "layer", "source", "target"} <= set(df):
        df["connection"] = [_connection(snap, *row) for row in zip(df["kind"], df["layer"], df["source"], df["target"])]
        df = df[[c for c in TABLE if c in df]]
    return df


class EventsView(pn.viewable.Viewer):
    """A Tabulator of the run's events, fed with :meth:`update`."""

    kinds = param.ListSelector(default=[], objects=list(KINDS), doc="Show only these kinds (none = all).")
    n_events = param.Integer(default=0, doc="Events received for this run.")
    active = param.Boolean(default=True, doc="Shown now; while hidden, events wait and go to the table in one go.")

    def __init__(self, **params):
        super().__init__(**params)
        self._table = None
        self.kind_filter = pn.widgets.MultiChoice.from_param(
            self.param.kinds, name="Kinds", placeholder="all kinds", sizing_mode="stretch_width"
        )
        self.summary = pn.pane.Markdown("No events yet.", margin=(0, 10))
        self._waiting: list[pd.DataFrame] = []
        self.param.watch(lambda e: e.new and self._flush(), "active")

    @property
    def table(self) -> pn.widgets.Tabulator:
        """The table, made when first needed: a page whose Events tab is never opened never needs it."""
        if self._table is None:
            self._table = pn.widgets.Tabulator(
                _empty(), pagination="remote", page_size=12, show_index=False, disabled=True, layout="fit_data_stretch",
                sizing_mode="stretch_width", sorters=[{"field": "step", "dir": "desc"}],
                header_filters={"cause": {"type": "input", "func": "like", "placeholder": "search"},
                                "layer": {"type": "number", "func": "="}},
                formatters={"weight": {"type": "money", "precision": 4, "symbol": ""}},
                stylesheets=[":host .tabulator { font-size: 14px; }"], css_classes=["gl-events"],
            )  # fmt: skip
            self._table.add_filter(self.param.kinds, "kind")
        return self._table

    def update(self, update) -> None:
        """Take the update's new events (clearing on a new run); drawn now if shown, else later."""
        if update.fresh:
            self._waiting.clear()
            if self._table is not None and len(self._table.value):
                self._table.value = _empty()
            self.n_events = 0
        if not update.events.empty:
            self._waiting.append(_typed(update.events, update.snapshot))  # named now: a later bridge renumbers
            self.n_events += len(update.events)
        if self.active:
            self._flush()

    def _flush(self) -> None:
        """Send the waiting events to the table in one assignment.

        With remote pagination only the page shown travels to the browser, and an assignment
        keeps the user's header filters and sorting.
        """
        if not self._waiting:
            return
        frames = [f for f in (self.table.value, *self._waiting) if not f.empty]
        self._waiting.clear()
        if not frames:
            return
        self.table.value = pd.concat(frames, ignore_index=True).iloc[-MAX_ROWS:].reset_index(drop=True)
        counts = self.table.value["kind"].value_counts()
        self.summary.object = " · ".join(f"**{k}** {n:,}" for k, n in counts.items()) + (
            f" (newest {MAX_ROWS:,} kept of {self.n_events:,})" if self.n_events > MAX_ROWS else ""
        )

    def __panel__(self):
        return pn.Column(pn.Row(self.kind_filter, self.summary, sizing_mode="stretch_width"), self.table,
                         sizing_mode="stretch_width")  # fmt: skip
