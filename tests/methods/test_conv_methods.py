"""The grow/prune methods on conv networks: gradient statistics of kernel taps, structured
pruning, strategic synthesis and the sub-network on the channel graph, NeST's feature-map
growth, ODF2NNA on channels, the lottery's rewind (tiny conv nets on random 7×7 images)."""

from __future__ import annotations

import pytest
import torch
from method_helpers import build_ctx

from growlab import Run
from growlab.analysis import reachability
from growlab.engine import MemberStreams, member_losses
from growlab.methods import make_method
from growlab.methods.checkpoint import Checkpoint
from growlab.methods.feature_maps import _out_slice, candidate_losses, candidate_sets, grow_map
from growlab.methods.groups import kernel_masks
from growlab.methods.inits import INITS
from growlab.methods.lottery import lottery_prune_masks
from growlab.methods.neurons import bridging_gradient, grow_neuron
from growlab.methods.probe import Probe
from growlab.methods.prune import Pruner
from growlab.methods.scores import batch_stats, layer_stats
from growlab.methods.strategic import StrategicGrower
from growlab.methods.useful_units import plan_removal, select_units


def conv_ctx(**kw):
    return build_ctx(conv=True, **kw)


def edge_taps(net, l, t):
    return net.taps(l, t)  # (P, out, in, fan)


# ---------------------------------------------------------------------------- gradient statistics
def test_conv_gradients_and_fisher_match_autograd_and_a_per_example_loop():
    ctx = conv_ctx(population=2, seeds=[0, 1])
    net = ctx.net
    X, y = ctx.X_train[:12], ctx.y_train[:12]
    stats = layer_stats(net, X, y, fisher=True)
    for w in net.parameters():
        w.grad = None
    member_losses(net(X), y, "multiclass").sum().backward()
    per_example = []
    for n in range(12):
        for w in net.parameters():
            w.grad = None
        member_losses(net(X[n : n + 1]), y[n : n + 1], "multiclass").sum().backward()
        per_example.append([g.clone() for g in net.grads()])
    for w in net.parameters():
        w.grad = None
    member_losses(net(X), y, "multiclass").sum().backward()
    for l in range(net.n_layers):
        assert stats.grads[l].shape == net.weights[l].shape
        torch.testing.assert_close(stats.grads[l], net.grads()[l], atol=1e-6, rtol=1e-5)
        fisher = torch.stack([g[l] for g in per_example]).square().mean(dim=0)
        torch.testing.assert_close(stats.fisher[l], fisher, atol=1e-7, rtol=1e-4)


# ---------------------------------------------------------------------------- structured pruning
@pytest.mark.parametrize("scope", ["global", "per_layer"])
def test_kernel_pruning_removes_the_kernels_of_lowest_mean_magnitude(scope):
    ctx = conv_ctx(population=1, seeds=[4], density=None, steps=4)
    net = ctx.net
    acts = [net.effective_mask(l) for l in range(net.n_layers)]
    imp = [w.detach().abs() for w in net.weights]
    ok = [a.clone() for a in acts]
    where = kernel_masks(net, imp, acts, ok, torch.tensor([40]), scope)
    assert sum(int(w.sum()) for w in where) >= 40
    means = [edge_taps(net, l, imp[l]).mean(dim=-1) for l in range(net.n_layers)]
    gone = [net.edges(l, w) for l, w in enumerate(where)]
    parts = [list(range(net.n_layers))] if scope == "global" else [[l] for l in range(net.n_layers)]
    for layers in parts:
        removed = torch.cat([means[l][gone[l]] for l in layers])
        kept = torch.cat([means[l][~gone[l]] for l in layers])
        if len(removed) and len(kept):
            assert float(removed.max()) <= float(kept.min())


def test_channel_pruning_of_an_mlp_removes_whole_neurons_and_its_run_trains():
    run = Run("heart", "16-8", "prune", epochs=60, seed=0, sparsity=0.5, granularity="channel", schedule="constant")
    h = run.run()
    widths = run.network.widths()[0].tolist()
    assert widths[1] < 16 or widths[2] < 8
    assert widths[0] == 27 and widths[-1] == 1 and min(widths) >= 1
    assert h["density"].iloc[-1] <= 0.5 and h["val_acc"].iloc[-1] > 0.8  # dense: 0.85
    removed = run.events[run.events.kind == "unit_remove"]
    assert len(removed) == (16 - widths[1]) + (8 - widths[2]) and removed.cause.str.contains("channel").all()


