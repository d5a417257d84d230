"""Analyses of conv networks on their channel graph, on a hand-built net with known answers.

The net: 2-channel 5×5 images → conv 2×2 (3 maps, 4×4, max-pool 2 → 2×2) → conv 1×1 (2 maps,
2×2) → flatten (8 columns) → 3 neurons → 1 output, with these kernels (channel-graph edges):

- layer 0: 0←0 (one tap of four), 1←1 (every tap); map 2 has no input (a constant map);
- layer 1: 0←0, 0←2, 1←1;
- layer 2 (flatten): neuron 0 ← map 0 (one column of its four), neuron 2 ← map 1 (its block);
- layer 3: output ← neuron 0.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from growlab import Run, analysis
from growlab.config import ConvShape
from growlab.engine import Network


def kernel_net(population: int = 1, activation: str = "relu", padding: int = 0) -> Network:
    net = Network(
        (2, 3, 2, 3, 1), population=population, activation=activation, task="regression", seeds=range(population),
        image=(2, 5, 5), kernels=(ConvShape(2, pool=2), ConvShape(1 + 2 * padding, padding=padding)), device="cpu",
    )  # fmt: skip
    m = [torch.zeros_like(x) for x in net.masks]
    m[0][:, 0, 0, 0, 1] = True  # one tap of kernel 0←0
    m[0][:, 1, 1] = True  # every tap of kernel 1←1
    for o, i in ((0, 0), (0, 2), (1, 1)):
        m[1][:, o, i] = True
    m[2][:, 0, 0 * 4 + 3] = True  # one column of map 0's block into neuron 0
    m[2][:, 2, 4:8] = True  # map 1's whole block into neuron 2
    m[3][:, 0, 0] = True
    for l, mask in enumerate(m):
        net.set_mask(l, torch.zeros_like(mask))
        net.set_mask(l, mask, values=torch.full(mask.shape, 0.3))
    with torch.no_grad():
        for b in net.biases:
            b.fill_(0.2)
    net.refresh()
    return net


def images(n: int = 9) -> torch.Tensor:
    return torch.randn(n, 50, generator=torch.Generator().manual_seed(0))


def test_reachability_is_per_channel_and_a_kernel_is_active_when_any_tap_is():
    r = analysis.reachability(kernel_net())
    assert [f[0].tolist() for f in r.forward] == [[True, True], [True, True, False], [True, True], [True, False, True], [True]]
    assert [b[0].tolist() for b in r.backward] == [[True, False], [True, False, True], [True, False], [True, False, False], [True]]
    assert [p[0].tolist() for p in r.on_path] == [[True, False], [True, False, False], [True, False], [True, False, False], [True]]
    assert r.connected.tolist() == [True]


def test_redundant_connections_count_every_tap_of_a_redundant_kernel():
    net = kernel_net(population=2)
    red = analysis.redundant_connections(net)
    # layer 0: kernel 1←1 (4 taps, map 1 reaches no output); layer 1: 0←2 (no input) and 1←1;
    # layer 2: map 1's block into neuron 2 (4 columns); layer 3: none
    assert red.per_layer.tolist() == [[4, 2, 4, 0]] * 2
    assert red.masks[0].shape == net.masks[0].shape and bool(red.masks[0][0, 1, 1].all())
    assert bool(red.no_input[1][0, 0, 2].all()) and not red.no_input[1][0, 0, 0].any()
    assert analysis.redundant_count(net).tolist() == [10, 10]
    frame = red.frame(net)
    assert len(frame) == 10 and set(zip(frame.layer, frame.source, frame.target)) == {(0, 1, 1), (1, 2, 0), (1, 1, 1), (2, 1, 2)}


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_dag_pruning_folds_a_constant_map_and_keeps_every_output(activation):
    net = kernel_net(population=2, activation=activation)
    pruned, report = analysis.prune_redundant(net)
    assert report.counts.tolist() == [10, 10]
    assert report.constant[1][0].tolist() == [False, False, True]  # map 2: act(0.2) everywhere
    # its value act(0.2) reaches map 0 of the next layer through a 1×1 kernel of weight 0.3
    assert float(report.bias_shift[1][0, 0]) == pytest.approx(0.3 * float(report.values[1][0, 2]))
    X = images()
    torch.testing.assert_close(pruned(X), net(X), atol=1e-6, rtol=1e-6)
    assert analysis.redundant_count(pruned).tolist() == [0, 0]


def test_dag_pruning_keeps_a_constant_map_that_a_zero_padded_kernel_reads():
    net = kernel_net(padding=1)  # conv 3×3 with padding 1: a constant map is not constant after it
    pruned, report = analysis.prune_redundant(net)
    assert report.held[1][0].tolist() == [False, False, True] and "kept" in report.describe()
    assert pruned.effective_mask(1)[0, 0, 2].any()  # its kernel stays
    X = images()
    torch.testing.assert_close(pruned(X), net(X), atol=1e-6, rtol=1e-6)
    model = analysis.compact(net)
    torch.testing.assert_close(model(X.view(-1, 2, 5, 5)), net(X)[0], atol=1e-6, rtol=1e-6)


def test_compact_gives_conv2d_layers_with_dead_channels_physically_removed():
    net = kernel_net(population=2, activation="tanh")
    model = analysis.compact(net, member=1)
    assert [type(m) for m in model] == [nn.Conv2d, nn.Tanh, nn.MaxPool2d, nn.Conv2d, nn.Tanh, nn.Flatten, nn.Linear, nn.Tanh, nn.Linear]
    assert [tuple(m.weight.shape) for m in model if hasattr(m, "weight")] == [(1, 2, 2, 2), (1, 1, 1, 1), (1, 4), (1, 1)]
    X = images()
    torch.testing.assert_close(model(X.view(-1, 2, 5, 5)), net(X)[1], atol=1e-6, rtol=1e-6)
    _, kept = analysis.compact_layers(net)
    assert kept == [[0, 1], [0], [0], [0], [0]]


def test_a_trained_conv_run_compacts_to_a_smaller_model_with_its_outputs():
    run = Run("digits", "c6k3-p2-c8k2-24", "prune", epochs=4, seed=0, sparsity=0.8, granularity="channel",
              schedule="constant")  # fmt: skip
    run.run()
    widths = run.network.widths()[0].tolist()
    model = analysis.compact(run.network)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == widths[1:3] and sum(widths[1:3]) < 14  # removed channels are gone
    X = run.data.X_val[:32]
    torch.testing.assert_close(model(X.view(-1, 1, 8, 8)), run.network(X)[0], atol=1e-5, rtol=1e-5)
    pruned = analysis.to_torch_prune(run.network)
    assert prune.is_pruned(pruned) and all(hasattr(m, "weight_mask") for m in pruned if isinstance(m, (nn.Conv2d, nn.Linear)))
    torch.testing.assert_close(pruned(X.view(-1, 1, 8, 8)), model(X.view(-1, 1, 8, 8)))


@pytest.mark.parametrize("fmt", ["torch", "prune"])
def test_a_conv_export_loads_in_plain_torch_from_its_module_list(tmp_path, fmt):
    net = kernel_net()
    path = tmp_path / "m.pt"
    analysis.save_export(net, path, fmt=fmt)
    blob = torch.load(path, weights_only=True)
    assert blob["image"] == [2, 5, 5] and blob["kernels"] == [[2, 1, 0, 2], [1, 1, 0, 1]]
    model = torch.nn.Sequential(*(getattr(torch.nn, name)(*args) for name, *args in blob["modules"]))  # the documented loader
    if blob["pruned"]:
        for layer in model:
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
                torch.nn.utils.prune.identity(layer, "weight")
    model.load_state_dict(blob["state_dict"])
    X = images()
    torch.testing.assert_close(model(X.view(-1, *blob["image"])), net(X)[0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(analysis.load_export(path)(X.view(-1, 2, 5, 5)), net(X)[0], atol=1e-6, rtol=1e-6)


def test_an_export_naming_other_modules_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    blob = analysis.save_export(kernel_net(), path)
    torch.save({**blob, "modules": [["Identity"], *blob["modules"]]}, path)
    with pytest.raises(ValueError, match="unexpected layers"):
        analysis.load_export(path)


def test_summary_counts_conv_flops_at_every_output_position():
    s = analysis.summary(kernel_net())
    assert s.layers["kind"].tolist() == ["conv 2×2 + pool 2", "conv 1×1", "flatten → dense", "dense"]
    assert s.layers["connections"].tolist() == [5, 3, 5, 1]
    # taps × positions of the map they write (4×4 before pooling, then 2×2), dense weights once
    assert s.layers["flops"].tolist() == [2 * 5 * 16, 2 * 3 * 4, 2 * 5, 2]
    t = s.totals
    assert t["flops"] == 196 and t["dense_flops"] == 2 * (2 * 3 * 4 * 16 + 3 * 2 * 4 + 2 * 4 * 3 + 3)
    assert t["dense_params"] == 2 * 3 * 4 + 3 + 3 * 2 + 2 + 8 * 3 + 3 + 3 + 1
    assert t["params"] == 14 + 3 + 2 + 3 + 1 and t["redundant"] == 10
    assert t["compact_flops"] == 196 - 2 * (4 * 16 + 2 * 4 + 4)
    assert "parameters" in str(s)


def test_similarity_and_the_common_core_compare_kernels_not_taps():
    net = kernel_net(population=2)
    m = net.masks[0].clone()
    m[1, 0, 0] = False
    m[1, 0, 0, 1, 1] = True  # member 1 uses another tap of the same kernel 0←0
    net.set_mask(0, m, values=torch.full(m.shape, 0.3))
    assert not torch.equal(net.masks[0][0], net.masks[0][1])
    assert analysis.similarity(net).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    core = analysis.common_core(net, q=1.0)
    assert core[0].shape == (3, 2, 2, 2) and bool(core[0][0, 0].all()) and not core[0][2].any()
    other = Network((2, 3, 2, 3, 1), image=(2, 5, 5), kernels=(ConvShape(3, pool=2), ConvShape(1)), device="cpu")
    with pytest.raises(ValueError, match="layout"):
        analysis.similarity([net, other])


def test_false_starts_and_the_run_report_of_a_conv_run():
    run = Run("digits", "c4k3-p2-16", "random+prune", epochs=3, seed=0, sparsity=0.7)
    run.run()
    cut = kernel_net()
    cut.set_mask(3, torch.zeros_like(cut.masks[3]))  # the output has no kernel left: rule (a)
    verdicts = analysis.false_start_from([[0.9]], 0.1, cut, epochs=1)
    assert verdicts.flags.tolist() == [True] and verdicts.rules.tolist() == [1]
    flag, reason = analysis.false_start(run)
    assert reason and verdicts.reasons[0] != reason
    text = analysis.run_report(run)
    assert "redundant connections" in text and "conv 3×3 + pool 2" in text
