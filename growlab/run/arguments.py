"""``Run``'s keyword arguments, split in one place into the training settings (checked by
:class:`~growlab.config.TrainConfig`), the dataset's options and the method's parameters.

``Run``, the app's runner (its memory estimate before building) and the CLI all pass the
user's keywords through :func:`split_arguments`; a dataset option may be given flat
(``Run("xor", noise=0.3)``) or in ``dataset_options``.
"""

from __future__ import annotations

from typing import Any

from growlab.config import TRAIN_FIELDS, TrainConfig
from growlab.data import DATASETS, Dataset
from growlab.data import options as dataset_options


def split_arguments(dataset: str | Dataset, arch, method: str, epochs: int, seed: int, params: dict[str, Any]) -> tuple[TrainConfig, dict[str, Any]]:
    """``(config, method parameters)`` from ``Run``'s arguments.

    Example:
        >>> cfg, method_kw = split_arguments("xor", "4", "random", 10, 0, {"lr": 0.01, "noise": 0.3, "sparsity": 0.5})
        >>> cfg.lr, cfg.dataset_options, method_kw
        (0.01, {'noise': 0.3}, {'sparsity': 0.5})
    """
    name = dataset.name if isinstance(dataset, Dataset) else dataset
    train = {k: v for k, v in params.items() if k in TRAIN_FIELDS}
    rest = {k: v for k, v in params.items() if k not in TRAIN_FIELDS}
    known = dataset_options(name) if isinstance(dataset, str) and name in DATASETS else {}
    flat = {k: rest.pop(k) for k in list(rest) if k in known}
    if flat and isinstance(train.get("dataset_options", {}), dict):
        train["dataset_options"] = {**train.get("dataset_options", {}), **flat}
    return TrainConfig(dataset=name, arch=arch, method=method, epochs=epochs, seed=seed, **train), rest
