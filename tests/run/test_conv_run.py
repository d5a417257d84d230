"""Conv networks through the Run API and the CLI (kept on ``digits``' 8×8 images but one test)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import growlab
from growlab import Run
from growlab.cli import main

ARCH = "c6k3-p2-32"  # 8×8 → 6×6 → 3×3 maps, 54 flattened columns, 32 neurons


def test_a_conv_run_trains_on_digits_and_records_its_history():
    run = Run("digits", ARCH, "dense", epochs=6, seed=0)
    net = run.network
    assert net.n_conv == 1 and net.image == (1, 8, 8) and net.sizes == (1, 6, 32, 10)
    assert net.weights[0].shape == (1, 6, 1, 3, 3) and net.weights[1].shape == (1, 32, 54)
    h = run.run()
    assert h["val_acc"].iloc[-1] > 0.8 > h["val_acc"].iloc[0] - 0.3  # chance is 0.1
    params = 6 * 9 + 6 + 54 * 32 + 32 + 32 * 10 + 10
    assert (h["active_params"] == params).all() and (h["density"] == 1.0).all()
    assert (h["redundant"] == 0).all()  # dense: every kernel lies on an input → output path
    probs = run.predict(run.data.X_val[:5])
    assert probs.shape == (5, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert "c6k3-p2-32" in repr(run)


def test_a_conv_run_saved_loaded_and_continued_equals_an_uninterrupted_one(tmp_path):
    kw = dict(dataset="digits", arch="c4k3p1-p2-c8k2-16", method="dense", epochs=6, seed=3, batch_size=200)
    a = Run(**kw)
    a.run(epochs=3)
    path = tmp_path / "conv.growlab"
    a.save(path)
    b = Run.load(path)
    assert b.network.kernels == a.network.kernels and b.history.equals(a.history)
    a.run()
    b.run()
    c = Run(**kw)
    c.run()
    assert a.history.equals(b.history) and c.history.equals(b.history)
    for x, y, z in zip(a.network.parameters(), b.network.parameters(), c.network.parameters()):
        assert torch.equal(x, y) and torch.equal(x, z)


@pytest.mark.parametrize(
    "dataset, arch, method, message",
    [("heart", "lenet-5", "dense", "dataset 'heart' is tabular .* mnist5k \\(1×28×28\\), digits \\(1×8×8\\)"),
     ("digits", "lenet-5", "dense", "does not fit 8×8 images"),
     ("digits", "c6k3-p2-c6k5", "dense", "5×5 kernel of 'c6k5' is larger than its 3×3 input"),
     ("digits", "c4096k3p1-c4096k3p1", "dense", "GiB")],
)
def test_conv_runs_that_cannot_work_are_refused_saying_why(dataset, arch, method, message):
    with pytest.raises(ValueError, match=message):
        Run(dataset, arch, method, epochs=1)


def test_cli_trains_lenet5_and_saves_a_conv_archive(tmp_path, capsys):
    path = tmp_path / "lenet.growlab"
    assert main(["train", "--dataset", "mnist5k", "--arch", "lenet-5", "--epochs", "1", "--quiet", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    total = 6 * 25 + 6 + 16 * 6 * 25 + 16 + 256 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    assert f"active params {total}/{total}" in out and "val_acc" in out
    run = Run.load(path)  # growlab.Run("mnist5k", "lenet-5") as the CLI built and trained it
    assert run.network.sizes == (1, 6, 16, 120, 84, 10) and run.network.weights[2].shape == (1, 120, 256)
    assert run.history["val_acc"].iloc[-1] > 0.6  # one epoch of 32 batches; ~97% after 30 (benchmarks/bench_conv.py)


@pytest.mark.parametrize(
    "argv, message",
    [(["train", "--arch", "lenet-5", "--epochs", "1"], "conv layers, which read images"),
     (["train", "--dataset", "digits", "--arch", "c6k5-p2-p2"], "must follow a conv layer")],
)
def test_cli_refuses_conv_architectures_that_cannot_work(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_trains_a_pruned_conv_run_reports_saves_and_exports_it(tmp_path, capsys):
    path, out = tmp_path / "c.growlab", tmp_path / "m.pt"
    argv = ["train", "--dataset", "digits", "--arch", ARCH, "--method", "prune", "--epochs", "3", "--quiet",
            "--granularity", "kernel", "--sparsity", "0.7", "--schedule", "constant", "--report", "--save", str(path)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "redundant connections:" in text and "conv 3×3 + pool 2" in text and "compression" in text
    run = Run.load(path)
    assert run.config.method == "prune" and run.method.get_params()["granularity"] == "kernel"
    assert main(["export", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    blob = torch.load(out, weights_only=True)
    sizes = "-".join(map(str, blob["sizes"][2:]))  # dense neurons left on a path, then the outputs
    assert f"conv channels 1-{blob['sizes'][1]} on 1×8×8 images, dense {sizes}" in printed and "FLOPs per example" in printed
    model = growlab.analysis.load_export(out)
    X = run.data.X_val[:8]
    torch.testing.assert_close(model(X.view(-1, 1, 8, 8)), run.network(X)[0], atol=1e-5, rtol=1e-5)


def test_train_saves_the_archive_before_the_report(tmp_path, capsys, monkeypatch):
    import growlab.analysis

    def broken(run):
        raise ValueError("report failed")

    monkeypatch.setattr(growlab.analysis, "run_report", broken)
    path = tmp_path / "kept.growlab"
    assert main(["train", "--dataset", "digits", "--arch", ARCH, "--epochs", "1", "--quiet", "--report", "--save", str(path)]) == 2
    assert "report failed" in capsys.readouterr().err and Run.load(path).epoch == 1


METHOD_PARAMS = {
    "prune": {"sparsity": 0.7, "granularity": "channel", "schedule": "steps", "prune_per_cycle": 60},
    "random": {"sparsity": 0.6}, "strategic": {"sparsity": 0.6}, "random+prune": {"sparsity": 0.6},
    "strategic+prune": {"sparsity": 0.6}, "gradient+prune": {"sparsity": 0.6, "interval": 1},
    "nest": {"interval": 1, "max_width": 1.5, "map_candidates": 2}, "lottery": {"rounds": 2},
    "odf2nna": {"epsilon": 0.05},
}  # fmt: skip


@pytest.mark.parametrize("method", sorted(growlab.methods.METHODS.names()))
def test_every_method_runs_on_a_conv_net_and_resumes_bit_exact(method, tmp_path):
    kw = dict(dataset="digits", arch="c4k3-p2-c6k2-16", method=method, epochs=6, seed=2, **METHOD_PARAMS.get(method, {}))
    a = Run(**kw)
    a.run(epochs=3)
    path = tmp_path / "r.growlab"
    a.save(path)
    b = Run.load(path)
    a.run()
    b.run()
    c = Run(**kw)
    c.run()
    assert a.history.equals(b.history) and c.history.equals(b.history)
    assert a.events.equals(b.events) and c.events.equals(b.events)
    for x, y, z in zip(a.network.parameters(), b.network.parameters(), c.network.parameters()):
        assert torch.equal(x, y) and torch.equal(x, z)
    assert all(torch.equal(m, n) for m, n in zip(a.network.alive, b.network.alive))
    if method not in ("dense", "subnet"):
        assert int(a.history.grown.sum() + a.history.pruned.sum()) + len(a.events) > 0, "the structure changed"


def test_nest_on_lenet5_grows_feature_maps_on_mnist5k():
    run = growlab.Run("mnist5k", "lenet-5", "nest", epochs=4, interval=1, max_width=1.5, map_candidates=2)
    widths = run.network.widths()[0].tolist()
    assert widths == [1, 3, 8, 60, 42, 10] and run.network.capacity == (1, 9, 24, 180, 126, 10)
    run.step()
    assert run.network.widths()[0].tolist()[1:5] == [4, 9, 61, 43]  # one map or neuron per hidden layer
    assert (run.events.kind == "neuron_grow").sum() == 4


def test_a_grid_trains_conv_members_batched_in_one_population():
    from growlab.experiment import grid
    from growlab.experiment.plan import make_groups

    groups = make_groups(["random+prune"], (0, 1), (0.6, 0.8), {})
    assert [g.population for g in groups] == [4]  # every seed × threshold in one population
    r = grid("digits", "c4k3-p2-16", ["dense", "random+prune"], seeds=2, thresholds=(0.6, 0.8), epochs=3)
    assert len(r.frame) == 8 and r.dataset_info["network"] == "1×8×8-c4k3-p2-16-10"
    nets = r.networks["random+prune"]
    assert len(nets) == 1 and nets[0].population == 4 and nets[0].n_conv == 1
    rows = r.frame.set_index(["method", "threshold", "seed"])
    alone = Run("digits", "c4k3-p2-16", "random+prune", epochs=3, seed=1, sparsity=0.8)
    history = alone.run()
    # grouped convolutions are reproducible, not guaranteed bit-identical across population sizes
    assert abs(rows.loc[("random+prune", 0.8, 1), "val_acc"] - history.val_acc.iloc[-1]) <= 0.02
    assert rows.loc[("random+prune", 0.8, 1), "active"] == int(alone.network.n_active()[0])
    assert (r.frame["redundant"] >= 0).all()


def test_to_sequential_of_a_trained_conv_run_gives_its_outputs():
    run = Run("digits", ARCH, epochs=2, seed=1)
    run.run()
    seq = run.network.to_sequential(0)
    assert [type(m) for m in seq][:4] == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten]
    X = run.data.X_val[:16]
    torch.testing.assert_close(torch.softmax(seq(X.view(-1, 1, 8, 8)), -1).detach().numpy(), run.predict(X), atol=1e-5, rtol=1e-5)
    assert not math.isnan(run.history["val_loss"].iloc[-1])


def test_the_app_runner_builds_conv_runs_and_refuses_them_on_tables():
    from growlab.run.runner import build_run

    assert build_run({"dataset": "digits", "arch": ARCH, "epochs": 1}).network.n_conv > 0
    with pytest.raises(ValueError, match="tabular"):
        build_run({"dataset": "heart", "arch": ARCH, "epochs": 1})