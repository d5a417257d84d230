import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score

from growlab.engine import Network, Optimizer, Trainer, evaluate, resolve_device
from growlab.engine.metrics import binary_auc, macro_ovr_auc


def sparse_net(P=2, seeds=None, task="binary", n_out=1, density=0.5):
    net = Network((5, 6, 4, n_out), population=P, task=task, seeds=seeds, device="cpu")
    g = torch.Generator().manual_seed(0)
    for l in range(net.n_layers):
        net.set_mask(l, torch.rand(net.masks[l].shape, generator=g) < density)
    return net


def toy(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g)
    return X, (X[:, 0] + X[:, 1] > 0).float()


def test_members_sharing_a_seed_start_from_identical_weights():
    net = Network((27, 16, 8, 1), population=3, seeds=[4, 4, 5])
    for w in net.weights:
        assert torch.equal(w[0], w[1]) and not torch.equal(w[0], w[2])
    solo = Network((27, 16, 8, 1), population=1, seeds=[5])
    assert all(torch.equal(a[2], b[0]) for a, b in zip(net.weights, solo.weights))


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_inactive_weights_stay_exactly_zero_while_training(kind):
    net = sparse_net()
    trainer = Trainer(net, Optimizer(net, kind, lr=0.05))
    X, y = toy()
    for _ in range(30):
        trainer.step(X, y)
    for l in range(net.n_layers):
        assert torch.all(net.weights[l][~net.effective_mask(l)] == 0)
        assert (net.weights[l][net.effective_mask(l)] != 0).all()


def test_dead_neurons_have_zero_bias_and_weights():
    net = Network((5, 6, 1), capacity=(5, 9, 1))
    assert torch.all(net.biases[0][:, 6:] == 0) and torch.all(net.weights[0][:, 6:, :] == 0)
    assert torch.all(net.weights[1][:, :, 6:] == 0)
    assert net.density().item() == pytest.approx((5 * 6 + 6) / (5 * 9 + 9))


def test_set_mask_zeroes_pruned_initialises_grown_and_resets_optimizer_state():
    net = sparse_net(P=1, density=0.5)
    opt = Optimizer(net, "adam", lr=0.01)
    trainer = Trainer(net, opt)
    X, y = toy()
    for _ in range(3):
        trainer.step(X, y)
    mask = net.masks[0].clone()
    active, dormant = mask.nonzero()[:3], (~mask).nonzero()[:3]
    new = mask.clone()
    new[tuple(active.T)] = False
    new[tuple(dormant.T)] = True
    values = torch.full_like(net.weights[0], 0.123)
    removed, added = net.set_mask(0, new, values=values, epoch=7, cycle=2)
    opt.reset(0, removed | added)
    assert removed.sum() == 3 and added.sum() == 3
    assert torch.all(net.weights[0][removed] == 0)
    assert torch.allclose(net.weights[0][added], torch.tensor(0.123))
    assert torch.all(net.birth_epoch[0][added] == 7) and torch.all(net.birth_cycle[0][added] == 2)
    m, v = opt.buffer(0, "exp_avg"), opt.buffer(0, "exp_avg_sq")
    assert torch.all(m[removed | added] == 0) and torch.all(v[removed | added] == 0)
    assert (v[mask & ~removed] != 0).any()  # untouched moments kept


def test_gradients_include_inactive_connections():
    net = sparse_net(P=1)
    grads = Trainer(net, Optimizer(net)).gradients(*toy())
    inactive = ~net.effective_mask(1)
    assert (grads[1][inactive] != 0).any()
    assert all(w.grad is None for w in net.parameters())


def test_training_is_bit_reproducible():
    def train():
        net = sparse_net(seeds=[3, 8])
        t = Trainer(net, Optimizer(net, lr=0.01), batch_size=16)
        X, y = toy()
        for _ in range(5):
            t.epoch(X, y)
        return net

    a, b = train(), train()
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_a_member_trained_in_a_population_matches_it_trained_alone():
    X, y = toy(n=50)

    def train(seeds):
        net = Network((5, 6, 4, 1), population=len(seeds), seeds=seeds)
        t = Trainer(net, Optimizer(net, lr=0.01), batch_size=8)
        for _ in range(4):
            t.epoch(X, y)
        return net

    pop, solo = train([1, 9, 4]), train([9])
    for a, b in zip(pop.parameters(), solo.parameters()):
        torch.testing.assert_close(a[1], b[0], atol=1e-6, rtol=1e-5)


def test_auc_equals_sklearn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 40)
    scores = np.round(rng.random((3, 40)), 1)  # many ties
    ours = binary_auc(scores, labels)
    for p in range(3):
        assert ours[p] == pytest.approx(roc_auc_score(labels, scores[p]), abs=1e-12)


def test_multiclass_auc_equals_sklearn_macro_ovr():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 60)
    logits = rng.normal(size=(2, 60, 4))
    probs = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    ours = macro_ovr_auc(probs, labels)
    for p in range(2):
        ref = roc_auc_score(labels, probs[p], multi_class="ovr", average="macro")
        assert ours[p] == pytest.approx(ref, abs=1e-12)


def test_evaluate_matches_sklearn_on_a_trained_population():
    net = sparse_net(P=2)
    X, y = toy()
    Trainer(net, Optimizer(net, lr=0.05)).step(X, y)
    m = evaluate(net, X, y)
    probs = torch.sigmoid(net.forward(X)[..., 0]).detach().numpy()
    for p in range(2):
        assert m["auc"][p] == pytest.approx(roc_auc_score(y.numpy(), probs[p]))
        assert m["f1"][p] == pytest.approx(f1_score(y.numpy(), probs[p] > 0.5))
        assert m["acc"][p] == pytest.approx(((probs[p] > 0.5) == y.numpy()).mean())


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
        assert resolve_device(None).type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    X, y = toy()
    nets = []
    for dev in ("cpu", "cuda"):
        net = Network((5, 6, 4, 1), population=2, device=dev)
        t = Trainer(net, Optimizer(net, lr=0.01))
        for _ in range(10):
            t.step(X.to(net.device), y.to(net.device))
        nets.append(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a, b.cpu(), atol=1e-4, rtol=1e-3)
