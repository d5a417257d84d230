"""The analyses on real runs: history column, false starts, export through the CLI, core init."""

import pytest
import torch

from growlab import Run
from growlab.analysis import (
    common_core,
    compact,
    false_start,
    prune_redundant,
    redundant_count,
    similarity,
)
from growlab.cli import main


def test_history_records_the_redundant_count_every_epoch():
    run = Run("heart", "16-8", "subnet", epochs=3, seed=1)
    h = run.run()
    assert "redundant" in h.columns and len(h["redundant"].dropna()) == 3
    assert int(h["redundant"].iloc[-1]) == int(redundant_count(run.network)[0])


def test_a_healthy_dense_run_is_not_a_false_start_and_a_cut_one_is():
    run = Run("heart", "16-8", "dense", epochs=60, seed=0)
    run.run()
    assert false_start(run) == (False, false_start(run)[1])
    run.network.set_mask(2, torch.zeros_like(run.network.masks[2]))  # cut every path to the output
    flag, reason = false_start(run)
    assert flag and "cannot be reached" in reason


def test_compact_model_predicts_what_the_run_predicts():
    run = Run("heart", "16-8", "random+prune", epochs=20, seed=2, sparsity=0.9)
    run.run()
    X = run.data.X_val
    model = compact(run.network)
    torch.testing.assert_close(torch.sigmoid(model(X))[:, 0].detach().numpy(), run.predict(X), rtol=1e-5, atol=1e-6)
    pruned, report = prune_redundant(run.network)
    assert int(report.counts[0]) == int(run.history["redundant"].iloc[-1])


def test_cli_report_and_export_load_with_plain_torch(tmp_path, capsys):
    archive, out = tmp_path / "r.growlab", tmp_path / "model.pt"
    assert main(["train", "--method", "subnet", "--epochs", "5", "--quiet", "--report", "--save", str(archive)]) == 0
    printed = capsys.readouterr().out
    assert "false start:" in printed and "redundant connections:" in printed and "compression" in printed
    run = Run.load(archive)
    for fmt in ("torch", "prune"):
        assert main(["export", str(archive), "--format", fmt, "--out", str(out)]) == 0
        assert "wrote" in capsys.readouterr().out
        blob = torch.load(out, weights_only=True)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(blob["sizes"][:-1], blob["sizes"][1:])):
            layers += [torch.nn.Linear(n_in, n_out)] + ([getattr(torch.nn, blob["activation"])()] if i < 2 else [])
        model = torch.nn.Sequential(*layers)
        if blob["pruned"]:
            for linear in model[::2]:
                torch.nn.utils.prune.identity(linear, "weight")
        model.load_state_dict(blob["state_dict"])
        p = torch.sigmoid(model(run.data.X_val))[:, 0].detach().numpy()
        torch.testing.assert_close(p, run.predict(run.data.X_val), rtol=1e-5, atol=1e-6)
        assert blob["feature_names"] == list(run.data.feature_names)
    assert main(["export", str(tmp_path / "missing.growlab"), "--out", str(out)]) == 2
    assert "no such archive" in capsys.readouterr().err


def test_a_run_starts_from_the_common_core_of_earlier_runs():
    runs = [Run("heart", "16-8", "subnet", epochs=1, seed=s) for s in range(4)]
    core = common_core([r.network for r in runs], q=0.5)
    assert sum(int(m.sum()) for m in core) > 0
    for method in ("subnet", "strategic+prune"):
        fresh = Run("heart", "16-8", method, epochs=2, seed=9, core=core)
        start = [fresh.network.effective_mask(l)[0].cpu() for l in range(3)]
        assert all(torch.equal(s, c) for s, c in zip(start, core))
        fresh.run()
    again = Run("heart", "16-8", "subnet", epochs=1, seed=9, core=core)
    assert similarity([again.network, *[r.network for r in runs]])[0, 0] == 1.0
    with pytest.raises(ValueError, match="core masks"):
        Run("heart", "8", "subnet", epochs=1, core=core)
