"""The Compare tab: run a (small, configurable) experiment and show the paper's tables and plots.

Two presets: a grid of methods × thresholds × seeds (:func:`growlab.experiment.grid`; the
paper's Tables 1–3, Figs. 5–6), or the paper's open readings
(:func:`growlab.experiment.interpretations`; its claims as paired differences per reading).

The experiment (:func:`growlab.experiment.grid`) runs on a worker thread owned by an
:class:`ExperimentJob`, which also builds every table and Bokeh figure there, so the view only
reads plain progress numbers and finished pandas/Bokeh objects: it never touches a tensor.
The view polls the job on a periodic callback (every 300 ms while a job runs) and assigns the
finished objects to its panes once. A job takes one of the server's training slots, like a
playing run, and gives it back when it ends.

Below a grid's results, **Side by side** puts two of its members next to each other — two
seeds of one method, or two methods, e.g. a false start and a good run — as
:class:`~growlab.ui.timeline.SideBySide` shows them: both diagrams at one epoch, the connections
each has and the other lacks highlighted, and their Jaccard similarity per epoch. An
experiment keeps no timelines, so the two members are trained again as single runs (a
:class:`PairJob` on a worker thread, with progress; bit for bit the members, DESIGN §3c).
"""

from __future__ import annotations

import threading
import time

import panel as pn
import param

from growlab.config import parse_arch
from growlab.data import DATASETS
from growlab.experiment import PAPER_METHODS, PAPER_THRESHOLDS, READINGS, Cancelled, grid, interpretations
from growlab.methods import available as available_methods
from growlab.run.slots import SLOTS, CapacityError, TrainingSlots
from growlab.ui.text import markdown, short
from growlab.ui.theme import button_args, label_args

#: datasets an experiment can compare on (accuracy and AUC need classes)
CLASSIFICATION = [d for d in DATASETS if d not in ("diabetes", "csv")]
POLL_MS = 300
#: outlined toggle buttons (Panel 1.9 renamed ``button_style`` to ``variant``)
OUTLINE = {"variant" if "variant" in pn.widgets.CheckButtonGroup.param else "button_style": "outline"}


#: the Compare tab's presets: label → experiment
PRESETS = {"Methods × thresholds": "grid", "Readings of paper 000": "interpretations"}


class CompareSettings(param.Parameterized):
    """What the Compare tab will run (defaults: the paper's protocol, smaller)."""

    preset = param.Selector(default="grid", objects=list(PRESETS.values()),
                            doc="A grid of methods × thresholds, or the paper's readings (its claims, paired).")  # fmt: skip
    readings = param.ListSelector(
        default=["growlab", "usable junctures", "threshold as budget", "no floor"],
        objects=[r.name for r in READINGS], doc="Readings of paper 000 compared (the readings preset).",
    )
    dataset = param.Selector(default="heart", objects=CLASSIFICATION, doc="Dataset (classification).")
    arch = param.String(default="16-8", doc="Hidden widths, e.g. 16-8.")
    methods = param.ListSelector(
        default=list(PAPER_METHODS), objects=list(available_methods()), doc="Methods compared."
    )
    thresholds = param.ListSelector(
        default=[0.8, 0.9, 0.99], objects=list(PAPER_THRESHOLDS), doc="Sparsity thresholds T."
    )
    seeds = param.Integer(default=10, bounds=(1, 50), doc="Members per method and threshold (seeds 0..N-1).")
    epochs = param.Integer(default=200, bounds=(1, 2000), doc="Epochs per member.")

    def grid_kwargs(self) -> dict:
        """Keyword arguments of :func:`growlab.experiment.grid`; ``ValueError`` when nothing is chosen."""
        if not self.methods or not self.thresholds:
            raise ValueError("choose at least one method and one threshold")
        parse_arch(self.arch)  # refused here, with its message, before a job starts
        methods = [m for m in available_methods() if m in self.methods]  # registry order, like the tables
        return {"dataset": self.dataset, "arch": self.arch, "methods": methods, "seeds": self.seeds,
                "thresholds": tuple(sorted(self.thresholds)), "epochs": self.epochs,
                "workers": 1}  # fmt: skip  (one core per job: the server's slots count jobs, not threads)

    def job_kwargs(self) -> dict:
        """What :class:`ExperimentJob` runs: the grid's keywords, or the readings preset's."""
        if self.preset == "grid":
            return self.grid_kwargs()
        if not self.readings or not self.thresholds:
            raise ValueError("choose at least one reading and one threshold")
        return {"readings": [r.name for r in READINGS if r.name in self.readings], "seeds": self.seeds,
                "thresholds": tuple(sorted(self.thresholds)), "epochs": self.epochs, "workers": 1}  # fmt: skip


