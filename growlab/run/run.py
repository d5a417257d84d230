"""``Run``: one steppable training run with its method, history, events and live changes."""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import pandas as pd
import torch

from growlab.config import LIVE_SETTINGS, TRAIN_SETTINGS, format_arch
from growlab.data import Dataset, load_cached
from growlab.engine import Optimizer, Trainer, evaluate, member_losses, network_for, probabilities
from growlab.engine.restore import RestorePoint
from growlab.analysis import redundant_count
from growlab.methods import METHODS, CycleContext, EventLog, Method
from growlab.methods.context import method_streams
from growlab.run import archive, state
from growlab.run.arguments import split_arguments
from growlab.run.timeline import NetworkAt, Timeline

#: Training settings that may change while a run trains (method parameters always may).
#: the methods that run on conv networks: every named method (each documents its conv reading)
CONV_METHODS = METHODS.names()
#: A kept state whose training loss is this many times the run's best is not worth training on.
HOPELESS_LOSS = 10.0
#: What a run loaded from a state without a timeline (an older archive) says when asked for a past epoch.
NO_TIMELINE = ("this archive was saved by a growlab without timelines, so epochs before {epoch} cannot be shown; "
               "epochs from {epoch} on are recorded as the run continues")  # fmt: skip


class Run:
    """One training run: dataset, network, method, optimizer, history and events.

    Args:
        dataset: a dataset name (see ``growlab.data.available()``) or a ``Dataset``.
        arch: hidden widths (``"16-8"``), conv layers then widths (``"c6k5-p2-c16k5-p2-120-84"``,
            image datasets only; see :func:`growlab.config.parse_arch`) or a preset
            (``"paper"``, ``"lenet-300-100"``, ``"playground"``, ``"lenet-5"``, ``"lenet-5-caffe"``).
        method: a named method (see ``growlab.methods.available()``).
        epochs: epochs to train.
        seed: seeds the initial weights, the batch order and the method's randomness.
        **params: training settings (``lr``, ``optimizer``, ``momentum``, ``batch_size``,
            ``activation``, ``device``, ``split_seed``, ``dataset_options``) and the
            method's parameters (e.g. ``sparsity=0.9``).

    Defaults (``lr=0.003`` Adam, full batch up to 1,024 training rows, relu) reach a mean
    validation accuracy of about 86% on ``heart`` with ``arch="16-8"`` over 10 seeds.

    Every method runs on conv architectures (``Run("mnist5k", "lenet-5", "nest")``); their
    connections are kernel taps, and the analyses see the channel graph (DESIGN §3b; e.g.
    ``granularity="kernel"`` or ``"channel"`` for structured pruning, see ``growlab.methods``).

    Example:
        >>> run = Run("heart", "16-8", "dense", epochs=5, seed=0)
        >>> run.run().shape[0]
        5
    """

    def __init__(
        self,
        dataset: str | Dataset = "heart",
        arch: str | tuple[int, ...] = "16-8",
        method: str = "dense",
        epochs: int = TRAIN_SETTINGS["epochs"].default,
        seed: int = TRAIN_SETTINGS["seed"].default,
        **params: Any,
    ):
        method_cls = METHODS.get(method)
        self.config, method_kw = split_arguments(dataset, arch, method, epochs, seed, params)
        self.method: Method = method_cls(**method_kw)
        cfg = self.config
        self.data = dataset if isinstance(dataset, Dataset) else load_cached(cfg.dataset, cfg.split_seed, **cfg.dataset_options)
        self.network = network_for(
            cfg.arch, self.data, capacity=self.method.capacity, seeds=[seed], activation=cfg.activation,
            device=cfg.device, batch_size=cfg.batch_size,
        )  # fmt: skip
        dev = self.network.device
        self.optimizer = Optimizer(self.network, cfg.optimizer, lr=cfg.lr, momentum=cfg.momentum)
        self.trainer = Trainer(self.network, self.optimizer, batch_size=cfg.batch_size)
        self.streams = method_streams([seed])  # the method's draws: the same as this seed's in any grid
        self._events = EventLog()
        self._history: list[dict] = []
        self._pending: dict[str, Any] = {}  # live changes for the next boundary (guarded by _changes)
        self._changes = threading.Lock()
        self.epoch = 0
        self.cycles = 0
        self.status = "ready"
        self.needs_reset = False  # diverged with a state too broken to train on
        self._sound: dict | None = None  # the state before the last epoch that trained well
        self._now_sound = True  # the state saved before an epoch may become the sound one (if it trains well)
        self._points = (RestorePoint(), RestorePoint())  # kept states are saved into these, in turn
        self._best_loss: float | None = None  # the lowest training loss in the history (None: to compute)
        self._counts: tuple | None = None  # (structure version, density, active params, redundant)
        self.ctx = CycleContext(
            self.network, self.optimizer, self.trainer,
            self.data.X_train.to(dev), self.data.y_train.to(dev), self.data.X_val.to(dev), self.data.y_val.to(dev),
            self.streams, epoch=0, epochs=cfg.epochs, events=self._events,
        )  # fmt: skip
        self.method.setup(self.ctx)
        self._since = self.ctx.grown.clone(), self.ctx.pruned.clone()
        self.timeline = Timeline.for_run(self)  # the network at every past epoch (run.at)
        self.timeline.record(self)

    # ------------------------------------------------------------------ properties
    @property
    def epochs(self) -> int:
        return self.config.epochs

    @property
    def done(self) -> bool:
        return self.epoch >= self.epochs

    @property
    def history(self) -> pd.DataFrame:
        """One row per epoch (see ``history_columns``).

        ``train_*`` are measured by the epoch's own training pass (each batch's loss and
        predictions just before its step, averaged over the epoch: no second pass over the
        training set); ``val_*`` and the structure counts are those of the network after the
        epoch and its cycle.
        """
        return pd.DataFrame(self._history, columns=self.history_columns())

    @property
    def events(self) -> pd.DataFrame:
        """The event log: ``epoch, step, kind, layer, source, target, weight, cause``."""
        return self._events.frame()

    @property
    def event_log(self) -> EventLog:
        return self._events

    def history_columns(self) -> list[str]:
        metrics = ["train_loss", "val_loss"]
        if self.data.task == "regression":
            metrics += ["train_mse", "val_mse"]
        else:
            metrics += ["train_acc", "val_acc", "val_auc", "val_f1"]
        return ["epoch", *metrics, "density", "active_params", "grown", "pruned", "redundant"]

    def params(self) -> dict[str, Any]:
        """Current live-changeable values: the method's parameters and the learning rate."""
        return {**self.method.get_params(), "lr": self.optimizer.lr}

    @property
    def pending(self) -> dict[str, Any]:
        """Live changes queued by :meth:`set` and not applied yet (a copy)."""
        with self._changes:
            return dict(self._pending)

    @property
    def n_rows(self) -> int:
        """History rows so far (one per epoch trained)."""
        return len(self._history)

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict]:
        """Copies of history rows ``start:stop`` (the history's records, see :attr:`history`).

        Rows are only ever appended (or undone from the end by a divergence), so slicing up to a
        count seen earlier is safe from another thread while the run trains.
        """
        return [dict(r) for r in self._history[start:stop]]

    @property
    def last_row(self) -> dict:
        """A copy of the newest history row (``{}`` before the first epoch)."""
        rows = self._history[-1:]
        return dict(rows[0]) if rows else {}

    # ------------------------------------------------------------------ training
    def step(self) -> dict | None:
        """Train one epoch, then run a cycle if the method's schedule says so.

        Returns:
            The new history row, or ``None`` when the run is finished or diverged (a
            non-finite loss or weight restores the state before the epoch, records a
            ``nan`` event and sets ``status = "diverged"``; lower ``lr`` and step again).
        """
        if self.done:
            self.status = "finished"
            return None
        if self.status == "diverged":  # a lowered lr must apply before the retry, not after it
            self._apply_pending()
        saved = self._save_before_epoch()
        train = self.trainer.epoch_metrics(self.ctx.X_train, self.ctx.y_train)  # the row's train metrics
        if not np.isfinite(train["loss"]).all() or not self.network.is_finite():
            self._restore_cycle_state(saved)
            self._diverged(f"non-finite loss in epoch {self.epoch + 1}", f"the state after epoch {self.epoch}")
            return None
        if self._now_sound and not self._hopeless(float(train["loss"].max())):
            self._sound = saved  # it trained well: a later divergence too far gone comes back here
        self.epoch += 1
        self.ctx.epoch = self.epoch
        pending = self._apply_pending()
        self.ctx.cycle = self.cycles + 1
        cycled = self.method.after_epoch(self.ctx)
        # outputs can overflow while weights stay finite: the validation pass of the row checks them
        finite = self.network.is_finite() if cycled else True  # the weights were checked after training
        val = evaluate(self.network, self.ctx.X_val, self.ctx.y_val, self.data.target_std) if finite else None
        if val is None or not np.isfinite(val["loss"]).all():
            self._restore_cycle_state(saved)
            with self._changes:  # the changes it applied wait for the retry (newer ones win)
                self._pending = {**pending, **self._pending}
            if cycled:  # a cycle can make weights explode too (NeST growth at a high lr)
                self._diverged(f"the grow/prune cycle after epoch {self.epoch} made the network non-finite",
                               f"the state before that epoch (epoch {self.epoch} undone)")  # fmt: skip
            else:
                self._diverged(f"non-finite loss after epoch {self.epoch + 1} (validation outputs)",
                               f"the state after epoch {self.epoch}")  # fmt: skip
            return None
        if cycled:
            self.cycles += 1
        row = self._record(train, val)
        self.timeline.record(self)
        self.status = "finished" if self.done else "ready"
        return row

    def run(self, epochs: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Train to the end (or ``epochs`` more epochs); returns the history.

        Stops early if the run diverges. ``progress=True`` shows a tqdm bar.
        """
        todo = self.epochs - self.epoch if epochs is None else min(int(epochs), self.epochs - self.epoch)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=todo, desc=f"{self.config.method} {format_arch(self.config.arch)}", unit="epoch")
        for _ in range(max(todo, 0)):
            row = self.step()
            if bar is not None:
                bar.update(1)
                if row is not None and "val_acc" in row:
                    bar.set_postfix(val_acc=f"{row['val_acc']:.3f}", density=f"{row['density']:.2f}")
            if row is None:
                break
        if bar is not None:
            bar.close()
        return self.history

    def cycle(self) -> dict:
        """Force one grow/prune cycle now (outside the schedule).

        A cycle that leaves a non-finite weight is undone (the run pauses as diverged); one
        whose outputs overflow with finite weights is caught by the next epoch's training
        loss and validation pass, as any epoch's.

        Returns:
            ``{"grown": n, "pruned": n}`` of this cycle; they also count in the next history row.
        """
        self._apply_pending()
        self.ctx.cycle = self.cycles + 1
        g0, p0 = int(self.ctx.grown.sum()), int(self.ctx.pruned.sum())
        before = self._save_cycle_state()
        self.method.cycle(self.ctx)
        if not self.network.is_finite():  # outputs that overflow show in the next epoch's losses and row
            self._restore_cycle_state(before)
            self._diverged(f"the grow/prune cycle in epoch {self.epoch} made the network non-finite",
                           "the state before that cycle")  # fmt: skip
            return {"grown": 0, "pruned": 0}
        self.cycles += 1
        self.timeline.record(self)  # the epoch's structure is now this one
        return {"grown": int(self.ctx.grown.sum()) - g0, "pruned": int(self.ctx.pruned.sum()) - p0}

    def preview_epsilon(self, eps: float) -> list[tuple[int, int]]:
        """ODF2NNA: the hidden units ``(neuron_layer, unit)`` that ε selection would remove now.

        Changes nothing in the network; the method shows them as ``useless_units`` in its
        overlays (drawn hollow) until the next epoch. ``run.cycle()`` applies the removal.
        Raises ``ValueError`` for ε < 0 or a method without ε selection.
        """
        return self.method.preview_epsilon(self.ctx, eps)

    def set(self, **params: Any) -> dict[str, Any]:
        """Queue live parameter changes; they apply at the next cycle boundary (end of epoch).

        The one path for live changes (``Runner.set``, ``Lab.set`` and the app's sidebar all
        forward here): every value is validated now, once, against the training settings
        (:data:`growlab.config.LIVE_SETTINGS`) and the method's parameters; one bad value refuses
        the whole call with a ``ValueError`` and changes nothing. Safe from another thread while
        the run trains. Each change applied is one ``param`` event.

        Returns:
            The coerced values queued.
        """
        values = self.check(**params)
        with self._changes:
            self._pending.update(values)
        return values

    def check(self, **params: Any) -> dict[str, Any]:
        """Validate live changes without queueing them (reads only; safe from another thread).

        Returns:
            The coerced values. Raises ``ValueError`` saying why when any value is refused.
        """
        if "learning_rate" in params:  # the long spelling some users (and the issue) use
            if "lr" in params:
                raise ValueError("give lr or learning_rate, not both")
            params = {("lr" if k == "learning_rate" else k): v for k, v in params.items()}
        train = {k: LIVE_SETTINGS[k].validate(v) for k, v in params.items() if k in LIVE_SETTINGS}
        rest = {k: v for k, v in params.items() if k not in LIVE_SETTINGS}
        specs = self.method.param_specs()
        unknown = sorted(set(rest) - set(specs))
        if unknown:
            valid = ", ".join([*specs, *LIVE_SETTINGS])
            raise ValueError(f"cannot set {', '.join(unknown)} on a {self.config.method!r} run; live parameters: {valid}")
        fixed = [k for k in rest if not specs[k].live]
        if fixed:
            raise ValueError(f"{', '.join(fixed)} only applies at the start; create a new run (or Reset) to change it")
        return {**train, **self.method.validate(**rest)}

    @torch.no_grad()
    def _train_loss(self) -> float:
        """The training loss of the network as it is now (weights can stay finite while outputs overflow)."""
        out = self.network.forward(self.ctx.X_train)
        return float(member_losses(out, self.ctx.y_train, self.data.task).max())

    def _diverged(self, what: str, kept: str) -> None:
        """Pause as diverged, on a state that can still train, with a ``nan`` event saying what happened.

        The state just restored is finite, but a run that blew up over several epochs keeps
        weights so large that no learning rate brings them back (a training loss many times
        its best). Then the run goes back to the last epoch that trained well (those after it
        are undone: history, events and all) or, when there is none, says to press Reset.
        """
        loss = self._train_loss() if self.network.is_finite() else float("nan")
        if not self._hopeless(loss):
            advice = f"restored {kept}; paused (lower the learning rate to continue)"
        elif self._sound is not None and self._sound["epoch"] < self.epoch:
            undone = self._roll_back(self._sound)
            advice = (f"{kept} has a training loss of {loss:.3g}, too far gone to train: went back to epoch "
                      f"{self.epoch}, the last that trained well ({undone} undone); paused (lower the learning rate "
                      "to continue)")  # fmt: skip
        else:
            shown = f"a training loss of {loss:.3g}" if np.isfinite(loss) else "non-finite values"
            advice = (f"restored {kept}, which has {shown}: it will not train back — press Reset to start again "
                      "(and lower the learning rate)")  # fmt: skip
        self._events.add(self.epoch + 1, self.trainer.steps, "nan", cause=f"{what}; {advice}")
        self.status = "diverged"
        self.needs_reset = "press Reset" in advice

    def _hopeless(self, loss: float) -> bool:
        """A training loss too far above the run's best to train back from (or not finite)."""
        if self._best_loss is None:
            self._best_loss = min((r["train_loss"] for r in self._history if np.isfinite(r["train_loss"])), default=np.inf)
        best = None if not np.isfinite(self._best_loss) else self._best_loss
        return not np.isfinite(loss) or (best is not None and loss > HOPELESS_LOSS * max(best, 1e-3))

    def _save_before_epoch(self) -> dict:
        """The state an epoch (and its cycle) goes back to when it blows up. When the epoch then
        trains well (a finite training loss, not hopeless), it becomes the sound state a later
        divergence returns to; the previous sound state's restore point is then free again."""
        return self._save_cycle_state()

    def _roll_back(self, sound: dict) -> str:
        """Return to ``sound`` (epoch, history, events, weights, method); says which epochs were undone."""
        first, last = sound["epoch"] + 1, self.epoch
        self._restore_cycle_state(sound)
        self._since = self.ctx.grown.clone(), self.ctx.pruned.clone()
        self._now_sound = True
        return f"epoch {first}" if first == last else f"epochs {first}–{last}"

    def _apply_pending(self) -> dict[str, Any]:
        """Apply the queued live changes (already validated by :meth:`set`); returns them."""
        with self._changes:
            pending, self._pending = self._pending, {}
        for key, new in pending.items():
            if key in LIVE_SETTINGS:
                old = self.optimizer.lr
                self.optimizer.lr = new
            else:
                old = self.method.set_params(**{key: new})[key]
            if old != new:
                self._events.add(self.epoch, self.trainer.steps, "param", cause=f"{key}: {old} → {new}")
        return pending

    def _record(self, train: dict, val: dict) -> dict:
        """Append the history row: training metrics from the epoch's own pass (``train``, see
        :meth:`Trainer.epoch_metrics`), validation metrics ``val`` of the network now, and its
        structure counts (computed again only when the structure changed)."""
        data, net = self.data, self.network
        now = self.ctx.grown, self.ctx.pruned
        grown, pruned = 0, 0
        if not all(torch.equal(a, b) for a, b in zip(now, self._since)):  # a cycle ran since the last row
            grown, pruned = (int((a - b).sum()) for a, b in zip(now, self._since))
            self._since = now[0].clone(), now[1].clone()
        row = {"epoch": self.epoch, "train_loss": float(train["loss"][0]), "val_loss": float(val["loss"][0])}
        if data.task == "regression":
            row.update(train_mse=float(train["loss"][0]) * data.target_std**2, val_mse=float(val["mse"][0]))
        else:
            row.update(
                train_acc=float(train["acc"][0]), val_acc=float(val["acc"][0]),
                val_auc=float(val["auc"][0]), val_f1=float(val["f1"][0]),
            )  # fmt: skip
        if self._counts is None or self._counts[0] != net.structure_version:
            # connections on no input→output path (DESIGN §5; a conv network's on its channel graph)
            counts = float(net.density()[0]), int(net.n_params()[0]), int(redundant_count(net)[0])
            self._counts = (net.structure_version, *counts)
        _, density, active, redundant = self._counts
        row.update(density=density, active_params=active, grown=grown, pruned=pruned, redundant=redundant)
        self._history.append(row)
        if np.isfinite(row["train_loss"]) and self._best_loss is not None:
            self._best_loss = min(self._best_loss, row["train_loss"])
        return row

    # ------------------------------------------------------------------ state
    def _save_cycle_state(self, point: RestorePoint | None = None) -> dict:
        """What a grow/prune cycle may change: the training state (into ``point``, by default the
        restore point the sound state does not hold), the method's own, counters, events."""
        held = None if self._sound is None else self._sound["point"]
        if point is None:
            point = self._points[1] if held is self._points[0] else self._points[0]
        point.save(self.network, self.optimizer, self.trainer, share=held)
        return {
            "point": point, "method": copy.deepcopy(self.method.state_dict()),
            "streams": self.streams.state_dict(), "counts": (self.ctx.grown.clone(), self.ctx.pruned.clone()),
            "events": len(self._events), "epoch": self.epoch, "cycles": self.cycles, "rows": len(self._history),
        }  # fmt: skip

    def _restore_cycle_state(self, saved: dict) -> None:
        """Go back to a saved state: weights, structure, method state, epoch, and drop the events logged since."""
        saved["point"].restore(self.network, self.optimizer, self.trainer)
        self.method.load_state_dict(copy.deepcopy(saved["method"]))  # a copy: a kept state may serve twice
        self.streams.load_state_dict(saved["streams"])
        self.ctx.grown, self.ctx.pruned = (t.clone() for t in saved["counts"])
        self._events.truncate(saved["events"])
        self.epoch, self.cycles = saved["epoch"], saved["cycles"]
        self.ctx.epoch = self.epoch
        del self._history[saved["rows"] :]
        self.timeline.record(self)  # later epochs are undone
        self._best_loss = None

    def state_dict(self) -> dict:
        """The whole run as tensors and plain values (PyTorch's convention): config, method
        parameters and state, network, optimizer, trainer, random streams, history, events,
        pending changes, counters and timeline (keys: :data:`growlab.run.state.KEYS`).

        Loading it into a run of the same setup (:meth:`load_state_dict`) continues exactly
        as this run would. Tensors are copies: training on does not change a state taken.
        """
        return {
            "config": self.config.to_dict(),
            "method": {"name": self.config.method, "params": self.method.get_params(),
                       "state": copy.deepcopy(self.method.state_dict())},
            "network": self.network.state_dict(),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "trainer": self.trainer.state_dict(),
            "streams": self.streams.state_dict()["states"],
            "history": self.rows(),
            "events": self.event_log.state_dict(),
            "pending": self.pending,
            "epoch": self.epoch,
            "cycles": self.cycles,
            "status": self.status,
            "since": [self._since[0].cpu().clone(), self._since[1].cpu().clone(),
                      self.ctx.grown.cpu().clone(), self.ctx.pruned.cpu().clone()],
            "timeline": self.timeline.state_dict(),
        }  # fmt: skip

    def load_state_dict(self, state_dict: dict) -> None:
        """Take over a state from :meth:`state_dict` of a run of the same setup (dataset,
        architecture, method, seed and fixed settings; the device may differ).

        Everything is checked first (keys, every tensor's shape against the layout, the
        counters, the config): a state that does not fit raises a ``ValueError`` saying what
        (:class:`~growlab.run.state.InvalidState` for a damaged one) and the run stays as it was.
        A state without a ``timeline`` (saved before timelines) starts the record at its epoch.
        """
        state.check_for(state_dict, self)
        backup = self.state_dict()
        try:
            self._take(state_dict)
        except Exception as e:
            self._take(backup)
            if isinstance(e, state.InvalidState):
                raise
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise state.InvalidState(f"{type(e).__name__}: {first}") from None

    def _take(self, s: dict) -> None:
        """Load a checked state (see :meth:`load_state_dict`)."""
        live = {k: v for k, v in s["method"]["params"].items() if self.method.param_specs()[k].live}
        self.method.set_params(**live)
        self.method.load_state_dict(copy.deepcopy(s["method"]["state"]))
        relayout = list(s["network"]["capacity"]) != list(self.network.capacity)  # ODF2NNA may remove layers
        self.network.load_state_dict(s["network"], relayout=True)
        if relayout:
            self.optimizer.rebuild()
        self.optimizer.load_state_dict(s["optimizer"])
        self.trainer.load_state_dict(s["trainer"])
        self.streams.load_state_dict({"states": s["streams"]})
        self._history = [dict(r) for r in s["history"]]
        self._events.load_state_dict(s["events"])
        with self._changes:
            self._pending = dict(s["pending"])
        self.epoch, self.cycles, self.status = int(s["epoch"]), int(s["cycles"]), s["status"]
        self.ctx.epoch = self.epoch
        dev = self.network.device
        s0, s1, grown, pruned = (t.to(dev).clone() for t in s["since"])
        self._since = (s0, s1)
        self.ctx.grown, self.ctx.pruned = grown, pruned
        self.needs_reset = False
        self._sound, self._now_sound = None, True
        self._points = (RestorePoint(), RestorePoint())
        self._best_loss, self._counts = None, None
        if s.get("timeline") is None:
            self.timeline.mark_missing(self.epoch, NO_TIMELINE.format(epoch=self.epoch))
            self.timeline.record(self)
            return
        try:
            self.timeline.load_state_dict(s["timeline"])
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            raise state.InvalidState(f"its timeline is unreadable ({e})") from None
        state.need(self.timeline.last == self.epoch, f"its timeline ends at epoch {self.timeline.last}, the run at {self.epoch}")
        self.timeline.index_events(self)  # so that the first scrub of a loaded run is as quick as the rest

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def predict(self, X) -> np.ndarray:
        """Outputs for standardized inputs ``X`` ``(n, n_inputs)`` (like ``run.data.X_val``).

        Returns:
            Binary: probability of class 1 ``(n,)``; multiclass: probabilities ``(n, C)``;
            regression: values in the target's original units ``(n,)``.
        """
        X = torch.as_tensor(np.asarray(X, dtype=np.float32) if not torch.is_tensor(X) else X, dtype=torch.float32)
        if X.dim() == 1:
            X = X[None, :]
        if X.dim() != 2 or X.shape[1] != self.data.n_inputs:
            raise ValueError(f"X must have shape (n, {self.data.n_inputs}), got {tuple(X.shape)}")
        out = probabilities(self.network.forward(X.to(self.network.device)), self.data.task)[0].cpu()
        if self.data.task == "regression":
            out = out * self.data.target_std + self.data.target_mean
        return out.numpy()

    # ------------------------------------------------------------------ timeline
    def at(self, epoch: int) -> NetworkAt:
        """The network as it was after ``epoch`` (0 = as initialised): masks and weights, read-only.

        Exact at checkpoint epochs (``run.timeline.checkpoints``) and the latest epoch; in
        between the structure is exact and the weights are the last checkpoint's (see
        :mod:`growlab.run.timeline`). ``ValueError`` for an epoch not trained yet.
        """
        return self.timeline.at(epoch)

    def record(self, path, every: int = 1, **options: Any):
        """Draw the network at every (``every``-th) epoch into an animated GIF (or MP4) at ``path``.

        See :func:`growlab.record.record` for the options; returns the path written.
        """
        from growlab.record import record

        return record(self, path, every=every, **options)

    # ------------------------------------------------------------------ archives
    def save(self, path) -> None:
        """Write the whole run (:meth:`state_dict` and its dataset) to one archive file,
        atomically (see :mod:`growlab.run.archive`)."""
        archive.write(archive.pack(self.state_dict(), self.data), path)

    @classmethod
    def load(cls, path, device: str | None = None) -> "Run":
        """Load a run saved with :meth:`save`; continuing it matches a run that never stopped.

        ``device`` overrides the saved one. A damaged or hand-edited archive is a ``ValueError``
        saying what; nothing is built from it.
        """
        a = archive.read_archive(path)
        with archive.reading(path):
            s = archive.state_of(a)
            cfg = state.check_structure(s)
            dataset = archive.dataset_of(a, s)
            kw = {k: v for k, v in cfg.to_dict().items() if k not in ("dataset", "arch", "method", "epochs", "seed")}
            if device is not None:
                kw["device"] = device
            run = cls(dataset if dataset is not None else cfg.dataset, cfg.arch, cfg.method, cfg.epochs, cfg.seed,
                      **kw, **s["method"]["params"])  # fmt: skip
            run.load_state_dict(s)
        return run

    def summary(self) -> dict:
        """Final figures: validation accuracy/AUC (or MSE), density, active parameters."""
        last = self._history[-1] if self._history else {}
        keys = ("val_acc", "val_auc", "val_mse", "density", "active_params")
        return {"epoch": self.epoch, **{k: last[k] for k in keys if k in last}}

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Run(dataset={c.dataset!r}, arch={format_arch(c.arch)!r}, method={c.method!r}, "
            f"epoch={self.epoch}/{c.epochs}, seed={c.seed}, status={self.status!r})"
        )
