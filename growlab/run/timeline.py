"""A run's timeline: what rebuilds its network at any past epoch (DESIGN §6b).

After every epoch (and after a forced cycle, a rollback or a redundant-path pruning) the
run hands its network to :meth:`Timeline.record`, which keeps

- the **structure**, every epoch: the connections that became active and those that stopped
  being active since the epoch before (flat indices into each layer's tensor, with the new
  connections' weights at the end of that epoch) and the neuron masks. These are the facts
  the event log's ``grow``/``prune``/``unit_remove``/``neuron_grow`` rows describe, kept in a
  form that replays exactly (a rewind or a layer removal included). Every checkpoint epoch
  also keeps the full masks (a *keyframe*), so rebuilding replays at most ``every − 1`` steps;
- **weight checkpoints** (weights, biases, birth epochs) every ``every`` epochs, ``every``
  chosen so that the checkpoints of the whole run stay within ``budget`` bytes
  (:data:`DEFAULT_BUDGET`, 32 MiB), plus the latest epoch's weights.

:meth:`Timeline.at` returns a read-only :class:`NetworkAt`: exact at checkpoint epochs and at
the latest epoch; in between its structure is exact and its weights are the last
checkpoint's, with connections born since at their weight at the end of their birth epoch
and connections removed since at 0 (``exact`` says which).

A 200-epoch LeNet-300-100 run on ``mnist5k`` (266,200 connections, 1.07 MB of weights) keeps
a checkpoint every 7 epochs: about 32 MB in all (``benchmarks/bench_timeline.py`` prints it).

For the views, :func:`snapshot_at` gives a past :class:`~growlab.run.snapshot.Snapshot`; the
fading grow/prune events it carries come from typed arrays of the event log, built from the
blocks the log recorded them in (the arrays a cycle gave it) at the first scrub after they were
logged (an archive's log when it loads), so a scrub costs a few slices even when tens of
thousands of connections were pruned in its window.

The timeline is saved in the run archive. An archive written before growlab kept timelines
loads with a timeline that starts at its last epoch (:attr:`Timeline.note` says so).
"""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from growlab.methods.events import COLUMNS

if TYPE_CHECKING:
    import pandas as pd

#: Bytes the weight checkpoints of one run may take (the structure comes on top; it is small).
DEFAULT_BUDGET = 32 * 2**20
#: Version of the timeline's archive form.
FORMAT = 1


@dataclass(frozen=True, eq=False)
class NetworkAt:
    """The network of a single-member run as it was after ``epoch`` (read-only numpy arrays).

    Layer ``l`` arrays have the network's shapes for member 0: ``(cap[l+1], cap[l])`` for a
    dense layer, ``(C_out, C_in, k, k)`` for a conv layer; ``masks`` are the *active*
    connections (edge mask and both ends alive), ``alive`` the neuron (channel) masks.
    """

    epoch: int
    exact: bool  # the weights are exactly those of that epoch (a checkpoint or the latest epoch)
    checkpoint: int  # the epoch the weights come from
    sizes: tuple[int, ...]
    capacity: tuple[int, ...]
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray, ...]
    alive: tuple[np.ndarray, ...]
    birth_epoch: tuple[np.ndarray, ...]

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def n_active(self) -> int:
        """Active connections."""
        return int(sum(int(m.sum()) for m in self.masks))

    def same_structure(self, other: "NetworkAt") -> bool:
        """Whether ``other`` has exactly the same active connections and neurons."""
        return (
            len(self.masks) == len(other.masks)
            and all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(self.masks, other.masks))
            and all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(self.alive, other.alive))
        )

    def __repr__(self) -> str:
        kind = "exact" if self.exact else f"structure exact, weights of epoch {self.checkpoint}"
        return f"NetworkAt(epoch={self.epoch}, sizes={self.sizes}, active={self.n_active}, {kind})"


