"""``Lab``: the growlab app inside a notebook, and a Python handle on the run it shows.

``growlab.Lab(dataset=..., arch=..., method=..., **params)`` builds what a served session
builds — a :class:`SessionModel`, a :class:`Session` with its background
:class:`~growlab.run.runner.Runner`, a :class:`GrowlabApp` — and displays the app's layout
(sidebar, status strip, diagram, curves, tabs) inline, as an ipywidget (loading Panel's
notebook support itself, inline, so it works offline; see :mod:`growlab.ui.notebook`). Code
and widget drive the same session:
``lab.set(sigma=2.0)`` moves the sidebar's σ slider and queues the change on the run; Play
pressed in the widget shows in ``lab.status``.

While the kernel is idle a periodic callback (started at the first display) draws new
snapshots, as the server's does; the blocking commands (``step``, ``pause``, ``cycle``,
``wait``) draw as they go, so the widget is current when they return.

Example:
    >>> import growlab
    >>> lab = growlab.Lab(dataset="xor", arch="4", epochs=20)
    >>> lab.step(5)
    5
    >>> lab.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Callable

import pandas as pd
import panel as pn

from growlab.config import format_arch, parse_arch
from growlab.run.runner import Runner
from growlab.run.snapshot import Snapshot
from growlab.ui.app import PERIOD_MS, GrowlabApp
from growlab.ui.model import URL_KEYS, SessionModel
from growlab.ui.notebook import NotebookView, draw, ipywidget, load_panel
from growlab.ui.session import Session, panel_notify

#: Keyword arguments that set the session model itself (what a link carries, and the speed); any
#: other is a method parameter.
MODEL_KEYS = (*URL_KEYS, "speed")
#: Statuses after which a step or cycle will not complete.
STOPPED = ("error", "diverged", "finished")
WAIT_S = PERIOD_MS / 1000


def configure(model: SessionModel, values: dict[str, Any]) -> None:
    """Set ``model`` from keyword arguments (:data:`MODEL_KEYS`, then the method's parameters).

    Raises:
        ValueError: an unknown name or a value the model refuses; says which.
    """
    values = dict(values)
    own = {k: values.pop(k) for k in MODEL_KEYS if k in values}
    if "arch" in own:
        own["arch"] = format_arch(parse_arch(own["arch"]))
    if "lr" in own:
        own["lr"] = float(own["lr"])
    try:
        model.param.update(**own)  # a new method swaps in its own parameter object first
        specs = model.method_params.specs
        unknown = sorted(set(values) - set(specs))
        if unknown:
            raise ValueError(
                f"unknown setting {', '.join(unknown)}; settings: {', '.join(MODEL_KEYS)}; "
                f"{model.method!r} parameters: {', '.join(specs) or 'none'}"
            )
        model.method_params.param.update(**values)
    except TypeError as e:
        raise ValueError(str(e)) from None


class Lab:
    """The growlab app for a notebook: display it, and drive its run from code.

    Args:
        dataset, arch, method: as for :class:`growlab.Run` (dataset names only; upload a CSV
            in the widget).
        **params: ``epochs``, ``seed``, ``lr``, ``optimizer``, ``batch_size``, ``activation``,
            ``noise`` (2-D toys), ``speed`` (``slow``/``normal``/``fast``/``fastest``) and the
            method's parameters (e.g. ``sigma=1.5``).

    Raises:
        ValueError: a setup that cannot run, with the reason (nothing is built then).

    Attributes:
        app: the :class:`GrowlabApp` shown by the first display (the class ``growlab serve``
            shows); each further display gets its own, on the same session.
        session: its :class:`Session` (``session.model`` is what the sidebar edits).
        runner: the background :class:`~growlab.run.runner.Runner` training the run.
        messages: ``(level, text)`` of everything the app told the user, oldest first.

    Example:
        >>> lab = Lab(dataset="moons", arch="6-4", method="strategic", epochs=50)
        >>> lab                                     # in a notebook cell: the app
        >>> lab.play(); lab.wait(20); lab.set(sigma=2.0); lab.wait()
        >>> lab.history.tail(); lab.events.query("kind == 'param'")
    """

    def __init__(self, dataset: str = "heart", arch: str = "16-8", method: str = "dense", **params: Any):
        self.messages: list[tuple[str, str]] = []
        model = SessionModel()
        configure(model, {"dataset": dataset, "arch": arch, "method": method, **params})
        self.runner = Runner(model.spec())  # ValueError: the reason this setup cannot run
        self.session = Session(model=model, runner=self.runner, notify=self._notify)
        self.app = GrowlabApp(session=self.session, live=True)  # the first display shows this one
        self._spare: tuple[GrowlabApp, Any] | None = (self.app, NotebookView(self.app))
        self._shown: list[tuple[GrowlabApp, Any]] = []
        self._callback = None

    # ------------------------------------------------------------------ reading
    @property
    def model(self) -> SessionModel:
        """What the sidebar shows and edits."""
        return self.session.model

    @property
    def run(self):
        """The live :class:`growlab.Run` (read it between epochs: call :meth:`pause` first)."""
        return self.runner.call(lambda run: run)

    @property
    def history(self) -> pd.DataFrame:
        """One row per epoch trained so far (as ``Run.history``)."""
        return self.runner.history()

    @property
    def events(self) -> pd.DataFrame:
        """The event log so far (as ``Run.events``)."""
        return self.runner.events()

    @property
    def snapshot(self) -> Snapshot:
        """The newest published picture of the run (what the widget draws)."""
        return self.runner.snapshot

    @property
    def epoch(self) -> int:
        return self.runner.snapshot.epoch

    @property
    def status(self) -> str:
        """``ready``, ``running``, ``paused``, ``finished``, ``diverged`` or ``error``."""
        return self.runner.status

    @property
    def params(self) -> dict[str, Any]:
        """The run's live values (method parameters and ``lr``), as applied so far."""
        return self.runner.call(lambda run: run.params())

    # ------------------------------------------------------------------ commands
    def play(self) -> None:
        """Train in the background; the widget follows while the kernel is idle (or in :meth:`wait`)."""
        if self.session.dirty and self.session.untouched:  # the sidebar's setup changed: as Play does
            self.session.reset()
        self.runner.play()
        self.refresh()

    def pause(self) -> None:
        """Stop after the current epoch; returns once the run is still and drawn."""
        self.runner.pause()
        self._wait(lambda s: s.status != "running")  # the worker's own "paused" picture is out
        self._settle()

    def step(self, epochs: int = 1) -> int:
        """Train ``epochs`` epochs (pausing first), drawing as it goes; returns the epoch reached."""
        for _ in range(int(epochs)):
            before = self.runner.snapshot
            self.runner.step()  # ValueError once the run is finished
            snap = self._wait(lambda s: s.version > before.version and (s.epoch > before.epoch or s.status in STOPPED))
            if snap.status in STOPPED:
                break
        self._settle()
        return self.epoch

    def cycle(self) -> dict[str, int]:
        """Run one grow/prune cycle now (pausing first); returns ``{"grown": n, "pruned": n}`` of it."""
        before = self.runner.snapshot
        self.runner.cycle()
        cycles = before.extra.get("cycles", 0)
        self._wait(lambda s: s.version > before.version and (s.extra.get("cycles", 0) > cycles or s.status in STOPPED))
        self._settle()
        kinds = self.runner.events(since=before.n_events)["kind"]
        return {"grown": int((kinds == "grow").sum()), "pruned": int((kinds == "prune").sum())}

    def set(self, **params: Any) -> dict[str, Any]:
        """Change live parameters (the method's and ``lr``): forwarded to ``Run.set`` (validated
        there, once; applied at the run's next cycle boundary as one ``param`` event each), and
        the sidebar follows. Before the first epoch the run is rebuilt with them, as the sidebar does.

        Returns:
            The values as coerced. Raises ``ValueError`` (the run's reason) and changes nothing for a bad one.
        """
        if self.session.untouched:  # the session rebuilds the run with the values the sidebar shows
            values = self.runner.check(**params)
            follow = contextlib.nullcontext()
        else:  # queued on the run (never waits for the epoch in progress); the sidebar only follows
            values = self.runner.set(**params)
            follow = self.session.quiet()
        with follow:
            for name, value in values.items():
                setattr(self.model if name == "lr" else self.model.method_params, name, value)
        self._settle()
        return values

    def reset(self, **setup: Any) -> None:
        """Start a new run, with any setting changed (``Lab``'s keyword arguments).

        Raises ``ValueError`` for a setup that cannot run; the current run then stays.
        """
        values = {k: getattr(self.model, k) for k in MODEL_KEYS if k != "speed"}
        if setup.get("method", self.model.method) == self.model.method:
            values.update(self.model.method_values())
        values.update(setup)
        scratch = SessionModel()
        configure(scratch, values)
        self.runner.reset(scratch.spec())
        with self.session.quiet():  # the runner has the new run already: the sidebar only follows
            configure(self.model, values)
        self.session.dirty = False
        self._settle()

    def wait(self, epoch: int | None = None, timeout: float | None = None) -> int:
        """Block until the run reaches ``epoch`` (default: its end) or stops; the widget follows.

        Returns:
            The epoch reached. Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        target = self.runner.snapshot.epochs if epoch is None else int(epoch)
        self._wait(lambda s: s.epoch >= target or self.runner.status != "running", timeout)
        self._settle()
        return self.epoch

    def call(self, fn: Callable, publish: bool = False) -> Any:
        """``fn(run)`` between epochs (e.g. ``lambda run: run.preview_epsilon(0.3)``); with
        ``publish=True`` the widget then shows what ``fn`` changed."""
        result = self.runner.call(fn, publish=publish)
        self.refresh()
        return result

    def close(self) -> None:
        """Stop training and the widget's refresh (the lab cannot train again)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        for app, _ in self._views():
            app.close()

    # ------------------------------------------------------------------ timeline
    def show(self, epoch: int | None = None) -> Snapshot:
        """Show the network as it was after ``epoch`` in every view of this lab (``None``: live).

        The run is not disturbed (it may keep training); ``lab.show()`` returns to the live view.
        Returns the snapshot shown. ``ValueError`` for an epoch not trained (or not recorded) yet.
        """
        if epoch is None:
            for app, view in self._views():
                draw(app, view, lambda app=app: app.timeline.go_live() or True)
            return self.runner.snapshot
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= self.epoch:
            raise ValueError(f"epoch must be a whole number in 0..{self.epoch} (the epochs trained), got {epoch!r}")
        snap = self.runner.at(epoch)  # ValueError: not in the timeline, and why
        self.refresh()  # the bars know the latest epoch before they move
        for app, view in self._views():
            draw(app, view, lambda app=app: app.timeline.show(epoch))
        return snap

    def compare(self, other, labels: tuple[str, str] | None = None):
        """This lab's run and ``other`` side by side, in step over their epochs (a view to display).

        ``other`` is another :class:`Lab`, a :class:`growlab.Run`, or the path of a saved run.
        The connections each run has and the other lacks are highlighted; a curve gives their
        Jaccard similarity per epoch. Neither run is disturbed.
        """
        from growlab.run.run import Run
        from growlab.run.snapshot import snapshot_of
        from growlab.ui.timeline import SideBySide

        mine = (self.run, self.runner.snapshot)
        if isinstance(other, Lab):
            theirs = (other.run, other.runner.snapshot)
        elif isinstance(other, Run):
            theirs = (other, snapshot_of(other))
        else:
            loaded = Run.load(other, device="cpu")
            theirs = (loaded, snapshot_of(loaded))
        return SideBySide(mine, theirs, labels=labels)

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> bool:
        """Draw the newest snapshot now, in every view; returns whether there was anything new."""
        return any([draw(app, view, app.refresh) for app, view in self._views()])

    def _tick(self) -> None:
        for app, view in self._views():
            draw(app, view, app.tick)

    def _views(self) -> list[tuple[GrowlabApp, Any]]:
        return self._shown + ([self._spare] if self._spare else [])

    def _new_view(self):
        """A layout shown nowhere yet: a Bokeh model lives in one document, so each display
        needs its own views (all on this session, so they stay in step)."""
        if self._spare is not None:
            app, view = self._spare
            self._spare = None
        else:
            app = GrowlabApp(session=self.session, live=True)
            view = NotebookView(app)
        self._shown.append((app, view))
        return view

    def _settle(self) -> None:
        """Publish the run as it is between epochs, and draw it."""
        self.runner.call(lambda run: None, publish=True)
        self.refresh()

    def _wait(self, predicate: Callable[[Snapshot], bool], timeout: float | None = None) -> Snapshot:
        """Wait for ``predicate(snapshot)``, drawing every refresh period meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.runner.wait(predicate, timeout=WAIT_S):
            if self.runner.closed:
                raise RuntimeError("this lab is closed")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"still at epoch {self.epoch} ({self.status}) after {timeout:g} s")
            self.refresh()
        return self.runner.snapshot

    def _go_live(self) -> None:
        """Shown in a notebook: refresh from the kernel's event loop while it is idle."""
        for app, _ in self._shown:
            app.strip.live = True
        if self._callback is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a plain script): the commands draw by themselves
            return
        self._callback = pn.state.add_periodic_callback(self._tick, period=PERIOD_MS)

    def _notify(self, level: str, text: str) -> None:
        self.messages.append((level, text))
        panel_notify(level, text)

    # ------------------------------------------------------------------ display
    def __panel__(self):
        view = self._new_view()
        self._go_live()
        return view

    def _repr_mimebundle_(self, include=None, exclude=None):
        # shown as the ipywidget: its state lives in the widget model, so updates made while
        # the page is still drawing the output (Run All) are not lost, as Panel's comms lose them
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude)

    def widget(self):
        """The app as an ipywidget (a ``jupyter_bokeh`` ``BokehModel``), for ``ipywidgets`` layouts.

        Each call gives a new view of the same session; code, the app and every widget stay in step.

        Example:
            >>> ipywidgets.VBox([ipywidgets.HTML("<h3>Moons</h3>"), lab.widget()])
        """
        load_panel()
        view = self._new_view()
        self._go_live()
        return ipywidget(view)

    def __repr__(self) -> str:
        m, s = self.model, self.runner.snapshot
        return f"Lab(dataset={m.dataset!r}, arch={m.arch!r}, method={m.method!r}, epoch={s.epoch}/{s.epochs}, status={self.status!r})"


__all__ = ["Lab", "configure", "load_panel"]
