"""NeST: Algorithm 2 on hand-computed cases, bridging gradients, the seed, the phase machine."""

import pytest
import torch
import torch.nn.functional as F
from phase_helpers import phase_ctx, train

from growlab import Run
from growlab.engine import Network, member_losses
from growlab.methods import make_method, nest
from growlab.methods.nest import seed_widths
from growlab.methods.neurons import birth_weights, bridging_gradient, grow_neuron, mean_abs


# ---------------------------------------------------------------------------- Algorithm 2
def test_birth_weights_follow_algorithm_2_by_hand():
    G = torch.tensor([[0.04, -0.01], [0.0, -0.09]])  # M = 2 next-layer, N = 2 previous-layer neurons
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    # β·M·N = 2 pairs: (1, 1) with |G| = .09 and (0, 0) with .04; δw = √|G|·r = 0.2 and −0.3
    # w_out = [0.2, −0.3]; w_in = δw·(−sgn G) = [−0.2, −0.3]; then mean |w| → α·mean |W|:
    # w_out: 0.25 → 0.5·0.5 (×1); w_in: 0.25 → 0.5·0.1 (×0.2)
    w_in, w_out = birth_weights(G, beta=0.5, alpha=0.5, signs=signs, mean_in=0.1, mean_out=0.5)
    assert torch.allclose(w_out, torch.tensor([0.2, -0.3]))
    assert torch.allclose(w_in, torch.tensor([-0.04, -0.06]))
    # every joined path w_out[m]·w_in[n] points against G (a descent step on the bridge)
    assert w_out[0] * w_in[0] < 0 < G[0, 0] and w_out[1] * w_in[1] > 0 > G[1, 1]
    # the printed sign (+sgn G) flips w_in: every path then points along G (an ascent)
    p_in, p_out = birth_weights(G, 0.5, 0.5, signs, 0.1, 0.5, descent=False)
    assert torch.allclose(p_out, w_out) and torch.allclose(p_in, -w_in)


def test_birth_weights_sum_over_shared_neurons_and_skip_zero_gradients():
    G = torch.tensor([[0.16, 0.04, 0.0]])  # one next neuron, three previous; G = 0 is never joined
    w_in, w_out = birth_weights(G, beta=1.0, alpha=1.0, signs=torch.ones(1, 3), mean_in=1.0, mean_out=2.0)
    # w_out[0] = 0.4 + 0.2 = 0.6 → scaled to 2.0; w_in = [−0.4, −0.2, 0] → mean |w| 0.3 → 1.0
    assert torch.allclose(w_out, torch.tensor([2.0]))
    assert torch.allclose(w_in, torch.tensor([-0.4, -0.2, 0.0]) / 0.3)
    assert birth_weights(torch.zeros(2, 2), 1.0, 1.0, torch.ones(2, 2), 1.0, 1.0)[0].abs().sum() == 0


@pytest.mark.parametrize("k", [1, 2])
def test_bridging_gradient_is_the_gradient_of_a_missing_skip_connection(k):
    net = Network((4, 3, 2, 1), population=2, seeds=[0, 1], device="cpu")
    X, y = torch.randn(16, 4, generator=torch.Generator().manual_seed(0)), torch.rand(16).round()
    for p in range(2):
        W = [w[p].detach() for w in net.weights]
        B = [b[p].detach() for b in net.biases]
        S = torch.zeros(W[k].shape[0], W[k - 1].shape[1], requires_grad=True)  # layer k−1 → k+1
        hs, h = [X], X
        for l in range(3):
            z = h @ W[l].T + B[l] + (hs[k - 1] @ S.T if l == k else 0)
            h = F.relu(z) if l < 2 else z
            hs.append(h)
        F.binary_cross_entropy_with_logits(h[:, 0], y).backward()
        assert torch.allclose(bridging_gradient(net, X, y, k)[p], S.grad, atol=1e-6)


