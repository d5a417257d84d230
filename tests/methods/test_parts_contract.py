"""One contract, every registered grow part, prune criterion × scope × granularity and init
(table-driven), on an MLP and on a conv network (kernel taps, channel-graph edges, channels)."""

from __future__ import annotations

import itertools

import pytest
import torch
from method_helpers import adam_moments, build_ctx, masks_of

from growlab.methods.grow import GROWERS
from growlab.methods.groups import GRANULARITIES
from growlab.methods.inits import INITS
from growlab.methods.prune import CRITERIA, PRUNE_SCHEDULES, Pruner, strongest_incoming
from growlab.methods.registry import Registry
from growlab.methods.scores import batch_stats
from growlab.methods.strategic import StrategicGrower  # noqa: F401  (registers "strategic")

GROW_PARTS = GROWERS.names()
PRUNE_PARTS = list(itertools.product(CRITERIA.names(), ("global", "per_layer")))
GROUP_PARTS = list(itertools.product(CRITERIA.names(), ("global", "per_layer"), ("kernel", "channel")))
PAPER_INITS = ("dense", "subnet", "random", "core")
NETS = ("mlp", "conv")
SEEDS = [0, 1, 0]  # members 0 and 2 share a seed
ROOM = torch.tensor([5, 2, 0])


def ctx_of(net: str, **kw):
    return build_ctx(conv=net == "conv", **kw)


def per_member(mask: torch.Tensor) -> torch.Tensor:
    return mask.flatten(1).sum(dim=1)


def test_every_part_is_in_the_tables():
    assert set(GROW_PARTS) == {"random", "strategic", "gradient"}
    assert set(CRITERIA.names()) == {"magnitude", "taylor", "obd"}
    assert set(INITS.names()) >= set(PAPER_INITS)  # other methods may add their own (nest_seed)
    assert set(PRUNE_SCHEDULES.names()) == {"constant", "steps", "polynomial"}
    assert GRANULARITIES == ("weight", "kernel", "channel")


@pytest.mark.parametrize("registry", [GROWERS, CRITERIA, INITS, PRUNE_SCHEDULES], ids=lambda r: r.kind)
def test_unknown_part_names_list_the_valid_ones(registry: Registry):
    with pytest.raises(ValueError, match="valid: ") as err:
        registry.make("no-such-part")
    assert all(name in str(err.value) for name in registry.names())


def make_grower(name: str):
    specs = GROWERS.get(name).param_specs()
    return GROWERS.make(name, **({"grow_per_cycle": 5} if "grow_per_cycle" in specs else {"focal_junctures": 5}))


