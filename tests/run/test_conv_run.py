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
    assert h["redundant"].isna().all()  # not computed for conv networks yet
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
     ("digits", ARCH, "prune", "method 'prune' does not run on conv networks yet"),
     ("digits", "c6k3-p2-c6k5", "dense", "5×5 kernel of 'c6k5' is larger than its 3×3 input"),
     ("digits", "c4096k3p1-c4096k3p1", "dense", "GiB")],
)
def test_conv_runs_that_cannot_work_are_refused_saying_why(dataset, arch, method, message):
    with pytest.raises(ValueError, match=message):
        Run(dataset, arch, method, epochs=1)


def test_analyses_of_a_conv_run_refuse_with_a_message():
    run = Run("digits", ARCH, epochs=1)
    with pytest.raises(ValueError, match="growlab.analysis.compact does not handle conv networks yet"):
        growlab.analysis.compact(run.network)


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


def test_cli_export_of_a_conv_run_says_it_is_not_supported_yet(tmp_path, capsys):
    path = tmp_path / "c.growlab"
    Run("digits", ARCH, epochs=1).save(path)
    assert main(["export", str(path), "--out", str(tmp_path / "m.pt")]) == 2
    assert "does not handle conv networks yet" in capsys.readouterr().err


def test_to_sequential_of_a_trained_conv_run_gives_its_outputs():
    run = Run("digits", ARCH, epochs=2, seed=1)
    run.run()
    seq = run.network.to_sequential(0)
    assert [type(m) for m in seq][:4] == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten]
    X = run.data.X_val[:16]
    torch.testing.assert_close(torch.softmax(seq(X.view(-1, 1, 8, 8)), -1).detach().numpy(), run.predict(X), atol=1e-5, rtol=1e-5)
    assert not math.isnan(run.history["val_loss"].iloc[-1])


def test_the_app_runner_refuses_conv_architectures_until_the_app_draws_them():
    from growlab.run.runner import build_run

    with pytest.raises(ValueError, match="not drawn in the app yet"):
        build_run({"dataset": "digits", "arch": ARCH, "epochs": 1})
