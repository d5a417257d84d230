"""ODF2NNA: ε selection with exact folding, whole-layer bridging, preview, regression, NU formula."""

import pytest
import torch
from phase_helpers import phase_ctx, train

from growlab import Run
from growlab.engine import MemberStreams, Network, member_losses
from growlab.methods import make_method
from growlab.methods.odf2nna import nu_width
from growlab.methods.useful_units import select_units, unit_outputs


def _constant_units(net: Network, k: int, units: list[int], bias: float = 0.7) -> None:
    """Make ``units`` of hidden layer ``k`` output the constant relu(bias) (no incoming weight)."""
    with torch.no_grad():
        net.weights[k - 1][:, units, :] = 0
        net.biases[k - 1][:, units] = bias


def test_removing_constant_units_with_folding_leaves_outputs_unchanged():
    net = Network((5, 6, 4, 3), population=2, seeds=[0, 1], task="multiclass", device="cpu")
    _constant_units(net, 1, [0, 3])
    _constant_units(net, 2, [1], bias=-0.2)  # relu(−0.2) = 0: a dead unit, also constant
    X = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
    before = net.forward(X).detach()
    removal = select_units(net, X, 0.0, MemberStreams([0]), phase_ctx(net))
    assert removal.units == [(1, 0), (1, 3), (2, 1)] and removal.counts.tolist() == [3, 3] and not removal.layers
    assert net.alive[1][0].tolist() == [False, True, True, False, True, True]
    assert (net.forward(X).detach() - before).abs().max() < 1e-6
    X2 = torch.randn(64, 5, generator=torch.Generator().manual_seed(1)) * 3  # any input: constants stay constant
    assert net.sizes == (5, 6, 4, 3) and unit_outputs(net, X2, 1)[:, :, [0, 3]].abs().max() == 0


def test_epsilon_compares_the_output_std():
    net = Network((3, 4, 1), device="cpu")
    X = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    std = unit_outputs(net, X, 1).std(dim=1, correction=0)[0]
    eps = float(std.sort().values[1])  # the two least variable units have std ≤ ε
    removal = select_units(net, X, eps, MemberStreams([0]))
    assert sorted(u for _, u in removal.units) == sorted(std.argsort()[:2].tolist())


def test_a_fully_useless_layer_is_bridged_and_the_network_still_trains():
    run = Run("iris", "8-8", "odf2nna", epochs=30, seed=0, lr=0.02, epsilon=0.0)
    run.run(5)
    net = run.network
    _constant_units(net, 2, list(range(8)))  # layer 2 outputs constants only
    before = net.forward(run.ctx.X_train).detach()
    run.cycle()  # "apply": layer 2 is folded into the output biases and bridged
    assert net.sizes == (4, 8, 3) and net.n_layers == 2 and tuple(net.weights[1].shape) == (1, 3, 8)
    bridge = net.weights[1][0].detach()
    assert bool(net.masks[1].all()) and 0 < bridge.abs().max() <= net.init_bound(1)  # fresh, dense
    assert not torch.allclose(net.forward(run.ctx.X_train).detach(), before)  # fresh weights: outputs moved
    kinds = run.events.kind.tolist()
    assert "bridge" in kinds and kinds.count("grow") == 3 * 8 - int((net.alive[1][0] == 0).sum()) * 3
    loss0 = float(member_losses(net.forward(run.ctx.X_train), run.ctx.y_train, net.task)[0].detach())
    h = run.run()
    assert h.train_loss.iloc[-1] < 0.6 * loss0 and h.val_acc.iloc[-1] > 0.8
    assert run.method.reports[0]["layers_removed"] == [2]


def test_bridged_run_saves_and_resumes(tmp_path):
    run = Run("iris", "6-6", "odf2nna", epochs=12, seed=1, epsilon=1e6)  # every unit useless
    run.run(10)
    assert run.network.sizes == (4, 3)  # both hidden layers gone: the inputs feed the outputs
    run.save(tmp_path / "o.growlab")
    run.run()
    again = Run.load(tmp_path / "o.growlab")
    again.run()
    assert again.network.sizes == (4, 3) and again.history.equals(run.history)


