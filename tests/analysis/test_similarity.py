import pytest
import torch
from analysis_helpers import T, build

from growlab.analysis import common_core, similarity

A = T([[1, 1, 0], [0, 1, 0]])  # layer 0 masks, (2, 3)
B = T([[1, 0, 0], [0, 1, 1]])
C = T([[0, 0, 1], [1, 0, 0]])
OUT = T([[1, 1]])  # layer 1, shared by all


def nets():
    return [build((3, 2, 1), masks=[m, OUT]) for m in (A, B, C)]


def test_jaccard_matrix_on_hand_built_masks():
    sim = similarity(nets())
    # |A|=5, |B|=5, |C|=4 (with the 2 shared output edges); A∩B=4, A∩C=2, B∩C=2
    expected = torch.tensor([[1, 4 / 6, 2 / 7], [4 / 6, 1, 2 / 7], [2 / 7, 2 / 7, 1]], dtype=torch.float64)
    torch.testing.assert_close(sim, expected)
    assert torch.equal(sim, sim.T) and torch.equal(sim.diagonal(), torch.ones(3, dtype=torch.float64))


def test_population_members_are_items_and_mix_with_single_networks():
    pop = build((3, 2, 1), masks=[torch.stack([A, B]), OUT], population=2)
    single = build((3, 2, 1), masks=[C, OUT])
    torch.testing.assert_close(similarity([pop, single]), similarity(nets()))
    torch.testing.assert_close(similarity(pop), similarity(nets()[:2]))


def test_empty_sets_and_dead_neurons():
    empty = [build((2, 1), masks=[T([[0, 0]])]) for _ in range(2)]
    assert similarity(empty).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    # a dead neuron's edges are not active, whatever the edge mask says
    dead = build((3, 2, 1), masks=[A, OUT], alive={1: [True, False]})
    alive_only = build((3, 2, 1), masks=[T([[1, 1, 0], [0, 0, 0]]), T([[1, 0]])])
    assert similarity([dead, alive_only]).tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_common_core_thresholds():
    core = common_core(nets(), q=2 / 3)
    assert core[0].tolist() == T([[1, 0, 0], [0, 1, 0]]).tolist()  # in A and B
    assert core[1].tolist() == [[True, True]]
    assert common_core(nets(), q=1.0)[0].sum() == 0  # nothing in all three
    assert common_core(nets(), q=0.01)[0].tolist() == (A | B | C).tolist()
    assert core[0].dtype == torch.bool and core[0].shape == (2, 3)


def test_bad_inputs_say_what_is_expected():
    with pytest.raises(ValueError, match="q must be"):
        common_core(nets(), q=0)
    with pytest.raises(ValueError, match="same layout|share one layout"):
        similarity([build((3, 2, 1)), build((3, 4, 1))])
    with pytest.raises(ValueError, match="Network"):
        similarity([])
