"""One browser session: its model, its runner, and the rules that link the two.

The session turns model changes into runner commands:
- a change to the setup (dataset, architecture, method, non-live parameters, epochs, seed…)
  rebuilds the run at once while it is untouched (epoch 0), and otherwise waits for Reset
  (``dirty`` says so) — a trained run is never thrown away behind the user's back;
- a live parameter (the method's live ones, the learning rate) on a trained run goes to
  ``runner.set``; a refused value is reported and the control goes back to its old value.

Every failure becomes a message (``notify``) and the session goes on.

Served, a new run is built off the event loop (:class:`~growlab.ui.offload.Offload`): reading a
CSV or building a big network never stalls the other sessions; ``building`` says one is on
its way, and Play pressed meanwhile plays it once it is there.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from typing import Callable, Iterator

import panel as pn
import param

from growlab.config import TRAIN_SETTINGS, format_arch, parse_arch
from growlab.data.csv import read_header
from growlab.methods import METHODS, Method
from growlab.methods.composed import Composed
from growlab.run.runner import Runner, estimate_run, plan_run
from growlab.run.slots import CapacityError, TrainingSlots
from growlab.ui import compat
from growlab.ui.model import CHECKED, FORM_SETTINGS, SPEEDS, SessionModel, check_setting
from growlab.ui.offload import Offload
from growlab.ui.text import html as escape_html
from growlab.ui.text import short

log = logging.getLogger(__name__)

#: Model parameters whose change needs a new run.
SETUP = ("dataset", "noise", "target", "csv_data", "arch", "method",
         *(name for name in FORM_SETTINGS if not TRAIN_SETTINGS[name].live))  # fmt: skip
#: The method parameter whose every move is previewed on a paused run (ODF2NNA's ε).
PREVIEWED = "epsilon"
#: Largest CSV upload accepted from the browser.
MAX_UPLOAD_BYTES = 10 * 2**20
#: Errors a command may raise that the user should read (anything else is a bug, logged).
USER_ERRORS = (ValueError, CapacityError, RuntimeError, TimeoutError)
#: A link's setup estimated above this is built off the event loop after the page opens
#: (the page shows the default setup until then) rather than while the page loads.
SYNC_BUILD_BYTES = 256 * 2**20
#: Served, a run has at most this many connections: every refresh redraws the network on the
#: event loop all sessions share (about 0.1 µs a connection), so a bigger one would stall them all.
MAX_SERVED_CONNECTIONS = 2_000_000


def has_cycles(method: str) -> bool:
    """Whether ``method`` does anything in a cycle (``dense`` and ``subnet`` keep their structure)."""
    cls = METHODS.get(method)
    if issubclass(cls, Composed):
        return cls.grow_part is not None or cls.prune_mode is not None
    return cls.cycle is not Method.cycle


def cycle_label(method: str) -> str:
    """What "Cycle now" does for ``method``: ODF2NNA's cycle applies ε (removes the useless units)."""
    return "Apply ε" if METHODS.get(method).previews_epsilon else "Cycle now"


def _same_number(old, new) -> bool:
    """Two floats equal up to rounding noise."""
    return isinstance(old, float) and isinstance(new, float) and math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12)


def _check_served_size(spec: dict) -> None:
    """``ValueError`` for a network too big to draw live on a shared server (:data:`MAX_SERVED_CONNECTIONS`)."""
    capacity, _ = plan_run(spec)
    n = sum(a * b for a, b in zip(capacity[:-1], capacity[1:]))
    if n > MAX_SERVED_CONNECTIONS:
        raise ValueError(
            f"a {'-'.join(map(str, capacity))} network has {n:,} connections; the app draws at most "
            f"{MAX_SERVED_CONNECTIONS:,} while they train (train bigger ones with `growlab train` or growlab.Run)"
        )


def conv_refusal(model: SessionModel) -> str | None:
    """Why the model's conv architecture cannot run on its tabular dataset, or None when it can."""
    from types import SimpleNamespace

    from growlab.config import is_conv
    from growlab.data import load_cached
    from growlab.data.builtin import IMAGE_DATASETS
    from growlab.engine.layout import network_sizes

    try:
        if not is_conv(model.arch) or model.dataset in IMAGE_DATASETS:
            return None
        if model.dataset == "csv":
            data = SimpleNamespace(name=model.csv_name or "csv", image=None, n_inputs=max(len(model.csv_columns) - 1, 0))
        else:
            data = load_cached(model.dataset, 0)
        network_sizes(model.arch, data)
    except ValueError as e:
        return str(e)
    return None


