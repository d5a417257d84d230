"""Pruning schedules, eligibility (min_age, protected outputs), hybrids, capacity and scores."""

from __future__ import annotations

import pytest
import torch
from method_helpers import build_ctx

import growlab
from growlab.analysis.paths import reachability, redundant_count
from growlab.engine import member_losses
from growlab.methods import make_method
from growlab.methods.prune import PRUNE_SCHEDULES, Pruner, PruneNeed, polynomial_sparsity, share
from growlab.methods.scores import layer_stats

N = 568  # connections of 27-16-8-1


def need(active, target, per_cycle=4, initial=0.0, progress=0.0, possible=1000):
    t = lambda v: torch.tensor([v], dtype=torch.float64 if isinstance(v, float) else torch.long)  # noqa: E731
    return PruneNeed(t(active), possible, t(float(target)), t(float(initial)), t(per_cycle), progress)


def test_schedule_counts():
    constant, steps, poly = (PRUNE_SCHEDULES.make(n) for n in ("constant", "steps", "polynomial"))
    assert constant.count(need(1000, 0.9)).item() == 900
    assert steps.count(need(1000, 0.9)).item() == 4
    assert steps.count(need(102, 0.9)).item() == 2  # never past the target
    assert constant.count(need(50, 0.9)).item() == 0
    assert poly.count(need(1000, 0.8, progress=0.0)).item() == 0
    assert poly.count(need(1000, 0.8, progress=0.5)).item() == 700  # 0.8 − 0.8·0.5³ = 0.7
    assert poly.count(need(1000, 0.8, progress=1.0)).item() == 800


def test_polynomial_is_zhu_and_gupta():
    s_i, s_f = torch.tensor([0.1], dtype=torch.float64), torch.tensor([0.95], dtype=torch.float64)
    for t0, n, dt, t in [(0, 10, 2, 6), (5, 4, 3, 11), (2, 8, 1, 10)]:
        expected = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3
        assert torch.allclose(polynomial_sparsity((t - t0) / (n * dt), s_i, s_f), expected)


def active_after_each_epoch(run) -> list[int]:
    counts = []
    while not run.done:
        run.step()
        counts.append(int(run.network.n_active()))
    return counts


def test_polynomial_run_follows_the_ramp_and_reaches_the_target_at_stop():
    run = growlab.Run("heart", "16-8", "prune", epochs=10, seed=0, schedule="polynomial", sparsity=0.8, stop=0.8)
    counts = active_after_each_epoch(run)
    first, last = 1, 8  # cycles after epochs 1..8
    for e in range(first, last + 1):
        s = 0.8 * (1 - (1 - (e - first) / (last - first)) ** 3)
        assert counts[e - 1] == int(N * (1 - s) + 1e-9), f"epoch {e}"
    assert counts[7] == counts[8] == counts[9] == int(N * 0.2 + 1e-9)  # frozen after stop


def test_constant_and_steps_schedules_in_a_run():
    run = growlab.Run("heart", "16-8", "prune", epochs=4, seed=0, schedule="constant", sparsity=0.9)
    assert active_after_each_epoch(run) == [56, 56, 56, 56]
    steps = dict(schedule="steps", sparsity=0.99, prune_per_cycle=200, stop=1)
    run = growlab.Run("heart", "16-8", "prune", epochs=6, seed=0, **steps)
    assert active_after_each_epoch(run) == [368, 168, 5, 5, 5, 5]


def test_per_member_sparsity_targets_in_one_population():
    ctx = build_ctx(sizes=(10, 10, 10, 3), population=3, seeds=[0, 0, 0], density=None)
    method = make_method("prune", schedule="constant")
    method.set_member_values(sparsity=[0.5, 0.7, 0.9])
    method.setup(ctx)
    method.cycle(ctx)
    assert ctx.net.n_active().tolist() == [int(230 * (1 - s) + 1e-9) for s in (0.5, 0.7, 0.9)]