@dataclass(eq=False)
class _Entry:
    """One recorded epoch."""

    epoch: int
    shapes: tuple[tuple[int, ...], ...]  # the weight tensors' shapes (a layer removal changes them)
    sizes: tuple[int, ...]
    capacity: tuple[int, ...]
    alive: list[np.ndarray]  # bool per neuron layer
    key: list[np.ndarray] | None = None  # packed full active masks (keyframes)
    on: list[np.ndarray] | None = None  # flat indices newly active, per layer (int32)
    on_w: list[np.ndarray] | None = None  # their weights at the end of this epoch (float32)
    off: list[np.ndarray] | None = None  # flat indices no longer active (int32)
    ckpt: dict | None = None  # {"weights", "biases", "birth"}: the checkpoint of this epoch

    def nbytes(self) -> int:
        n = sum(a.nbytes for a in self.alive)
        for part in (self.key, self.on, self.on_w, self.off):
            n += sum(a.nbytes for a in part or ())
        if self.ckpt:
            n += sum(a.nbytes for k in ("weights", "biases", "birth") for a in self.ckpt[k])
        return n


@dataclass(eq=False)
class _State:
    """The full network of member 0 at one epoch (numpy), what ``record`` diffs against."""

    epoch: int
    masks: list[np.ndarray]
    alive: list[np.ndarray]
    weights: list[np.ndarray] = field(default_factory=list)
    biases: list[np.ndarray] = field(default_factory=list)
    birth: list[np.ndarray] = field(default_factory=list)


def _member0(ts) -> list[np.ndarray]:
    return [t[0].detach().cpu().numpy().copy() for t in ts]


def _pack_birth(b: np.ndarray) -> np.ndarray:
    return np.frombuffer(zlib.compress(np.ascontiguousarray(b, dtype=np.int32).tobytes(), 1), dtype=np.uint8).copy()


def _unpack_birth(z: np.ndarray, shape) -> np.ndarray:
    return np.frombuffer(zlib.decompress(z.tobytes()), dtype=np.int32).reshape(shape).copy()


