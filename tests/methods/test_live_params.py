"""Live parameter changes, history/event agreement, overlays, archives and the CLI."""

from __future__ import annotations

import re

import pytest
import torch

import growlab
from growlab.cli import main as cli_main


def test_a_focal_junctures_change_applies_at_the_next_cycle_with_an_event():
    run = growlab.Run("heart", "16-8", "strategic", epochs=8, seed=0, sparsity=0.8, focal_junctures=0)
    run.run(2)
    assert run.history.grown.sum() == 0
    run.set(focal_junctures=3)
    assert run.method.values["focal_junctures"] == 0, "applied only at the next cycle boundary"
    row = run.step()
    assert 0 < row["grown"] <= 3
    params = run.events[run.events.kind == "param"]
    assert params.cause.tolist() == ["focal_junctures: 0 → 3"] and params.epoch.tolist() == [3]


def test_a_sigma_change_takes_effect_at_the_next_cycle():
    run = growlab.Run("heart", "16-8", "strategic", epochs=12, seed=2, sparsity=0.6, focal_junctures=6, sigma=50.0,
                      junctures="usable")  # growth goes on every cycle
    run.run(3)
    run.set(sigma=1e-4)
    for _ in range(3):
        before = [m[0].clone() for m in run.network.masks]
        epoch = run.epoch + 1
        run.step()
        grown = run.events[(run.events.kind == "grow") & (run.events.epoch == epoch)]
        assert len(grown)
        for r in grown.itertuples():  # every new connection goes to the nearest dormant terminus
            l, i, k = r.layer, r.source, r.target
            n_in, n_out = before[l].shape[1], before[l].shape[0]
            beta = i * (n_out - 1) / (n_in - 1)
            nearer = [kk for kk in range(n_out) if abs(kk - beta) < abs(k - beta) - 1e-9]
            assert all(bool(before[l][kk, i]) for kk in nearer), f"{r.cause}: {k} is not the nearest dormant"
            assert re.fullmatch(rf"juncture {l}:{i}→\d+", r.cause)


def test_invalid_live_values_are_refused_whole_and_change_nothing():
    run = growlab.Run("heart", "16-8", "strategic+prune", epochs=4, seed=0)
    before = run.params()
    for bad in ({"sigma": 0}, {"focal_junctures": -1}, {"sparsity": 1.0}, {"sparsity": -0.5}, {"lr": 0}):
        with pytest.raises(ValueError):
            run.set(**bad)
    with pytest.raises(ValueError, match="sigma must be in"):
        run.set(mu=2.0, sigma=-1.0)
    with pytest.raises(ValueError, match="cannot set density on a 'strategic\\+prune' run; live parameters: sparsity"):
        run.set(density=0.2)
    run.step()
    assert run.params() == before
    assert (run.events.kind == "param").sum() == 0


def test_live_changes_of_every_rate_are_recorded_with_old_and_new_values():
    run = growlab.Run("heart", "16-8", "random+prune", epochs=4, seed=0)
    run.step()
    run.set(sparsity=0.8, grow_per_cycle=7, prune_per_cycle=1, lr=0.01)
    run.step()
    causes = set(run.events[run.events.kind == "param"].cause)
    assert causes == {"sparsity: 0.9 → 0.8", "grow_per_cycle: 4 → 7", "prune_per_cycle: 2 → 1", "lr: 0.003 → 0.01"}
    assert run.method.values["grow_per_cycle"] == 7 and run.optimizer.lr == 0.01


@pytest.mark.parametrize("method", ["random+prune", "strategic+prune", "prune"])
def test_history_events_and_masks_agree(method):
    run = growlab.Run("heart", "16-8", method, epochs=6, seed=4, sparsity=0.85, stop=1.0)
    active = int(run.network.n_active())
    while not run.done:
        row = run.step()
        ev = run.events[run.events.epoch == run.epoch]
        assert row["grown"] == (ev.kind == "grow").sum() and row["pruned"] == (ev.kind == "prune").sum()
        now = int(run.network.n_active())
        assert now - active == row["grown"] - row["pruned"]
        assert row["density"] == pytest.approx(now / run.network.n_possible())
        active = now
    assert run.history.pruned.sum() > 0


def test_overlays_name_the_latest_focal_junctures():
    run = growlab.Run("heart", "16-8", "strategic", epochs=3, seed=0, sparsity=0.7, focal_junctures=5)
    assert run.method.overlays() == {"focal_junctures": []}
    snapshot = [w.detach()[0].abs() * m[0] for w, m in zip(run.network.weights, run.network.masks)]
    run.cycle()
    junctures = run.method.overlays()["focal_junctures"]
    assert len(junctures) == 5 and all(len(j) == 3 for j in junctures)
    strongest = sorted(
        ((float(s[j, i]), l, i, j) for l, s in enumerate(snapshot) for j, i in s.nonzero().tolist()), reverse=True
    )
    assert junctures == [(l, i, j) for _, l, i, j in strongest[:5]]
    causes = set(run.events[run.events.kind == "grow"].cause)
    assert causes <= {f"juncture {l}:{i}→{j}" for l, i, j in junctures}
    assert growlab.Run("heart", "16-8", "random", epochs=1).method.overlays() == {}


def test_a_saved_hybrid_run_continues_as_if_it_never_stopped(tmp_path):
    kw = dict(epochs=8, seed=5, sparsity=0.85, schedule="polynomial")
    for method in ("strategic+prune", "prune"):
        params = {k: v for k, v in kw.items() if k != "schedule" or method == "prune"}
        a = growlab.Run("heart", "16-8", method, **params)
        a.run(3)
        a.save(tmp_path / "a.growlab")
        b = growlab.Run.load(tmp_path / "a.growlab")
        a.run()
        b.run()
        assert all(torch.equal(x, y) for x, y in zip(a.network.masks, b.network.masks))
        assert a.history.equals(b.history)
        assert a.method.overlays() == b.method.overlays()


def test_cli_trains_strategic_prune_with_method_options(capsys):
    argv = ["train", "--method", "strategic+prune", "--sparsity", "0.9", "--focal-junctures", "8", "--sigma", "1.5"]
    assert cli_main([*argv, "--epochs", "3", "--quiet"]) == 0
    assert "density" in capsys.readouterr().out
    assert cli_main(["train", "--method", "strategic", "--sigma", "0", "--epochs", "2", "--quiet"]) != 0
    assert "sigma must be in" in capsys.readouterr().err
