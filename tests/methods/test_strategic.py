"""Strategic synthesis: focal junctures, the terminus Gaussian, initial weights, causes."""

from __future__ import annotations

import math

import pytest
import torch
from method_helpers import build_ctx

from growlab.methods.grow import GROWERS
from growlab.methods.strategic import focal_junctures, juncture_cause, sample_termini, terminus_logits

BIG = 5.0


def juncture_ctx(population=1, sizes=(31, 31, 2), origin=15, target=10, active_next=(), events=True):
    """A sparse population whose single strongest connection is ``origin → target`` of layer 0;
    ``active_next`` lists other targets of ``origin`` that are already active."""
    ctx = build_ctx(sizes=sizes, population=population, seeds=[0] * population, density=None, steps=0, events=events)
    net = ctx.net
    with torch.no_grad():
        for l in range(net.n_layers):
            keep = torch.zeros_like(net.masks[l])
            keep[:, 0, 0] = True  # one weak connection per layer besides the juncture
            net.set_mask(l, keep)
            net.weights[l][:, 0, 0] = 0.01
        where = torch.zeros_like(net.masks[0])
        where[:, target, origin] = True
        for k in active_next:
            where[:, k, origin] = True
        values = torch.full_like(net.weights[0], 0.02)
        values[:, target, origin] = BIG
        net.set_mask(0, net.masks[0] | where, values=values)
    return ctx


def plan(ctx, **params):
    grower = GROWERS.make("strategic", **params)
    growth = grower.plan(ctx, torch.full((ctx.net.population,), 10**6))
    return grower, growth


def grown_termini(growth, origin=15) -> torch.Tensor:
    """Terminus per member of the single connection grown in layer 0. ``(P,)``"""
    (g,) = [g for g in growth if g.layer == 0]
    idx = g.where.nonzero()  # (n, 3): member, target, source
    assert bool((idx[:, 2] == origin).all()), "a new connection must start at the juncture's origin"
    assert len(idx) == g.where.shape[0], "one new connection per member"
    return idx[:, 1]


def test_focal_junctures_are_the_top_n_active_magnitudes_over_all_layers():
    ctx = build_ctx(sizes=(8, 6, 5, 3), population=3, seeds=[0, 1, 2], density=0.4)
    net = ctx.net
    J = focal_junctures(net, torch.tensor([5, 3, 0]))
    for p, n in enumerate([5, 3, 0]):
        mags = sorted(
            ((float(net.weights[l].detach()[p, j, i].abs()), l, i, j) for l in range(net.n_layers)
             for j, i in net.masks[l][p].nonzero().tolist()), reverse=True,
        )  # fmt: skip
        assert J.of_member(p) == [(l, i, j) for _, l, i, j in mags[:n]]


def test_terminus_distribution_follows_equation_2():
    n_out, beta, sigma, mu, M = 16, 7.3, 2.0, 1.0, 20_000
    candidates = torch.ones(M, n_out, dtype=torch.bool)
    candidates[:, [2, 8, 9]] = False
    logits = terminus_logits(torch.full((M,), beta), n_out, torch.full((M,), sigma), torch.full((M,), mu))
    choice, has = sample_termini(logits, candidates, torch.Generator().manual_seed(0))
    assert bool(has.all())
    freq = torch.bincount(choice, minlength=n_out).double() / M
    k = torch.arange(n_out, dtype=torch.float64)
    p = torch.exp(-(((k - beta).abs() - mu) ** 2) / (2 * sigma**2)) * candidates[0]
    p /= p.sum()
    assert float((freq - p).abs().max()) < 0.015  # ~4 standard errors at M = 20,000
    assert float(freq[[2, 8, 9]].sum()) == 0, "active termini are never chosen"


def test_larger_sigma_gives_larger_distances():
    means = []
    for sigma in (0.7, 2.0, 6.0):
        ctx = juncture_ctx(population=300, events=False)
        _, growth = plan(ctx, focal_junctures=1, sigma=sigma)
        means.append(float((grown_termini(growth).double() - 15).abs().mean()))
    assert means[0] < means[1] < means[2]


def test_tiny_sigma_picks_the_nearest_dormant_neuron():
    ctx = juncture_ctx(population=50, active_next=(15, 14, 17), events=False)  # β = 15
    _, growth = plan(ctx, focal_junctures=1, sigma=1e-4)
    assert set(grown_termini(growth).tolist()) == {16}
    ctx = juncture_ctx(population=200, active_next=(15,), events=False)  # 14 and 16 tie
    _, growth = plan(ctx, focal_junctures=1, sigma=1e-4)
    assert set(grown_termini(growth).tolist()) == {14, 16}


def test_mu_moves_the_preferred_distance():
    ctx = juncture_ctx(population=300, events=False)
    _, growth = plan(ctx, focal_junctures=1, sigma=0.5, mu=6.0)
    dist = (grown_termini(growth) - 15).abs()
    assert float((dist == 6).double().mean()) > 0.5


