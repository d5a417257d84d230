import torch

from growlab.analysis import reachability, redundant_connections, redundant_count
from analysis_helpers import T, build


def chain_net():
    """3 inputs → 3 hidden → 2 hidden → 1 output, with known dead ends.

    layer 0: h0 ← x0, h1 ← x1; h2 has no input (input-less), x2 feeds nothing.
    layer 1: g0 ← h0, g0 ← h2, g1 ← h1.
    layer 2: o ← g0 only (g1 reaches no output).
    """
    return build(
        (3, 3, 2, 1),
        masks=[T([[1, 0, 0], [0, 1, 0], [0, 0, 0]]), T([[1, 0, 1], [0, 1, 0]]), T([[1, 0]])],
    )


def test_forward_and_backward_sets_on_a_hand_built_network():
    r = reachability(chain_net())
    assert [f[0].tolist() for f in r.forward] == [
        [True, True, True], [True, True, False], [True, True], [True],
    ]  # fmt: skip
    assert [b[0].tolist() for b in r.backward] == [
        [True, False, False], [True, False, True], [True, False], [True],
    ]  # fmt: skip
    assert [p[0].tolist() for p in r.on_path] == [
        [True, False, False], [True, False, False], [True, False], [True],
    ]  # fmt: skip
    assert r.connected.tolist() == [True]


def test_redundant_connections_are_those_off_every_input_output_path():
    red = redundant_connections(chain_net())
    # layer 0: x1→h1 (h1 reaches nothing); layer 1: h2→g0 (no input), h1→g1; layer 2: none
    assert red.per_layer.tolist() == [[1, 2, 0]]
    assert red.masks[0][0].tolist() == T([[0, 0, 0], [0, 1, 0], [0, 0, 0]]).tolist()
    assert red.masks[1][0].tolist() == T([[0, 0, 1], [0, 1, 0]]).tolist()
    assert red.no_input[1][0].tolist() == T([[0, 0, 1], [0, 0, 0]]).tolist()
    assert red.no_output[1][0].tolist() == T([[0, 0, 0], [0, 1, 0]]).tolist()
    assert redundant_count(chain_net()).tolist() == [3]
    frame = red.frame(chain_net())
    assert sorted(zip(frame.layer, frame.source, frame.target)) == [(0, 1, 1), (1, 1, 1), (1, 2, 0)]


def test_dead_neurons_block_paths_even_with_edge_masks_on():
    net = build((2, 2, 1), alive={1: [True, False]})  # dense edges, hidden 1 dead
    r = reachability(net)
    assert r.forward[1][0].tolist() == [True, False]
    assert r.backward[1][0].tolist() == [True, False]
    assert redundant_count(net).tolist() == [0]  # dead neurons' edges are not active at all


def test_unreachable_output_and_dense_network():
    cut = build((2, 2, 1), masks=[T([[0, 0], [0, 0]]), None])
    assert reachability(cut).connected.tolist() == [False]
    assert redundant_count(cut).tolist() == [2]  # both hidden→output edges carry nothing
    dense = build((4, 3, 2))
    assert redundant_count(dense).tolist() == [0]
    assert reachability(dense).connected.tolist() == [True]


def test_members_are_computed_independently():
    masks0 = torch.stack([T([[1, 1], [1, 1]]), T([[1, 1], [0, 0]])])  # (P=2, 2, 2)
    net = build((2, 2, 1), masks=[masks0, T([[1, 0]])], population=2)
    # member 0: h1 reaches no output → its 2 inputs redundant; member 1: h1 input-less → nothing
    # active into it, and h1→o is masked off, so nothing redundant
    assert redundant_count(net).tolist() == [2, 0]
    one = build((2, 2, 1), masks=[masks0[1], T([[1, 0]])])
    assert torch.equal(reachability(net).forward[1][1], reachability(one).forward[1][0])
