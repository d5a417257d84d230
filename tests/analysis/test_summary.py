from analysis_helpers import T, build

from growlab.analysis import dense_params, size_table, summary


def test_summary_figures_on_a_hand_built_network():
    # 3-2-1: layer 0 keeps x0→h0, x1→h0, x2→h1; layer 1 keeps h0→o only (so x2→h1 is redundant)
    net = build((3, 2, 1), masks=[T([[1, 1, 0], [0, 0, 1]]), T([[1, 0]])])
    s = summary(net)
    assert s.layers[["connections", "possible", "redundant", "flops"]].values.tolist() == [[3, 6, 1, 6], [1, 2, 0, 2]]
    assert s.layers["density"].tolist() == [0.5, 0.5]
    t = s.totals
    assert dense_params((3, 2, 1)) == 11 == t["dense_params"]
    assert (t["connections"], t["params"], t["flops"], t["redundant"]) == (4, 7, 8, 1)  # 4 edges + 3 biases
    assert t["compact_params"] == 5  # x0→h0, x1→h0, h0→o + biases of h0 and o
    assert t["compression"] == 11 / 7 and t["compact_compression"] == 11 / 5
    text = str(s)
    assert "compression 1.57×" in text and "1 redundant" in text


def test_size_table_is_per_member():
    import torch

    m = torch.stack([T([[1, 1, 1], [1, 1, 1]]), T([[1, 1, 0], [0, 0, 1]])])
    net = build((3, 2, 1), masks=[m, T([[1, 0]])], population=2)
    table = size_table(net)
    assert table["redundant"].tolist() == [3, 1] and table["connections"].tolist() == [7, 4]
    assert summary(net, member=1).totals["compact_params"] == 5