def test_grown_neuron_gets_algorithm_2_weights_and_events():
    net = Network((3, 2, 2), capacity=(3, 3, 2), task="multiclass", device="cpu")
    net.set_alive(1, torch.tensor([[True, True, False]]))
    ctx = phase_ctx(net)
    train(ctx, 5)
    g = torch.Generator()
    g.set_state(ctx.streams[0].get_state())  # the member's own stream draws the signs
    G = bridging_gradient(net, ctx.X_train, ctx.y_train, 1)[0]
    signs = torch.randint(0, 2, tuple(G.shape), generator=g).float() * 2 - 1
    want_in, want_out = birth_weights(
        G, 0.5, 0.7, signs, mean_abs(net.weights[0][0].detach(), 0), mean_abs(net.weights[1][0].detach(), 0)
    )
    born = grow_neuron(ctx, 1, torch.tensor([True]), beta=0.5, alpha=0.7)
    assert born.tolist() == [True] and net.alive[1][0].tolist() == [True, True, True]
    assert torch.equal(net.weights[0][0, 2].detach(), want_in) and torch.equal(net.weights[1][0, :, 2].detach(), want_out)
    assert torch.equal(net.masks[0][0, 2], want_in != 0) and torch.equal(net.masks[1][0, :, 2], want_out != 0)
    ev = ctx.events.frame()
    assert ev[ev.kind == "neuron_grow"][["layer", "source"]].values.tolist() == [[1, 2]]
    assert (ev.kind == "grow").sum() == int((want_in != 0).sum() + (want_out != 0).sum())
    assert not grow_neuron(ctx, 1, torch.tensor([True]), 0.5, 0.7).any()  # no dormant unit left


def _loss_after_birth(net, X, y, descent, alpha):
    net = net.copy()
    G = bridging_gradient(net, X, y, 1)[0]
    w_in, w_out = birth_weights(G, 0.01, alpha, torch.ones_like(G), 0.5, 0.5, descent=descent)
    with torch.no_grad():
        net.alive[1][0, -1] = True
        net.masks[0][0, -1], net.masks[1][0, :, -1] = True, True
        net.refresh()
        net.weights[0][0, -1], net.weights[1][0, :, -1] = w_in, w_out
        return float(member_losses(net.forward(X), y, net.task)[0])


def test_bridging_birth_is_a_descent_step_to_first_order():
    # tanh ≈ identity near 0, one joined pair, a weak birth: the change in L is ≈ w_out·w_in·G
    net = Network((5, 4, 3), capacity=(5, 5, 3), activation="tanh", task="multiclass", device="cpu")
    net.set_alive(1, torch.tensor([[True] * 4 + [False]]))
    ctx = phase_ctx(net)
    train(ctx, 3)
    X, y = ctx.X_train, ctx.y_train
    before = float(member_losses(net.forward(X), y, net.task)[0].detach())
    assert _loss_after_birth(net, X, y, True, 0.05) < before < _loss_after_birth(net, X, y, False, 0.05)


# ---------------------------------------------------------------------------- the seed
def test_seed_is_narrow_sparse_and_every_neuron_connected():
    m = make_method("nest", seed_ratio=0.5, seed_density=0.1, max_width=1.5)
    sizes = (10, 8, 4, 2)
    net = Network(sizes, capacity=m.capacity(sizes), task="multiclass", device="cpu")
    assert net.capacity == (10, 12, 6, 2) and seed_widths(sizes, 0.5) == (10, 4, 2, 2)
    m.setup(phase_ctx(net))
    assert net.widths()[0].tolist() == [10, 4, 2, 2]
    act = [net.effective_mask(l)[0] for l in range(net.n_layers)]
    assert all(bool(a.any(dim=0)[: net.widths()[0, l]].all()) for l, a in enumerate(act))  # every source has an out
    assert all(bool(a.any(dim=1)[: net.widths()[0, l + 1]].all()) for l, a in enumerate(act))  # every target an in
    assert not net.masks[0][0, 4:].any() and not net.masks[1][0, :, 4:].any()  # dormant units unconnected
    assert int(net.n_active()[0]) < 0.3 * sum(a.numel() for a in act)


# ---------------------------------------------------------------------------- phases
def _scripted(monkeypatch, values):
    values = list(values)
    monkeypatch.setattr(nest, "quality", lambda ctx: torch.tensor(values.pop(0), dtype=torch.float64))


def _nest_ctx(population=1, **params):
    m = make_method("nest", interval=1, **params)
    sizes = (4, 6, 2)
    net = Network(sizes, capacity=m.capacity(sizes), population=population, seeds=list(range(population)), device="cpu")
    ctx = phase_ctx(net, epochs=100)
    m.setup(ctx)
    return m, ctx


