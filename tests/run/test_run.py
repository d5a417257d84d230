import os
import pickle

import numpy as np
import pytest
import torch

import growlab
from growlab import Run
from growlab.engine import Network, Optimizer, Trainer, evaluate
from growlab.config import TrainConfig


@pytest.mark.parametrize("dataset, quality", [
    ("heart", ["train_acc", "val_acc", "val_auc", "val_f1"]), ("diabetes", ["train_mse", "val_mse"]),
])  # fmt: skip
def test_history_has_one_row_per_epoch_with_documented_columns(dataset, quality):
    """The columns DESIGN §6 documents, in order, for a classification and a regression run."""
    run = Run(dataset, "16-8", "dense", epochs=4, seed=0)
    h = run.run()
    columns = ["epoch", "train_loss", "val_loss", *quality, "density", "active_params", "grown", "pruned", "redundant"]
    assert list(h.columns) == columns and all(list(row) == columns for row in run.rows())
    assert h["epoch"].tolist() == [1, 2, 3, 4] and not h.isna().any().any()
    n = run.data.n_inputs
    assert (h["density"] == 1.0).all() and (h["active_params"] == n * 16 + 16 * 8 + 8 + 16 + 8 + 1).all()
    assert (h[["grown", "pruned", "redundant"]] == 0).all().all()
    assert run.done and run.status == "finished" and run.step() is None


def test_step_and_run_epochs():
    run = Run("moons", "4-2", epochs=10)
    assert run.step()["epoch"] == 1
    run.run(epochs=3)
    assert run.epoch == 4
    run.run(epochs=100)
    assert run.epoch == 10


def test_regression_history_has_mse_instead_of_accuracy():
    run = Run("diabetes", "8", epochs=3)
    h = run.run()
    assert "val_mse" in h and "val_acc" not in h and "val_auc" not in h
    assert h["val_mse"].iloc[-1] > 100  # original units (target std ≈ 77)


