"""Export: the run archive, the history CSV and the compacted torch model, as downloads.

Each file is made when its button is clicked (the runner writes it between two epochs), so
a download always matches the run at that moment.
"""

from __future__ import annotations

import io

import panel as pn
import param

from growlab.ui.session import Session
from growlab.ui.theme import button_args

HELP = """\
- **Run archive** (`.growlab`): config, history, events, weights, optimizer and random state.
  Resume it with `growlab.Run.load(path)`; continuing gives the same run as never stopping.
- **History** (`.csv`): one row per epoch — losses, accuracy/AUC (or MSE), density, active
  parameters, grown and pruned.
- **Animation** (`.gif`): the network at every epoch (every k-th for long runs, at most about
  100 frames), connections grown in green and pruned in red; for slides. The same as
  `growlab record RUN.growlab --out life.gif` (which can also write MP4).
- **Compacted model** (`.pt`): a plain `torch.nn.Sequential` without dead neurons and redundant
  connections; load it with `growlab.analysis.load_export(path)`.
"""


class ExportView(pn.viewable.Viewer):
    """Three download buttons and what each file is."""

    session = param.ClassSelector(class_=Session, doc="Whose run is exported.")
    stem = param.String(default="growlab-run", doc="File name stem: dataset, method, epoch.")

    def __init__(self, **params):
        super().__init__(**params)
        kw = {**button_args(color="primary"), "sizing_mode": "stretch_width", "embed": False}
        self.archive = pn.widgets.FileDownload(callback=self._archive, label="Run archive (.growlab)", **kw)
        self.history = pn.widgets.FileDownload(callback=self._history, label="History (.csv)", **kw)
        self.model = pn.widgets.FileDownload(callback=self._model, label="Compacted model (.pt)", **kw)
        self.animation = pn.widgets.FileDownload(callback=self._animation, label="Animation (.gif)", **kw)
        self.param.watch(self._names, "stem")
        self._names()

    def update(self, snap) -> None:
        if snap.status != "running":  # renaming three buttons every epoch is traffic for nothing
            self.stem = f"growlab-{snap.dataset}-{snap.method.replace('+', '_')}-epoch{snap.epoch}"

    def _names(self, *_) -> None:
        self.archive.filename = f"{self.stem}.growlab"
        self.history.filename = f"{self.stem}-history.csv"
        self.model.filename = f"{self.stem}-model.pt"
        self.animation.filename = f"{self.stem}-life.gif"

    def _archive(self):
        data = self.session.guard("Export archive", self.session.runner.archive_bytes)
        return io.BytesIO(data or b"")

    def _history(self):
        df = self.session.runner.history()
        return io.BytesIO(df.to_csv(index=False).encode())

    def _model(self):
        data = self.session.guard("Export model", self.session.runner.model_bytes)
        return io.BytesIO(data or b"")

    def _animation(self):
        data = self.session.guard("Record animation", self.session.runner.animation_bytes)
        return io.BytesIO(data or b"")

    def __panel__(self):
        return pn.Column(
            pn.Row(self.archive, self.history, self.model, self.animation, sizing_mode="stretch_width"),
            pn.pane.Markdown(HELP, sizing_mode="stretch_width", styles={"font-size": "14px"}),
            sizing_mode="stretch_width", margin=10,
        )  # fmt: skip