def panel_notify(level: str, text: str) -> None:
    """Show a toast in the browser (no-op outside a server session).

    The toast shows ``text`` as written: Notyf sets its message as HTML, so it is escaped here.
    """
    notifications = pn.state.notifications
    if notifications is None:
        return
    if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        _forget_sent(notifications)
    getattr(notifications, level)(escape_html(text), duration=8000 if level == "error" else 4000)


def _forget_sent(notifications) -> None:
    """In a notebook, send each toast alone: the page forgets a toast's model once it is dismissed
    (after its time on screen), and a later message that still lists it fails to decode there,
    toast and all. The toasts already on screen stay until their time is up."""
    for old in list(notifications.notifications):
        compat.forget_notification(notifications, old)
    notifications.notifications[:] = []


class Session(param.Parameterized):
    """The model and runner of one session, and the commands the sidebar sends."""

    model = param.ClassSelector(class_=SessionModel, doc="What the user has chosen.")
    dirty = param.Boolean(default=False, doc="The setup changed since the run was built; Reset applies it.")
    status = param.String(default="ready", doc="The run's status as of the latest snapshot drawn.")
    message = param.String(default="", doc="The last message shown to the user.")
    level = param.Selector(default="info", objects=["info", "success", "warning", "error"], doc="Its level.")
    building = param.Boolean(default=False, doc="A new run is being built (off the event loop when served).")

    def __init__(
        self,
        model: SessionModel | None = None,
        slots: TrainingSlots | None = None,
        notify: Callable[[str, str], None] = panel_notify,
        runner: Runner | None = None,
        offload: Offload | None = None,
        **params,
    ):
        super().__init__(model=model or SessionModel(), **params)
        self._notify = notify
        self._reverting = False
        self._offload = offload if offload is not None else Offload(None)
        self._play_when_built = False
        self._refused_at = -1e9  # when a conv-on-table choice was last refused
        self._early: list[tuple[str, str]] = []  # messages from before the page is connected (served)
        #: A big setup from a link: the page opens with the default run and builds the link's
        #: off the loop once connected (:meth:`connected`).
        self.deferred = runner is None and self._big_link()
        if self.deferred:
            self.runner = Runner(SessionModel().spec(), slots=slots)
        else:
            self.runner = runner if runner is not None else self._first_runner(slots)  # a notebook Lab brings its own
        self.runner.speed(*SPEEDS[self.model.speed])
        self.model.param.watch(self._setup_changed, list(SETUP))
        self.model.param.watch(self._live_setting_changed, [n for n in FORM_SETTINGS if TRAIN_SETTINGS[n].live])
        self.model.param.watch(lambda e: self.runner.speed(*SPEEDS[e.new]), "speed")
        self.model.param.watch(self._watch_method_params, "method_params")
        self._watch_method_params()

    def connected(self) -> None:
        """The page is connected: tell what could not wait, and build the link's setup if it was left for now."""
        early, self._early = self._early, []
        for level, text in early:
            self.notify(level, text)
        if self.deferred:
            self.deferred = False
            self.reset(on_fail=self._show_defaults, what="link: could not build that setup ({}); showing the default instead")

    def _show_defaults(self) -> None:
        """The controls go back to the default setup (the run the page shows)."""
        with self.quiet():
            self.model.param.update(**{k: self.model.param[k].default for k in SETUP if k != "csv_data"})
        self.dirty = False

    def _big_link(self) -> bool:
        """Served, and the setup (from a link) is big enough that building it would stall the page load."""
        if self._offload.doc is None:
            return False
        try:
            return estimate_run(self.model.spec()) > SYNC_BUILD_BYTES
        except (ValueError, TypeError):
            return False  # _first_runner reports it

    def _first_runner(self, slots) -> Runner:
        try:
            return Runner(self.model.spec(), slots=slots)
        except ValueError as e:  # e.g. a link with a bad combination: fall back to the defaults
            text = f"link: could not build that setup ({short(e, 300)}); showing the default instead"
            if self._offload.doc is not None:  # served: no page to show it yet
                self._early.append(("error", text))
            else:
                self.notify("error", text)
            self.model.param.update(**{k: self.model.param[k].default for k in SETUP if k != "csv_data"})
            return Runner(SessionModel().spec(), slots=slots)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Change the model without the session reacting (the caller has already reset the runner)."""
        self._reverting, before = True, self._reverting
        try:
            yield
        finally:
            self._reverting = before

    # ------------------------------------------------------------------ messages
    def notify(self, level: str, text: str) -> None:
        """Tell the user something (a toast in the browser; kept in ``message`` for tests)."""
        self.param.update(message=text, level=level)
        try:
            self._notify(level, text)
        except Exception:  # a notification must never break a command
            log.exception("notification failed")

    def guard(self, what: str, fn: Callable, *args, **kwargs):
        """``fn(*args, **kwargs)``, with any failure told to the user as "``what``: why"; ``None`` then."""
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as e:
            if isinstance(e, CapacityError):
                self.notify("warning", f"{what}: {e}")
                return None
            self.notify("error", f"{what}: {e}")
        except Exception as e:  # a bug: say so, keep the session alive
            log.exception("%s failed", what)
            self.notify("error", f"{what} failed unexpectedly: {type(e).__name__}: {e}")
        finally:
            self.status = self.runner.status  # the buttons answer at once, not at the next refresh
        return None

    @property
    def page(self):
        """The served page (Bokeh document) this session's work off the event loop reports to;
        ``None`` outside a server (a notebook, a script)."""
        return self._offload.doc

    # ------------------------------------------------------------------ commands
    @property
    def untouched(self) -> bool:
        """The run has not trained or cycled yet (rebuilding it loses nothing)."""
        s = self.runner.snapshot
        return s.epoch == 0 and not s.extra.get("cycles") and s.status in ("ready", "error")

    def play(self) -> None:
        """Train continuously (a changed setup is applied first while nothing was trained)."""
        if self.dirty and self.untouched and not self.building:
            self.reset()
        if self.building:  # plays once it is built
            self._play_when_built = True
            self.notify("info", "Building the new run; it starts as soon as it is ready")
            return
        self.guard("Play", self.runner.play)

    def pause(self) -> None:
        """Stop after the current epoch."""
        self.guard("Pause", self.runner.pause)

    def toggle(self) -> None:
        """Play when not running, pause when running."""
        self.pause() if self.runner.status == "running" else self.play()

    def step(self) -> None:
        """Train one epoch."""
        self.guard("Step", self.runner.step)

    def cycle(self) -> None:
        """Run one grow/prune cycle now (for odf2nna: apply ε now); a method without cycles says so."""
        method = self.runner.snapshot.method
        if not has_cycles(method):
            self.notify("info", f"{method} neither grows nor prunes: there is no cycle to run")
            return
        self.guard(cycle_label(method), self.runner.cycle)

    def reset(self, on_fail: Callable[[], None] | None = None, what: str | None = None) -> bool | None:
        """Build a new run from the model.

        Returns whether it worked, or ``None`` while it is built off the event loop (served);
        then a failure is told when the build ends, and ``on_fail()`` is called then too.
        """
        try:
            spec = self.model.spec()
        except USER_ERRORS as e:
            self._reset_failed(e, on_fail, what)
            return False
        outcome: list[bool] = []

        def done(built, error) -> None:
            self.building = False
            if error is not None:
                self._play_when_built = False
                self._reset_failed(error, on_fail, what)
                outcome.append(False)
                return
            self.dirty = False
            self.status = self.runner.status
            outcome.append(True)
            if self._play_when_built:
                self._play_when_built = False
                self.guard("Play", self.runner.play)

        def build(commit):
            if self._offload.doc is not None:
                _check_served_size(spec)
            return self.runner.reset(spec, commit=commit)

        self.building = True
        self._offload.submit(build, done)
        return outcome[0] if outcome else None

    def _reset_failed(self, error: BaseException, on_fail: Callable[[], None] | None, what: str | None = None) -> None:
        if not isinstance(error, USER_ERRORS):  # a bug: say so, keep the session alive
            log.error("building a run failed", exc_info=error)
            error = f"failed unexpectedly: {type(error).__name__}: {error}"
        csv = self.model.dataset == "csv" and self.model.csv_name
        text = short(error, 400)
        if what is not None:
            self.notify("error", what.format(text))
        else:
            self.notify("error", f"CSV {short(self.model.csv_name, 80)}: {text}" if csv else f"Reset: {text}")
        if on_fail is not None:
            on_fail()

    def close(self) -> None:
        """Stop the worker and free everything (the session is gone)."""
        self.runner.close()

    # ------------------------------------------------------------------ watchers
    def _setup_changed(self, *events) -> None:
        if self._reverting:
            return
        for e in events:
            if e.name in CHECKED:
                try:
                    check_setting(e.name, e.new)
                except ValueError as error:  # refused: say why, and the box shows the value in use again
                    self.notify("error", f"Refused: {error}")
                    self._revert(self.model, e.name, e.old)
                    return
        if "arch" in {e.name for e in events}:
            try:
                layers = parse_arch(self.model.arch)
            except ValueError as e:
                self.notify("error", f"Architecture: {e}")
                return
            if re.search(r"[\s,;]", self.model.arch):  # "16,8" and " 16 - 8 " show as the 16-8 they mean
                with self.quiet():
                    self.model.arch = format_arch(layers)
        why = conv_refusal(self.model)
        if why is not None:  # conv layers on a table: say why and put the control back
            # (once: the browser may echo the preset it was shown meanwhile, which says the same)
            if not (self.message == f"Refused: {why}" and time.monotonic() - self._refused_at < 3.0):
                self.notify("error", f"Refused: {why}")
            self._refused_at = time.monotonic()
            for e in events:
                if e.name in ("arch", "dataset"):
                    self._revert(self.model, e.name, e.old)
            return
        if self.model.dataset == "csv" and self.model.csv_data is None:
            self.dirty = True
            self.notify("info", "Upload a CSV file (and pick its target column) to use it")
            return
        self._rebuild_or_mark()

    def _rebuild_or_mark(self) -> None:
        if self.untouched:
            self.reset()
        elif not self.dirty:
            self.dirty = True
            self.notify("info", "Setup changed: press Reset to start a new run with it")

    def _live_setting_changed(self, event) -> None:
        self._live_change(self.model, event)

    def _watch_method_params(self, *_) -> None:
        mp = self.model.method_params
        if mp.specs:
            mp.param.watch(lambda *events: [self._live_change(mp, e) for e in events], list(mp.specs))

    def _live_change(self, owner, event) -> None:
        """A live-capable value changed: rebuild an untouched run, else queue it on the runner."""
        if self._reverting or owner not in (self.model, self.model.method_params):
            return  # a reverted value, or the parameters of a method no longer chosen
        if _same_number(event.old, event.new):
            return  # a slider snapping a value onto its step grid (4.0 → 3.9999999999999996): no change
        name = event.name
        if event.new is None:  # an emptied number box
            allowed = f" in {owner.specs[name]['range']}" if owner is not self.model else ""
            self.notify("error", f"Refused: {name} needs a number{allowed}")
            self._revert(owner, name, event.old)
            return
        live = owner is self.model or owner.specs[name]["live"]
        if self.untouched:
            self.reset(on_fail=lambda: self._revert(owner, name, event.old))
        elif not live:
            self._rebuild_or_mark()
        else:
            try:
                self.runner.set(**{name: event.new})
            except USER_ERRORS as e:
                self.notify("error", f"Refused: {e}")
                self._revert(owner, name, event.old)
                return
            if name == PREVIEWED and METHODS.get(self.runner.snapshot.method).previews_epsilon and self.runner.status != "running":
                self.preview_epsilon(event.new)

    def preview_epsilon(self, eps: float) -> list | None:
        """ODF2NNA, paused: draw at once the units ε would remove (hollow), changing nothing in the run.

        While training, the hollow units follow ε after every epoch anyway."""
        return self.guard("ε preview", self.runner.call, lambda run: run.preview_epsilon(eps), publish=True)

    def upload_csv(self, data: bytes, filename: str) -> None:
        """Take an uploaded file: read its header for the target picker, then use it.

        Only the header is read here (it is checked first: size, column count, names); the
        file is parsed when the run is built, off the event loop when served.
        """
        filename = short(filename, 80)
        if not data:
            self.notify("error", f"CSV {filename}: the file is empty")
            return
        if len(data) > MAX_UPLOAD_BYTES:
            self.notify("error", f"CSV {filename} is {len(data) / 2**20:.1f} MiB; the limit is {MAX_UPLOAD_BYTES // 2**20} MiB")
            return
        try:
            columns = read_header(data)
        except ValueError as e:
            self.notify("error", f"CSV {filename}: {short(e, 400)}")
            return
        except Exception as e:  # any parser complaint is a problem with the file
            self.notify("error", f"CSV {filename}: cannot read it ({short(str(e).splitlines()[0] if str(e) else type(e).__name__, 200)})")
            return
        if len(columns) < 2:
            self.notify("error", f"CSV {filename}: needs at least two columns (features and a target)")
            return
        with self.quiet():  # the target picker snaps to its first option when its options change: not a choice
            self.model.param.target.objects = list(columns)
        with param.parameterized.batch_call_watchers(self.model):
            self.model.set_csv(data, filename, columns)
            self.model.dataset = "csv"

    def _revert(self, owner, name: str, old) -> None:
        self._reverting = True
        try:
            setattr(owner, name, old)
        finally:
            self._reverting = False
