"""Oracle: P masked members behave exactly like P independent torch.nn.Sequential models.

Each Sequential is built from a member's weights with the member's effective mask applied
through torch.nn.utils.prune, so its gradients are masked by torch's own machinery.
"""

import pytest
import torch
from engine_oracle import oracle_loss
from torch.nn.utils import prune

from growlab.engine import Network, Optimizer, Trainer, member_losses

CASES = [
    ("binary", "relu", 1), ("binary", "tanh", 1), ("multiclass", "leaky_relu", 3),
    ("multiclass", "sigmoid", 4), ("regression", "relu", 1),
]  # fmt: skip


def masked_population(task, activation, n_out, P=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    sizes, capacity = (7, 6, 5, n_out), (7, 9, 5, n_out)
    net = Network(sizes, population=P, capacity=capacity, activation=activation, task=task, seeds=range(10, 10 + P))
    for l in range(net.n_layers):
        net.set_mask(l, torch.rand(net.masks[l].shape, generator=g) < 0.6)
    alive = net.alive[2].clone()
    alive[:, 0] = False  # kill one neuron of the second hidden layer in every member
    net.set_alive(2, alive)
    return net


def oracle_models(net):
    models = []
    for p in range(net.population):
        seq = net.to_sequential(p)
        linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
        for l, lin in enumerate(linears):
            prune.custom_from_mask(lin, "weight", net.effective_mask(l)[p].cpu())
            prune.custom_from_mask(lin, "bias", net.alive[l + 1][p].cpu())
        models.append(seq)
    return models


def data(task, n_out, B=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(B, 7, generator=g)
    if task == "multiclass":
        y = torch.randint(0, n_out, (B,), generator=g)
    elif task == "binary":
        y = torch.randint(0, 2, (B,), generator=g).float()
    else:
        y = torch.randn(B, generator=g)
    return X, y


@pytest.mark.parametrize("task, activation, n_out", CASES)
def test_outputs_losses_and_gradients_match_independent_models(task, activation, n_out):
    net = masked_population(task, activation, n_out)
    models = oracle_models(net)
    X, y = data(task, n_out)
    out = net.forward(X)
    losses = member_losses(out, y, task)
    losses.sum().backward()
    net.mask_grads()
    for p, seq in enumerate(models):
        ref_out = seq(X)
        torch.testing.assert_close(out[p], ref_out, atol=1e-6, rtol=1e-6)
        ref_loss = oracle_loss(ref_out, y, task)
        torch.testing.assert_close(losses[p], ref_loss, atol=1e-6, rtol=1e-6)
        ref_loss.backward()
        linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
        for l, lin in enumerate(linears):
            torch.testing.assert_close(net.grads()[l][p], lin.weight_orig.grad, atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(net.bias_grads()[l][p], lin.bias_orig.grad, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_training_steps_match_independent_optimizers(kind):
    task, activation, n_out = "multiclass", "relu", 3
    net = masked_population(task, activation, n_out)
    models = oracle_models(net)
    opt = Optimizer(net, kind, lr=0.01)
    trainer = Trainer(net, opt)
    make = (lambda ps: torch.optim.Adam(ps, lr=0.01)) if kind == "adam" else (lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9))
    ref_opts = [make(list(m.parameters())) for m in models]
    for step in range(5):
        X, y = data(task, n_out, seed=100 + step)
        trainer.step(X, y)
        for seq, o in zip(models, ref_opts):
            o.zero_grad()
            oracle_loss(seq(X), y, task).backward()
            o.step()
    for p, seq in enumerate(models):
        linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
        for l, lin in enumerate(linears):
            # lin.weight is only recomputed by the next forward; the effective weight is orig * mask
            weight = (lin.weight_orig * lin.weight_mask).detach()
            bias = (lin.bias_orig * lin.bias_mask).detach()
            torch.testing.assert_close(net.weights[l][p], weight, atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(net.biases[l][p], bias, atol=1e-6, rtol=1e-5)


def test_per_member_batches_match_independent_models():
    net = masked_population("binary", "relu", 1, P=3)
    models = oracle_models(net)
    g = torch.Generator().manual_seed(5)
    X = torch.randn(3, 10, 7, generator=g)
    y = torch.randint(0, 2, (3, 10), generator=g).float()
    out = net.forward(X)
    losses = member_losses(out, y, "binary")
    for p, seq in enumerate(models):
        torch.testing.assert_close(out[p], seq(X[p]), atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(losses[p], oracle_loss(seq(X[p]), y[p], "binary"), atol=1e-6, rtol=1e-6)
