"""Restore points, training metrics from the pass itself, and the cheap checks of the step path."""

from __future__ import annotations

import numpy as np
import torch

from growlab.engine import Network, Optimizer, Trainer, evaluate
from growlab.engine.restore import RestorePoint


def _data(n=64, n_in=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, n_in, generator=g), torch.randint(0, classes, (n,), generator=g)


def _trained(sizes=(6, 8, 3), batch_size=16, steps=2):
    net = Network(sizes, task="multiclass", device="cpu")
    opt = Optimizer(net, "adam", lr=0.01)
    trainer = Trainer(net, opt, batch_size=batch_size)
    X, y = _data()
    for _ in range(steps):
        trainer.epoch(X, y)
    return net, opt, trainer, X, y


def _opt_state(opt):
    return [{k: v.clone() if torch.is_tensor(v) else v for k, v in opt.torch.state[p].items()} for p in opt.net.parameters()]


def test_a_restore_point_brings_back_weights_optimizer_and_batch_order_exactly():
    net, opt, trainer, X, y = _trained()
    point = RestorePoint()
    point.save(net, opt, trainer)
    weights, state, steps = [w.detach().clone() for w in net.parameters()], _opt_state(opt), trainer.steps
    after = trainer.epoch(X, y)  # what the next epoch gives
    opt.lr = 0.5
    point.restore(net, opt, trainer)
    assert all(torch.equal(a, b) for a, b in zip(weights, net.parameters()))
    assert trainer.steps == steps and opt.lr == 0.01
    for saved, now in zip(state, _opt_state(opt)):
        assert saved.keys() == now.keys() and all(torch.equal(saved[k], now[k]) for k in saved)
    assert np.array_equal(trainer.epoch(X, y), after)  # the same batches and updates again
    point.restore(net, opt, trainer)  # it serves twice
    assert np.array_equal(trainer.epoch(X, y), after)


def test_a_restore_point_brings_back_the_structure_only_copying_it_when_it_changed():
    net, opt, trainer, X, y = _trained()
    point = RestorePoint()
    point.save(net, opt, trainer)
    kept = point.structure
    trainer.epoch(X, y)
    point.save(net, opt, trainer)
    assert point.structure is kept  # training does not change the structure: no new copy
    masks = [m.clone() for m in net.masks]
    cut = torch.zeros_like(net.masks[0])
    cut[..., :3] = True
    net.set_mask(0, cut)
    trainer.epoch(X, y)
    point.restore(net, opt, trainer)
    assert all(torch.equal(a, b) for a, b in zip(masks, net.masks))
    assert bool(net.masks[0].all()) and net.weights[0].abs().min() > 0
    other = RestorePoint()
    other.save(net, opt, trainer, share=point)
    assert other.structure is point.structure  # the same structure: shared, not copied


def test_a_restore_point_undoes_a_removed_layer():
    net, opt, trainer, X, y = _trained(sizes=(6, 5, 4, 3))
    point = RestorePoint()
    point.save(net, opt, trainer)
    before = [w.detach().clone() for w in net.parameters()]
    net.remove_layer(1)
    opt.rebuild()
    assert net.n_layers == 2
    point.restore(net, opt, trainer)
    assert net.n_layers == 3 and net.sizes == (6, 5, 4, 3)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    trainer.epoch(X, y)  # and it trains on
    assert net.is_finite()


def test_epoch_metrics_are_those_of_the_pass_itself():
    net, opt, trainer, X, y = _trained(batch_size=None)
    copy = net.copy()
    before = evaluate(copy, X, y)  # full batch: the one step's outputs are those of the state before it
    out = trainer.epoch_metrics(X, y)
    assert np.allclose(out["loss"], before["loss"]) and np.array_equal(out["acc"], before["acc"])
    net, opt, trainer, X, y = _trained(batch_size=16)
    twin = _twin(net, opt, trainer)
    m = trainer.epoch_metrics(X, y)
    assert np.array_equal(m["loss"], twin.epoch(X, y))  # the same loss as a plain epoch
    assert 0 <= m["acc"][0] <= 1 and m["acc"][0] * len(y) == round(m["acc"][0] * len(y))


def _twin(net, opt, trainer):
    """An independent trainer in exactly the state of ``trainer``."""
    point = RestorePoint()
    point.save(net, opt, trainer)
    copy = net.copy()
    copy_opt = Optimizer(copy, "adam", lr=0.01)
    twin = Trainer(copy, copy_opt, batch_size=trainer.batch_size)
    point.restore(copy, copy_opt, twin)
    return twin


def test_is_finite_sees_any_inf_or_nan_and_not_large_finite_weights():
    net = Network((4, 3, 1), device="cpu")
    assert net.is_finite()
    with torch.no_grad():
        net.weights[0][0, 0, 0] = 3e38
        net.weights[0][0, 1, 0] = 3e38  # their sum overflows; every value is finite
    assert net.is_finite()
    for bad in (float("inf"), float("-inf"), float("nan")):
        with torch.no_grad():
            net.biases[1][0, 0] = bad
        assert not net.is_finite()


def test_a_dense_layer_skips_gradient_masking_and_its_padding_stays_zero():
    net, opt, trainer, X, y = _trained(steps=3)
    assert net._full == [True, True]
    for l, w in enumerate(net.parameters()):
        assert torch.equal(w.detach() * (1 - net._gmask[l]), torch.zeros_like(w))  # the padding: exactly 0