class Timeline:
    """The structure of every epoch and weight checkpoints of one run (see the module doc).

    Args:
        epochs: the run's length (sizes the checkpoint interval).
        n_weights: parameters per checkpoint (weights and biases).
        every: checkpoint interval in epochs; chosen from ``budget`` when not given.
        budget: bytes the checkpoints may take.

    Thread-safe: the training thread records while another thread reads.
    """

    def __init__(self, epochs: int, n_weights: int, every: int | None = None, budget: int = DEFAULT_BUDGET):
        self.budget = int(budget)
        self.every = int(every) if every is not None else self.interval(epochs, n_weights, self.budget)
        if self.every < 1:
            raise ValueError(f"every must be ≥ 1 epoch, got {every!r}")
        self.start = 0  # the first epoch recorded
        self.note: str | None = None  # why epochs before ``start`` are missing, if they are
        self._entries: list[_Entry] = []
        self._last: _State | None = None  # the latest recorded epoch, full
        self._before: _State | None = None  # the state the latest entry was diffed against
        self._lock = threading.RLock()
        self._generation = 0  # bumped when recorded epochs are replaced (their events may be too)
        self._events = _EventIndex()  # the event log as typed arrays, for past snapshots

    @staticmethod
    def interval(epochs: int, n_weights: int, budget: int = DEFAULT_BUDGET) -> int:
        """The checkpoint interval that keeps ``epochs`` epochs within ``budget`` bytes.

        One checkpoint costs about 4.1 bytes per parameter (float32 weights and the packed
        masks); the latest epoch's weights are held on top of the checkpoints.
        """
        per = max(1, math.ceil(4.125 * n_weights))
        fits = max(1, budget // per - 1)  # one copy is the latest epoch's
        return max(1, math.ceil((int(epochs) + 1) / fits))

    @classmethod
    def for_run(cls, run, **kw) -> "Timeline":
        net = run.network
        n = sum(w[0].numel() for w in net.weights) + sum(b[0].numel() for b in net.biases)
        return cls(run.epochs, n, **kw)

    # ------------------------------------------------------------------ recording
    @property
    def epochs(self) -> list[int]:
        """The recorded epochs."""
        with self._lock:
            return [e.epoch for e in self._entries]

    @property
    def checkpoints(self) -> list[int]:
        """The epochs whose weights are kept exactly (the latest epoch's too)."""
        with self._lock:
            out = [e.epoch for e in self._entries if e.ckpt is not None]
            if self._last is not None and (not out or out[-1] != self._last.epoch):
                out.append(self._last.epoch)
            return out

    @property
    def last(self) -> int | None:
        with self._lock:
            return self._entries[-1].epoch if self._entries else None

    def nbytes(self) -> int:
        """Memory the timeline holds (entries and the latest epoch's full copy)."""
        with self._lock:
            n = sum(e.nbytes() for e in self._entries)
            for kept in {id(k): k for k in (self._last, self._before) if k is not None}.values():
                n += sum(a.nbytes for part in (kept.weights, kept.biases) for a in part)
            return n

    def record(self, run) -> None:
        """Record the run's network as the state after epoch ``run.epoch``.

        Recording an epoch already recorded (a forced cycle, a rollback) replaces it and drops
        any later epochs.
        """
        net = run.network
        with torch.no_grad():
            state = _State(
                epoch=int(run.epoch),
                masks=[net.effective_mask(l)[0].cpu().numpy() for l in range(net.n_layers)],
                alive=_member0(net.alive),
                weights=_member0(net.weights),
                biases=_member0(net.biases),
                birth=_member0(net.birth_epoch),
            )
        with self._lock:
            self._record(state, tuple(int(s) for s in net.sizes), tuple(int(c) for c in net.capacity))

    def _record(self, s: _State, sizes: tuple, capacity: tuple) -> None:
        if self._entries and s.epoch <= self._entries[-1].epoch:
            self._truncate(s.epoch - 1)
            self._generation += 1
        if not self._entries:
            self.start = s.epoch
        shapes = tuple(m.shape for m in s.masks)
        prev = self._last
        e = _Entry(s.epoch, shapes, sizes, capacity, alive=[a.copy() for a in s.alive])
        layout_change = prev is None or tuple(m.shape for m in prev.masks) != shapes
        checkpoint = layout_change or (s.epoch - self.start) % self.every == 0
        if checkpoint:
            e.key = [np.packbits(m.reshape(-1)) for m in s.masks]
            e.ckpt = {"weights": [w.copy() for w in s.weights], "biases": [b.copy() for b in s.biases],
                      "birth": [_pack_birth(b) for b in s.birth]}  # fmt: skip
        if not layout_change:
            e.on, e.on_w, e.off = [], [], []
            for m0, m1, w in zip(prev.masks, s.masks, s.weights):
                changed = np.flatnonzero(m0.reshape(-1) != m1.reshape(-1))
                now = m1.reshape(-1)[changed]
                on = changed[now].astype(np.int32)
                e.on.append(on)
                e.on_w.append(w.reshape(-1)[on].astype(np.float32))
                e.off.append(changed[~now].astype(np.int32))
        self._entries.append(e)
        self._last, self._before = s, prev

    def _truncate(self, epoch: int) -> None:
        """Drop entries after ``epoch``; the latest state becomes that epoch's (rebuilt)."""
        keep = [e for e in self._entries if e.epoch <= epoch]
        if len(keep) == len(self._entries):
            return
        self._entries = keep
        before, self._before = self._before, None
        if not keep:
            self._last = None
            return
        if before is not None and before.epoch == keep[-1].epoch and before.masks and (
            tuple(m.shape for m in before.masks) == keep[-1].shapes
        ):  # only the latest epoch is dropped (a forced cycle re-records it): its starting point is kept
            self._last = before
            return
        view = self._rebuild(len(keep) - 1)
        self._last = _State(
            view.epoch, list(view.masks), list(view.alive), list(view.weights), list(view.biases), list(view.birth_epoch)
        )

    # ------------------------------------------------------------------ reading
    def at(self, epoch: int) -> NetworkAt:
        """The network as it was after ``epoch`` (0 = as initialised). ``ValueError`` outside the record."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise ValueError(f"epoch must be a whole number, got {epoch!r}")
        epoch = int(epoch)
        with self._lock:
            if not self._entries:
                raise ValueError("this run has no timeline yet")
            first, last = self._entries[0].epoch, self._entries[-1].epoch
            if epoch < first and self.note:
                raise ValueError(f"epoch {epoch} is not in this run's timeline: {self.note}")
            if not first <= epoch <= last:
                raise ValueError(f"epoch {epoch} is outside this run's timeline, epochs {first}..{last}")
            return self._rebuild(epoch - first)  # entries are consecutive epochs

    def _rebuild(self, i: int) -> NetworkAt:
        entries = self._entries
        target = entries[i]
        if self._last is not None and target.epoch == self._last.epoch:
            s = self._last
            return _view(target, target.epoch, True, s.masks, s.weights, s.biases, s.birth)
        k = i
        while entries[k].key is None:
            k -= 1
        base = entries[k]
        masks = [np.unpackbits(p, count=int(np.prod(sh))).astype(bool).reshape(sh) for p, sh in zip(base.key, base.shapes)]
        weights = [w.copy() for w in base.ckpt["weights"]]
        biases = [b.copy() for b in base.ckpt["biases"]]
        birth = [_unpack_birth(z, sh) for z, sh in zip(base.ckpt["birth"], base.shapes)]
        for e in entries[k + 1 : i + 1]:
            for l in range(len(masks)):
                m, w, b = masks[l].reshape(-1), weights[l].reshape(-1), birth[l].reshape(-1)
                m[e.off[l]] = False
                w[e.off[l]] = 0.0
                m[e.on[l]] = True
                w[e.on[l]] = e.on_w[l]
                b[e.on[l]] = e.epoch
        return _view(target, base.epoch, k == i, masks, weights, biases, birth)

    def events_at(self, run, epoch: int):
        """The run's events logged in ``epoch`` (a DataFrame; ``run.events`` filtered)."""
        log = run.event_log.columns
        n = len(log["cause"])
        ep = log["epoch"][:n]
        lo = int(np.searchsorted(ep, epoch, side="left"))
        hi = int(np.searchsorted(ep, epoch, side="right"))
        import pandas as pd

        return pd.DataFrame({c: v[lo:hi] for c, v in log.items()})

    def index_events(self, run) -> None:
        """Index the run's event log for :meth:`recent_events` now (a loaded run's log is indexed
        when it loads; a training run's when it is first scrubbed: recording leaves it alone, so a
        grow/prune cycle's tens of thousands of events cost the training thread nothing more). A log
        that cannot be indexed is left to :meth:`recent_events` to report."""
        with self._lock:
            try:
                self._events.sync(run.event_log, self._generation)
            except ValueError:
                pass

    def recent_events(self, run, epoch: int) -> tuple["pd.DataFrame", list[tuple[int, int]]]:
        """The grow/prune events a snapshot after ``epoch`` draws fading (those of epochs
        ``epoch − FADE_EPOCHS .. epoch``, none before a layer removal), as
        :func:`~growlab.run.snapshot.snapshot_of` gives them, and the units removed then.

        Built from typed arrays of the event log (kept here, extended by the rows logged since the last call), so
        tens of thousands of prune events cost a few slices, not a DataFrame built from lists.
        """
        from growlab.run.snapshot import FADE_EPOCHS

        with self._lock:
            ix = self._events
            ix.sync(run.event_log, self._generation)
            return ix.window(epoch - FADE_EPOCHS, epoch)

    # ------------------------------------------------------------------ archives
    def state_dict(self) -> dict:
        """Tensors and plain values only (for ``torch.save`` / ``torch.load(weights_only=True)``)."""
        t = torch.from_numpy
        with self._lock:
            entries = []
            for e in self._entries:
                d: dict[str, Any] = {
                    "epoch": e.epoch, "shapes": [list(s) for s in e.shapes], "sizes": list(e.sizes),
                    "capacity": list(e.capacity), "alive": [t(a.copy()) for a in e.alive],
                }  # fmt: skip
                if e.key is not None:
                    d["key"] = [t(a.copy()) for a in e.key]
                if e.on is not None:
                    d["on"] = [t(a.copy()) for a in e.on]
                    d["on_w"] = [t(a.copy()) for a in e.on_w]
                    d["off"] = [t(a.copy()) for a in e.off]
                if e.ckpt is not None:
                    d["ckpt"] = {k: [t(a.copy()) for a in v] for k, v in e.ckpt.items()}
                entries.append(d)
            last = self._last
            return {
                "format": FORMAT, "every": self.every, "budget": self.budget, "start": self.start, "note": self.note,
                "entries": entries,
                "last": None if last is None else {
                    k: [t(a.copy()) for a in getattr(last, k)] for k in ("masks", "alive", "weights", "biases", "birth")
                } | {"epoch": last.epoch},
            }  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        """Load :meth:`state_dict` output; ``ValueError`` when it does not hold together."""
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError("the timeline is not in a form this growlab reads")
        n = lambda ts: [x.numpy().copy() for x in ts]  # noqa: E731
        entries = []
        for d in state["entries"]:
            e = _Entry(int(d["epoch"]), tuple(tuple(int(x) for x in s) for s in d["shapes"]),
                       tuple(int(x) for x in d["sizes"]), tuple(int(x) for x in d["capacity"]), n(d["alive"]))  # fmt: skip
            if "key" in d:
                e.key = n(d["key"])
            if "on" in d:
                e.on, e.on_w, e.off = n(d["on"]), n(d["on_w"]), n(d["off"])
                if not (len(e.on) == len(e.on_w) == len(e.off) == len(e.shapes)):
                    raise ValueError(f"the timeline's epoch {e.epoch} does not match its layers")
            if "ckpt" in d:
                e.ckpt = {k: n(v) for k, v in d["ckpt"].items()}
            if e.key is None and e.on is None:
                raise ValueError(f"the timeline's epoch {e.epoch} holds no structure")
            entries.append(e)
        epochs = [e.epoch for e in entries]
        if epochs != list(range(epochs[0], epochs[0] + len(epochs))) if epochs else False:
            raise ValueError("the timeline's epochs are not consecutive")
        if entries and entries[0].key is None:
            raise ValueError("the timeline does not start with a full structure")
        last = state["last"]
        with self._lock:
            self.every, self.budget = int(state["every"]), int(state["budget"])
            self.start, self.note = int(state["start"]), state["note"]
            self._entries, self._before = entries, None
            self._generation += 1
            self._last = None if last is None else _State(
                int(last["epoch"]), *(n(last[k]) for k in ("masks", "alive", "weights", "biases", "birth"))
            )  # fmt: skip
            if entries and (self._last is None or self._last.epoch != entries[-1].epoch):
                raise ValueError("the timeline's latest epoch is missing")

    def mark_missing(self, epoch: int, why: str) -> None:
        """Start the record at ``epoch``: nothing before it is known (``note`` says why)."""
        with self._lock:
            self._entries, self._last, self._before = [], None, None
            self.start, self.note = int(epoch), why
            self._generation += 1

    def __repr__(self) -> str:
        span = f"epochs {self._entries[0].epoch}..{self._entries[-1].epoch}" if self._entries else "empty"
        return f"Timeline({span}, checkpoint every {self.every}, {self.nbytes() / 2**20:.1f} MiB)"


def _view(entry: _Entry, checkpoint: int, exact: bool, masks, weights, biases, birth) -> NetworkAt:
    def ro(arrays):
        out = []
        for a in arrays:
            a = np.array(a, copy=True)
            a.setflags(write=False)
            out.append(a)
        return tuple(out)

    return NetworkAt(
        epoch=entry.epoch, exact=exact, checkpoint=entry.epoch if exact else checkpoint, sizes=entry.sizes,
        capacity=entry.capacity, weights=ro(weights), biases=ro(biases), masks=ro(masks), alive=ro(entry.alive),
        birth_epoch=ro(birth),
    )  # fmt: skip


#: Columns of connection events and their dtypes (what a DataFrame built from the lists infers).
_DTYPES = {"epoch": np.int64, "step": np.int64, "layer": np.int64, "source": np.int64, "target": np.int64,
           "weight": np.float64}  # fmt: skip


_GROW_PRUNE = np.array(["prune", "grow"], dtype=object)


class _EventIndex:
    """The connection events of an event log as typed arrays, for :meth:`Timeline.recent_events`.

    Holds, for every ``grow``/``prune`` row, its row number and columns (numpy), plus the
    rows of ``bridge`` and ``unit_remove`` events. :meth:`sync` appends the rows logged since
    the last call, from the blocks the log recorded them in (a cycle's events arrive as the
    arrays the method gave, so nothing is parsed row by row), and starts over when the log was
    replaced or cut back, or the timeline's generation changed (a rollback).
    """

    _CONN = ("epoch", "step", "layer", "source", "target", "weight")
    _DTYPES = {**{c: _DTYPES[c] for c in _CONN}, "row": np.int64, "grown": bool, "cause": object, "bridges": np.int64,
               "epochs": np.int64}  # fmt: skip

    def __init__(self) -> None:
        self._reset(None, (-1, -1))

    def _reset(self, log, version: tuple[int, int]) -> None:
        self.log, self.version, self.n = log, version, 0
        # per array, the chunks appended since it was last joined (joining is the reader's work)
        self.chunks: dict[str, list[np.ndarray]] = {k: [np.zeros(0, t)] for k, t in self._DTYPES.items()}
        self.units: list[tuple[int, int, int, int]] = []  # (row, epoch, neuron layer, unit) of unit_remove

    def sync(self, log, generation: int) -> None:
        """Index the rows of ``log`` (an :class:`~growlab.methods.events.EventLog`) logged since
        the last call; a row it cannot index raises ``ValueError``."""
        if log is not self.log or (log.revision, generation) != self.version:
            self._reset(log, (log.revision, generation))
        revision, blocks = log.blocks(self.n)
        if revision != self.version[0]:  # cut back meanwhile: start over
            self._reset(log, (revision, generation))
            revision, blocks = log.blocks(0)
        for first, n, values in blocks:
            self._add(first, n, dict(zip(COLUMNS, values)))
            self.n = first + n

    def _add(self, first: int, n: int, v: dict) -> None:
        """Index one block of ``n`` rows from row ``first``."""
        kind = v["kind"]
        if isinstance(kind, str):  # one kind for the whole block (every block a run records)
            conn = None if kind in ("grow", "prune") else np.zeros(0, np.int64)
            other = {k: (np.arange(n) if kind == k else np.zeros(0, np.int64)) for k in ("bridge", "unit_remove")}
            grown = np.full(n if conn is None else 0, kind == "grow")
        else:  # a loaded log: one list of kinds
            kinds = np.array(kind, dtype=object)
            conn = np.flatnonzero((kinds == "grow") | (kinds == "prune"))
            other = {k: np.flatnonzero(kinds == k) for k in ("bridge", "unit_remove")}
            grown = kinds[conn] == "grow"
        rows = first + (np.arange(n) if conn is None else conn)
        if len(rows):
            try:
                new = {c: _column(v[c], n, conn, _DTYPES[c]) for c in self._CONN}
            except (TypeError, ValueError) as e:  # a connection event without its layer or ends
                raise ValueError(f"the event log has a grow/prune row it cannot index: {e}") from None
            new.update(row=rows, grown=grown, cause=_column(v["cause"], n, conn, object))
            for k, a in new.items():
                self.chunks[k].append(a)
        self.chunks["bridges"].append(first + other["bridge"])
        self.chunks["epochs"].append(_column(v["epoch"], n, None, np.int64))
        gone = other["unit_remove"]
        if len(gone):
            layers, units = (_column(v[c], n, gone, object) for c in ("layer", "source"))
            epochs = _column(v["epoch"], n, gone, np.int64)
            for i, e, k, u in zip((first + gone).tolist(), epochs.tolist(), layers.tolist(), units.tolist()):
                if k is not None and u is not None:
                    self.units.append((i, e, int(k), int(u)))

    def _arrays(self) -> dict[str, np.ndarray]:
        for k, parts in self.chunks.items():
            if len(parts) > 1:
                self.chunks[k] = [np.concatenate(parts)]
        return {k: parts[0] for k, parts in self.chunks.items()}

    def window(self, first: int, last: int):
        """Connection events of epochs ``first..last`` after the last layer removal among them,
        as a DataFrame in the event log's columns, and the ``(layer, unit)`` removed then."""
        import pandas as pd

        a = self._arrays()
        start = int(np.searchsorted(a["epochs"], first, side="left"))
        stop = int(np.searchsorted(a["epochs"], last, side="right"))
        b = a["bridges"][(a["bridges"] >= start) & (a["bridges"] < stop)]
        if len(b):  # a layer was removed: earlier events index the older layout
            start = int(b[-1]) + 1
        lo, hi = np.searchsorted(a["row"], [start, stop], side="left")
        frame = pd.DataFrame({
            "epoch": a["epoch"][lo:hi], "step": a["step"][lo:hi], "kind": _GROW_PRUNE[a["grown"][lo:hi].view(np.int8)],
            "layer": a["layer"][lo:hi], "source": a["source"][lo:hi], "target": a["target"][lo:hi],
            "weight": a["weight"][lo:hi], "cause": a["cause"][lo:hi],
        })  # fmt: skip
        removed = [(k, u) for i, _, k, u in self.units if start <= i < stop]
        return frame, removed


def _column(v, n: int, pick: np.ndarray | None, dtype) -> np.ndarray:
    """Rows ``pick`` (all ``n`` when None) of one column of a log block as an array of ``dtype``:
    ``v`` is one value for every row, a numpy array or a list."""
    if isinstance(v, np.ndarray):
        return (v if pick is None else v[pick]).astype(dtype, copy=False)
    size = n if pick is None else len(pick)
    if isinstance(v, list):
        picked = v if pick is None else [v[i] for i in pick.tolist()]
        if dtype is object:  # (built from a list with one more item, so no item is taken for a sequence)
            return np.array(picked + [None], dtype=object)[:-1]
        return np.array(picked, dtype=dtype)
    if v is None and np.issubdtype(dtype, np.integer):
        raise TypeError("a value is missing")
    out = np.empty(size, dtype=dtype)
    out[:] = [v] * size if dtype is object else (np.nan if v is None else v)
    return out


def snapshot_at(run, epoch: int, base):
    """A :class:`~growlab.run.snapshot.Snapshot` of ``run`` as it was after ``epoch``, for the views.

    ``base`` is the run's latest snapshot: names, task and settings come from it; the network,
    the history row and the recent grow/prune events (the fading overlays) are those of
    ``epoch``. Past snapshots carry no method overlays, redundancy or decision boundary;
    ``extra["timeline"]`` says which epoch is shown and whether its weights are exact.
    Reads only append-only lists and the thread-safe timeline: safe while the run trains.
    """
    import dataclasses

    view = run.timeline.at(epoch)
    recent, removed = run.timeline.recent_events(run, epoch)
    n_rows = run.n_rows
    row = run.rows(epoch - 1, epoch)[0] if 1 <= epoch <= n_rows else {}
    edges = {"weights": view.weights, "masks": view.masks, "birth_epoch": view.birth_epoch}
    extra = {**base.extra, "removed_units": removed}
    if "conv" in base.extra:  # a conv network is drawn as its channel graph, its maps those of that epoch
        edges, conv = _conv_at(run, view, base.extra["conv"].get("example", 0))
        extra["conv"] = conv
    extra["timeline"] = {"epoch": view.epoch, "exact": view.exact, "checkpoint": view.checkpoint, "live": base.epoch}
    return dataclasses.replace(
        base, epoch=view.epoch, sizes=view.sizes, capacity=view.capacity, biases=view.biases, alive=view.alive,
        redundant=None, recent=recent, overlays={}, n_history=min(epoch, n_rows), last_row=row,
        boundary=base.boundary if epoch == base.epoch else None, extra=extra, **edges,
    )  # fmt: skip


def _conv_at(run, view: NetworkAt, example: int) -> tuple[dict, dict]:
    """The channel-graph fields and ``extra["conv"]`` of a conv network as it was (``view``):
    a one-member CPU network is built from the view and read as a live one would be
    (:mod:`growlab.run.conv_snapshot`), so the past is drawn exactly as the present."""
    import types

    from growlab.engine import Network
    from growlab.run.conv_snapshot import conv_extra, conv_fields

    live = run.network
    t = lambda arrays, dtype=None: [torch.from_numpy(np.array(a, dtype=dtype))[None] for a in arrays]  # noqa: E731
    state = {
        "sizes": list(view.sizes), "capacity": list(view.capacity), "task": live.task, "activation": live.activation,
        "seeds": list(live.seeds[:1]), "weights": t(view.weights, np.float32), "biases": t(view.biases, np.float32),
        "masks": t(view.masks, bool), "alive": t(view.alive, bool), "birth_epoch": t(view.birth_epoch, np.int32),
        "birth_cycle": t([np.zeros(m.shape, np.int32) for m in view.masks]), "image": list(live.image),
        "kernels": [[k.kernel, k.stride, k.padding, k.pool] for k in live.kernels],
    }  # fmt: skip
    net = Network.from_state_dict(state, device="cpu")
    data = run.data
    if data.X_val.device.type != "cpu":
        data = types.SimpleNamespace(**{**vars(data), "X_val": data.X_val.cpu()})
    extra = conv_extra(types.SimpleNamespace(network=net, data=data), example)["conv"]
    fields = conv_fields(net)
    return {k: fields[k] for k in ("weights", "masks", "birth_epoch")}, extra


def compare_structures(a, b):
    """Per epoch both runs have recorded: how alike their structures are (the paper's Jaccard).

    Returns a DataFrame ``epoch, jaccard, both, only_a, only_b`` over active connections
    (``jaccard`` = both / either; NaN where the two networks have different layer shapes,
    so their connections cannot be matched). Reads the timelines only.
    """
    import pandas as pd

    common = sorted(set(a.timeline.epochs) & set(b.timeline.epochs))
    rows = []
    for e in common:
        x, y = a.timeline.at(e), b.timeline.at(e)
        if [m.shape for m in x.masks] != [m.shape for m in y.masks]:
            rows.append({"epoch": e, "jaccard": float("nan"), "both": 0, "only_a": 0, "only_b": 0})
            continue
        both = sum(int((p & q).sum()) for p, q in zip(x.masks, y.masks))
        only_a = sum(int((p & ~q).sum()) for p, q in zip(x.masks, y.masks))
        only_b = sum(int((q & ~p).sum()) for p, q in zip(x.masks, y.masks))
        either = both + only_a + only_b
        rows.append({"epoch": e, "jaccard": both / either if either else 1.0, "both": both, "only_a": only_a,
                     "only_b": only_b})  # fmt: skip
    return pd.DataFrame(rows, columns=["epoch", "jaccard", "both", "only_a", "only_b"])


def differences(view, other) -> "pd.DataFrame":
    """The connections active in ``view`` but not in ``other`` (two :class:`NetworkAt` of the
    same shapes) as ``grow`` rows in the event log's columns, so a diagram draws them highlighted.
    Conv layers (and the flatten) give one row per kernel tap, on the channel graph."""
    import pandas as pd

    cols: dict[str, list] = {c: [] for c in ("epoch", "step", "kind", "layer", "source", "target", "weight", "cause")}
    for l, (m, o, w) in enumerate(zip(view.masks, other.masks, view.weights)):
        if m.shape != o.shape:
            continue
        only = m & ~o
        idx = np.argwhere(only)
        if not len(idx):
            continue
        target, source = idx[:, 0], idx[:, 1]
        n = len(idx)
        cols["epoch"] += [view.epoch] * n
        cols["step"] += [0] * n
        cols["kind"] += ["grow"] * n
        cols["layer"] += [l] * n
        if m.ndim == 2 and m.shape[1] != view.capacity[l]:  # the flatten: a column belongs to its channel
            source = source // (m.shape[1] // view.capacity[l])
        cols["source"] += source.tolist()
        cols["target"] += target.tolist()
        cols["weight"] += w[only].astype(float).tolist()
        cols["cause"] += ["only in this run"] * n
    return pd.DataFrame({c: np.array(v, dtype=_DTYPES.get(c, object)) for c, v in cols.items()})
