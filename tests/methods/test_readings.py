"""The paper's open choices as parameters (DESIGN §4b): juncture choice, where growth starts, a
per-cycle cap, the threshold as a cap or a budget, and the hybrids' pruning floor."""

from __future__ import annotations

import torch
from method_helpers import build_ctx
from test_strategic import BIG, juncture_ctx, plan

import growlab
from growlab.methods.strategic import focal_junctures


def _saturate(ctx, origin=15):
    """Every terminus of ``origin`` in layer 0 active: it cannot grow any more."""
    net = ctx.net
    with torch.no_grad():
        net.set_mask(0, net.masks[0] | (torch.arange(31)[None, None, :] == origin), values=torch.full_like(net.weights[0], 0.02))
        net.weights[0][:, 10, origin] = BIG


def test_all_junctures_stall_on_a_saturated_origin_usable_ones_do_not():
    ctx = juncture_ctx(sizes=(31, 31, 2))
    _saturate(ctx)
    _, growth = plan(ctx, focal_junctures=1)  # the top juncture's origin has no dormant terminus
    assert sum(int(g.where.sum()) for g in growth) == 0
    grower, growth = plan(ctx, focal_junctures=1, junctures="usable")
    (j,) = grower.junctures.of_member(0)
    assert j != (0, 15, 10) and sum(int(g.where.sum()) for g in growth) == 1


def test_one_juncture_per_origin():
    ctx = juncture_ctx(sizes=(31, 31, 2))
    with torch.no_grad():  # a second strong connection from the same origin
        ctx.net.set_mask(0, ctx.net.masks[0] | (torch.arange(31)[None, :, None] == 12) & (torch.arange(31) == 15),
                         values=torch.full_like(ctx.net.weights[0], BIG - 1))  # fmt: skip
    both = focal_junctures(ctx.net, torch.tensor([2]))
    assert both.source.tolist() == [15, 15]
    one = focal_junctures(ctx.net, torch.tensor([2]), "one_per_origin")
    assert one.source.tolist()[0] == 15 and one.source.tolist().count(15) == 1 and one.target.tolist()[0] == 10


def test_growing_forward_from_the_terminus():
    ctx = juncture_ctx(sizes=(31, 31, 2))
    grower, growth = plan(ctx, focal_junctures=1, grow_from="terminus")
    (g,) = [g for g in growth if g.where.any()]
    assert g.layer == 1  # juncture 15 → 10 of layer 0 extends from neuron 10 into the output layer
    assert g.where[0, :, 10].sum() == 1 and g.where.sum() == 1


def test_growing_from_both_ends_of_each_juncture():
    ctx = juncture_ctx(sizes=(31, 31, 2))
    grower, growth = plan(ctx, focal_junctures=1, grow_from="both")
    grown = {g.layer: g.where for g in growth if g.where.any()}
    assert sorted(grown) == [0, 1] and all(int(w.sum()) == 1 for w in grown.values())
    assert bool(grown[0][0, :, 15].any()) and bool(grown[1][0, :, 10].any())  # from origin 15, and onward from 10
    assert grower.junctures.of_member(0) == [(0, 15, 10)]  # one juncture, two seeds
    _, capped = plan(ctx, focal_junctures=1, grow_from="both", max_grow=1)
    assert [g.layer for g in capped if g.where.any()] == [0]  # the origin's seed first


def _hidden_on_paths(run) -> int:
    from growlab.analysis.paths import reachability

    return int(sum(r[0].sum() for r in reachability(run.network).on_path[1:-1]))


def test_only_growth_onward_adds_neurons_to_the_paths():
    kw = dict(epochs=12, seed=0, sparsity=0.5, junctures="usable")
    runs = {g: growlab.Run("xor", "16-8", "strategic", grow_from=g, **kw) for g in ("origin", "both")}
    start = _hidden_on_paths(runs["origin"])
    for r in runs.values():
        r.run()
    assert int(runs["origin"].history.grown.sum()) > 0
    assert _hidden_on_paths(runs["origin"]) == start  # a new terminus is nobody's origin: a dead end
    assert _hidden_on_paths(runs["both"]) > start + 4


def test_a_per_cycle_cap_on_growth():
    ctx = build_ctx(sizes=(8, 12, 6, 2), population=2, seeds=[0, 1], density=0.2)
    _, uncapped = plan(ctx, focal_junctures=6)
    _, capped = plan(ctx, focal_junctures=6, max_grow=2)
    grown = lambda gs: sum(g.where.sum(dim=(1, 2)) for g in gs)  # noqa: E731
    assert (grown(uncapped) > 2).all() and (grown(capped) == 2).all()


def test_the_threshold_as_a_budget_bounds_all_growth_and_pruning():
    cap = growlab.Run("heart", "16-8", "random+prune", epochs=60, seed=0, sparsity=0.9, grow_per_cycle=8, prune_per_cycle=8)
    budget = growlab.Run("heart", "16-8", "random+prune", epochs=60, seed=0, sparsity=0.9, grow_per_cycle=8,
                         prune_per_cycle=8, threshold="budget")  # fmt: skip
    h_cap, h_budget = cap.run(), budget.run()
    allowed = int((1 - 0.9) * 568)  # 56
    assert h_cap.grown.sum() > allowed  # as a cap, connections turn over all run long
    assert h_budget.grown.sum() <= allowed and h_budget.pruned.sum() <= allowed
    assert h_budget.grown.sum() == allowed  # and the budget is spent


def test_the_hybrid_pruning_floor():
    # keep_inputs off: it keeps the whole sub-network (each of its neurons has one link onward)
    kw = dict(epochs=40, seed=0, sparsity=0.95, prune_per_cycle=6, focal_junctures=1, keep_inputs=False)
    runs = {f: growlab.Run("heart", "16-8", "strategic+prune", prune_floor=f, **kw) for f in ("start_or_cap", "start", "none")}
    start = int(runs["start"].network.n_active()[0])  # the sub-network, before any cycle
    for r in runs.values():
        r.run()
    ends = {f: int(r.network.n_active()[0]) for f, r in runs.items()}
    capacity = int((1 - 0.95) * 568 + 1e-6)  # 28, fewer than the sub-network's connections
    assert start > capacity
    assert ends["start"] >= start - 6 and capacity - 6 <= ends["start_or_cap"] < start - 6
    assert ends["none"] < capacity - 6  # without a floor the hybrid shrinks further
