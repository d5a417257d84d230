"""Initial structures: the random-walk sub-network, random sparse (Erdős–Rényi) and core."""

from __future__ import annotations

import pytest
import torch
from method_helpers import build_ctx

from growlab.engine import Network
from growlab.methods import make_method
from growlab.methods.inits import INITS, erdos_renyi_densities, random_sparse, random_walk


def reachable_outputs(masks: list[torch.Tensor], start: torch.Tensor) -> torch.Tensor:
    """Outputs reachable from the neurons ``start`` (bool over layer-0 neurons) through ``masks``."""
    h = start.float()
    for m in masks:
        h = (m.float() @ h > 0).float()  # (out,)
    return h.bool()


@pytest.mark.parametrize("sizes", [(27, 16, 8, 1), (10, 3, 7, 4), (6, 2, 5), (5, 12, 12, 12, 3)])
@pytest.mark.parametrize("seed", range(5))
def test_random_walk_connects_every_input_and_reaches_every_output(sizes, seed):
    masks = random_walk(sizes, sizes, torch.Generator().manual_seed(seed))
    for i in range(sizes[0]):
        alone = torch.zeros(sizes[0], dtype=torch.bool)
        alone[i] = True
        assert reachable_outputs(masks, alone).any(), f"input {i} has no path to an output"
    assert reachable_outputs(masks, torch.ones(sizes[0], dtype=torch.bool)).all(), "an output is unreached"


def test_random_walks_share_connections_where_they_meet():
    sizes = (27, 16, 8, 1)
    masks = random_walk(sizes, sizes, torch.Generator().manual_seed(0))
    # every input starts exactly one walk, and a neuron reached by several walks sends them on
    # along one shared connection: at most one outgoing connection per neuron
    assert masks[0].sum(dim=0).tolist() == [1] * 27
    for m in masks[1:]:
        assert int(m.sum(dim=0).max()) == 1
    # so 27 walks share far fewer than 27 connections in the later layers
    assert int(masks[1].sum()) < 27 and int(masks[2].sum()) <= 8


def test_subnet_matches_the_papers_sparsity():
    sizes = (27, 16, 8, 1)
    dens = [sum(int(m.sum()) for m in random_walk(sizes, sizes, torch.Generator().manual_seed(s))) / 568 for s in range(300)]
    assert 0.075 < sum(dens) / len(dens) < 0.09  # the paper reports ~92.1% sub-network sparsity


def test_subnet_is_the_same_for_a_seed_whatever_the_method():
    starts = []
    for method in ("subnet", "random", "strategic", "random+prune", "strategic+prune"):
        ctx = build_ctx(sizes=(27, 16, 8, 1), population=2, seeds=[7, 8], density=None, steps=0)
        make_method(method).setup(ctx)
        starts.append([m.clone() for m in ctx.net.masks])
    for other in starts[1:]:
        assert all(torch.equal(a, b) for a, b in zip(starts[0], other))
    assert not torch.equal(starts[0][0][0], starts[0][0][1]), "different seeds, different walks"


def test_erdos_renyi_densities_hit_the_overall_density_and_favour_small_layers():
    shapes = [(300, 784), (100, 300), (10, 100)]
    d = erdos_renyi_densities(shapes, 0.05)
    total = sum(o * i for o, i in shapes)
    assert sum(di * o * i for di, (o, i) in zip(d, shapes)) == pytest.approx(0.05 * total)
    assert d[0] < d[1] < d[2] <= 1


def test_random_sparse_counts_and_every_output_has_an_input():
    net = Network((27, 16, 8, 3))
    masks = random_sparse(net, 0.02, torch.Generator().manual_seed(0))
    assert all(bool(row) for row in masks[-1].any(dim=1).tolist())
    d = erdos_renyi_densities([(16, 27), (8, 16), (3, 8)], 0.02)
    assert [int(m.sum()) for m in masks[:2]] == [round(d[0] * 432), round(d[1] * 128)]


def test_random_init_density_per_member():
    ctx = build_ctx(sizes=(20, 20, 20, 2), population=2, seeds=[0, 0], density=None, steps=0)
    init = INITS.make("random")
    init.set_member_values(density=[0.1, 0.5])
    init.apply(ctx)
    n = ctx.net.n_active().tolist()
    total = ctx.net.n_possible()
    assert n[0] == pytest.approx(0.1 * total, abs=3) and n[1] == pytest.approx(0.5 * total, abs=3)


def test_core_init_takes_given_masks_broadcast_over_members():
    ctx = build_ctx(population=3, seeds=[0, 1, 2], density=None, steps=0)
    core = [torch.rand(m.shape[1:], generator=torch.Generator().manual_seed(l)) > 0.6 for l, m in enumerate(ctx.net.masks)]
    INITS.make("core", core=core).apply(ctx)
    for m, c in zip(ctx.net.masks, core):
        assert all(torch.equal(m[p], c) for p in range(3))


def test_core_masks_of_the_wrong_shape_are_refused_with_the_shapes_needed():
    ctx = build_ctx(population=1, density=None, steps=0)
    with pytest.raises(ValueError, match=r"needs \[\(6, 8\), \(5, 6\), \(3, 5\)\]"):
        INITS.make("core", core=[torch.ones(6, 8), torch.ones(5, 6)]).apply(ctx)
    with pytest.raises(ValueError, match="boolean masks"):
        INITS.make("core", core="not masks")
    with pytest.raises(ValueError, match="0/1"):
        INITS.make("core", core=[torch.full((6, 8), 0.5)])


def test_core_is_accepted_by_run_and_not_shown_in_forms():
    import growlab
    from growlab.methods import available

    ref = growlab.Run("heart", "16-8", "subnet", epochs=1, seed=3)
    run = growlab.Run("heart", "16-8", "strategic", epochs=1, seed=9, core=ref.network.masks)
    assert all(torch.equal(a, b) for a, b in zip(run.network.masks, ref.network.masks))
    assert all("core" not in d["params"] for d in available().values())
    with pytest.raises(ValueError, match="only applies at the start"):
        run.set(core=None)