def test_no_output_is_ever_left_without_an_incoming_connection():
    ctx = build_ctx(sizes=(8, 6, 5, 4), population=3, seeds=[0, 1, 2], density=None)
    method = make_method("prune", schedule="constant", sparsity=0.99)
    method.setup(ctx)
    for cycle in range(1, 4):
        ctx.cycle = cycle
        method.cycle(ctx)
        assert bool(ctx.net.masks[-1].any(dim=2).all())
    assert bool((ctx.net.n_active() == 4).all())  # only the protected connections are left


def test_connections_younger_than_min_age_are_never_pruned():
    ctx = build_ctx(population=2)
    ctx.cycle = 3
    grown = make_method("random", grow_per_cycle=6, sparsity=0)
    grown.part(__import__("growlab.methods.grow", fromlist=["GROWERS"]).GROWERS, "random").grow(ctx, torch.tensor([6, 6]))
    newborn = [(ctx.net.birth_cycle[l] == 3) & ctx.net.masks[l] for l in range(ctx.net.n_layers)]
    assert sum(int(n.sum()) for n in newborn) == 12
    for cycle, survive in ((4, True), (5, False)):  # age 1 < min_age 2, then age 2
        ctx.cycle = cycle
        Pruner(min_age=2).prune(ctx, torch.tensor([1000, 1000]))
        alive = sum(int((n & ctx.net.masks[l]).sum()) for l, n in enumerate(newborn))
        assert (alive == 12) if survive else (alive < 12)


@pytest.mark.parametrize("method", ["random+prune", "strategic+prune", "gradient+prune"])
def test_hybrid_prunes_before_it_grows(method):
    run = growlab.Run("heart", "16-8", method, epochs=6, seed=1, sparsity=0.85, min_age=0, interval=1, prune_per_cycle=3)
    run.run()
    ev = run.events
    cycles = ev[ev.kind.isin(["grow", "prune"])].groupby("epoch")
    assert len(cycles) >= 3
    for epoch, cycle_events in cycles:
        kinds = cycle_events.kind.tolist()
        assert kinds == sorted(kinds, key=lambda k: k == "grow"), f"epoch {epoch}: growth before pruning"
    # with min_age 0 only the order protects newborns: the last cycle's are all still there
    last = ev[(ev.kind == "grow") & (ev.epoch == ev[ev.kind == "grow"].epoch.max())]
    assert len(last) and all(bool(run.network.masks[r.layer][0, r.target, r.source]) for r in last.itertuples())


def test_hybrids_may_prune_on_their_own_interval_and_offset():
    run = growlab.Run(
        "heart", "16-8", "random+prune", epochs=12, seed=0, sparsity=0.85,
        interval=2, prune_interval=3, prune_offset=1, stop=1.0,
    )  # fmt: skip
    run.run()
    ev = run.events
    assert set(ev[ev.kind == "grow"].epoch) <= {2, 4, 6, 8, 10, 12}
    assert set(ev[ev.kind == "prune"].epoch) == {4, 7, 10}  # every 3 epochs, shifted by 1


def test_growth_never_exceeds_the_capacity_and_reaches_it():
    ctx = build_ctx(sizes=(10, 10, 10, 3), population=3, seeds=[0, 1, 2], density=None, steps=0)
    method = make_method("random", grow_per_cycle=40)
    method.set_member_values(sparsity=[0.9, 0.8, 0.5])
    method.setup(ctx)
    caps = torch.tensor([int(230 * (1 - s) + 1e-9) for s in (0.9, 0.8, 0.5)])
    for cycle in range(1, 6):
        ctx.cycle = cycle
        method.cycle(ctx)
        assert bool((ctx.net.n_active() <= torch.maximum(caps, method._start_active)).all())
    assert ctx.net.n_active().tolist() == [max(int(a), int(c)) for a, c in zip(method._start_active, caps)]


