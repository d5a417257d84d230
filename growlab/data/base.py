"""The Dataset record and the preprocessing every dataset shares: split, encode, standardize."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset ready for the engine: standardized float32 features and a fixed split.

    ``feature_mean``/``feature_std`` give the scaling applied to each (encoded) column, so raw
    rows can be standardized the same way: ``(x - feature_mean) / feature_std``.
    ``y`` is float32 of shape ``(n,)`` for binary (0/1) and regression targets, and int64
    class indices for multiclass. Regression targets are standardized with the training
    mean and standard deviation (``target_mean``, ``target_std``) so losses are comparable
    across datasets; predictions and reported MSE are in the original units.
    """

    name: str
    X_train: torch.Tensor  # (n_train, n_inputs) float32
    y_train: torch.Tensor  # (n_train,)
    X_val: torch.Tensor  # (n_val, n_inputs) float32
    y_val: torch.Tensor  # (n_val,)
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    task: str
    options: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    #: ``(H, W)`` of an image dataset (rows are its pixels, row-major); ``None`` for tabular data
    image_shape: tuple[int, int] | None = None
    #: colour channels of an image dataset (its rows hold channel after channel)
    image_channels: int = 1
    target_mean: float = 0.0
    target_std: float = 1.0
    #: model input = (encoded feature − feature_mean) / feature_std, per column
    feature_mean: tuple[float, ...] = ()
    feature_std: tuple[float, ...] = ()

    @property
    def n_inputs(self) -> int:
        return self.X_train.shape[1]

    @property
    def image(self) -> tuple[int, int, int] | None:
        """``(C, H, W)`` of an image dataset (what conv layers read), ``None`` for tabular data.

        Example:
            >>> from growlab.data import load_cached
            >>> load_cached("digits").image
            (1, 8, 8)
        """
        if self.image_shape is None:
            return None
        return (int(self.image_channels), int(self.image_shape[0]), int(self.image_shape[1]))

    @property
    def n_outputs(self) -> int:
        return len(self.class_names) if self.task == "multiclass" else 1

    @property
    def n_train(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_val(self) -> int:
        return self.X_val.shape[0]

    @property
    def majority_rate(self) -> float:
        """Validation accuracy of always predicting the most common training class (nan for regression)."""
        if self.task == "regression":
            return float("nan")
        majority = torch.bincount(self.y_train.long()).argmax()
        return float((self.y_val.long() == majority).float().mean())

    def spec(self) -> dict:
        """What ``load_dataset`` needs to rebuild this dataset."""
        return {"name": self.name, **self.options}

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, task={self.task!r}, inputs={self.n_inputs}, outputs={self.n_outputs}, "
            f"train={self.n_train}, val={self.n_val})"
        )


def split_and_standardize(
    name: str,
    X: pd.DataFrame,
    y: np.ndarray,
    task: str,
    class_names: tuple[str, ...] = (),
    *,
    split_seed: int = 0,
    val_fraction: float = 0.2,
    options: dict | None = None,
    info: dict | None = None,
    image_shape: tuple[int, int] | None = None,
    scale: str = "column",
) -> Dataset:
    """Split rows (stratified for classification) and z-score features with training statistics.

    Columns holding only 0 and 1 are kept as they are (one-hot and boolean inputs stay
    readable on the diagram); other columns are z-scored. ``scale="global"`` uses one mean
    and deviation for all columns (images, where per-pixel scaling blows up rare pixels).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    X = X.astype(np.float64)
    idx = np.arange(len(X))
    stratify = y if task != "regression" else None
    from sklearn.model_selection import train_test_split  # imported here: `import growlab` stays quick

    train_idx, val_idx = train_test_split(
        idx, test_size=val_fraction, random_state=split_seed, stratify=stratify, shuffle=True
    )
    Xtr, Xva = X.iloc[train_idx].to_numpy(), X.iloc[val_idx].to_numpy()
    if scale == "global":
        mean = np.full(Xtr.shape[1], Xtr.mean())
        std = np.full(Xtr.shape[1], Xtr.std())
        Xtr, Xva = (Xtr - mean) / std, (Xva - mean) / std
    else:
        binary = np.all((X.to_numpy() == 0) | (X.to_numpy() == 1), axis=0)
        mean = np.where(binary, 0.0, Xtr.mean(axis=0))
        std = Xtr.std(axis=0)
        std = np.where(binary | (std < 1e-12), 1.0, std)
        Xtr, Xva = (Xtr - mean) / std, (Xva - mean) / std
    ytr, yva = y[train_idx], y[val_idx]
    target_mean, target_std = 0.0, 1.0
    if task == "regression":
        target_mean, target_std = float(ytr.mean()), float(ytr.std() or 1.0)
        ytr, yva = (ytr - target_mean) / target_std, (yva - target_mean) / target_std
    ydtype = torch.int64 if task == "multiclass" else torch.float32
    return Dataset(
        name=name,
        # row-major: training gathers rows, and pandas hands out column-major blocks
        X_train=torch.as_tensor(np.ascontiguousarray(Xtr), dtype=torch.float32).contiguous(),
        y_train=torch.as_tensor(np.asarray(ytr, dtype=np.float64), dtype=ydtype),
        X_val=torch.as_tensor(np.ascontiguousarray(Xva), dtype=torch.float32).contiguous(),
        y_val=torch.as_tensor(np.asarray(yva, dtype=np.float64), dtype=ydtype),
        feature_names=tuple(str(c) for c in X.columns),
        class_names=tuple(class_names),
        task=task,
        options={"split_seed": split_seed, **(options or {})},
        info=dict(info or {}),
        image_shape=image_shape,
        target_mean=target_mean,
        target_std=target_std,
        feature_mean=tuple(float(m) for m in mean),
        feature_std=tuple(float(s) for s in std),
    )


def encode_labels(y) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class labels → integer codes 0..C-1 and the class names in code order."""
    codes, uniques = pd.factorize(pd.Series(y), sort=True)
    return codes.astype(np.int64), tuple(str(u) for u in uniques)