@pytest.mark.parametrize("granularity", ["weight", "kernel", "channel"])
@pytest.mark.parametrize("schedule", ["constant", "steps", "polynomial"])
def test_pruning_a_conv_run_reaches_the_target_with_every_schedule_and_granularity(granularity, schedule):
    run = Run("digits", "c4k3-p2-16", "prune", epochs=5, seed=1, sparsity=0.6, schedule=schedule,
              granularity=granularity, prune_per_cycle=200, stop=0.8)  # fmt: skip
    h = run.run()
    assert h["density"].iloc[-1] <= 0.4 + 1e-9  # whole groups may overshoot, never stop short
    assert h["pruned"].sum() > 0 and reachability(run.network).connected.all()
    assert run.history["redundant"].notna().all()


def test_taylor_and_obd_prune_conv_taps_by_their_own_scores():
    for criterion in ("taylor", "obd"):
        ctx = conv_ctx(population=2, seeds=[0, 1], density=None)
        pruner = Pruner(criterion=criterion, min_age=0)
        stats = batch_stats(ctx, fisher=pruner.criterion.needs_fisher)
        scores = pruner.criterion.scores(ctx.net, stats)
        where = pruner.select(ctx, torch.tensor([30, 10]), stats)
        for p, n in enumerate((30, 10)):
            gone = torch.cat([s[p][w[p]] for s, w in zip(scores, where)])
            kept = torch.cat([s[p][ctx.net.masks[l][p] & ~w[p]] for l, (s, w) in enumerate(zip(scores, where)) if l < 3])
            assert len(gone) == n and float(gone.max()) <= float(kept.min())


# ---------------------------------------------------------------------------- inits on the channel graph
def test_the_sub_network_walks_the_channel_graph_whole_kernels_at_a_time():
    ctx = conv_ctx(population=2, seeds=[0, 1], density=None, steps=0)
    INITS.make("subnet").apply(ctx)
    net = ctx.net
    for l in range(net.n_layers):
        taps = edge_taps(net, l, net.masks[l])
        assert bool((taps.all(dim=-1) | ~taps.any(dim=-1)).all()), "a kernel is all on or all off"
    # one input channel: one walk starts, plus a walk back from each output it missed (3 outputs)
    assert 1 <= int(net.edges(0, net.masks[0])[0].sum()) <= 4
    assert reachability(net).connected.all()


def test_random_init_draws_kernel_taps_at_the_erdos_renyi_kernel_density():
    ctx = conv_ctx(population=1, seeds=[2], density=None, steps=0)
    INITS.make("random", density=0.3).apply(ctx)
    net = ctx.net
    assert abs(float(net.density()[0]) - 0.3) < 0.02
    assert net.effective_mask(net.n_layers - 1)[0].any(dim=1).all()  # every output has an input


def test_a_common_core_of_kernels_restarts_a_conv_run():
    from growlab.analysis import common_core

    a = Run("digits", "c4k3-p2-16", "random+prune", epochs=2, seed=0, sparsity=0.5)
    a.run()
    core = common_core(a.network, q=1.0)
    assert [tuple(c.shape) for c in core] == [tuple(m.shape[1:]) for m in a.network.masks]
    b = Run("digits", "c4k3-p2-16", "random+prune", epochs=1, seed=3, sparsity=0.5, core=core)
    assert all(torch.equal(m[0], c) for m, c in zip(b.network.masks, core))
    kernels = [a.network.edges(l, c[None])[0] for l, c in enumerate(core)]  # the core's kernels, given as (out, in)
    c = Run("digits", "c4k3-p2-16", "random+prune", epochs=1, seed=3, sparsity=0.5, core=kernels)
    assert all(torch.equal(m, n) for m, n in zip(b.network.masks, c.network.masks))


