"""The sidebar: run controls on top, then data, network, method, training and sharing.

Every widget is built with ``from_param`` on the session model (or the method's parameter
object), so the model stays the single source of truth; buttons call session commands.
"""

from __future__ import annotations

import math

import panel as pn
import param

from growlab.methods import METHODS
from growlab.methods import available as available_methods
from growlab.config import TRAIN_SETTINGS
from growlab.ui import compat
from growlab.ui.model import ADVANCED, FORM_SETTINGS, ONLY_WHEN, TOYS, ignored
from growlab.ui.session import MAX_UPLOAD_BYTES, Session, cycle_label, has_cycles
from growlab.ui.text import short
from growlab.ui.theme import button_args

BUTTON_CSS = [":host { font-size: 15px; } .bk-btn { font-weight: 600; }"]
#: What the browser reports, as the file's type, for a file it refused to send: this, then its size.
TOO_LARGE = "x-growlab-too-large/"
#: Run once per page: file inputs check a file's size before reading and sending it. A file
#: over the limit is not sent (a websocket message that large would drop the session);
#: the server is told its size instead, and says so.
UPLOAD_GUARD_JS = """
const View = Bokeh.Widgets?.FileInput?.prototype?.default_view;
if (View && !View.prototype._growlab_guard) {
  const load = View.prototype.load_files;
  View.prototype._growlab_guard = true;
  View.prototype.load_files = async function (files) {
    const big = Array.from(files).find((f) => f.size > limit);
    if (big === undefined) return load.call(this, files);
    this.input_el.value = "";
    this.model.setv({value: "", filename: big.name, mime_type: marker + big.size});
  };
}
"""


#: Slider travel for parameters whose useful values the default does not tell (the box takes any).
TRAVEL = {"epsilon": (0.0, 1.0)}  # ODF2NNA's ε, in output standard deviations: 0–0.5 is half the slider


def _soft_range(spec: dict) -> tuple[float, float]:
    """A slider range around the default; the text box beside it accepts the full range."""
    if spec["name"] in TRAVEL:
        return TRAVEL[spec["name"]]
    low, high, default = spec["low"], spec["high"], spec["default"]
    start = low if low is not None else min(0.0, default)
    roomy = max(5 * abs(default), 5.0) if spec["kind"] == "float" else max(10 * abs(default), 20)
    end = high if high is not None and high - start <= roomy * 4 else start + roomy
    return start, end


def param_widget(obj: param.Parameterized, name: str, spec: dict):
    """The widget for one method parameter: a slider with a text box for numbers."""
    p = obj.param[name]
    label = spec["name"].replace("_", " ") + ("" if spec["live"] else " (at start)")
    common = {"name": label, "sizing_mode": "stretch_width", "css_classes": [f"gl-param-{name}"]}
    if spec["kind"] == "choice":
        return pn.widgets.Select.from_param(p, description=f"{spec['doc']}; {spec['range']}", **common)
    if spec["kind"] == "bool":
        return pn.widgets.Checkbox.from_param(p, name=label, css_classes=[f"gl-param-{name}"])
    start, end = _soft_range(spec)
    if spec["kind"] == "int":
        return _compact(pn.widgets.EditableIntSlider.from_param(
            p, start=int(start), end=int(end), step=1, **common
        ))
    step = 10 ** math.floor(math.log10((end - start) / 100)) if end > start else 0.01
    if spec["low_open"] and start == spec["low"]:
        start += step  # the slider cannot offer a refused value; the text box still can, and the
        # run refuses it with its message (no fixed_start/fixed_end: Panel would reject it silently)
    if spec["high_open"] and end == spec["high"]:
        end -= step
    return _compact(pn.widgets.EditableFloatSlider.from_param(
        p, start=start, end=end, step=step, **common
    ))


def _compact(slider):
    """Label and value box side by side, the box only as wide as a number (Panel stretches it).

    A value typed beyond the slider's travel stretches the travel in the browser (Panel's own
    script); whenever the value changes — a refused value put back included — the travel is
    set back to what holds the value, so the knob sits where the value in use is.
    """
    compat.slider_value_box(slider).param.update(width=110, sizing_mode=None)  # "fixed" without a height: Bokeh W-1005
    start, end = slider.start, slider.end

    def travel(event) -> None:
        if event.new is None:
            return
        inner = compat.slider_track(slider)
        lo, hi = min(start, event.new), max(end, event.new)
        inner.param.update(start=lo, end=hi)
        inner.param.trigger("start", "end")  # the browser may have stretched them without telling us
    slider.param.watch(travel, "value")
    return slider


def _shown_when_used(method_params: param.Parameterized, name: str, widget):
    """``widget``, hidden while the method ignores its parameter (e.g. prune_per_cycle off the steps schedule)."""
    other = ONLY_WHEN.get(name, (None,))[0]
    if other in method_params.specs:
        widget.visible = not ignored(method_params, name)
        method_params.param.watch(lambda e: setattr(widget, "visible", not ignored(method_params, name)), other)
    return widget


