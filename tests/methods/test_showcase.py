"""The app's default strategic+prune run shows the method working (issue 15): accuracy rises well
above the majority class, every input stays on a path to the output, and the network grows.

Read literally (growlab's method defaults) the same runs are false starts: heart 16-8 seed 0
keeps 1 input of 27 on a path and predicts the majority class (54.1%) for 200 epochs.
"""

from __future__ import annotations

import pytest

import growlab
from growlab.analysis.paths import reachability
from growlab.ui.model import SessionModel


def _app_run(dataset: str, epochs: int) -> growlab.Run:
    spec = SessionModel(dataset=dataset, method="strategic+prune").spec()
    return growlab.Run(**{**spec, "epochs": epochs, "seed": 0})


@pytest.mark.parametrize("dataset, epochs, margin", [("heart", 100, 0.15), ("xor", 100, 0.15)])
def test_the_app_default_strategic_hybrid_is_no_false_start(dataset, epochs, margin):
    run = _app_run(dataset, epochs)
    inputs = run.network.sizes[0]
    fewest = inputs
    while not run.done:
        run.step()
        fewest = min(fewest, int(reachability(run.network).on_path[0].sum()))
    y = run.data.y_val
    majority = max(float((y == c).float().mean()) for c in y.unique())
    h = run.history
    assert fewest == inputs  # no input is ever cut off
    assert float(h.val_acc.iloc[-1]) >= majority + margin
    assert h.grown.sum() > h.pruned.sum() > 0  # it grows while it prunes
    assert int(run.network.n_active()[0]) > 1.5 * int(h.active_params.iloc[0] - sum(run.network.sizes[1:]))
