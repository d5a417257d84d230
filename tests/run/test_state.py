"""``Run.state_dict`` / ``Run.load_state_dict``: a plain state that continues bit for bit, and
a state that does not fit is refused with the reason while the run stays as it was."""

from __future__ import annotations

import pytest
import torch

from growlab import Run
from growlab.run.state import KEYS, InvalidState

SETUP = dict(dataset="heart", arch="8-4", method="strategic+prune", epochs=8, seed=3)


def same_tensors(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.network.parameters(), b.network.parameters()))


def test_state_dict_then_load_state_dict_continues_exactly():
    a = Run(**SETUP)
    a.run(epochs=3)
    a.set(lr=0.004)  # a pending change travels with the state
    state = a.state_dict()
    assert set(state) == set(KEYS)
    b = Run(**SETUP)
    b.load_state_dict(state)
    assert b.epoch == 3 and b.pending == {"lr": 0.004} and b.history.equals(a.history)
    a.run()
    b.run()
    assert b.epoch == a.epoch == 8
    assert b.history.equals(a.history)  # bit-exact: every float of every row
    assert b.events.equals(a.events)
    assert same_tensors(a, b) and [m.tolist() for m in a.network.masks] == [m.tolist() for m in b.network.masks]
    assert b.optimizer.lr == a.optimizer.lr == 0.004
    assert (b.at(2).weights[0] == a.at(2).weights[0]).all()  # the timeline came along


def test_a_state_is_a_copy_that_training_on_does_not_change():
    a = Run(**SETUP)
    a.run(epochs=2)
    state = a.state_dict()
    before = [w.clone() for w in state["network"]["weights"]]
    a.run(epochs=2)
    assert all(torch.equal(x, y) for x, y in zip(before, state["network"]["weights"]))
    assert state["epoch"] == 2 and len(state["history"]) == 2


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s["network"]["weights"].__setitem__(0, torch.zeros(1, 8, 1)), "weights of layer 0 has shape"),
        (lambda s: s.__setitem__("epoch", 1), "history has 3 rows for 1 epochs"),
        (lambda s: s.pop("events"), "the state has no events"),
        (lambda s: s["config"].__setitem__("seed", 4), "another setup .*seed 4, this run's 3"),
        (lambda s: s["optimizer"]["state"][0].__setitem__("exp_avg", torch.zeros(3)), "optimizer's exp_avg"),
        (lambda s: s["timeline"].__setitem__("entries", s["timeline"]["entries"][:1]), "timeline"),
    ],
)
def test_a_state_that_does_not_fit_is_refused_and_changes_nothing(edit, message):
    a = Run(**SETUP)
    a.run(epochs=3)
    state = a.state_dict()
    edit(state)
    b = Run(**SETUP)
    b.run(epochs=1)
    kept = b.state_dict()
    with pytest.raises(InvalidState, match=message):
        b.load_state_dict(state)
    assert b.epoch == 1 and b.history.equals(Run(**SETUP).run(epochs=1))
    after = b.state_dict()
    assert all(torch.equal(x, y) for x, y in zip(kept["network"]["weights"], after["network"]["weights"]))
    assert after["events"] == kept["events"] and after["timeline"]["entries"].__len__() == len(kept["timeline"]["entries"])
    b.run()  # and it trains on as if nothing happened
    fresh = Run(**SETUP)
    fresh.run()
    assert b.history.equals(fresh.history) and same_tensors(b, fresh)
