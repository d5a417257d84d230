"""One table-driven pass over every named method: a few epochs, a live change of each of its live
parameters, save → load → continue identical to never stopping."""

import math

import pytest
import torch

from growlab import Run
from growlab.methods import METHODS


def another_value(spec: dict, now):
    """A valid value of a parameter other than ``now`` (from its declared kind and range)."""
    if spec["kind"] == "bool":
        return not now
    if spec["kind"] == "choice":
        return next(c for c in spec["choices"] if c != now)
    low = spec["low"] if spec["low"] is not None else -math.inf
    high = spec["high"] if spec["high"] is not None else math.inf
    if now is None:
        now = spec["default"] if spec["default"] is not None else max(low, 0) + 1
    if spec["kind"] == "int":
        return now + 1 if now + 1 <= high else now - 1
    up = now * 1.5 if now > 0 else now + 0.5
    return up if up < high and not (spec["high_open"] and up >= high) else (now + low) / 2 if low > -math.inf else now - 0.5


@pytest.mark.parametrize("method", METHODS.names())
def test_every_method_trains_changes_live_and_resumes_exactly(method, tmp_path):
    kw = dict(epochs=8, seed=3, sparsity=0.7) if "sparsity" in METHODS.get(method).param_specs() else dict(epochs=8, seed=3)
    run = Run("heart", "8-4", method, **kw)
    run.run(2)
    live = {name: spec.describe() for name, spec in run.method.param_specs().items() if spec.live and spec.form}
    changes = {name: another_value(spec, run.params()[name]) for name, spec in live.items()}
    changes["lr"] = 0.005
    run.set(**changes)
    run.run(1)
    params = run.params()
    for name, value in changes.items():
        assert params[name] == pytest.approx(value), (method, name)
    events = run.events
    assert set(events.loc[events["kind"] == "param", "cause"].str.split(":").str[0]) == set(changes)
    run.save(tmp_path / "r.growlab")
    back = Run.load(tmp_path / "r.growlab")
    run.run(3)
    back.run(3)
    assert run.history.equals(back.history), method
    for a, b in zip(run.network.weights, back.network.weights):
        assert torch.equal(a, b), method
