import pytest
import torch
from analysis_helpers import T, build
from torch.nn.utils import prune

from growlab.analysis import compact, compact_layers, load_export, save_export, to_torch_prune

ACTS = ("relu", "leaky_relu", "tanh", "sigmoid")


def messy(act="tanh", population=1):
    """Dead hidden neuron, an input-less neuron feeding the output, a dead end, a cut edge."""
    return build(
        (4, 4, 3, 2),
        masks=[T([[1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1], [1, 0, 0, 1]]),
               T([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]), T([[1, 1, 0], [1, 0, 0]])],
        alive={1: [True, True, True, False]}, activation=act, population=population,
    )  # fmt: skip


@pytest.mark.parametrize("act", ACTS)
def test_compact_model_matches_the_network_and_is_smaller(act):
    net = messy(act)
    model = compact(net)
    x = torch.randn(32, 4)
    torch.testing.assert_close(model(x), net(x)[0].detach(), rtol=1e-5, atol=1e-6)
    # only h0 and g0 lie on an input → output path (h1 is input-less, h2 → g2 a dead end)
    _, kept = compact_layers(net)
    assert kept == [[0, 1, 2, 3], [0], [0], [0, 1]]
    assert [m.weight.shape for m in model[::2]] == [(1, 4), (1, 1), (2, 1)]
    assert isinstance(model, torch.nn.Sequential) and type(model[1]).__module__.startswith("torch.nn")


def test_compact_picks_a_member_and_handles_a_network_with_no_path():
    pop = messy(population=2)
    x = torch.randn(8, 4)
    torch.testing.assert_close(compact(pop, member=1)(x), pop(x)[1].detach())
    cut = build((3, 2, 1), masks=[T([[0, 0, 0], [0, 0, 0]]), None], activation="sigmoid")
    model = compact(cut)  # outputs are constants: one zero placeholder unit per hidden layer
    assert [m.weight.shape for m in model[::2]] == [(1, 3), (1, 1)]
    torch.testing.assert_close(model(x[:, :3]), cut(x[:, :3])[0].detach())
    with pytest.raises(ValueError, match="member"):
        compact(pop, member=2)


def test_to_torch_prune_is_what_torch_prune_itself_builds():
    net = messy("relu")
    model = to_torch_prune(net)
    x = torch.randn(16, 4)
    assert prune.is_pruned(model)
    for lin in model[::2]:
        assert {n for n, _ in lin.named_parameters()} == {"weight_orig", "bias"}
        assert {n for n, _ in lin.named_buffers()} == {"weight_mask"}
        assert torch.equal(lin.weight, lin.weight_orig * lin.weight_mask)
    torch.testing.assert_close(model(x), net(x)[0].detach())
    # the same masks through prune.custom_from_mask on the plain model give the same state
    plain = compact(net)
    for lin, ref in zip(plain[::2], model[::2]):
        prune.custom_from_mask(lin, "weight", ref.weight_mask)
    assert plain.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(plain.state_dict()[k], v) for k, v in model.state_dict().items())
    # further pruning combines with ours; remove() makes it permanent
    prune.l1_unstructured(model[0], "weight", amount=1)
    assert int((model[0].weight_mask == 0).sum()) >= int((plain[0].weight_mask == 0).sum())
    for lin in model[::2]:
        prune.remove(lin, "weight")
    assert not prune.is_pruned(model)


@pytest.mark.parametrize("fmt", ["torch", "prune"])
def test_export_loads_with_plain_torch_only(tmp_path, fmt):
    net = messy("leaky_relu")
    path = tmp_path / "model.pt"
    save_export(net, path, fmt=fmt, meta={"feature_names": ["a", "b", "c", "d"], "format": "ignored"})
    # the snippet from growlab.analysis.export's docstring, verbatim in spirit: torch only
    blob = torch.load(path, weights_only=True)
    sizes, Act = blob["sizes"], getattr(torch.nn, blob["activation"])
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(Act())
    model = torch.nn.Sequential(*layers)
    if blob["pruned"]:
        for linear in model[::2]:
            torch.nn.utils.prune.identity(linear, "weight")
    model.load_state_dict(blob["state_dict"])
    model.eval()
    x = torch.randn(16, 4)
    torch.testing.assert_close(model(x), net(x)[0].detach())
    assert prune.is_pruned(model) == (fmt == "prune")
    assert blob["format"] == "growlab-model" and blob["feature_names"] == ["a", "b", "c", "d"]
    torch.testing.assert_close(load_export(path)(x), net(x)[0].detach())


def test_export_refuses_bad_format_and_foreign_files(tmp_path):
    with pytest.raises(ValueError, match="format"):
        save_export(messy(), tmp_path / "m.pt", fmt="onnx")
    torch.save({"x": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a growlab model"):
        load_export(tmp_path / "other.pt")