def grow_once(name: str, ctx, room=ROOM):
    grower = make_grower(name)
    stats = batch_stats(ctx) if grower.needs_gradients else None
    return grower.grow(ctx, room, stats)


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("name", GROW_PARTS)
def test_grow_adds_only_dormant_connections_within_the_budget(name, net):
    ctx = ctx_of(net, population=3, seeds=SEEDS)
    before = masks_of(ctx)
    shapes = [w.shape for w in ctx.net.weights]
    counts = grow_once(name, ctx)
    assert [w.shape for w in ctx.net.weights] == shapes
    added = torch.zeros(3, dtype=torch.long)
    for b, a in zip(before, ctx.net.masks):
        assert a.shape == b.shape
        assert bool((a | ~b).all()), "growth removed a connection"
        added += per_member(a & ~b)
    assert counts.tolist() == added.tolist() == ctx.grown.tolist()
    assert bool((counts <= ROOM).all())
    assert counts[2] == 0
    assert counts[0] > 0
    if name != "strategic":  # strategic may skip junctures with no dormant terminus (and grows whole kernels)
        assert counts.tolist() == [5, 2, 0]


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("name", GROW_PARTS)
def test_grow_same_seed_same_masks(name, net):
    results = []
    for _ in range(2):
        ctx = ctx_of(net, population=3, seeds=SEEDS)
        grow_once(name, ctx)
        results.append(masks_of(ctx))
    assert all(torch.equal(a, b) for a, b in zip(*results))


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("name", GROW_PARTS)
def test_grown_weights_take_their_initial_value_with_reset_moments(name, net):
    ctx = ctx_of(net, population=2, seeds=[0, 1])
    for l in range(ctx.net.n_layers):  # stale moments everywhere, so a reset is visible
        for buf in adam_moments(ctx, l):
            buf.fill_(1.0)
    grower = make_grower(name)
    plan = grower.plan(ctx, torch.tensor([5, 5]), batch_stats(ctx) if grower.needs_gradients else None)
    assert plan
    for g in plan:
        added = g.where & ~ctx.net.masks[g.layer]
        ctx.grow(g.layer, g.where, g.values, g.causes)
        w = ctx.net.weights[g.layer].detach()
        assert torch.equal(w[added], g.values[added].to(w.dtype))
        m, v = adam_moments(ctx, g.layer)
        assert bool((m[added] == 0).all()) and bool((v[added] == 0).all())
        assert bool((m[~added] == 1).all())


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("name", GROW_PARTS)
def test_grow_events_match_the_mask_changes(name, net):
    ctx = ctx_of(net, population=1, seeds=[3])
    before = masks_of(ctx)
    counts = grow_once(name, ctx, torch.tensor([5]))
    ev = ctx.events.frame()
    assert (ev["kind"] == "grow").sum() == int(counts.sum()) > 0
    n = ctx.net
    for row in ev.itertuples():
        # conv layers: an event per tap, naming the channel-graph edge (input channel → output node)
        grown = n.taps(row.layer, n.masks[row.layer] & ~before[row.layer])[0, row.target, row.source]
        assert grown.any()
        taps = n.taps(row.layer, n.weights[row.layer].detach())[0, row.target, row.source][grown]
        assert any(float(t) == pytest.approx(row.weight) for t in taps)
        assert isinstance(row.cause, str) and row.cause


def prune_once(criterion: str, scope: str, ctx, counts=None, granularity="weight"):
    pruner = Pruner(criterion=criterion, scope=scope, min_age=0, granularity=granularity)
    crit = pruner.criterion
    stats = batch_stats(ctx, fisher=crit.needs_fisher) if crit.needs_gradients else None
    return pruner.prune(ctx, ROOM if counts is None else counts, stats)


def stale_moments(ctx) -> None:
    for l in range(ctx.net.n_layers):
        for buf in adam_moments(ctx, l):
            buf.fill_(1.0)


def check_pruned(ctx, before) -> torch.Tensor:
    """Only active connections went, each zeroed with reset moments; returns the counts ``(P,)``."""
    removed = torch.zeros(ctx.net.population, dtype=torch.long)
    for l, b in enumerate(before):
        now = ctx.net.effective_mask(l)
        assert now.shape == b.shape
        assert bool((b | ~now).all()), "pruning added a connection"
        gone = b & ~now
        removed += per_member(gone)
        assert bool((ctx.net.weights[l].detach()[gone] == 0).all())
        m, v = adam_moments(ctx, l)
        assert bool((m[gone] == 0).all()) and bool((v[gone] == 0).all())
        assert bool((m[~gone & now] == 1).all())
    return removed


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("criterion,scope", PRUNE_PARTS)
def test_prune_removes_only_active_connections_and_counts_are_respected(criterion, scope, net):
    ctx = ctx_of(net, population=3, seeds=SEEDS)
    before = [ctx.net.effective_mask(l) for l in range(ctx.net.n_layers)]
    stale_moments(ctx)
    counts = prune_once(criterion, scope, ctx)
    removed = check_pruned(ctx, before)
    assert counts.tolist() == removed.tolist() == ctx.pruned.tolist() == ROOM.tolist()


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("criterion,scope,granularity", GROUP_PARTS)
def test_group_pruning_removes_whole_kernels_or_channels_reaching_the_count(criterion, scope, granularity, net):
    ctx = ctx_of(net, population=3, seeds=SEEDS)
    n = ctx.net
    before = [n.effective_mask(l) for l in range(n.n_layers)]
    alive = [a.clone() for a in n.alive]
    stale_moments(ctx)
    counts = prune_once(criterion, scope, ctx, granularity=granularity)
    removed = check_pruned(ctx, before)
    assert counts.tolist() == removed.tolist() == ctx.pruned.tolist()
    assert bool((counts >= ROOM).all()) and counts[2] == 0  # whole groups until at least the count
    if granularity == "kernel":  # a kernel touched is a kernel gone: no active tap of it is left
        for l, b in enumerate(before):
            touched = n.edges(l, b & ~n.effective_mask(l))
            assert not (touched & n.edges(l, n.effective_mask(l))).any()
        assert all(torch.equal(a, b) for a, b in zip(alive, n.alive))
    else:  # channels (and neurons) switched off, with every weight into and out of them
        gone = [a & ~b for a, b in zip(alive, n.alive)]
        assert sum(int(g.sum()) for g in gone) > 0 and not gone[0].any() and not gone[-1].any()
        assert all(bool(b.any(dim=1).all()) for b in n.alive)  # no layer emptied
        for k in range(1, n.n_layers):
            into, out = n.unit_weights(k, gone[k])
            assert not (n.masks[k - 1] & into).any() and not (n.masks[k] & out).any()
            assert bool((n.biases[k - 1][gone[k]] == 0).all())