# ---------------------------------------------------------------------------- strategic synthesis
@pytest.mark.parametrize("grow_from", ["origin", "terminus", "both"])
def test_strategic_growth_on_conv_layers_grows_whole_dormant_kernels_from_strong_kernels(grow_from):
    ctx = conv_ctx(population=1, seeds=[0], density=None, steps=2)
    INITS.make("subnet").apply(ctx)
    net = ctx.net
    before = [m.clone() for m in net.masks]
    grower = StrategicGrower(focal_junctures=4, sigma=0.01, grow_from=grow_from)
    done = grower.grow(ctx, torch.tensor([1000]))
    junctures = grower.junctures.of_member(0)
    assert len(junctures) == 4 and int(done[0]) > 0
    for l, m in enumerate(before):
        new = edge_taps(net, l, net.masks[l] & ~m).any(dim=-1)[0]  # kernels that gained taps
        assert not (new & edge_taps(net, l, m).any(dim=-1)[0]).any(), "only dormant kernels grow"
        assert bool(edge_taps(net, l, net.masks[l])[0][new].all()), "a grown kernel has every tap"
        for t, s in new.nonzero().tolist():  # each comes from a juncture: same origin (or its terminus)
            assert any(jl == l and js == s for jl, js, _ in junctures) or any(
                jl == l - 1 and jt == s for jl, _, jt in junctures
            )
    events = ctx.events.frame()
    assert len(events) == int(done[0]) and events.cause.str.startswith("juncture").all()
    assert all(0 <= s < net.capacity[layer] for layer, s, _ in junctures)


def test_keep_inputs_on_a_conv_hybrid_keeps_every_input_channel_on_a_path():
    from growlab.analysis.paths import reachability

    kw = dict(epochs=6, seed=0, sparsity=0.5, prune_per_cycle=40, min_age=0)
    runs = {keep: Run("digits", "c4k3-p2-16", "strategic+prune", keep_inputs=keep, **kw) for keep in (True, False)}
    for r in runs.values():
        r.run()
        assert int(r.history.pruned.sum()) > 0
    assert bool(reachability(runs[True].network).on_path[0].all())  # the image's one channel still reaches the output


def test_strategic_copy_gives_a_new_kernel_its_junctures_taps():
    ctx = conv_ctx(population=1, seeds=[0], density=None, steps=2)
    INITS.make("subnet").apply(ctx)
    net = ctx.net
    before = [m.clone() for m in net.masks]
    grower = StrategicGrower(focal_junctures=2, sigma=0.01, init_weight="copy")
    grower.grow(ctx, torch.tensor([1000]))
    for layer, s, t in grower.junctures.of_member(0):
        new = edge_taps(net, layer, net.masks[layer] & ~before[layer])[0, :, s].any(dim=-1)  # grown from origin s
        w = edge_taps(net, layer, net.weights[layer].detach())[0]
        for k in new.nonzero().flatten().tolist():
            assert torch.equal(w[k, s], w[t, s]) or any(
                torch.equal(w[k, s], w[t2, s]) for l2, s2, t2 in grower.junctures.of_member(0) if (l2, s2) == (layer, s)
            )


# ---------------------------------------------------------------------------- NeST on conv layers
@pytest.mark.parametrize("k", [1, 2])
def test_feature_map_growth_keeps_the_best_of_its_candidate_kernel_sets(k):
    losses, nets = [], []
    for candidates in (1, 8):
        ctx = conv_ctx(population=2, seeds=[0, 1], density=None, capacity=(1, 4, 5, 5, 3))
        net = ctx.net
        assert not net.alive[k][:, -1].any()
        born = grow_map(ctx, k, torch.ones(2, dtype=torch.bool), 0.5, candidates, "feature map")
        assert born.tolist() == [True, True] and net.alive[k][:, -1].all()
        newborn = torch.zeros_like(net.alive[k])
        newborn[:, -1] = True
        into, out = net.unit_weights(k, newborn)  # every kernel into it, every weight out to an alive node
        into, out = net.connected(k - 1, into), net.connected(k, out)
        assert into.any() and out.any()
        assert bool(net.effective_mask(k - 1)[into].all()) and bool(net.effective_mask(k)[out].all())
        with torch.no_grad():
            losses.append(member_losses(net(ctx.X_train), ctx.y_train, "multiclass"))
        nets.append(net)
    # the first candidate of eight is the only candidate of one (the same streams): the best of eight is no worse
    assert bool((losses[1] <= losses[0] + 1e-7).all())


