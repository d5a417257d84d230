"""False starts & redundancy: the verdict with its reason, redundant connections, DAG pruning.

The verdict and the count come with every snapshot (``extra["analysis"]``, computed on the
worker); "Prune redundant paths" asks the runner to remove them and reports what it saved.
"""

from __future__ import annotations

import html

import panel as pn
import param

from growlab.ui.session import Session
from growlab.ui.theme import button_args


def verdict_html(analysis: dict | None) -> str:
    """The verdict box for ``snapshot.extra["analysis"]``."""
    if not analysis or not analysis.get("available"):
        reason = (analysis or {}).get("reason", "analysis unavailable")
        return f"<div style='font-size:15px;color:#607d8b'>{html.escape(reason)}</div>"
    bad = analysis["false_start"]
    colour, icon, title = ("#c62828", "⚠", "False start") if bad else ("#2e7d32", "✓", "Not a false start")
    reason = analysis["reason"]
    head, sep, tail = reason.partition(": ")
    if sep and head.endswith(("false start", "false start so far")):
        reason = tail[:1].upper() + tail[1:]  # the title already says it
        title += " so far" if head.endswith("so far") else ""
    n = analysis["redundant"]
    red = f"{n:,} redundant connection{'s' if n != 1 else ''}" + (
        " — drawn dashed grey on the diagram; they carry nothing from an input to an output" if n else ""
    )
    return (
        f"<div style='font-size:18px;font-weight:700;color:{colour}'>{icon} {title}</div>"
        f"<div style='font-size:15px;margin:4px 0 10px'>{html.escape(reason)}</div>"
        f"<div style='font-size:15px'><b>{red}</b></div>"
    )


class FalseStartsView(pn.viewable.Viewer):
    """Verdict, redundant count and the prune-redundant action."""

    session = param.ClassSelector(class_=Session, doc="Whose run is judged.")
    verdict = param.String(default="", doc="The verdict HTML.")
    result = param.String(default="", doc="What the last prune removed and saved.")

    def __init__(self, **params):
        super().__init__(**params)
        self.button = pn.widgets.Button(
            **button_args("Prune redundant paths", "primary"), disabled=True,
            description="Remove every redundant connection; outputs stay the same (constants fold into biases)",
        )  # fmt: skip
        self.button.on_click(lambda e: self.prune())

    def update(self, snap) -> None:
        analysis = snap.extra.get("analysis")
        self.verdict = verdict_html(analysis)
        self.button.disabled = not (analysis and analysis.get("available") and analysis.get("redundant"))

    def prune(self) -> None:
        """Remove the redundant connections now and say what that saved."""
        report = self.session.guard("Prune redundant paths", self.session.runner.prune_redundant)
        if report is None:
            return
        saved = report["params_before"] - report["params_after"]
        self.result = (
            f"Removed **{report['removed']:,}** redundant connections: active parameters "
            f"{report['params_before']:,} → {report['params_after']:,} (saved {saved:,}); outputs unchanged.  \n"
            f"<small>{html.escape(report['text'])}</small>"
        )
        self.session.notify("success", f"Pruned {report['removed']:,} redundant connections (saved {saved:,} parameters)")

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML(self.param.verdict, sizing_mode="stretch_width"),
            self.button,
            pn.pane.Markdown(self.param.result, sizing_mode="stretch_width", styles={"font-size": "14px"}),
            pn.pane.Markdown(
                "A run is a **false start** when an output cannot be reached from any input, or when its "
                "validation accuracy after the warm-up (20% of the epochs) is not above the majority-class "
                "rate plus 2 points. A connection is **redundant** when no input reaches its source or its "
                "target reaches no output.",
                styles={"font-size": "13px", "color": "#607d8b"}, sizing_mode="stretch_width",
            ),  # fmt: skip
            sizing_mode="stretch_width", margin=10,
        )  # fmt: skip
