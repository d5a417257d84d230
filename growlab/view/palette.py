"""Colours and sizes shared by the diagram, the inspector and the decision boundary.

Weight signs use TensorFlow Playground's blue/orange pair: it is colour-blind safe and
students who know Playground read it at once. Structural overlays differ in *shape* as well
as colour (halo, dotted, dashed) so they stay distinguishable without colour vision.
"""

from __future__ import annotations

import numpy as np

POSITIVE = "#0877bd"  # Playground blue
NEGATIVE = "#f59322"  # Playground orange
GROWN = "#009e73"  # Okabe–Ito bluish green, drawn as a halo under the edge
PRUNED = "#d62728"  # red, drawn as a dotted ghost
REDUNDANT = "#8c8c8c"  # grey, dashed
FOCAL = "#ffd400"  # gold halo (a yellow gold, apart from the orange of negative weights)
FOCAL_RIM = "#5c4a00"  # dark rim that outlines the gold halo
NEURON = "#37474f"  # dark slate: high contrast on a projector
NEURON_LINE = "#ffffff"
DORMANT = "#b0b7bb"
SELECTION = "#111111"
INK = "#222222"
MUTED = "#666666"

#: Diverging palette for probabilities (0 → orange, 1 → blue), matching the weight colours.
_LO, _MID, _HI = np.array([245, 147, 34]), np.array([250, 250, 250]), np.array([8, 119, 189])


def diverging(n: int = 101) -> list[str]:
    """An orange → white → blue palette of ``n`` colours (class 0 → class 1)."""
    t = np.linspace(-1, 1, n)[:, None]
    rgb = np.where(t < 0, _MID + (_LO - _MID) * -t, _MID + (_HI - _MID) * t).round().astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]


#: Colour-blind-safe categorical colours (Okabe–Ito) for multiclass boundaries.
CATEGORICAL = ("#f59322", "#0877bd", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#e69f00", "#000000")