def test_pruning_keeps_the_last_network_that_met_the_threshold(monkeypatch):
    m, ctx = _nest_ctx(target_accuracy=0.8, tolerance=0.05, prune_fraction=0.2, grow_fraction=0.5)
    _scripted(monkeypatch, [[0.5], [0.9], [0.86], [0.70], [0.99]])
    for epoch in (1, 2):  # grow, then switch (0.9 ≥ A) and prune once
        ctx.epoch = epoch
        m.after_epoch(ctx)
    assert m.phase.tolist() == [1] and float(m.threshold[0]) == pytest.approx(0.75)  # min(A, 0.9) − tol
    train(ctx, 2)
    ctx.epoch = 3
    saved = [w.detach().clone() for w in ctx.net.weights], [mk.clone() for mk in ctx.net.masks]
    m.after_epoch(ctx)  # 0.86 ≥ 0.75: this network is kept, then pruned
    assert sum(int(mk.sum()) for mk in ctx.net.masks) < sum(int(mk.sum()) for mk in saved[1])
    train(ctx, 2)
    ctx.epoch = 4
    m.after_epoch(ctx)  # 0.70 < 0.75: back to the network of epoch 3, structure frozen
    assert m.phase.tolist() == [2]
    assert all(torch.equal(a, b) for a, b in zip(ctx.net.masks, saved[1]))
    assert all(torch.equal(a.detach(), b) for a, b in zip(ctx.net.weights, saved[0]))
    ev = ctx.events.frame()
    assert [c.split(":")[0] for c in ev[ev.kind == "phase"].cause] == ["growth → pruning", "pruning → done"]
    masks = [mk.clone() for mk in ctx.net.masks]
    ctx.epoch = 5
    m.after_epoch(ctx)  # done: nothing changes any more
    assert all(torch.equal(a, b) for a, b in zip(ctx.net.masks, masks))


def test_growth_adds_connections_and_neurons_until_capacity():
    m, ctx = _nest_ctx(target_accuracy=1.0, grow_until=1.0, grow_fraction=0.2, neurons_per_cycle=1, max_width=2)
    net = ctx.net
    assert net.widths()[0].tolist() == [4, 3, 2] and net.capacity == (4, 12, 2)
    active0 = int(net.n_active()[0])
    for epoch in range(1, 4):
        train(ctx, 1)
        ctx.epoch = epoch
        m.after_epoch(ctx)
    assert net.widths()[0].tolist() == [4, 6, 2] and int(net.n_active()[0]) > active0
    assert m.phase.tolist() == [0] and (ctx.events.frame().kind == "neuron_grow").sum() == 3


def test_activation_shift_and_per_member_phases(monkeypatch):
    m, ctx = _nest_ctx(population=2, activation_shift=True, target_accuracy=0.8, grow_fraction=0.3, prune_fraction=0.3)
    assert ctx.net.activation == "leaky_relu"
    _scripted(monkeypatch, [[0.9, 0.5], [0.9, 0.9]])
    before = ctx.net.n_active().clone()
    ctx.epoch = 1
    m.after_epoch(ctx)
    assert m.phase.tolist() == [1, 0] and ctx.net.activation == "leaky_relu"  # member 1 still grows
    after = ctx.net.n_active()
    assert after[0] < before[0] and after[1] > before[1]  # member 0 pruned, member 1 grew
    ctx.epoch = 2
    m.after_epoch(ctx)
    assert m.phase.tolist() == [1, 1] and ctx.net.activation == "relu"


def test_nest_run_end_to_end_with_archive(tmp_path):
    kw = dict(interval=2, target_accuracy=0.99, grow_until=0.4, prune_fraction=0.1, seed_ratio=0.5)
    run = Run("moons", "8-8", "nest", epochs=16, seed=0, lr=0.02, **kw)
    run.run(10)
    run.save(tmp_path / "nest.growlab")
    run.run()
    again = Run.load(tmp_path / "nest.growlab")
    again.run()
    assert again.history.equals(run.history)
    ev = run.events
    assert {"neuron_grow", "grow", "prune", "phase"} <= set(ev.kind)
    assert run.method.overlays()["phase"] in ("pruning", "done")


@pytest.mark.parametrize("bad", [{"seed_ratio": 0}, {"birth_strength": 0}, {"prune_fraction": 1.0},
                                 {"growth_ratio": -0.1}, {"max_width": 0.5}, {"neurons_per_cycle": -1}])  # fmt: skip
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        make_method("nest", **bad)