def test_beta_scales_the_origin_to_the_next_layer_and_center_target_uses_the_juncture_end():
    ctx = juncture_ctx(population=30, sizes=(11, 41, 2), origin=5, target=3, events=False)  # β = 5·40/10 = 20
    _, growth = plan(ctx, focal_junctures=1, sigma=1e-4)
    assert set(grown_termini(growth, origin=5).tolist()) == {20}
    _, growth = plan(ctx, focal_junctures=1, sigma=1e-4, center="target")  # β = 3, active: pick 2 or 4
    assert set(grown_termini(growth, origin=5).tolist()) <= {2, 4}


@pytest.mark.parametrize("init_weight", ["copy", "gaussian", "random"])
def test_initial_weight_choices(init_weight):
    ctx = juncture_ctx(population=40, events=False)
    _, growth = plan(ctx, focal_junctures=1, sigma=2.0, mu=0.5, init_weight=init_weight)
    (g,) = [g for g in growth if g.layer == 0]
    p, k, i = g.where.nonzero().unbind(1)
    values = g.values[p, k, i].double()
    if init_weight == "copy":
        assert torch.allclose(values, torch.full_like(values, BIG))
    elif init_weight == "gaussian":
        factor = torch.exp(-(((k.double() - 15).abs() - 0.5) ** 2) / (2 * 2.0**2))
        assert torch.allclose(values, BIG * factor)
    else:
        bound = 1 / math.sqrt(31)
        assert bool((values.abs() <= bound).all()) and values.std() > 0


def test_events_name_their_juncture_and_skip_junctures_without_a_dormant_terminus():
    ctx = juncture_ctx(sizes=(31, 4, 2), target=2, active_next=(0, 1, 3))  # origin 15: no dormant terminus
    with torch.no_grad():  # second juncture: layer 1, 1 → 1, weight 3.0
        where = torch.zeros_like(ctx.net.masks[1])
        where[0, 1, 1] = True
        ctx.net.set_mask(1, ctx.net.masks[1] | where, values=torch.full_like(ctx.net.weights[1], 3.0))
    grower = GROWERS.make("strategic", focal_junctures=2, sigma=1.0)
    counts = grower.grow(ctx, torch.tensor([10]))
    assert grower.junctures.of_member(0) == [(0, 15, 2), (1, 1, 1)]
    ev = ctx.events.frame()
    assert int(counts) == 1 and len(ev) == 1
    row = ev.iloc[0]
    assert (row.layer, row.source, row.target) == (1, 1, 0)  # the only dormant terminus of neuron 1
    assert row.cause == juncture_cause(1, 1, 1)
    assert row.weight == pytest.approx(3.0)


def test_duplicates_in_one_cycle_grow_once_caused_by_the_stronger_juncture():
    ctx = juncture_ctx(active_next=(15, 14, 17))  # junctures 15→10 (5.0) and 15→14 (set to 4.0)
    with torch.no_grad():
        ctx.net.weights[0][0, 14, 15] = 4.0
    grower = GROWERS.make("strategic", focal_junctures=2, sigma=1e-4)  # both pick terminus 16
    counts = grower.grow(ctx, torch.tensor([10]))
    ev = ctx.events.frame()
    assert int(counts) == 1 and ev["target"].tolist() == [16]
    assert ev["cause"].tolist() == [juncture_cause(0, 15, 10)]


def test_growth_stops_at_the_room_left_strongest_junctures_first():
    def causes(room):
        ctx = build_ctx(sizes=(12, 12, 12, 2), population=1, density=0.2)  # same draws each time
        grower = GROWERS.make("strategic", focal_junctures=8, sigma=3.0)
        growth = grower.plan(ctx, torch.tensor([room]))
        order = [juncture_cause(*j) for j in grower.junctures.of_member(0)]
        return sorted((c for g in growth for c in g.causes), key=order.index)

    unlimited = causes(100)
    assert len(unlimited) > 3
    assert sorted(causes(3)) == sorted(unlimited[:3])


def test_per_member_sigma_and_n():
    ctx = juncture_ctx(population=400, events=False)
    grower = GROWERS.make("strategic")
    grower.set_member_values(sigma=[0.5] * 200 + [8.0] * 200, focal_junctures=[1] * 400)
    (g,) = [g for g in grower.plan(ctx, torch.full((400,), 10)) if g.layer == 0]
    dist = (g.where.nonzero()[:, 1] - 15).abs().double()
    assert float(dist[:200].mean()) < float(dist[200:].mean())
    grower.set_member_values(focal_junctures=[0, 1] * 200)
    counts = sum(g.where.sum(dim=(1, 2)) for g in grower.plan(ctx, torch.full((400,), 10)))
    assert counts[0::2].sum() == 0 and bool((counts[1::2] == 1).all())
