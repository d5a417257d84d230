import math

import pytest
import torch
from analysis_helpers import T, build
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from growlab.analysis import prune_redundant, reachability, redundant_connections, redundant_count
from growlab.engine import Network

ACTS = ("relu", "leaky_relu", "tanh", "sigmoid")


@st.composite
def sparse_networks(draw):
    """Random sparse populations: random widths, masks, dead neurons, weights and biases."""
    n_hidden = draw(st.integers(1, 3))
    sizes = (draw(st.integers(1, 4)), *[draw(st.integers(1, 5)) for _ in range(n_hidden)], draw(st.integers(1, 3)))
    P = draw(st.integers(1, 3))
    density = draw(st.floats(0.1, 0.9))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    net = Network(sizes, population=P, activation=draw(st.sampled_from(ACTS)), task="regression", device="cpu")
    with torch.no_grad():
        for w, b in zip(net.weights, net.biases):
            w.copy_(torch.rand(w.shape, generator=g) * 4 - 2)
            b.copy_(torch.rand(b.shape, generator=g) * 4 - 2)  # non-zero biases: constants matter
    for l in range(net.n_layers):
        net.set_mask(l, torch.rand(net.masks[l].shape, generator=g) < density)
    for k in range(1, len(sizes) - 1):
        net.set_alive(k, torch.rand(net.alive[k].shape, generator=g) < 0.9)
    return net


def _assert_same_outputs(after, before):
    scale = max(1.0, float(before.abs().max()))
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5 * scale)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=sparse_networks(), x_seed=st.integers(0, 1000))
def test_dag_pruning_keeps_every_output(net, x_seed):
    x = torch.randn(16, net.sizes[0], generator=torch.Generator().manual_seed(x_seed)) * 2
    before = net(x).detach()
    assert torch.equal(redundant_count(net), redundant_connections(net).counts)  # fast path agrees
    pruned, report = prune_redundant(net)
    constant = int(sum(c.sum() for c in report.constant))
    note(f"sizes {net.sizes}, {net.activation}, removed {report.counts.tolist()}, {constant} constant neurons")
    _assert_same_outputs(pruned(x).detach(), before)
    assert redundant_count(pruned).tolist() == [0] * net.population
    assert torch.equal(pruned.n_active(), net.n_active() - report.counts)
    assert torch.equal(net(x).detach(), before)  # the original is untouched


def test_input_less_chain_folds_constants_layer_by_layer():
    """x → h0 → g0 → o, plus an input-less h1 → g1 → o whose constants must reach o's bias."""
    for act in ACTS:
        net = build(
            (1, 2, 2, 1),
            masks=[T([[1], [0]]), T([[1, 0], [0, 1]]), T([[1, 1]])],
            weights=[[[1.5], [0.7]], [[0.8, 0.0], [0.0, -1.3]], [[0.9, 2.1]]],
            biases=[[0.1, 0.6], [-0.2, 0.4], [0.3]],
            activation=act,
        )
        f = net._act
        h1 = f(torch.tensor(0.6))
        g1 = f(0.4 - 1.3 * h1)
        pruned, report = prune_redundant(net)
        assert report.counts.tolist() == [2]  # h1 → g1 and g1 → o
        assert report.constant[1][0].tolist() == [False, True] and report.constant[2][0].tolist() == [False, True]
        assert math.isclose(float(report.values[2][0, 1]), float(g1), rel_tol=1e-6)
        assert math.isclose(float(pruned.biases[2][0, 0].detach()), 0.3 + 2.1 * float(g1), rel_tol=1e-6)
        x = torch.linspace(-3, 3, 7)[:, None]
        _assert_same_outputs(pruned(x).detach(), net(x).detach())


def test_unreachable_output_becomes_a_constant_bias():
    net = build((2, 2, 1), masks=[T([[0, 0], [0, 0]]), None], biases=[[0.5, -1.0], [0.2]], activation="sigmoid")
    pruned, report = prune_redundant(net)
    assert pruned.n_active().tolist() == [0]
    x = torch.randn(5, 2)
    _assert_same_outputs(pruned(x).detach(), net(x).detach())
    assert torch.allclose(pruned(x)[0, :, 0], pruned.biases[1][0, 0].expand(5))
    assert "removed 2 redundant connections" in report.describe()


def test_pruning_is_idempotent_and_inplace_changes_the_network():
    net = build((3, 3, 1), masks=[T([[1, 0, 0], [0, 0, 0], [0, 1, 1]]), T([[1, 1, 0]])], activation="tanh")
    once, r1 = prune_redundant(net)
    twice, r2 = prune_redundant(once)
    assert r1.counts.tolist() == [3] and r2.counts.tolist() == [0]  # x1→h2, x2→h2, h1→o
    assert all(torch.equal(a, b) for a, b in zip(once.biases, twice.biases))
    # h1 (input-less) and h2 (reaches no output) stay alive but are now on no path
    assert r1.isolated[1][0].tolist() == [False, True, True]
    same, _ = prune_redundant(net, inplace=True)
    assert same is net and redundant_count(net).tolist() == [0]
    assert reachability(net).connected.tolist() == [True]


def test_dense_network_is_unchanged():
    net = build((4, 3, 2), activation="leaky_relu")
    pruned, report = prune_redundant(net)
    assert report.counts.tolist() == [0] and int(report.folded[0]) == 0
    assert all(torch.equal(a, b) for a, b in zip(pruned.weights, net.weights))


@pytest.mark.parametrize("act", ACTS)
def test_population_members_fold_independently(act):
    m = torch.stack([T([[1, 1], [0, 0]]), T([[1, 1], [1, 1]]), T([[0, 0], [1, 0]])])
    net = build((2, 2, 1), masks=[m, None], population=3, activation=act)
    x = torch.randn(8, 2)
    pruned, report = prune_redundant(net)
    assert report.counts.tolist() == [1, 0, 1]
    _assert_same_outputs(pruned(x).detach(), net(x).detach())