def method_widgets(method_params: param.Parameterized) -> pn.Column:
    """Only the chosen method's parameters: the main ones, then the schedule in a closed card."""
    specs = method_params.specs
    widgets = {n: _shown_when_used(method_params, n, param_widget(method_params, n, s)) for n, s in specs.items()}
    main = [w for n, w in widgets.items() if n not in ADVANCED]
    more = [w for n, w in widgets.items() if n in ADVANCED]
    doc = available_methods()[method_params.name]["doc"]
    parts = [pn.pane.Markdown(f"*{doc}*", margin=(0, 10), styles={"font-size": "13px", "color": "#555"}), *main]
    if not specs:
        parts.append(pn.pane.Markdown("No parameters.", margin=(0, 10)))
    if more:
        parts.append(pn.Card(*more, title="Schedule & details", collapsed=True, sizing_mode="stretch_width"))
    return pn.Column(*parts, sizing_mode="stretch_width")


#: The form's labels where a training setting's name is not one (the rest: the name, capitalised).
LABELS = {"lr": "Learning rate", "batch_size": "Batch (0 = full)"}


def setting_widget(model, name: str, **layout) -> pn.widgets.Widget:
    """The form's box for training setting ``name`` (one of ``FORM_SETTINGS``), bound to the
    session model: a number box for a whole number, a menu for a choice or the offered learning
    rates; labelled "(live)" when it may change mid-run, CSS class ``gl-<first word>``."""
    setting = TRAIN_SETTINGS[name]
    label = LABELS.get(name, name.replace("_", " ").capitalize()) + (" (live)" if setting.live else "")
    kind = pn.widgets.IntInput if setting.kind == "int" else pn.widgets.Select
    return kind.from_param(model.param[name], name=label, css_classes=[f"gl-{name.split('_')[0]}"], **layout)


def setting_rows(model, wide: dict) -> list[pn.Row]:
    """The training settings' boxes in rows, in the table's order: two to a row, except that a
    live setting (the one a lesson changes mid-run) has a row of its own, its label in full."""
    rows, pair = [], []
    for name in FORM_SETTINGS:
        if TRAIN_SETTINGS[name].live:
            rows.append(pn.Row(setting_widget(model, name, **wide), **wide))
            continue
        pair.append(setting_widget(model, name, **({"width": 110} if not pair else wide)))
        if len(pair) == 2:
            rows.append(pn.Row(*pair, **wide))
            pair = []
    if pair:
        rows.append(pn.Row(*pair, **wide))
    return rows


