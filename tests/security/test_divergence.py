"""Nothing lost, nothing wrong after a blow-up: finiteness is checked after grow/prune cycles too,
and a diverged run keeps a state it can train on again (or says Reset is needed)."""

from __future__ import annotations

import pytest
import torch

from growlab.run import Run

BLOWS_UP = dict(epochs=40, optimizer="sgd", lr=100.0, activation="leaky_relu")


def poison_cycles(run, monkeypatch):
    """Make the method's cycles leave an infinite weight behind (as NeST growth at a high lr can)."""
    real_cycle, real_after = run.method.cycle, run.method.after_epoch

    def poison(ctx):
        with torch.no_grad():
            ctx.net.weights[0][0, 0, 0] = float("inf")

    def cycle(ctx):
        real_cycle(ctx)
        poison(ctx)

    def after_epoch(ctx):
        ran = real_after(ctx)
        if ran:
            poison(ctx)
        return ran

    monkeypatch.setattr(run.method, "cycle", cycle)
    monkeypatch.setattr(run.method, "after_epoch", after_epoch)
    return real_after


def test_a_cycle_that_leaves_non_finite_weights_is_undone_and_pauses(monkeypatch):
    run = Run("heart", "8-4", "strategic+prune", epochs=30, seed=1)
    real = poison_cycles(run, monkeypatch)
    while run.status != "diverged":
        n_events, cycles, epoch = len(run.events), run.cycles, run.epoch
        row = run.step()
        assert (row is not None and run.epoch == epoch + 1) or run.status == "diverged"
        assert run.epoch < 29, "no cycle ran"
    assert run.network.is_finite() and len(run.history) == run.epoch == epoch  # that epoch and its cycle are undone
    ev = run.events
    assert len(ev) == n_events + 1 and ev["kind"].iloc[-1] == "nan" and "grow/prune cycle" in ev["cause"].iloc[-1]
    assert run.cycles == cycles
    monkeypatch.setattr(run.method, "after_epoch", real)
    assert run.step() is not None and run.network.is_finite() and run.status == "ready"


def test_a_forced_cycle_that_leaves_non_finite_weights_is_undone(monkeypatch):
    run = Run("heart", "8-4", "strategic+prune", epochs=20, seed=1)
    run.step()
    weights = [w.detach().clone() for w in run.network.weights]
    poison_cycles(run, monkeypatch)
    assert run.cycle() == {"grown": 0, "pruned": 0}
    assert run.status == "diverged" and all(torch.equal(a, b) for a, b in zip(weights, run.network.weights))


@pytest.mark.parametrize("seed", range(5))
def test_a_diverged_run_trains_again_once_the_learning_rate_is_lowered(seed):
    run = Run("heart", "16-8", seed=seed, **BLOWS_UP)
    run.run()
    assert run.status == "diverged" and run.network.is_finite()
    assert "lower the learning rate" in run.events["cause"].iloc[-1] and not run.needs_reset
    run.set(lr=0.01)
    assert all(run.step() is not None for _ in range(5)) and run.status == "ready"
    assert run.history["train_loss"].iloc[-1] < 10 * run.history["train_loss"].min()


def test_without_a_state_that_trained_well_the_run_says_reset_is_needed(monkeypatch):
    def never_sound(self):  # as if no epoch had trained well
        self._now_sound = False
        return Run._save_cycle_state(self)

    monkeypatch.setattr(Run, "_save_before_epoch", never_sound)
    run = Run("heart", "16-8", seed=0, **BLOWS_UP)
    run.run()
    assert run.status == "diverged" and run.needs_reset
    assert "press Reset" in run.events["cause"].iloc[-1]