@pytest.mark.parametrize("criterion,scope", PRUNE_PARTS)
def test_kernel_granularity_on_an_mlp_prunes_what_weight_granularity_prunes(criterion, scope):
    picks = []
    for granularity in ("weight", "kernel"):
        ctx = build_ctx(population=3, seeds=SEEDS)
        prune_once(criterion, scope, ctx, torch.tensor([7, 3, 1]), granularity)
        picks.append(masks_of(ctx))
    assert all(torch.equal(a, b) for a, b in zip(*picks))


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("criterion,scope", PRUNE_PARTS)
def test_prune_same_seed_same_masks(criterion, scope, net):
    results = []
    for _ in range(2):
        ctx = ctx_of(net, population=3, seeds=SEEDS)
        prune_once(criterion, scope, ctx, torch.tensor([4, 2, 4]))
        results.append(masks_of(ctx))
    assert all(torch.equal(a, b) for a, b in zip(*results))
    assert all(torch.equal(m[0], m[2]) for m in results[0]), "members sharing a seed prune alike"


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("criterion,scope", PRUNE_PARTS)
def test_prune_removes_the_lowest_scores_of_its_scope(criterion, scope, net):
    ctx = ctx_of(net, population=1, seeds=[5], density=None, steps=5)
    pruner = Pruner(criterion=criterion, scope=scope, min_age=0)
    crit = pruner.criterion
    stats = batch_stats(ctx, fisher=crit.needs_fisher) if crit.needs_gradients else None
    scores = crit.scores(ctx.net, stats)
    where = pruner.select(ctx, torch.tensor([20]), stats)
    assert sum(int(w.sum()) for w in where) == 20
    groups = [list(range(ctx.net.n_layers))] if scope == "global" else [[l] for l in range(ctx.net.n_layers)]
    last = ctx.net.n_layers - 1
    protected = [torch.zeros_like(m) for m in ctx.net.masks]
    protected[last] = strongest_incoming(ctx.net.masks[last], scores[last])  # each output keeps its best
    for layers in groups:
        removed = torch.cat([scores[l][where[l]] for l in layers])
        kept = torch.cat([scores[l][ctx.net.masks[l] & ~where[l] & ~protected[l]] for l in layers])
        if len(removed) and len(kept):
            assert float(removed.max()) <= float(kept.min())


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("name", PAPER_INITS)
def test_inits_keep_shapes_zero_inactive_weights_and_repeat_per_seed(name, net):
    ctx_masks = []
    for _ in range(2):
        ctx = ctx_of(net, population=3, seeds=SEEDS, density=None, steps=0)
        g = torch.Generator().manual_seed(0)
        params = {"core": [torch.rand(m.shape[1:], generator=g) > 0.5 for m in ctx.net.masks]} if name == "core" else {}
        INITS.make(name, **params).apply(ctx)
        for w, m in zip(ctx.net.weights, ctx.net.masks):
            assert w.shape == m.shape
            assert bool((w.detach()[~m] == 0).all())
        ctx_masks.append(masks_of(ctx))
    assert all(torch.equal(a, b) for a, b in zip(*ctx_masks))
    assert all(torch.equal(m[0], m[2]) for m in ctx_masks[0]), "members sharing a seed start alike"