class Sidebar(pn.viewable.Viewer):
    """Controls and setup of one session."""

    session = param.ClassSelector(class_=Session, doc="The session the controls act on.")

    def __init__(self, **params):
        super().__init__(**params)
        s = self.session
        self.play = pn.widgets.Button(**button_args("Play", "success"), stylesheets=BUTTON_CSS, sizing_mode="stretch_width")
        self.step = pn.widgets.Button(**button_args("Step"), description="Train one epoch", stylesheets=BUTTON_CSS)
        self.cycle = pn.widgets.Button(**button_args("Cycle now"), description="Run one grow/prune cycle now",
                                       stylesheets=BUTTON_CSS)  # fmt: skip
        self.reset = pn.widgets.Button(**button_args("Reset"), description="Start a new run with the setup below",
                                       stylesheets=BUTTON_CSS)  # fmt: skip
        # the same Play/Pause beside the status strip: there when the sidebar is collapsed (space bar too)
        self.play_top = pn.widgets.Button(**button_args("▶ Play", "success"), stylesheets=BUTTON_CSS, width=110,
                                          css_classes=["gl-play"], description="Play or pause (space bar)")  # fmt: skip
        self.play.on_click(lambda e: s.toggle())
        self.play_top.on_click(lambda e: s.toggle())
        self.step.on_click(lambda e: s.step())
        self.cycle.on_click(lambda e: s.cycle())
        self.reset.on_click(lambda e: s.reset())
        self.upload = pn.widgets.FileInput(accept=".csv,text/csv", multiple=False, sizing_mode="stretch_width")
        self._last_upload: bytes | None = None
        self.upload.param.watch(self._uploaded, "value")
        self.upload.param.watch(self._too_large, "mime_type")
        s.param.watch(self._show_status, ["status", "dirty"])
        s.model.param.watch(self._show_status, "method")
        self._show_status()

    def _uploaded(self, event) -> None:
        if event.new and event.new != self._last_upload:
            self._last_upload = event.new  # the browser may send one file twice
            self.session.upload_csv(event.new, self.upload.filename or "upload.csv")

    def _too_large(self, event) -> None:
        """The browser refused a file over the limit (:data:`UPLOAD_GUARD_JS`) and says how big it was."""
        kind = event.new if isinstance(event.new, str) else ""
        if kind.startswith(TOO_LARGE):
            size = int(kind[len(TOO_LARGE) :] or 0)
            self.session.notify("error", f"CSV {short(self.upload.filename or 'upload', 80)} is {size / 2**20:.1f} MiB; "
                                         f"the limit is {MAX_UPLOAD_BYTES // 2**20} MiB (it was not sent)")  # fmt: skip

    def _show_status(self, *_) -> None:
        running = self.session.status == "running"
        colour = "warning" if running else "success"
        self.play.param.update(**button_args("Pause" if running else "Play", colour))
        self.play_top.param.update(**button_args("❚❚ Pause" if running else "▶ Play", colour))
        self.reset.param.update(**button_args(color="primary" if self.session.dirty else "default"))
        method = self.session.runner.snapshot.method if self.session.dirty else self.session.model.method
        self.cycle.param.update(
            **button_args(cycle_label(method)), disabled=not has_cycles(method),
            description=("Remove the units whose output std ≤ ε now" if METHODS.get(method).previews_epsilon else
                         "Run one grow/prune cycle now" if has_cycles(method) else f"{method} has no grow/prune cycle"),
        )  # fmt: skip

    def __panel__(self):
        s = self.session
        m = s.model
        wide = {"sizing_mode": "stretch_width"}
        controls = pn.Column(
            self.play,
            pn.Row(self.step, self.cycle, self.reset, **wide),
            pn.widgets.RadioButtonGroup.from_param(m.param.speed, **button_args(color="light"), **wide),
            pn.pane.Markdown(
                "Setup changed — **Reset** starts a new run with it.",
                visible=pn.bind(lambda dirty, building: dirty and not building, s.param.dirty, s.param.building),
                styles={"color": "#b26a00", "font-size": "13px"}, margin=(0, 10),
            ),  # fmt: skip
            **wide,
        )
        data = pn.Column(
            pn.widgets.Select.from_param(m.param.dataset, name="Dataset", **wide),
            pn.widgets.FloatSlider.from_param(m.param.noise, name="Noise", visible=m.param.dataset.rx().rx.in_(TOYS), **wide),
            pn.Column(
                self.upload,
                pn.widgets.Select.from_param(m.param.target, name="Target column", **wide),
                visible=m.param.dataset.rx() == "csv", **wide,
            ),
            **wide,
        )  # fmt: skip
        network = pn.Row(
            pn.widgets.TextInput.from_param(
                m.param.arch, name="Hidden layers", placeholder="e.g. 16-8", width=120, css_classes=["gl-arch"]
            ),
            pn.widgets.Select.from_param(m.param.preset, name="Preset", **wide),
            **wide,
        )
        method = pn.Column(
            pn.widgets.Select.from_param(m.param.method, name="Method", **wide),
            pn.bind(method_widgets, m.param.method_params),
            **wide,
        )
        training = pn.Column(*setting_rows(m, wide), **wide)
        return pn.Column(
            controls,
            _heading("Data"), data,
            _heading("Network"), network,
            _heading("Method"), method,
            _heading("Training"), training,
            **wide,
        )  # fmt: skip


#: Run once per page: the space bar plays and pauses (unless typing, or on a focused button,
#: which the space bar presses anyway). A reload does not ask first: it keeps the run (:mod:`growlab.ui.resume`).
PAGE_JS = """
const deep = (sel, root = document) => {
  const found = root.querySelector(sel);
  if (found) return found;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const f = deep(sel, el.shadowRoot); if (f) return f; }
  }
  return null;
};
if (!window._growlab_keys) {
  window._growlab_keys = true;
  document.addEventListener('keydown', (e) => {
    if (e.code !== 'Space' || e.repeat || e.ctrlKey || e.altKey || e.metaKey) return;
    const t = e.composedPath()[0];
    if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON'].includes(t.tagName))) return;
    const host = deep('.gl-play');
    const button = host && (host.shadowRoot ?? host).querySelector('button');
    if (button) { e.preventDefault(); button.click(); }
  });
}
"""


def page_keys(doc) -> None:
    """The space bar plays/pauses (:data:`PAGE_JS`)."""
    from bokeh.events import DocumentReady
    from bokeh.models import CustomJS

    doc.js_on_event(DocumentReady, CustomJS(code=PAGE_JS))


def guard_uploads(doc) -> None:
    """Make the page's file inputs refuse files over :data:`MAX_UPLOAD_BYTES` before sending them."""
    from bokeh.events import DocumentReady
    from bokeh.models import CustomJS

    doc.js_on_event(DocumentReady, CustomJS(code=UPLOAD_GUARD_JS, args={"limit": MAX_UPLOAD_BYTES, "marker": TOO_LARGE}))


def _heading(text: str) -> pn.pane.HTML:
    return pn.pane.HTML(
        f"<div style='font-size:13px;font-weight:700;letter-spacing:.06em;color:#455a64;"
        f"text-transform:uppercase;border-bottom:1px solid #cfd8dc;padding-bottom:2px'>{text}</div>",
        margin=(12, 10, 2, 10), sizing_mode="stretch_width",
    )  # fmt: skip
