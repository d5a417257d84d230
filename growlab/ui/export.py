"""Export: the run archive, the history CSV and the compacted torch model, as downloads.

Each file is made when its button is clicked (the runner writes it between two epochs), so
a download always matches the run at that moment. The animation takes longer (a frame per
epoch drawn): **Record animation** draws it off the event loop (:class:`~growlab.ui.offload.Offload`,
served) with a progress bar, the page and the run going on meanwhile, and then offers the GIF
as a download.
"""

from __future__ import annotations

import io
import threading

import panel as pn
import param

from growlab.ui.offload import Offload
from growlab.ui.session import Session
from growlab.ui.text import short
from growlab.ui.theme import button_args

HELP = """\
- **Run archive** (`.growlab`): config, history, events, weights, optimizer and random state.
  Resume it with `growlab.Run.load(path)`; continuing gives the same run as never stopping.
- **History** (`.csv`): one row per epoch — losses, accuracy/AUC (or MSE), density, active
  parameters, grown and pruned.
- **Animation** (`.gif`): the network at every epoch (every k-th for long runs, at most about
  100 frames), connections grown in green and pruned in red; for slides. *Record animation*
  draws it (a progress bar shows how far; the run may go on training), then *Download* saves
  it. The same as `growlab record RUN.growlab --out life.gif` (which can also write MP4).
- **Compacted model** (`.pt`): a plain `torch.nn.Sequential` without dead neurons and redundant
  connections; load it with `growlab.analysis.load_export(path)`.
"""


#: Seconds a recording may take before it is given up (about 100 frames are drawn).
RECORD_TIMEOUT_S = 600.0
#: Milliseconds between progress updates while recording.
POLL_MS = 300


class ExportView(pn.viewable.Viewer):
    """Download buttons, the animation's Record button, and what each file is."""

    session = param.ClassSelector(class_=Session, doc="Whose run is exported.")
    stem = param.String(default="growlab-run", doc="File name stem: dataset, method, epoch.")

    def __init__(self, **params):
        super().__init__(**params)
        kw = {**button_args(color="primary"), "sizing_mode": "stretch_width", "embed": False}
        self.archive = pn.widgets.FileDownload(callback=self._archive, label="Run archive (.growlab)", **kw)
        self.history = pn.widgets.FileDownload(callback=self._history, label="History (.csv)", **kw)
        self.model = pn.widgets.FileDownload(callback=self._model, label="Compacted model (.pt)", **kw)
        self.record_button = pn.widgets.Button(**button_args("Record animation (.gif)", "primary"),
                                               sizing_mode="stretch_width", css_classes=["gl-record"])  # fmt: skip
        self.record_button.on_click(lambda e: self.record())
        self.animation = pn.widgets.FileDownload(callback=self._animation, label="Download the animation", visible=False,
                                                 **{**kw, **button_args(color="success")})  # fmt: skip
        self.recording = pn.indicators.Progress(value=0, max=1, sizing_mode="stretch_width", bar_color="primary",
                                                visible=False, css_classes=["gl-recording"])  # fmt: skip
        self.record_note = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10),
                                            css_classes=["gl-record-note"])  # fmt: skip
        self._gif: bytes | None = None
        self._frames = (0, 1)  # frames drawn, of all (written by the recording thread)
        self._frames_lock = threading.Lock()
        self._poll = None
        self.param.watch(self._names, "stem")
        self._names()

    def update(self, snap) -> None:
        if snap.status != "running":  # renaming three buttons every epoch is traffic for nothing
            self.stem = f"growlab-{snap.dataset}-{snap.method.replace('+', '_')}-epoch{snap.epoch}"

    def _names(self, *_) -> None:
        self.archive.filename = f"{self.stem}.growlab"
        self.history.filename = f"{self.stem}-history.csv"
        self.model.filename = f"{self.stem}-model.pt"

    def _archive(self):
        data = self.session.guard("Export archive", self.session.runner.archive_bytes)
        return io.BytesIO(data or b"")

    def _history(self):
        df = self.session.runner.history()
        return io.BytesIO(df.to_csv(index=False).encode())

    def _model(self):
        data = self.session.guard("Export model", self.session.runner.model_bytes)
        return io.BytesIO(data or b"")

    # ------------------------------------------------------------------ the animation
    @property
    def busy(self) -> bool:
        """A recording is being drawn."""
        return self._poll is not None or self.recording.visible

    def record(self) -> bool:
        """Draw the animation off the event loop (served; at once otherwise); returns whether it started."""
        if self.busy:
            return False
        doc = self.session.page  # the served page, or None
        self._gif, self._frames = None, (0, 1)
        self.record_button.disabled, self.animation.visible = True, False
        self.recording.value = 0
        self.recording.param.update(max=1, visible=True)
        self.record_note.object = "Recording the animation…"
        filename = f"{self.stem}-life.gif"
        if doc is not None:
            try:
                self._poll = pn.state.add_periodic_callback(self._show_progress, period=POLL_MS)
            except Exception:  # no loop to poll on: the bar jumps to the end
                self._poll = None
        runner = self.session.runner
        Offload(doc, timeout=RECORD_TIMEOUT_S).submit(lambda commit: runner.animation_bytes(on_frame=self._frame),
                                                      lambda data, error: self._recorded(data, error, filename))  # fmt: skip
        return True

    def _frame(self, done: int, total: int) -> None:
        with self._frames_lock:
            self._frames = (done, total)

    def _show_progress(self) -> None:
        with self._frames_lock:
            done, total = self._frames
        if not done:  # the first frame is being drawn (the count comes with it)
            return
        self.recording.max = max(total, 1)  # (one at a time: the value is checked against the max)
        self.recording.value = min(done, total)
        self.record_note.object = f"Recording the animation: frame {done} of {total}…"

    def _recorded(self, data: bytes | None, error: BaseException | None, filename: str) -> None:
        """On the session's loop: offer the GIF, or say why there is none."""
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
        self.recording.visible, self.record_button.disabled = False, False
        if error is not None or not data:
            self.record_note.object = ""
            self.session.notify("error", f"Record animation: {short(error or 'nothing was recorded', 300)}")
            return
        done, _ = self._frames
        self._gif = data
        self.animation.filename = filename
        self.animation.label = f"Download {filename} ({len(data) / 1e6:.1f} MB)"
        self.animation.visible = True
        self.record_note.object = f"Recorded {done} frames: download it, or record again after more epochs."

    def _animation(self):
        return io.BytesIO(self._gif or b"")

    def __panel__(self):
        return pn.Column(
            pn.Row(self.archive, self.history, self.model, self.record_button, sizing_mode="stretch_width"),
            pn.Row(self.recording, self.record_note, self.animation, sizing_mode="stretch_width"),
            pn.pane.Markdown(HELP, sizing_mode="stretch_width", styles={"font-size": "14px"}),
            sizing_mode="stretch_width", margin=10,
        )  # fmt: skip