def test_preview_changes_nothing_and_matches_apply():
    run = Run("wine", "8-8", "odf2nna", epochs=30, seed=0, epsilon=0.3, lr=0.02)
    run.run(10)
    state = run.network.state_dict()
    g_state, n_events = run.streams[0].get_state(), len(run.events)
    preview = run.preview_epsilon(0.5)
    assert preview and run.method.overlays()["useless_units"] == preview
    after = run.network.state_dict()
    assert all(torch.equal(a, b) for a, b in zip(state["weights"] + state["alive"], after["weights"] + after["alive"]))
    assert torch.equal(run.streams[0].get_state(), g_state) and len(run.events) == n_events
    run.set(epsilon=0.5)  # ε changes mid-run, at the next boundary
    run.step()
    preview = run.preview_epsilon(0.5)
    n_events = len(run.events)
    run.cycle()  # "apply"
    ev = run.events.iloc[n_events:]
    removed = [tuple(u) for u in ev[ev.kind == "unit_remove"][["layer", "source"]].values.tolist()]
    assert run.method.reports[-1]["epsilon"] == 0.5 and not run.method.reports[-1]["layers_removed"]
    assert removed == preview and len(preview) == run.method.reports[-1]["units_removed"]
    assert run.method.overlays()["useless_units"] == []  # applied: nothing left to preview


def test_epsilon_below_zero_is_refused():
    with pytest.raises(ValueError, match="epsilon"):
        make_method("odf2nna", epsilon=-0.1)
    run = Run("iris", "4", "odf2nna", epochs=3)
    with pytest.raises(ValueError, match="epsilon"):
        run.preview_epsilon(-1)
    with pytest.raises(ValueError, match="epsilon"):
        run.set(epsilon=-1)
    with pytest.raises(ValueError, match="odf2nna"):
        Run("iris", "4", "dense", epochs=1).preview_epsilon(0.1)


def test_regression_works_and_applies_at_the_scheduled_epoch():
    run = Run("diabetes", "8-8", "odf2nna", epochs=23, seed=0, lr=0.01, epsilon=0.2)
    assert run.method.prune_epoch(23) == 20  # 23 / 1.15: the last 3 epochs refine
    h = run.run()
    (report,) = run.method.reports
    assert report["epoch"] == 20 and report["params_after"] <= report["params_before"]
    assert h.val_mse.notna().all() and h.val_mse.iloc[-1] < 1.5 * h.val_mse.iloc[0]
    phase = run.events[run.events.kind == "phase"]
    assert len(phase) == 1 and phase.epoch.iloc[0] == 20


def test_nu_formula_sizes_a_rectangular_general_model():
    assert nu_width(120, 4, 3, 2) == 9 and nu_width(353, 10, 1, 2) == 25 and nu_width(5, 100, 2, 3) == 1
    run = Run("iris", "16-8", "odf2nna", epochs=2, seed=0, nu_formula=True)
    net = run.network
    assert net.capacity == (4, 16, 16, 3) and net.widths()[0].tolist() == [4, 9, 9, 3]
    assert net.weights[1][0, :9, :9].abs().max() <= 1 / 9**0.5  # initializer bound for fan-in 9


def test_population_keeps_a_layer_other_members_still_use():
    net = Network((3, 4, 2), population=2, seeds=[0, 1], task="multiclass", device="cpu")
    with torch.no_grad():
        net.weights[0][0] = 0  # member 0: layer 1 entirely constant; member 1: not
    ctx = phase_ctx(net)
    removal = select_units(net, ctx.X_train, 0.0, ctx.streams, ctx)
    assert not removal.layers and net.sizes == (3, 4, 2)
    assert int(net.alive[1][0].sum()) == 1 and removal.kept and removal.kept[0][:2] == (0, 1)
    assert int(net.alive[1][1].sum()) == 4
    train(ctx, 2)  # the kept layout still trains


def test_remove_layer_relayouts_in_place_and_the_optimizer_follows():
    net = Network((4, 5, 6, 2), population=2, seeds=[0, 1], device="cpu")
    ctx = phase_ctx(net)
    train(ctx, 2)
    first, state = net.parameters()[0], ctx.optimizer.buffer(0, "exp_avg").clone()
    net.remove_layer(2)  # 5 → 6 → 2 becomes 5 → 2
    assert net.sizes == (4, 5, 2) and net.parameters()[0] is first and not net.masks[1].any()
    net.set_mask(1, torch.ones_like(net.masks[1]), torch.full_like(net.weights[1].detach(), 0.1))
    ctx.optimizer.rebuild()
    assert torch.equal(ctx.optimizer.buffer(0, "exp_avg"), state)  # surviving layer keeps its moments
    assert ctx.optimizer.buffer(1, "exp_avg") is None  # the bridge starts fresh
    X = torch.randn(7, 4)
    for p in range(2):  # the oracle: the member as a plain torch.nn.Sequential
        assert torch.allclose(net.forward(X)[p], net.to_sequential(p)(X), atol=1e-6)
    train(ctx, 1)
    other = Network((4, 5, 6, 2), population=2, seeds=[0, 1], device="cpu")
    with pytest.raises(ValueError, match="layout"):
        other.load_state_dict(net.state_dict())
    other.load_state_dict(net.state_dict(), relayout=True)
    assert other.sizes == (4, 5, 2) and torch.equal(other.forward(X), net.forward(X))
