"""The diagram's legend: a static strip of small drawings that explain every encoding."""

from __future__ import annotations

from growlab.run.snapshot import FADE_EPOCHS
from growlab.view import palette

_W, _H = 46, 18


def _line(color: str, width: float, dash: str = "", halo: str = "", alpha: float = 1.0) -> str:
    halo_svg = (
        f'<line x1="5" y1="9" x2="{_W - 5}" y2="9" stroke="{palette.FOCAL_RIM}" stroke-width="{width + 9}" '
        'stroke-linecap="round"/>'
        f'<line x1="5" y1="9" x2="{_W - 5}" y2="9" stroke="{halo}" stroke-width="{width + 6}" '
        'stroke-linecap="round"/>'
        if halo
        else ""
    )
    dash_attr = f'stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<svg width="{_W}" height="{_H}">{halo_svg}<line x1="4" y1="9" x2="{_W - 4}" y2="9" '
        f'stroke="{color}" stroke-width="{width}" stroke-opacity="{alpha}" {dash_attr}/></svg>'
    )


def _dot(fill: str, stroke: str, stroke_width: float = 1.0, opacity: float = 1.0) -> str:
    return (
        f'<svg width="22" height="{_H}"><circle cx="11" cy="9" r="7" fill="{fill}" fill-opacity="{opacity}" '
        f'stroke="{stroke}" stroke-width="{stroke_width}"/></svg>'
    )


def _widths() -> str:
    """Thin to thick: width grows with |w|."""
    lines = "".join(
        f'<line x1="{4 + 14 * i}" y1="9" x2="{16 + 14 * i}" y2="9" stroke="{palette.MUTED}" stroke-width="{w}"/>'
        for i, w in enumerate((1, 3, 6))
    )
    return f'<svg width="{_W}" height="{_H}">{lines}</svg>'


def items() -> list[tuple[str, str, str]]:
    """(drawing, explanation, short explanation) triples, in reading order."""
    return [
        (_line(palette.POSITIVE, 4), "positive weight", "positive"),
        (_line(palette.NEGATIVE, 4), "negative weight", "negative"),
        (_widths(), "width ∝ |weight|", "width ∝ |w|"),
        (_line(palette.GROWN, 3.5), f"grown (green fades to its sign over {FADE_EPOCHS} epochs)", "grown"),
        (_line(palette.PRUNED, 3.5, dash="7 3"), "pruned (red ghost, fades)", "pruned"),
        (_line(palette.REDUNDANT, 2, dash="7 4"), "redundant: carries nothing to an output", "redundant"),
        (_line(palette.NEGATIVE, 2, halo=palette.FOCAL), "focal juncture", "focal juncture"),
        (_dot(palette.NEURON, palette.NEURON), "neuron", "neuron"),
        (_dot("#ffffff", palette.NEURON, 2.5), "ε-useless unit", "ε-useless"),
        (_dot("#ffffff", palette.PRUNED, 3), "removed unit", "removed"),
        (_dot(palette.DORMANT, palette.DORMANT, 1, 0.3), "dormant capacity", "dormant"),
    ]


def legend_html(compact: bool = False) -> str:
    """The legend as one HTML block (wraps on narrow screens); ``compact``: short words, two
    lines beside the curves in the projector layout (the tooltips say the rest)."""
    gap = 8 if compact else 16
    cells = "".join(
        f'<span style="display:inline-flex;align-items:center;gap:5px;margin:1px {gap}px 1px 0;'
        f'white-space:nowrap">{svg}<span>{short if compact else text}</span></span>'
        for svg, text, short in items()
    )
    return (
        f'<div class="gl-legend" style="font-size:{13 if compact else 14}px;color:{palette.INK};display:flex;'
        f'flex-wrap:wrap;align-items:center">{cells}</div>'
    )