@pytest.mark.parametrize("k", [1, 2])
def test_candidate_maps_are_scored_incrementally_as_a_full_forward_scores_them(k):
    ctx = conv_ctx(population=2, seeds=[0, 1], density=0.6, capacity=(1, 4, 5, 5, 3))
    net = ctx.net
    unit = [int((~net.alive[k][p]).float().argmax()) for p in range(2)]
    units = torch.zeros_like(net.alive[k])
    units[[0, 1], unit] = True
    into, out = net.unit_weights(k, units)
    w_in, w_out = candidate_sets(ctx, k, into, out, [0, 1], unit, 0.5, 3)
    probe = Probe(ctx, None)
    incremental = candidate_losses(net, probe, k, w_in, w_out, [0, 1], unit)  # (P, 3)
    for c in range(3):  # the candidate written into the dormant channel, the whole network run
        full_in, full_out = torch.zeros_like(net.weights[k - 1]), torch.zeros_like(net.weights[k])
        for p in range(2):
            full_in[p, unit[p]] = w_in[c][p]
            _out_slice(net, k, full_out, p, unit[p])[...] = w_out[c][p]
        with torch.no_grad():
            net.weights[k - 1].add_(full_in), net.weights[k].add_(full_out)
            full = member_losses(net(ctx.X_train), ctx.y_train, net.task).double()
            net.weights[k - 1].sub_(full_in), net.weights[k].sub_(full_out)
        assert torch.allclose(incremental[:, c], full, atol=1e-6, rtol=0)
    assert not torch.equal(incremental[:, 0], incremental[:, 1])  # the candidates differ


def test_the_probe_follows_births_as_a_fresh_trace_and_rows_are_the_members_own():
    ctx = conv_ctx(population=2, seeds=[0, 1], density=0.6, capacity=(1, 4, 5, 6, 3))
    net = ctx.net
    probe = Probe(ctx, None)
    probe.gradients()
    grow_map(ctx, 1, torch.ones(2, dtype=torch.bool), 0.5, 3, "feature map", probe)
    grow_map(ctx, 2, torch.ones(2, dtype=torch.bool), 0.5, 3, "feature map", probe)
    grow_neuron(ctx, 3, torch.ones(2, dtype=torch.bool), 0.3, 0.5, "bridging", probe)
    with torch.no_grad():
        fresh = net.trace(ctx.X_train)
    assert torch.allclose(probe.trace().outputs, fresh.outputs, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(probe.trace().pre, fresh.pre))
    # a large batch: each growing member draws its own rows from its own stream, the others none
    state = [g.get_state() for g in ctx.streams.generators]
    batch = Probe(ctx, 16, torch.tensor([False, True]))
    assert batch.X.shape == (2, 16, 49) and torch.equal(batch.X[0], ctx.X_train[:16])
    assert torch.equal(ctx.streams.generators[0].get_state(), state[0])
    assert not torch.equal(ctx.streams.generators[1].get_state(), state[1])
    assert torch.equal(batch.X[1], ctx.X_train[torch.randperm(64, generator=torch.Generator().set_state(state[1]))[:16]])


def test_neurons_after_the_flatten_grow_by_bridging_gradients_over_the_flattened_columns():
    ctx = conv_ctx(population=1, seeds=[0], density=None, capacity=(1, 3, 4, 6, 3))
    net = ctx.net
    k = net.n_conv + 1
    G = bridging_gradient(net, ctx.X_train, ctx.y_train, k)
    assert G.shape == (1, 3, net.in_features(k - 1))
    born = grow_neuron(ctx, k, torch.ones(1, dtype=torch.bool), 0.3, 0.5, "bridging")
    assert born.tolist() == [True] and int(net.widths()[0, k]) == 6
    with pytest.raises(ValueError, match="feature maps"):
        bridging_gradient(net, ctx.X_train, ctx.y_train, 1)


def test_nest_grows_feature_maps_and_neurons_then_prunes_a_conv_run():
    run = Run("digits", "c4k3-p2-16", "nest", epochs=8, seed=0, max_width=1.5, interval=2, target_accuracy=0.99,
              grow_until=0.5, map_candidates=2)  # fmt: skip
    start = run.network.widths()[0].tolist()
    run.run()
    ev = run.events
    births = ev[ev.kind == "neuron_grow"]
    assert set(births.layer) >= {1, 2}  # a conv channel layer and the dense layer after the flatten
    assert births[births.layer == 1].cause.str.contains("feature map").all()
    assert run.network.widths()[0, 1] > start[1]
    assert (ev.kind == "phase").any() and run.method.overlays()["phase"] in ("pruning", "done")


