"""Conv layers in the population engine, against independent torch.nn.Sequential models.

The oracle of each member is built here from its weights, not through the engine's own
``to_sequential``: ``Conv2d, act, MaxPool2d, …, Flatten, Linear, …`` with the member's
element masks and channel masks applied through ``torch.nn.utils.prune`` (so torch's own
machinery masks the gradients), the flatten's columns masked channel block by channel block.
"""

import pytest
import torch
import torch.nn.functional as F
from engine_oracle import oracle_loss
from torch import nn
from torch.nn.utils import prune

from growlab.config import ConvShape
from growlab.engine import Network, Optimizer, Trainer, member_losses
from growlab.engine.activations import activation_module

IMAGE = (1, 9, 9)
KERNELS = (ConvShape(3, padding=1, pool=2), ConvShape(2, stride=2))  # 9×9 → 9×9 → 4×4 → 2×2
SIZES, CAPACITY = (1, 5, 4, 6, 3), (1, 6, 4, 7, 3)  # a dormant channel and a dormant neuron
CASES = [("multiclass", "relu"), ("binary", "tanh"), ("regression", "leaky_relu"), ("multiclass", "sigmoid")]


def conv_population(task="multiclass", activation="relu", P=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    n_out = 3 if task == "multiclass" else 1
    net = Network(
        (*SIZES[:-1], n_out), population=P, capacity=(*CAPACITY[:-1], n_out), activation=activation, task=task,
        seeds=range(20, 20 + P), image=IMAGE, kernels=KERNELS,
    )  # fmt: skip
    for l in range(net.n_layers):
        net.set_mask(l, torch.rand(net.masks[l].shape, generator=g) < 0.7)
    alive = net.alive[2].clone()
    alive[0, 1] = alive[-1, 3] = False  # a removed channel of the last conv layer: its flatten block goes
    net.set_alive(2, alive)
    return net


def expected_masks(net, p):
    """Each layer's effective mask of member ``p``, built from the masks (not the engine's caches)."""
    out = []
    for l in range(net.n_layers):
        a_out, a_in = net.alive[l + 1][p], net.alive[l][p]
        if l < net.n_conv:
            out.append(net.masks[l][p] & a_out[:, None, None, None] & a_in[None, :, None, None])
        else:
            if l == net.n_conv:  # input column c·H·W + y·W + x belongs to channel c
                a_in = a_in.repeat_interleave(net.maps[-1][0] * net.maps[-1][1])
            out.append(net.masks[l][p] & a_out[:, None] & a_in[None, :])
    return out


def oracle(net, p):
    """Member ``p`` as a plain Sequential with torch prune masks; returns it and its weight layers."""
    mods, layers = [], []
    for l, mask in enumerate(expected_masks(net, p)):
        w, b = net.weights[l][p].detach().clone(), net.biases[l][p].detach().clone()
        if l < net.n_conv:
            k = net.kernels[l]
            layer = nn.Conv2d(w.shape[1], w.shape[0], k.kernel, stride=k.stride, padding=k.padding)
        else:
            if l == net.n_conv:
                mods.append(nn.Flatten())
            layer = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        prune.custom_from_mask(layer, "weight", mask)
        prune.custom_from_mask(layer, "bias", net.alive[l + 1][p])
        mods.append(layer)
        layers.append(layer)
        if l < net.n_layers - 1:
            mods.append(activation_module(net.activation)())
        if l < net.n_conv and net.kernels[l].pool > 1:
            mods.append(nn.MaxPool2d(net.kernels[l].pool))
    return nn.Sequential(*mods), layers


def batch(task, shape=(), B=11, seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(*shape, B, 81, generator=g)
    if task == "multiclass":
        y = torch.randint(0, 3, (*shape, B), generator=g)
    elif task == "binary":
        y = torch.randint(0, 2, (*shape, B), generator=g).float()
    else:
        y = torch.randn(*shape, B, generator=g)
    return X, y


@pytest.mark.parametrize("task, activation", CASES)
@pytest.mark.parametrize("shared", [True, False], ids=["shared-input", "per-member-input"])
def test_outputs_losses_and_gradients_match_independent_conv_models(task, activation, shared):
    net = conv_population(task, activation)
    X, y = batch(task, () if shared else (net.population,))
    out = net.forward(X)
    losses = member_losses(out, y, task)
    losses.sum().backward()
    net.mask_grads()
    for p in range(net.population):
        seq, layers = oracle(net, p)
        Xp, yp = (X, y) if shared else (X[p], y[p])
        ref = seq(Xp.view(-1, *IMAGE))
        torch.testing.assert_close(out[p], ref, atol=1e-5, rtol=1e-5)
        ref_loss = oracle_loss(ref, yp, task)
        torch.testing.assert_close(losses[p], ref_loss, atol=1e-5, rtol=1e-5)
        ref_loss.backward()
        for l, layer in enumerate(layers):
            torch.testing.assert_close(net.grads()[l][p], layer.weight_orig.grad, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(net.bias_grads()[l][p], layer.bias_orig.grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_conv_training_steps_match_independent_optimizers(kind):
    net = conv_population("multiclass", "relu")
    opt = Optimizer(net, kind, lr=0.01)
    trainer = Trainer(net, opt)
    oracles = [oracle(net, p) for p in range(net.population)]
    make = (lambda ps: torch.optim.Adam(ps, lr=0.01)) if kind == "adam" else (lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9))
    ref_opts = [make(list(seq.parameters())) for seq, _ in oracles]
    for step in range(4):
        X, y = batch("multiclass", (net.population,), seed=100 + step)  # each member its own rows
        trainer.step(X, y)
        for p, ((seq, _), o) in enumerate(zip(oracles, ref_opts)):
            o.zero_grad()
            oracle_loss(seq(X[p].view(-1, *IMAGE)), y[p], "multiclass").backward()
            o.step()
    for p, (_, layers) in enumerate(oracles):
        for l, layer in enumerate(layers):
            torch.testing.assert_close(net.weights[l][p], (layer.weight_orig * layer.weight_mask).detach(), atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(net.biases[l][p], (layer.bias_orig * layer.bias_mask).detach(), atol=1e-5, rtol=1e-5)


def test_inactive_taps_dead_channels_and_their_flatten_columns_stay_exactly_zero():
    net = conv_population()
    trainer = Trainer(net, Optimizer(net, "adam", lr=0.05), batch_size=4)
    X, y = batch("multiclass", B=12)
    for _ in range(3):
        trainer.epoch(X, y)
    for l in range(net.n_layers):
        off = ~net.effective_mask(l)
        assert off.any() and bool((net.weights[l][off] == 0).all())
        assert bool((net.biases[l][~net.alive[l + 1]] == 0).all())
    # the removed channel (member 0, channel 1 of the last conv) has its 2×2 block of flatten columns off
    assert not net.effective_mask(net.n_conv)[0][:, 4:8].any()
    assert net.effective_mask(net.n_conv)[0][:, :4].any()


def test_conv_edits_through_flat_positions_match_set_mask_and_reset_the_optimizer():
    a, b = conv_population(), conv_population()
    opt = Optimizer(a, "adam", lr=0.01)
    Trainer(a, opt).step(*batch("multiclass"))
    m = a.masks[0]
    on, off = (~m).flatten().nonzero().flatten()[:5], m.flatten().nonzero().flatten()[:5]
    values = torch.full((5,), 0.25)
    a.set_edges(0, off, on=False)
    opt.reset_at(0, off)
    a.set_edges(0, on, on=True, values=values)
    opt.reset_at(0, on)
    new = m.clone()
    new.view(-1)[off], new.view(-1)[on] = False, True
    with torch.no_grad():
        b.weights[0].copy_(a.weights[0])
    b.set_mask(0, new, values=torch.full(m.shape, 0.25))
    assert torch.equal(a.masks[0], b.masks[0]) and torch.equal(a.effective_mask(0), b.effective_mask(0))
    assert torch.equal(a.weights[0], b.weights[0])
    for key in ("exp_avg", "exp_avg_sq"):
        buf = opt.buffer(0, key)
        assert bool((buf.reshape(-1)[torch.cat([on, off])] == 0).all()) and buf.abs().sum() > 0
    grown = a.effective_mask(0).view(-1)[on]
    assert torch.equal(a.weights[0].reshape(-1)[on], torch.where(grown, 0.25, 0.0))


@pytest.mark.parametrize("shared", [True, False], ids=["shared-input", "per-member-input"])
def test_resuming_a_trace_at_any_layer_gives_the_trace_and_a_changed_layer_its_own_effect(shared):
    net = conv_population(P=3)
    X, _ = batch("multiclass", () if shared else (3,))
    with torch.no_grad():
        tr = net.trace(X)
        for l in range(net.n_layers):  # bit for bit: the same operations on the same values
            again = net.resume(tr, l, tr.pre[l])
            assert torch.equal(again.outputs, tr.outputs)
            assert all(torch.equal(a, b) for a, b in zip(again.pre, tr.pre))
            assert all(torch.equal(a, b) for a, b in zip(again.inputs[l + 1 :], tr.inputs[l + 1 :]))
        # a changed first conv layer (one tap of member 1) resumed from its new output = a fresh trace
        net.weights[0][1, 0, 0, 1, 1] += 0.5
        fresh = net.trace(X)
        resumed = net.resume(tr, 0, fresh.pre[0])
        assert torch.allclose(resumed.outputs, fresh.outputs, atol=1e-6) and not torch.allclose(resumed.outputs, tr.outputs)
        stacked = torch.cat([tr.pre[1], fresh.pre[1]], dim=1)  # alternatives stacked along the rows
        assert torch.allclose(net.resume(tr, 1, stacked).outputs, torch.cat([tr.outputs, fresh.outputs], dim=1), atol=1e-6)


def test_a_conv_member_trains_alone_as_it_does_in_a_population():
    """Grouped convolution is not guaranteed bit-identical across population sizes (oneDNN's
    kernels depend on the channel count); a member's weights agree to float rounding."""
    big, alone = conv_population(P=4), conv_population(P=4).member(2)
    X, y = batch("multiclass", B=24)
    for net in (big, alone):
        trainer = Trainer(net, Optimizer(net, "adam", lr=0.01), batch_size=8, shuffle_seeds=net.seeds)
        for _ in range(3):
            trainer.epoch(X, y)
    for l in range(big.n_layers):
        torch.testing.assert_close(big.weights[l][2], alone.weights[l][0], atol=1e-6, rtol=1e-5)


def test_conv_training_is_bit_reproducible():
    nets = [conv_population(), conv_population()]
    for net in nets:
        trainer = Trainer(net, Optimizer(net), batch_size=4)
        for _ in range(2):
            trainer.epoch(*batch("multiclass", B=12))
    assert all(torch.equal(u, v) for u, v in zip(nets[0].parameters(), nets[1].parameters()))


def test_state_dict_copies_and_to_sequential_keep_the_conv_network():
    net = conv_population()
    X, _ = batch("multiclass")
    copy = Network.from_state_dict(net.state_dict())
    assert copy.kernels == net.kernels and copy.image == net.image and torch.equal(copy(X), net(X))
    member = net.member(1)
    assert torch.equal(member(X)[0], net(X)[1])
    seq = net.to_sequential(1)
    assert any(isinstance(m, nn.Conv2d) for m in seq) and any(isinstance(m, nn.MaxPool2d) for m in seq)
    torch.testing.assert_close(seq(X.view(-1, *IMAGE)), net(X)[1], atol=1e-6, rtol=1e-6)
    mlp = Network((81, 4, 3))
    with pytest.raises(ValueError, match="layout"):
        mlp.load_state_dict(net.state_dict())


def test_optimizer_state_round_trips_on_conv_layers():
    net = conv_population()
    opt = Optimizer(net)
    Trainer(net, opt).step(*batch("multiclass"))
    state = opt.state_dict()
    assert state["state"][0]["exp_avg"].shape == net.weights[0].shape  # true shapes, no storage layout
    other = Optimizer(net)
    other.load_state_dict(state)
    for l in range(net.n_layers):
        assert torch.equal(other.buffer(l, "exp_avg_sq"), opt.buffer(l, "exp_avg_sq"))
        assert torch.equal(other.buffer(l, "exp_avg", bias=True), opt.buffer(l, "exp_avg", bias=True))


def test_trace_exposes_per_member_maps_and_differentiable_conv_outputs():
    net = conv_population()
    X, y = batch("multiclass", (net.population,))
    tr = net.trace(X)
    assert tr.inputs[0].shape == (3, 11, 1, 9, 9) and tr.pre[0].shape == (3, 11, 6, 9, 9)
    assert tr.hidden(1).shape == (3, 11, 6, 4, 4) and tr.hidden(2).shape == (3, 11, 4, 2, 2)
    assert tr.inputs[2].shape[-1] >= 4 * 2 * 2 + 1 and tr.hidden(3).shape == (3, 11, 7)
    (delta,) = torch.autograd.grad(member_losses(tr.outputs, y, "multiclass").sum(), tr.pre[1])
    assert delta.shape == tr.pre[1].shape and delta.abs().sum() > 0
    torch.testing.assert_close(tr.hidden(1)[1], torch.relu(F.max_pool2d(tr.pre[0][1], 2)))


def test_evaluation_in_chunks_equals_one_pass(monkeypatch):
    import growlab.engine.conv as conv

    net = conv_population()
    X, _ = batch("multiclass", B=40)
    with torch.no_grad():
        whole = net(X)
        monkeypatch.setattr(conv, "EVAL_CHUNK_BYTES", 3 * 4 * 600 * 3)  # a few rows per chunk
        assert net.eval_chunk() < 40
        torch.testing.assert_close(net(X), whole, atol=1e-6, rtol=1e-6)


def test_conv_layout_errors_are_clear():
    with pytest.raises(ValueError, match="image=\\(C, H, W\\)"):
        Network((1, 4, 3), kernels=(ConvShape(3),))
    with pytest.raises(ValueError, match="leaves no map"):
        Network((1, 4, 3), image=(1, 2, 2), kernels=(ConvShape(3),))
    with pytest.raises(ValueError, match="must be integers"):
        Network((64, "c6k3", 10))
    net = conv_population()
    with pytest.raises(ValueError, match="dense hidden neuron layers"):
        net.remove_layer(1)


def test_removing_the_dense_layer_after_the_flatten_bridges_the_conv_maps_to_the_output():
    net = conv_population()
    net.remove_layer(3)
    assert net.sizes == (1, 5, 4, 3) and net.weights[2].shape == (3, 3, 16)
    assert not net.masks[2].any()
    X, _ = batch("multiclass")
    out = net(X)
    assert torch.allclose(out, net.biases[2][:, None, :].expand_as(out))  # nothing active yet: the biases


def test_the_channel_graph_sees_kernels_and_flatten_blocks_as_edges():
    from growlab.engine import channel_graph

    net = conv_population()
    g = channel_graph(net)
    assert [tuple(m.shape) for m in g.masks] == [(3, 6, 1), (3, 4, 6), (3, 7, 4), (3, 3, 7)]
    assert [net.fan(l) for l in range(4)] == [9, 4, 4, 1] and [net.positions(l) for l in range(4)] == [81, 4, 1, 1]
    for l in range(net.n_layers):  # an edge is active when any of its taps is
        assert torch.equal(g.effective_mask(l), net.taps(l, net.effective_mask(l)).any(dim=-1))
        assert torch.equal(net.spread(l, g.masks[l]) & net.masks[l], net.masks[l])
        taps = net.taps(l, net.weights[l].detach())
        n = net.taps(l, net.active_float(l)).sum(dim=-1)
        torch.testing.assert_close(g.weights[l].abs(), (taps.square().sum(dim=-1) / n.clamp(min=1)).sqrt())
    assert torch.equal(net.taps(2, net.masks[2])[0, :, 1], net.masks[2][0][:, 4:8])  # channel 1's columns
    assert net.n_dense() == 5 * 1 * 9 + 4 * 5 * 4 + 6 * 4 * 4 + 3 * 6
    mlp = Network((4, 3, 2))
    assert channel_graph(mlp) is mlp and mlp.edges(0, mlp.masks[0]) is mlp.masks[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_conv_cuda_matches_cpu():
    net = conv_population()
    gpu = net.copy(device="cuda")
    X, _ = batch("multiclass")
    torch.testing.assert_close(gpu(X.cuda()).cpu(), net(X), atol=1e-5, rtol=1e-5)


def test_unit_weights_of_a_channel_are_its_kernels_and_its_flatten_block():
    net = conv_population()
    units = torch.zeros(3, 4, dtype=torch.bool)
    units[1, 2] = True  # channel 2 of the last conv layer, member 1
    into, out = net.unit_weights(2, units)
    assert into.shape == net.weights[1].shape and out.shape == net.weights[2].shape
    assert into[1, 2].all() and int(into.sum()) == 6 * 2 * 2  # its kernels from 6 channels, 2×2 taps
    assert out[1][:, 8:12].all() and int(out.sum()) == 7 * 4  # its 2×2 block of columns, 7 neurons
    net.set_alive(2, net.alive[2] & ~units)
    assert not net.effective_mask(2)[out].any() and not net.effective_mask(1)[into].any()
