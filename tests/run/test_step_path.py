"""What ``Run.step`` records without extra passes: training metrics from the epoch itself,
structure counts kept until the structure changes, two restore points reused."""

from __future__ import annotations

import pytest

from growlab.analysis import redundant_count
from growlab.run import Run


@pytest.mark.parametrize("dataset, arch", [("heart", "16-8"), ("digits", "16")])
def test_the_rows_training_loss_is_the_epochs_own_mean_loss(dataset, arch):
    a, b = Run(dataset, arch, epochs=5, seed=3), Run(dataset, arch, epochs=5, seed=3)
    for _ in range(3):
        row = a.step()
        metrics = b.trainer.epoch_metrics(b.ctx.X_train, b.ctx.y_train)
        assert row["train_loss"] == float(metrics["loss"][0]) and row["train_acc"] == float(metrics["acc"][0])
        assert 0 <= row["train_acc"] <= 1


def test_regression_rows_carry_the_training_mse_in_the_targets_units():
    run = Run("diabetes", "8", epochs=3, seed=0)
    row = run.step()
    assert row["train_mse"] == pytest.approx(row["train_loss"] * run.data.target_std**2)


def test_structure_counts_follow_every_change_of_the_structure():
    run = Run("heart", "16-8", "prune", epochs=20, seed=0, sparsity=0.5)
    seen = set()
    for _ in range(6):
        row = run.step()
        net = run.network
        assert row["density"] == float(net.density()[0]) and row["active_params"] == int(net.n_params()[0])
        assert row["redundant"] == int(redundant_count(net)[0])
        seen.add(row["density"])
        run.cycle()  # a forced cycle between epochs: the next row sees it
    assert len(seen) > 1


def test_the_kept_states_live_in_two_restore_points():
    run = Run("heart", "16-8", "random+prune", epochs=12, seed=0, sparsity=0.8)
    run.run()
    assert run._sound is not None and run._sound["point"] in run._points
    assert run._sound["epoch"] == run.epoch - 1  # the state before the last epoch, which trained well