# ---------------------------------------------------------------------------- ODF2NNA on channels
def test_odf2nna_removes_a_constant_channel_and_folds_it_exactly():
    ctx = conv_ctx(population=1, seeds=[0], density=None)
    net = ctx.net
    m = net.masks[0].clone()
    m[0, 1] = False  # channel 1 of the first conv layer has no input: a constant map
    net.set_mask(0, m)
    with torch.no_grad():
        net.biases[0][0, 1] = 0.4
    plan = plan_removal(net, ctx.X_train, 1e-6)
    assert plan.useless[1][0].tolist() == [False, True, False]
    with torch.no_grad():
        before = net(ctx.X_train)
    select_units(net, ctx.X_train, 1e-6, MemberStreams([0]))
    assert net.alive[1][0].tolist() == [True, False, True]
    with torch.no_grad():
        torch.testing.assert_close(net(ctx.X_train), before, atol=1e-5, rtol=1e-5)


def test_odf2nna_never_deletes_a_conv_layer_and_runs_on_a_conv_net():
    ctx = conv_ctx(population=1, seeds=[0], density=None)
    removal = select_units(ctx.net, ctx.X_train, 1e9, MemberStreams([0]))
    net = ctx.net
    assert removal.layers == [3] and net.widths()[0].tolist() == [1, 1, 1, 3]  # conv layers keep a channel each; the dense layer is bridged
    run = Run("digits", "c4k3-p2-16", "odf2nna", epochs=4, seed=0, epsilon=0.05)
    run.run()
    assert run.method.reports and run.network.n_conv == 1
    with pytest.raises(ValueError, match="nu_formula"):
        Run("digits", "c4k3-p2-16", "odf2nna", epochs=2, nu_formula=True)


# ---------------------------------------------------------------------------- lottery and checkpoints
def test_lottery_prunes_conv_taps_and_rewinds_survivors_to_their_initial_weights():
    ctx = conv_ctx(population=2, seeds=[0, 1], density=None, steps=0)
    net = ctx.net
    stored = Checkpoint(net)
    for _ in range(3):
        ctx.trainer.step(ctx.X_train, ctx.y_train)
    picks = lottery_prune_masks(net, 0.2)
    assert picks[0].shape == net.weights[0].shape and int(picks[0].sum() + picks[1].sum()) > 0
    for l, where in enumerate(picks):
        if where.any():
            ctx.prune(l, where)
    stored.rewind(ctx, torch.ones(2, dtype=torch.bool))
    for l in range(net.n_layers):
        on = net.effective_mask(l)
        assert torch.equal(net.weights[l].detach()[on], stored.weights[l][on])
        assert bool((net.weights[l].detach()[~on] == 0).all())


def test_a_prune_cycle_with_obd_kernels_jumps_a_conv_net_to_its_target():
    ctx = conv_ctx(population=1, seeds=[0], density=None)
    method = make_method("prune", criterion="obd", granularity="kernel", sparsity=0.5, schedule="constant")
    method.setup(ctx)
    method.cycle(ctx)
    assert 0.5 <= float(1 - ctx.net.density()[0]) <= 0.6


# ---------------------------------------------------------------------------- NeST: its growth batch
def test_nest_grows_a_conv_net_on_a_large_batch_or_on_the_whole_training_set():
    """Both readings of paper 003's "the whole training set or a large batch": 128 of digits'
    1,437 training rows per cycle, or all of them (``growth_rows=None``)."""
    params = {"max_width": 1.5, "interval": 1, "target_accuracy": 0.99, "grow_until": 0.9, "map_candidates": 3}
    runs = {rows: Run("digits", "c4k3-p2-c6k2-16", "nest", 3, 0, growth_rows=rows, **params) for rows in (128, None)}
    for run in runs.values():
        run.run()
        births = run.events[run.events.kind == "neuron_grow"]
        assert set(births.layer) >= {1, 2, 3}  # both conv channel layers and the dense one
    a, b = (r.network for r in runs.values())
    assert a.widths().tolist() == b.widths().tolist()  # as many births, chosen on different rows
    assert not all(torch.equal(x, y) for x, y in zip(a.masks, b.masks))
