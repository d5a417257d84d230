"""Batching is right: shared seeds start alike, and a batched member trains like the same run alone."""

import importlib

import numpy as np
import pytest
import torch

from growlab import Run
from growlab.config import TrainConfig
from growlab.experiment import Cancelled, grid
from growlab.experiment.plan import make_groups
from growlab.experiment.population import build, train_group

EPOCHS = 25


def _built(heart, methods, seeds=(0, 1), thresholds=(0.8, 0.95)):
    groups = make_groups(methods, seeds, thresholds, {})
    return {g.method: (g, build(g, heart, TrainConfig(epochs=EPOCHS))[1].net) for g in groups}


def test_members_sharing_a_seed_start_from_the_same_dense_weights_in_every_method(heart):
    built = _built(heart, ["dense", "prune", "subnet", "random", "strategic+prune"])
    dense_group, dense = built["dense"]
    initial = {s: [w[p].detach() for w in dense.weights] for p, s in enumerate(dense_group.seeds)}
    assert not torch.equal(initial[0][0], initial[1][0])
    for group, net in built.values():
        for p, s in enumerate(group.seeds):
            for l, w in enumerate(net.weights):
                on = net.effective_mask(l)[p]
                assert on.any()
                assert torch.equal(w[p].detach()[on], initial[s][l][on]), (group.method, s, l)


def test_members_sharing_a_seed_start_from_the_same_sub_network_whatever_the_method_or_threshold(heart):
    built = _built(heart, ["subnet", "random", "strategic", "strategic+prune"])
    first = {}
    for group, net in built.values():
        for p, s in enumerate(group.seeds):
            masks = [m[p] for m in net.masks]
            ref = first.setdefault(s, masks)
            assert all(torch.equal(a, b) for a, b in zip(ref, masks)), (group.method, s)
    assert not all(torch.equal(a, b) for a, b in zip(first[0], first[1]))


@pytest.mark.parametrize("method", ["dense", "prune", "subnet"])
def test_a_batched_member_trains_like_the_same_run_alone(heart, method):
    """The strongest check of the batching: every epoch's validation accuracy and AUC, the final
    structure and weights of each member equal a lone ``growlab.Run`` with its seed and threshold.

    Only methods that draw nothing at random after setup can match: random and strategic growth
    draw from the method's one generator for the whole population (``ctx.generator``), so a
    member of a population sees other random numbers than the same member alone.
    """
    (group,) = make_groups([method], (0, 3), (0.8, 0.95), {})
    result = train_group(group, heart, TrainConfig(epochs=EPOCHS))
    for p, (seed, t) in enumerate(zip(group.seeds, group.thresholds)):
        run = Run("heart", "16-8", method, EPOCHS, seed, **({} if t is None else {"sparsity": t}))
        history = run.run()
        np.testing.assert_allclose(result.val_acc[p], history.val_acc, atol=1e-12)
        # AUC ranks outputs: a sparse member's outputs tie on many rows, and float rounding (one
        # GEMM for P members vs one for a lone member) can break a tie either way, moving the AUC
        # by 1/(positives * negatives) per flipped pair (~0.001 here; 0.015 seen once at T = 0.95)
        gap = np.abs(result.val_auc[p] - history.val_auc.to_numpy())
        assert gap.max() < 0.05 and (gap < 1e-6).mean() >= 0.8, gap
        assert result.density[p] == pytest.approx(history.density.iloc[-1])
        lone = run.network
        for l in range(lone.n_layers):
            assert torch.equal(result.network.effective_mask(l)[p], lone.effective_mask(l)[0])
            torch.testing.assert_close(result.network.weights[l][p], lone.weights[l][0].detach().cpu(), atol=1e-5, rtol=1e-4)
        with torch.no_grad():  # and the final outputs agree, which is what the AUC ranks
            batched = result.network.forward(heart.X_val)[p]
            torch.testing.assert_close(batched, lone.forward(heart.X_val)[0].cpu(), atol=1e-5, rtol=1e-4)
    if method == "prune":  # the thresholds really differ per member
        assert result.density[0] > result.density[2]


def test_grow_methods_keep_each_members_own_threshold(heart):
    """Grow methods cannot match a lone run (see above); each member still obeys its own threshold."""
    (group,) = make_groups(["random"], (0, 1), (0.8, 0.9), {})
    result = train_group(group, heart, TrainConfig(epochs=EPOCHS))
    cap = np.array([np.floor((1 - t) * 568 + 1e-6) for t in group.thresholds])
    assert (result.active <= cap).all()
    assert (result.active[:2] > result.active[2:]).all()  # more room at T = 0.8 than at 0.9


def test_same_grid_gives_the_same_members_whether_methods_train_in_parallel_or_not():
    kw = dict(methods=["strategic+prune", "random", "prune"], seeds=2, thresholds=(0.8,), epochs=5)
    a, b, c = grid(**kw, workers=1), grid(**kw, workers=2), grid(**kw, workers=2)
    assert a.frame.equals(b.frame) and b.frame.equals(c.frame)


def test_progress_counts_member_epochs_and_stop_cancels():
    seen = []
    grid(methods=["dense", "prune"], seeds=2, thresholds=(0.8, 0.9), epochs=3, progress=lambda *a: seen.append(a), workers=1)
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and seen[-1][:2] == (18, 18)  # (2 dense + 4 prune members) × 3 epochs
    assert {label for *_, label in seen} == {"dense", "prune"}
    before = torch.get_num_threads()
    with pytest.raises(Cancelled, match="dense"):
        grid(methods=["dense"], seeds=1, epochs=50, stop=lambda: True, threads=1)
    assert torch.get_num_threads() == before


def test_a_failing_method_stops_the_others_and_its_error_is_raised(monkeypatch):
    grid_module = importlib.import_module("growlab.experiment.grid")

    real = grid_module.train_group

    def flaky(group, *args, **kw):
        if group.method == "subnet":
            raise RuntimeError("boom")
        return real(group, *args, **kw)

    monkeypatch.setattr(grid_module, "train_group", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        grid(methods=["prune", "subnet"], seeds=2, thresholds=(0.9,), epochs=400, workers=2)