def readings_outcome(result) -> dict:
    """What the view shows of an interpretations result (built on the worker thread)."""
    worst = result.methods.pivot_table(index="reading", columns="method", values="min_accuracy", aggfunc="min", sort=False)
    return {
        "headline": f"**{len(result.readings)} readings** × {len(result.settings['seeds'])} seeds × "
        f"{len(result.settings['thresholds'])} thresholds on the paper's protocol, {result.trained} method settings "
        f"trained in **{result.seconds:.1f} s**. Each cell: the mean paired difference in final validation accuracy "
        "(points) over the same seeds, thresholds pooled, with its 95% interval; above 0 supports the paper's claim.",
        "claims": result.claims_table(),
        "worst": worst.reindex([r.name for r in result.readings]),
        "plot": result.plot(),
    }


def outcome_of(result) -> dict:
    """Everything the view shows, built from a result (on the worker thread): DataFrames and Bokeh figures."""
    if not hasattr(result, "false_starts"):
        return readings_outcome(result)
    fs = result.false_starts().reset_index()
    fs["threshold"] = (fs.threshold * 100).map("{:g}%".format)
    return {
        "headline": f"**{len(result.frame):,} members** ({len(result.methods)} methods × {len(result.thresholds)} "
        f"thresholds × {len(result.seeds)} seeds) trained in **{result.seconds:.1f} s**; accuracy and AUC are final "
        "validation figures, in percent.",
        "mean": result.table("mean"),
        "max_accuracy": result.table("max_accuracy"),
        "max_auc": result.table("max_auc"),
        "mean_accuracy": result.table("mean_accuracy"),
        "false_starts": fs.set_index(["method", "threshold"]),
        "boxplot": result.boxplot(),
        "similarity": result.similarity(),
    }