def test_predict_shapes_and_units():
    bin_run, mc_run, reg_run = Run("heart", epochs=2), Run("iris", "8", epochs=2), Run("diabetes", "8", epochs=2)
    for r in (bin_run, mc_run, reg_run):
        r.run()
    p = bin_run.predict(bin_run.data.X_val)
    assert p.shape == (61,) and ((p >= 0) & (p <= 1)).all()
    p = mc_run.predict(mc_run.data.X_val.numpy())
    assert p.shape == (30, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    v = reg_run.predict(reg_run.data.X_val.tolist())
    assert v.shape == (reg_run.data.n_val,) and 50 < v.mean() < 300
    with pytest.raises(ValueError, match=r"shape \(n, 27\)"):
        bin_run.predict(np.zeros((3, 5)))


def test_arch_and_names_are_validated():
    with pytest.raises(ValueError, match="cannot read architecture"):
        Run(arch="16--8")
    with pytest.raises(ValueError, match="unknown method 'dens'; valid: dense"):
        Run(method="dens")
    with pytest.raises(ValueError, match="unknown dataset"):
        Run(dataset="hart")
    with pytest.raises(ValueError, match="no parameter sigma"):
        Run(method="dense", sigma=1.0)
    with pytest.raises(ValueError, match="GiB"):
        Run("mnist5k", "100000-100000")


def test_save_load_continue_equals_an_uninterrupted_run(tmp_path):
    kw = dict(dataset="moons", arch="8-4", epochs=12, seed=5, batch_size=32, dataset_options={"noise": 0.2})
    a = Run(**kw)
    a.run(epochs=5)
    a.set(lr=0.01)
    path = tmp_path / "a.growlab"
    a.save(path)
    b = Run.load(path)
    assert b.epoch == 5 and b.history.equals(a.history)
    a.run()
    b.run()
    c = Run(**kw)
    c.run(epochs=5)
    c.set(lr=0.01)
    c.run()
    assert a.history.equals(b.history) and c.history.equals(b.history)
    assert a.events.equals(b.events)
    for x, y in zip(a.network.parameters(), b.network.parameters()):
        assert torch.equal(x, y)


def test_archive_is_read_with_weights_only(tmp_path):
    run = Run(epochs=1)
    run.run()
    path = tmp_path / "r.growlab"
    run.save(path)
    archive = torch.load(path, weights_only=True)
    assert archive["format"] == "growlab-run"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_csv_runs_keep_their_data_in_the_archive(tmp_path):
    text = "a,b,label\n" + "\n".join(f"{i},{i % 7},{i % 2}" for i in range(40))
    csv = tmp_path / "d.csv"
    csv.write_text(text)
    run = Run(growlab.load_dataset("csv", path=csv, target="label"), "4", epochs=2)
    run.run(epochs=1)
    run.save(tmp_path / "c.growlab")
    csv.unlink()
    back = Run.load(tmp_path / "c.growlab")
    back.run()
    assert back.epoch == 2 and back.data.feature_names == ("a", "b")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/growlab-pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize(
    "content, match",
    [
        (b"not a zip at all", "not a readable growlab run archive"),
        (b"", "not a readable growlab run archive"),
        ("foreign", "not a growlab run archive"),
        ("evil", "not a readable growlab run archive"),
        ("truncated", "not a readable growlab run archive"),
    ],
)
def test_corrupted_or_foreign_archives_give_clear_errors(tmp_path, content, match):
    path = tmp_path / "x.growlab"
    if content == "foreign":
        torch.save({"state_dict": torch.zeros(3)}, path)
    elif content == "evil":
        with open(path, "wb") as f:
            pickle.dump(Evil(), f)
    elif content == "truncated":
        run = Run(epochs=1)
        run.save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        Run.load(path)
    assert not os.path.exists("/tmp/growlab-pwned")


def test_missing_archive():
    with pytest.raises(FileNotFoundError):
        Run.load("/nonexistent/x.growlab")


def test_failed_save_leaves_the_previous_archive_intact(tmp_path, monkeypatch):
    run = Run(epochs=2)
    path = tmp_path / "r.growlab"
    run.save(path)
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("growlab.run.archive.torch.save", broken_save)
    run.run()
    with pytest.raises(OSError, match="disk full"):
        run.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.growlab"]


def test_divergence_pauses_on_the_last_state_that_trains_and_records_nan():
    run = Run("heart", "16-8", epochs=30, optimizer="sgd", lr=100.0, activation="leaky_relu", seed=0)
    h = run.run()
    assert run.status == "diverged"
    assert len(h) < 30 and run.epoch == len(h)
    assert run.network.is_finite()
    ev = run.events
    assert ev["kind"].tolist()[-1] == "nan" and "lower the learning rate" in ev["cause"].iloc[-1]
    # the kept state is exactly the state after that epoch of a run that never diverged
    fresh = Run("heart", "16-8", epochs=30, optimizer="sgd", lr=100.0, activation="leaky_relu", seed=0)
    fresh.run(epochs=run.epoch)
    assert all(torch.equal(a, b) for a, b in zip(fresh.network.parameters(), run.network.parameters()))
    run.set(lr=0.01)  # and it trains on from there
    assert run.step() is not None and run.status == "ready"


def test_live_set_is_validated_whole_and_recorded_at_the_next_boundary():
    run = Run(epochs=5)
    run.step()
    with pytest.raises(ValueError, match="lr must be in"):
        run.set(lr=-1)
    with pytest.raises(ValueError, match="cannot set sigma on a 'dense' run; live parameters: lr"):
        run.set(sigma=2, lr=0.01)
    assert run.optimizer.lr == pytest.approx(0.003) and run.pending == {}
    run.set(lr=0.01)
    assert run.optimizer.lr == pytest.approx(0.003)
    run.step()
    assert run.optimizer.lr == pytest.approx(0.01)
    ev = run.events
    assert ev["kind"].tolist() == ["param"] and ev["cause"].iloc[0] == "lr: 0.003 → 0.01"
    assert ev["epoch"].iloc[0] == 2


def test_runs_with_the_same_config_are_identical():
    a, b = Run("moons", "8-4", epochs=5, seed=2, batch_size=16), Run("moons", "8-4", epochs=5, seed=2, batch_size=16)
    assert a.run().equals(b.run())
    c = Run("moons", "8-4", epochs=5, seed=3, batch_size=16)
    assert not c.run().equals(a.history)


def test_default_dense_heart_reaches_80_percent_mean_accuracy_over_10_seeds(heart):
    """The quality bar, on the population engine with the Run's documented defaults."""
    cfg = TrainConfig()
    net = Network((27, *cfg.arch, 1), population=10, seeds=range(10), activation=cfg.activation)
    trainer = Trainer(net, Optimizer(net, cfg.optimizer, lr=cfg.lr), batch_size=cfg.batch_size)
    for _ in range(cfg.epochs):
        trainer.epoch(heart.X_train, heart.y_train)
    acc = evaluate(net, heart.X_val, heart.y_val)["acc"]
    assert acc.mean() >= 0.80, acc


def test_a_population_member_equals_the_run_with_its_seed(heart):
    run = Run("heart", "16-8", epochs=20, seed=7)
    run.run()
    net = Network((27, 16, 8, 1), population=3, seeds=[1, 7, 2])
    trainer = Trainer(net, Optimizer(net, "adam", lr=0.003))
    for _ in range(20):
        trainer.epoch(heart.X_train, heart.y_train)
    acc = evaluate(net, heart.X_val, heart.y_val)["acc"][1]
    assert acc == pytest.approx(run.history["val_acc"].iloc[-1])


def test_learning_rate_is_accepted_as_the_long_spelling_of_lr():
    run = Run(epochs=3)
    run.set(learning_rate=0.02)
    run.step()
    assert run.optimizer.lr == pytest.approx(0.02)
    with pytest.raises(ValueError, match="not both"):
        run.set(lr=0.1, learning_rate=0.1)


def test_a_dataset_option_may_be_given_flat_or_in_dataset_options():
    flat = Run("xor", "4", "random", epochs=2, noise=0.3, sparsity=0.5)
    nested = Run("xor", "4", "random", epochs=2, dataset_options={"noise": 0.3}, sparsity=0.5)
    assert flat.config == nested.config and flat.method.get_params() == nested.method.get_params()
    assert torch.equal(flat.data.X_train, nested.data.X_train)
    with pytest.raises(ValueError, match="has no parameter noise"):
        Run("heart", "4", "dense", noise=0.3)  # heart has no noise option: it is not silently dropped