def test_hybrids_turn_over_instead_of_shrinking():
    ctx = build_ctx(sizes=(27, 16, 8, 1), population=4, seeds=[0, 1, 2, 3], density=None, steps=0)
    method = make_method("strategic+prune", sparsity=0.9, prune_per_cycle=5, focal_junctures=1)
    method.setup(ctx)
    start = method._start_active.clone()
    for cycle in range(1, 30):
        ctx.cycle = cycle
        method.cycle(ctx)
        assert bool((ctx.net.n_active() >= torch.minimum(start, torch.tensor(56)) - 5).all())
    assert int(ctx.pruned.sum()) > 0


def test_share_splits_counts_in_proportion():
    assert share(torch.tensor([10, 7]), torch.tensor([[100, 100, 0], [1, 1, 5]])).tolist() == [[5, 5, 0], [1, 1, 5]]
    assert share(torch.tensor([3]), torch.tensor([[1, 1, 1]])).sum().item() == 3


def test_gradients_and_fisher_match_a_per_example_oracle():
    ctx = build_ctx(sizes=(5, 4, 3), population=2, seeds=[0, 1], density=0.6, steps=4)
    net, X, y = ctx.net, ctx.X_train[:12], ctx.y_train[:12]
    stats = layer_stats(net, X, y, fisher=True)
    dense = ctx.trainer.gradients(X, y)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(stats.grads, dense))
    squares = [torch.zeros_like(w) for w in net.weights]
    for n in range(12):  # the loop the matrix product replaces
        for w in net.parameters():
            w.grad = None
        member_losses(net.forward(X[n : n + 1]), y[n : n + 1], net.task).sum().backward()
        for s, g in zip(squares, net.grads()):
            s += g.square() / 12
    assert all(torch.allclose(f, s, atol=1e-6) for f, s in zip(stats.fisher, squares))
    for w in net.parameters():
        w.grad = None


def _inputs_on_paths(net) -> torch.Tensor:
    return reachability(net).on_path[0].clone()  # (P, inputs)


@pytest.mark.parametrize("conv", [False, True])
def test_keep_inputs_never_cuts_an_input_off_however_much_is_pruned(conv):
    kept, plain = (build_ctx(population=3, seeds=[0, 1, 2], density=0.5, conv=conv) for _ in range(2))
    before = _inputs_on_paths(kept.net)
    assert bool(before.any(dim=1).all())
    for ctx, keep in ((kept, True), (plain, False)):
        start = ctx.net.n_active().clone()
        done = Pruner(keep_inputs=keep, min_age=0).prune(ctx, torch.full((3,), 10_000))
        assert bool((done > 0).all()) and bool((ctx.net.n_active() < start).all())
    assert torch.equal(_inputs_on_paths(kept.net), before)  # every input that reached an output still does
    assert int(_inputs_on_paths(plain.net).sum()) < int(before.sum())  # plain magnitude pruning cuts them off
    # what is left: one link onward per neuron on a path (conv: one tap of one kernel), and each
    # output's strongest incoming connection
    on_path = sum(r.sum(dim=1) for r in reachability(kept.net).on_path[:-1])
    assert bool((kept.net.n_active() <= on_path + kept.net.sizes[-1]).all())
    assert int(redundant_count(kept.net).sum()) <= 3 * kept.net.sizes[-1]  # at most the outputs' own


def test_the_strategic_hybrid_keeps_its_inputs_and_plain_pruning_does_not():
    kw = dict(epochs=30, seed=0, sparsity=0.5, junctures="usable")
    runs = {keep: growlab.Run("heart", "16-8", "strategic+prune", keep_inputs=keep, **kw) for keep in (True, False)}
    for r in runs.values():
        r.run()
    left = {keep: int(_inputs_on_paths(r.network).sum()) for keep, r in runs.items()}
    assert left[True] == 27 and left[False] <= 5  # the false start: its inputs' only links pruned two a cycle