class ThreadJob:
    """Work on a daemon thread that holds a training slot while it runs: ``start`` (takes a slot,
    ``CapacityError`` when none is free), ``cancel`` (stop at the next check), ``wait``. ``state``
    goes ready → running → done | cancelled | error and is set last, so a reader on another thread
    never sees a half-finished job. Subclasses write :meth:`work` (raising ``Cancelled`` to stop)."""

    thread_name = "growlab-job"

    def __init__(self, slots: TrainingSlots | None = None):
        self.slots = slots
        self.state, self.error = "ready", ""
        self.started = self.finished = 0.0
        self._stop, self._lock = threading.Event(), threading.Lock()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self):
        """Take a training slot (``CapacityError`` when none is free) and start."""
        if self.slots is not None:
            self.slots.acquire(self)
        self.state, self.started = "running", time.monotonic()
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop at the next check (after the current epoch)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends; returns whether it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def work(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        state, error = "error", ""
        try:
            self.work()
            state = "done"
        except Cancelled:
            state = "cancelled"
        except Exception as e:  # shown in the tab; the session goes on
            error = f"{type(e).__name__}: {e}"
        finally:
            if self.slots is not None:
                self.slots.release(self)
            self.finished = time.monotonic()
            self.error, self.state = error, state  # last, so a reader never sees a half-finished job


class ExperimentJob(ThreadJob):
    """One experiment on a daemon thread. ``progress``, ``state`` and ``outcome`` are safe to read from any thread.

    Example:
        >>> job = ExperimentJob({"methods": ["dense"], "seeds": 1, "thresholds": (0.9,), "epochs": 2})
        >>> job.start().wait(60), job.state
        (True, 'done')
    """

    thread_name = "growlab-experiment"

    def __init__(self, kwargs: dict, slots: TrainingSlots | None = None):
        super().__init__(slots)
        self.kwargs = dict(kwargs)
        self.outcome, self.result = None, None
        self._progress = (0, 1, "starting")

    @property
    def progress(self) -> tuple[int, int, str]:
        """``(done, total, label)`` in member-epochs."""
        with self._lock:
            return self._progress

    def _report(self, done: int, total: int, label: str) -> None:
        with self._lock:
            self._progress = (done, total, label)

    def work(self) -> None:
        run = interpretations if "readings" in self.kwargs else grid
        self.result = run(**self.kwargs, progress=self._report, cancel=self._stop.is_set)
        self.outcome = outcome_of(self.result)


def member_label(row) -> str:
    """How the side-by-side picker names a member row of an experiment's frame."""
    t = f" · {row.threshold:.0%}" if bool(row.threshold_used) else ""
    fs = " · false start" if bool(row.false_start) else ""
    return f"{row.method}{t} · seed {int(row.seed)} · final accuracy {100 * row.val_acc:.1f}%{fs}"


def member_setup(result, row) -> dict:
    """The ``growlab.Run`` keywords that train member ``row`` of ``result`` alone (the same member)."""
    kw = {**result.settings, **result.method_params.get(row.method, {}), "method": row.method, "seed": int(row.seed)}
    if bool(row.threshold_used):
        kw["sparsity"] = float(row.threshold)
    return kw


def default_pair(frame) -> tuple[int, int]:
    """Two rows to compare first: a false start and the best member of its method at its
    threshold, else the two best seeds of the best method (row positions in ``frame``)."""
    f = frame.reset_index(drop=True)
    for i in f.index[f.false_start.astype(bool)]:
        mates = f[(f.method == f.method[i]) & (f.threshold == f.threshold[i]) & ~f.false_start.astype(bool)]
        if len(mates):
            return int(i), int(mates.val_acc.idxmax())
    best = f.groupby("method").val_acc.mean().idxmax()
    rows = f[f.method == best].sort_values("val_acc", ascending=False).drop_duplicates("seed")
    picks = rows.index.tolist()[:2]
    return (int(picks[0]), int(picks[1] if len(picks) > 1 else f.index[f.index != picks[0]][0]))


class PairJob(ThreadJob):
    """Train two experiment members again as single runs, with their timelines, on a daemon thread.

    ``progress`` (epochs done, of all) and ``state`` are safe to read from any thread; when
    ``state`` is ``"done"``, ``pairs`` holds ``(run, snapshot)`` for each (what
    :class:`~growlab.ui.timeline.SideBySide` reads).
    """

    thread_name = "growlab-pair"

    def __init__(self, setups: list[dict], slots: TrainingSlots | None = None):
        super().__init__(slots)
        self.setups, self.pairs = [dict(s) for s in setups], None
        self._done, self._total = 0, sum(int(s.get("epochs", 0)) for s in self.setups)

    @property
    def progress(self) -> tuple[int, int]:
        with self._lock:
            return self._done, max(self._total, 1)

    def work(self) -> None:
        from growlab import Run
        from growlab.run.snapshot import snapshot_of

        pairs = []
        for kw in self.setups:
            run = Run(**kw)
            while not run.done and run.status != "diverged":
                if self._stop.is_set():
                    raise Cancelled("stopped")
                run.step()
                with self._lock:
                    self._done += 1
            pairs.append((run, snapshot_of(run)))
        self.pairs = pairs


class PairView(pn.viewable.Viewer):
    """Pick two members of the last grid experiment and see them side by side."""

    status = param.String(default="", doc="What is happening.")

    def __init__(self, slots: TrainingSlots | None = SLOTS, live: bool = True, **params):
        super().__init__(**params)
        self.slots, self.live = slots, live
        self.result, self.job, self.view = None, None, None
        self._callback = None
        self.first = pn.widgets.Select(**label_args(pn.widgets.Select, "Run A"), options={}, sizing_mode="stretch_width",
                                       css_classes=["gl-pair-a"])  # fmt: skip
        self.second = pn.widgets.Select(**label_args(pn.widgets.Select, "Run B"), options={}, sizing_mode="stretch_width",
                                        css_classes=["gl-pair-b"])  # fmt: skip
        self.show_button = pn.widgets.Button(**button_args("Show side by side", "primary"), width=170, align="end",
                                             disabled=True)  # fmt: skip
        self.show_button.on_click(lambda e: self.show())
        self.progress = pn.indicators.Progress(value=0, max=1000, sizing_mode="stretch_width", bar_color="primary",
                                               visible=False)  # fmt: skip
        self.holder = pn.Column(sizing_mode="stretch_width")
        self._layout = pn.Column(
            pn.pane.Markdown("### Side by side", margin=(10, 5, 0, 5)),
            pn.Row(self.first, self.second, self.show_button, sizing_mode="stretch_width"),
            self.progress,
            pn.pane.Markdown(self.param.status, sizing_mode="stretch_width"),
            self.holder,
            sizing_mode="stretch_width", css_classes=["gl-pair"], visible=False,
        )  # fmt: skip

    def set_result(self, result) -> None:
        """A finished grid: offer its members, a false start and a good run picked first."""
        self.result = result
        frame = result.frame.reset_index(drop=True)
        options = {}
        for i, row in enumerate(frame.itertuples()):
            label = member_label(row)
            options[label if label not in options else f"{label} ({i})"] = i
        a, b = default_pair(frame)
        self.first.options = self.second.options = options
        self.first.value, self.second.value = a, b
        self.show_button.disabled, self._layout.visible = False, True
        self.holder.objects, self.view = [], None
        self.status = "Pick two members (two seeds of one method, or two methods), then press Show side by side."

    def show(self) -> bool:
        """Train the two picked members again (a worker thread); returns whether it started."""
        if self.result is None or (self.job is not None and self.job.state == "running"):
            return False
        if self.first.value == self.second.value:
            self.status = "Pick two different members."
            return False
        frame = self.result.frame.reset_index(drop=True)
        rows = [frame.iloc[self.first.value], frame.iloc[self.second.value]]
        self._labels = tuple(member_label(r) for r in rows)
        try:
            self.job = PairJob([member_setup(self.result, r) for r in rows], self.slots).start()
        except (ValueError, CapacityError) as e:
            self.status = f"Not started: {markdown(short(e, 300))}"
            return False
        self.show_button.disabled = True
        self.progress.value, self.progress.visible = 0, True
        self.status = "Training the two members again, with their timelines…"
        if self.live:
            self._callback = pn.state.add_periodic_callback(self.poll, period=POLL_MS)
        return True

    def poll(self) -> bool:
        """Progress, and once the job ends, the side-by-side view; returns whether it still runs."""
        job = self.job
        if job is None:
            return False
        done, total = job.progress
        self.progress.value = int(1000 * done / total)
        if job.state == "running":
            self.status = f"Training the two members again: {done:,} of {total:,} epochs"
            return True
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.show_button.disabled, self.progress.visible = False, False
        if job.state == "done":
            from growlab.ui.timeline import SideBySide

            try:
                self.view = SideBySide(*job.pairs, labels=self._labels)
            except ValueError as e:
                self.status = f"Cannot compare these two: {markdown(short(e, 300))}"
                return False
            self.holder.objects = [self.view]
            self.status = ""
        elif job.state == "cancelled":
            self.status = "Stopped."
        else:
            self.status = f"Training them failed: {markdown(short(job.error, 300))}"
        return False

    def close(self) -> None:
        if self.job is not None:
            self.job.cancel()
        if self._callback is not None:
            self._callback.stop()

    def __panel__(self):
        return self._layout


class CompareView(pn.viewable.Viewer):
    """Controls, Run/Stop, a progress bar, then the tables and plots of the last experiment."""

    settings = param.ClassSelector(class_=CompareSettings, doc="What to run.")
    status = param.String(default="Choose methods, thresholds and seeds, then press Run.", doc="What is happening.")

    def __init__(self, slots: TrainingSlots | None = SLOTS, live: bool = True, **params):
        super().__init__(settings=params.pop("settings", None) or CompareSettings(), **params)
        self.slots, self.live = slots, live
        self.job: ExperimentJob | None = None
        self._callback = None
        self.run_button = pn.widgets.Button(**button_args("Run experiment", "primary"), width=170, align="end")
        self.stop_button = pn.widgets.Button(**button_args("Stop", "warning"), width=90, disabled=True, align="end")
        self.run_button.on_click(lambda e: self.run())
        self.stop_button.on_click(lambda e: self.stop())
        self.progress = pn.indicators.Progress(value=0, max=1000, sizing_mode="stretch_width", bar_color="primary")
        self.headline = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.tables = {k: pn.pane.DataFrame(None, float_format="{:.2f}".format, sizing_mode="stretch_width")
                       for k in ("mean", "max_accuracy", "max_auc", "mean_accuracy", "false_starts")}  # fmt: skip
        self.boxplot = pn.pane.Bokeh(None, sizing_mode="stretch_width")
        self.similarity = pn.pane.Bokeh(None)
        self.claims = pn.pane.DataFrame(None, sizing_mode="stretch_width")
        self.worst = pn.pane.DataFrame(None, float_format="{:.1f}".format, sizing_mode="stretch_width")
        self.intervals = pn.pane.Bokeh(None, sizing_mode="stretch_width")
        self._results = pn.Column(sizing_mode="stretch_width")
        self.pair = PairView(slots=slots, live=live)

    # ------------------------------------------------------------------ commands
    def run(self) -> bool:
        """Start an experiment with the current settings; returns whether it started."""
        if self.job is not None and self.job.state == "running":
            return False
        try:
            self.job = ExperimentJob(self.settings.job_kwargs(), self.slots).start()
        except (ValueError, CapacityError) as e:
            self.status = f"Not started: {markdown(short(e, 300))}"
            return False
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.progress.value, self.status = 0, "Starting…"
        if self.live:
            self._callback = pn.state.add_periodic_callback(self.poll, period=POLL_MS)
        return True

    def stop(self) -> None:
        """Ask the running experiment to stop after its current epoch."""
        if self.job is not None:
            self.job.cancel()
            self.status = "Stopping…"

    def close(self) -> None:
        """Stop any job (the session ended)."""
        self.stop()
        self.pair.close()
        if self._callback is not None:
            self._callback.stop()

    def poll(self) -> bool:
        """Move the job's progress (and, once, its results) into the view; returns whether it still runs."""
        job = self.job
        if job is None:
            return False
        done, total, label = job.progress
        self.progress.value = int(1000 * done / max(total, 1))
        if job.state == "running":
            seconds = time.monotonic() - job.started
            self.status = f"Training **{markdown(label)}** — {done:,} of {total:,} member-epochs, {seconds:.0f} s"
            return True
        self._finish(job)
        return False

    def _finish(self, job: ExperimentJob) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.run_button.disabled, self.stop_button.disabled = False, True
        seconds = job.finished - job.started
        if job.state == "done":
            self._show(job.outcome)
            if hasattr(job.result, "false_starts"):  # a grid: its members can be put side by side
                self.pair.set_result(job.result)
            self.progress.value, self.status = 1000, f"Finished in {seconds:.1f} s."
        elif job.state == "cancelled":
            self.status = f"Stopped after {seconds:.1f} s; the results above are from the previous experiment."
        else:
            self.status = f"The experiment failed: {markdown(short(job.error, 300))}"

    def _show(self, outcome: dict) -> None:
        self.headline.object = outcome["headline"]
        if "claims" in outcome:
            self.claims.object, self.worst.object, self.intervals.object = outcome["claims"], outcome["worst"], outcome["plot"]
            self._results.objects = [self.claims, self.intervals, pn.pane.Markdown("**Worst final accuracy (%)**"), self.worst]
            return
        for key, pane in self.tables.items():
            pane.object = outcome[key]
        self.boxplot.object = outcome["boxplot"]
        self.similarity.object = outcome["similarity"]
        self._results.objects = self._grid_results()

    # ------------------------------------------------------------------ layout
    def controls(self) -> pn.viewable.Viewable:
        s = self.settings.param
        preset = pn.widgets.RadioButtonGroup.from_param(s.preset, name="Experiment", options=PRESETS,
                                                        **button_args(color="primary"), **OUTLINE)  # fmt: skip
        readings = pn.widgets.MultiChoice.from_param(s.readings, name="Readings", sizing_mode="stretch_width",
                                                     visible=self.settings.preset == "interpretations")  # fmt: skip
        methods = pn.widgets.MultiChoice.from_param(s.methods, name="Methods", sizing_mode="stretch_width",
                                                    visible=self.settings.preset == "grid")  # fmt: skip

        def switch(event) -> None:
            readings.visible, methods.visible = event.new == "interpretations", event.new == "grid"

        self.settings.param.watch(switch, "preset")
        return pn.Column(
            preset,
            pn.Row(
                methods, readings,
                pn.Column(
                    pn.pane.Markdown("Sparsity thresholds", margin=(0, 5)),
                    pn.widgets.CheckButtonGroup.from_param(
                        s.thresholds, name="Thresholds", options={f"{t:.0%}": t for t in PAPER_THRESHOLDS},
                        **button_args(color="primary"), **OUTLINE,
                    ),
                ),
                sizing_mode="stretch_width",
            ),  # fmt: skip
            pn.Row(
                pn.widgets.IntSlider.from_param(s.seeds, name="Seeds", width=200),
                pn.widgets.IntInput.from_param(s.epochs, name="Epochs", width=100, css_classes=["gl-compare-epochs"]),
                pn.widgets.Select.from_param(s.dataset, name="Dataset", width=140),
                pn.widgets.TextInput.from_param(s.arch, name="Hidden widths", width=110, css_classes=["gl-compare-arch"]),
                self.run_button, self.stop_button,
            ),  # fmt: skip
            pn.Row(self.progress, sizing_mode="stretch_width"),
            pn.pane.Markdown(self.param.status, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _grid_results(self) -> list:
        t = self.tables
        tables = pn.Tabs(
            ("Mean (Table 1)", t["mean"]), ("Max accuracy (Table 2)", t["max_accuracy"]),
            ("Max AUC (Table 3)", t["max_auc"]), ("Mean accuracy", t["mean_accuracy"]),
            ("False starts", t["false_starts"]), dynamic=False, sizing_mode="stretch_width",
        )  # fmt: skip
        return [self.boxplot, pn.FlexBox(pn.Column(tables, styles={"flex": "3 1 480px"}), self.similarity,
                                         sizing_mode="stretch_width"), self.pair]  # fmt: skip

    def __panel__(self):
        if not self._results.objects:
            self._results.objects = self._grid_results()
        return pn.Column(self.controls(), self.headline, self._results, sizing_mode="stretch_width", margin=10)
