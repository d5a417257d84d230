"""The engine's cheaper paths compute exactly what the straightforward ones do: a data set padded
once, a small layer's activations passed on by one selection, or as they are after a ReLU (the
next layer's 1 carried in the padding), a large population's step a group of members at a
time, the AUC of a small set counted over its pairs, F1 from
one confusion count."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score

from growlab.engine import Network, Optimizer, Trainer, evaluate, member_losses, metrics, network, products


def net_and_data(n=300, task="binary", n_out=1, seed=0):
    net = Network((5, 12, 7, n_out), population=2, task=task, seeds=[seed, seed + 1], device="cpu")
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).float() if task == "binary" else (X[:, 0] * 2).clamp(0, n_out - 1).floor().long()
    return net, X, y


@pytest.mark.parametrize("batch_size", [None, 32])
def test_an_epoch_on_padded_rows_trains_bit_for_bit_as_steps_on_the_raw_rows(batch_size):
    a, X, y = net_and_data()
    b, _, _ = net_and_data()
    ta, tb = Trainer(a, Optimizer(a, lr=0.01), batch_size=batch_size), Trainer(b, Optimizer(b, lr=0.01), batch_size=batch_size)
    for _ in range(3):
        ta.epoch(X, y)  # the data set padded once, batches select padded rows
        if batch_size is None:
            tb.step(X, y)
        else:  # the same member orders, each batch padded on its own
            order = tb.streams.randperm(X.shape[0])
            for start in range(0, X.shape[0], batch_size):
                idx = order[:, start : start + batch_size]
                tb.step(X[idx], y[idx])
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_a_padded_data_set_follows_writes_to_it_and_goes_with_it():
    net, X, _ = net_and_data()
    first = net.padded_input(X)
    assert net.padded_input(X) is first  # kept
    assert torch.equal(first, products.with_ones(X, first.shape[-1]))
    X.mul_(2)  # written in place: padded again
    again = net.padded_input(X)
    assert torch.equal(again[:, :5], X) and torch.equal(again, products.with_ones(X, first.shape[-1]))
    key = (id(X), first.shape[-1])
    assert key in products._DATA
    del X, first, again
    gc.collect()
    assert key not in products._DATA  # its padded copy went with it


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_a_selected_hidden_input_equals_the_sliced_copy_forward_and_backward(monkeypatch, activation):
    net, X, y = net_and_data(n=64)
    net.set_activation(activation)

    def run():
        for w in net.parameters():
            w.grad = None
        tr = net.trace(X)
        member_losses(tr.outputs, y, net.task).sum().backward()
        return tr, [w.grad.clone() for w in net.parameters()]

    (selected, g1) = run()
    monkeypatch.setattr(network, "SELECT_MAX", 0)  # every layer by slice and copy
    (copied, g2) = run()
    assert torch.equal(selected.outputs, copied.outputs)
    assert all(torch.equal(a, b) for a, b in zip(selected.inputs, copied.inputs))
    assert all(torch.equal(a, b) for a, b in zip(g1, g2))
    for l, h in enumerate(selected.inputs):  # the bias input 1 right after the true columns, zeros after
        assert torch.all(h[..., net.capacity[l]] == 1) and torch.all(h[..., net.capacity[l] + 1 :] == 0)


def carried_ones(net):
    """The value each carrying layer holds in its padding for the next layer's 1, per member."""
    return [net.parameters()[l][:, net.in_features(l), net.capacity[l + 1]] for l in range(net.n_layers - 1)]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("pruned", [False, True])
def test_activations_that_carry_the_next_layers_1_train_bit_for_bit_as_the_selected_input(monkeypatch, activation, pruned):
    def trained(carry: bool):
        monkeypatch.setattr(network, "CARRIES", network.CARRIES if carry else ())
        net, X, y = net_and_data(n=64)
        net.set_activation(activation)
        if pruned:  # a layer with inactive connections has its gradients masked, a full one not
            net.set_mask(1, torch.rand(net.masks[1].shape, generator=torch.Generator().manual_seed(3)) < 0.6)
        trainer = Trainer(net, Optimizer(net, lr=0.05))
        tr = net.trace(X)
        losses = [trainer.step(X, y) for _ in range(20)]
        return net, tr, torch.stack(losses)

    carried, tr1, l1 = trained(True)
    selected, tr2, l2 = trained(False)
    assert torch.equal(l1, l2)
    assert torch.equal(tr1.outputs, tr2.outputs)
    assert all(torch.equal(a, b) for a, b in zip(tr1.inputs, tr2.inputs))  # the 1, then zeros, after the true columns
    assert all(torch.equal(a, b) for a, b in zip(carried.weights + carried.biases, selected.weights + selected.biases))
    assert all(torch.all(c == 1) for c in carried_ones(carried))  # never trained


