"""Batching is right: shared seeds start alike, and a batched member trains like the same run alone."""

import importlib

import numpy as np
import pandas as pd
import pytest
import torch

from growlab import Run
from growlab.config import TrainConfig
from growlab.experiment import Cancelled, ExperimentFailed, grid
from growlab.experiment.plan import make_groups
from growlab.experiment.population import build, train_group
from growlab.methods import METHODS

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


ALL_METHODS = sorted(METHODS.names())


@pytest.mark.parametrize("method", ALL_METHODS)
def test_a_batched_member_is_bit_identical_to_the_same_run_alone(heart, method):
    """Every member draws from its own streams and computes on its own (DESIGN §3c): every
    epoch's validation accuracy and AUC, the final structure and weights of each member equal
    a lone ``growlab.Run`` with its seed and threshold exactly, for every named method."""
    groups = make_groups([method], (0, 3), (0.8, 0.95), {})
    config = TrainConfig(epochs=EPOCHS)
    changed = 0
    for group in groups:
        result = train_group(group, heart, config)
        for p, (seed, t) in enumerate(zip(group.seeds, group.thresholds)):
            run = Run("heart", "16-8", method, EPOCHS, seed, **({} if t is None else {"sparsity": t}))
            history = run.run()
            assert np.array_equal(result.val_acc[p], history.val_acc.to_numpy()), (method, seed, t)
            assert np.array_equal(result.val_auc[p], history.val_auc.to_numpy()), (method, seed, t)
            lone = run.network
            assert result.network.sizes == lone.sizes
            for l in range(lone.n_layers):
                assert torch.equal(result.network.masks[l][p], lone.masks[l][0])
                assert torch.equal(result.network.weights[l][p], lone.weights[l][0].detach().cpu()), (method, seed, t, l)
                assert torch.equal(result.network.biases[l][p], lone.biases[l][0].detach().cpu())
            changed += int(history.grown.sum() + history.pruned.sum()) + len(run.events)
    if method not in ("dense", "subnet"):  # the structure really changed: the check covers growth and pruning
        assert changed > 0


@pytest.mark.parametrize("method", ["random+prune", "gradient+prune", "nest"])
def test_members_are_exact_on_minibatches_and_many_classes_too(method):
    """digits: 10 classes, 1,437 training rows in batches of 128 (each member its own order, a
    short last batch) and gradient scores on 256 sampled rows (each member its own sample)."""
    from growlab.data import load_cached

    data = load_cached("digits")
    (group,) = make_groups([method], (0, 1), (0.9,), {})
    result = train_group(group, data, TrainConfig(dataset="digits", arch=(16,), epochs=6))
    for p, seed in enumerate(group.seeds):
        run = Run("digits", "16", method, 6, seed, **({"sparsity": 0.9} if group.uses_threshold else {}))
        history = run.run()
        assert np.array_equal(result.val_acc[p], history.val_acc.to_numpy()) and np.array_equal(result.val_auc[p], history.val_auc.to_numpy())
        net, lone = result.network, run.network
        assert all(torch.equal(t[l][p], u[l][0].detach()) for t, u in ((net.weights, lone.weights), (net.biases, lone.biases)) for l in range(2))


def test_a_member_does_not_depend_on_the_rest_of_the_grid():
    """The issue's example: the same method, seed and threshold in grids of other sizes, orders,
    chunkings and methods give the same member, bit for bit."""
    cols = ["val_acc", "best_val_acc", "val_auc", "density", "active", "redundant", "false_start"]
    alone = grid(methods=["random"], seeds=[0, 1, 2], thresholds=(0.8,), epochs=EPOCHS)
    bigger = grid(methods=["strategic+prune", "random", "prune"], seeds=[2, 0, 5, 1], thresholds=(0.9, 0.8),
                  epochs=EPOCHS, chunk=1)  # fmt: skip
    key = ["method", "threshold", "seed"]
    a = alone.frame.set_index(key)[cols]
    b = bigger.frame.set_index(key)[cols].loc[a.index]
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    run = Run("heart", "16-8", "random", epochs=EPOCHS, seed=1, sparsity=0.8)
    assert run.run().val_acc.iloc[-1] == a.loc[("random", 0.8, 1), "val_acc"]


def test_grow_methods_keep_each_members_own_threshold(heart):
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
        grid(methods=["dense"], seeds=1, epochs=50, cancel=lambda: True, threads=1)
    assert torch.get_num_threads() == before


def test_a_failing_method_is_named_in_the_error_and_the_others_results_are_kept(monkeypatch):
    population = importlib.import_module("growlab.experiment.population")

    real = population.train_group

    def flaky(group, *args, **kw):
        if group.method == "subnet":
            raise RuntimeError("boom")
        return real(group, *args, **kw)

    monkeypatch.setattr(population, "train_group", flaky)
    with pytest.raises(ExperimentFailed, match="'subnet' seeds 0, 1: RuntimeError: boom") as info:
        grid(methods=["prune", "subnet"], seeds=2, thresholds=(0.9,), epochs=4, workers=2)
    assert isinstance(info.value.__cause__, RuntimeError)
    partial = info.value.result
    assert partial.methods == ("prune",) and len(partial.frame) == 2 and not partial.complete
    assert [(m.method, m.seeds) for m in partial.missing] == [("subnet", (0, 1))]