def test_the_carried_1_survives_edits_restores_and_layer_removal():
    from growlab.engine.restore import RestorePoint

    net, X, y = net_and_data(n=64)
    trainer = Trainer(net, Optimizer(net, lr=0.05))
    point = RestorePoint()
    point.save(net, trainer.optimizer, trainer)
    net.set_edges(0, torch.tensor([0, 5, 9]), False)  # prune three, grow one back
    net.set_edges(0, torch.tensor([5]), True, values=torch.tensor([0.3]))
    net.set_mask(1, torch.zeros_like(net.masks[1]))
    for _ in range(3):
        trainer.step(X, y)
    assert all(torch.all(c == 1) for c in carried_ones(net))
    point.restore(net, trainer.optimizer, trainer)
    assert all(torch.all(c == 1) for c in carried_ones(net))
    net.remove_layer(1)  # the bridge carries for the layer after it
    trainer.optimizer.rebuild(keep_state=False)
    assert net.n_layers == 2 and torch.all(carried_ones(net)[0] == 1)
    trainer.step(X, y)
    copy = Network(net.sizes, population=net.population, seeds=net.seeds)
    copy.load_state_dict(net.state_dict())  # states hold true shapes only: the copy carries its own
    assert torch.equal(copy.forward(X), net.forward(X)) and torch.all(carried_ones(copy)[0] == 1)


@pytest.mark.parametrize("task, n_out, batch_size", [("binary", 1, None), ("multiclass", 3, 40)])
def test_a_step_over_groups_of_members_trains_bit_for_bit_as_over_all_at_once(monkeypatch, task, n_out, batch_size):
    def trained(chunk_bytes: int):
        monkeypatch.setattr(network, "CHUNK_BYTES", chunk_bytes)
        net = Network((5, 12, 7, n_out), population=5, task=task, seeds=range(5), device="cpu")
        net.set_mask(0, torch.rand(net.masks[0].shape, generator=torch.Generator().manual_seed(1)) < 0.5)
        _, X, y = net_and_data(n=120, task=task, n_out=n_out)
        trainer = Trainer(net, Optimizer(net, lr=0.05), batch_size=batch_size)
        metrics = [trainer.epoch_metrics(X, y) for _ in range(4)]
        return net, metrics, len(net.member_chunks(X.shape[0]))

    one, m1, n1 = trained(1 << 40)
    grouped, m2, n2 = trained(1)  # a member at a time
    assert (n1, n2) == (1, 5)
    for a, b in zip(m1, m2):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert all(torch.equal(p, q) for p, q in zip(one.parameters(), grouped.parameters()))


def test_auc_by_pairs_equals_auc_by_ranks_and_sklearn(monkeypatch):
    rng = np.random.default_rng(3)
    for n in (7, 40, 200):
        labels = rng.integers(0, 2, n)
        scores = np.round(rng.random((3, n)), 1).astype(np.float32)  # many ties
        scores[2, 0] = np.nan  # a member with a nan: nan on both paths
        by_pairs = metrics.binary_auc(scores, labels)
        monkeypatch.setattr(metrics, "PAIRS_MAX", 0)
        by_ranks = metrics.binary_auc(scores, labels)
        monkeypatch.undo()
        assert np.array_equal(by_pairs, by_ranks, equal_nan=True) and np.isnan(by_pairs[2])
        for p in range(2):
            assert by_pairs[p] == pytest.approx(roc_auc_score(labels, scores[p]), abs=1e-12)


def test_multiclass_auc_and_f1_on_both_paths_equal_sklearn(monkeypatch):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, 300)
    labels[labels == 3] = 4  # a class absent from the data: left out of both macro means
    probs = rng.dirichlet(np.ones(5), size=(2, 300))
    pred = probs.argmax(axis=2)
    small = metrics.macro_ovr_auc(probs, labels)
    monkeypatch.setattr(metrics, "PAIRS_MAX", 10**9)
    assert np.array_equal(small, metrics.macro_ovr_auc(probs, labels))  # every class by pairs
    monkeypatch.setattr(metrics, "PAIRS_MAX", 0)
    assert np.array_equal(small, metrics.macro_ovr_auc(probs, labels))  # every class ranked at once
    present = [0, 1, 2, 4]
    for p in range(2):
        ovr = np.mean([roc_auc_score(labels == c, probs[p][:, c]) for c in present])
        assert small[p] == pytest.approx(ovr, abs=1e-12)
        assert metrics.f1(pred, labels, 5)[p] == pytest.approx(f1_score(labels, pred[p], labels=present, average="macro"))
    binary = labels % 2
    assert metrics.f1(pred % 2, binary, 2)[1] == pytest.approx(f1_score(binary, pred[1] % 2))


def test_evaluate_on_a_padded_validation_set_equals_it_on_the_raw_rows():
    net, X, y = net_and_data(n=120, task="multiclass", n_out=3)
    Trainer(net, Optimizer(net, lr=0.05)).epoch(X, y)
    m = evaluate(net, X, y)
    with torch.no_grad():
        out = net.forward(X)  # padded on the spot
    assert np.array_equal(m["loss"], member_losses(out, y, net.task).numpy())
    probs = torch.softmax(out, dim=-1).numpy()
    assert np.array_equal(m["auc"], metrics.macro_ovr_auc(probs, y.long().numpy()))
