"""Datasets: built-in tables, generated 2-D toys and user CSV files, as standardized tensors."""

from __future__ import annotations

import functools
import inspect

from growlab.data import builtin, toys
from growlab.data.base import TASKS, Dataset
from growlab.data.csv import load_csv

_LOADERS = {
    "heart": builtin.load_heart,
    "breast_cancer": builtin.load_breast_cancer,
    "iris": builtin.load_iris,
    "wine": builtin.load_wine,
    "digits": builtin.load_digits,
    "diabetes": builtin.load_diabetes,
    "mnist5k": builtin.load_mnist5k,
    "multiplexer": builtin.load_multiplexer,
    **{name: functools.partial(toys.load_toy, name) for name in toys.TOYS},
    "csv": load_csv,
}

DATASETS: tuple[str, ...] = tuple(_LOADERS)


def available() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`."""
    return DATASETS


def options(name: str) -> dict:
    """The keyword options a dataset accepts and their defaults (besides ``split_seed``)."""
    loader = _loader(name)
    sig = inspect.signature(loader)
    return {
        k: (None if p.default is inspect.Parameter.empty else p.default)
        for k, p in sig.parameters.items()
        if k not in ("split_seed", "name")
    }


def load_dataset(name: str = "heart", split_seed: int = 0, **opts) -> Dataset:
    """Load a dataset by name.

    Args:
        name: one of :data:`DATASETS` (``heart`` is the paper's default).
        split_seed: seed of the (stratified) 80/20 train/validation split.
        **opts: dataset options, e.g. ``noise=0.2`` for a toy, or ``path=`` and
            ``target=`` for ``csv``.

    Raises:
        ValueError: an unknown name (the message lists the valid ones), an unknown
            option, or any problem with a CSV.

    Example:
        >>> ds = load_dataset("heart")
        >>> ds.n_inputs, ds.n_train, ds.n_val
        (27, 242, 61)
    """
    loader = _loader(name)
    valid = options(name)
    unknown = sorted(set(opts) - set(valid))
    if unknown:
        hint = ", ".join(valid) if valid else "none"
        raise ValueError(f"dataset {name!r} has no option {', '.join(unknown)}; its options: {hint}")
    if not isinstance(split_seed, int) or isinstance(split_seed, bool):
        raise ValueError(f"split_seed must be an integer, got {split_seed!r}")
    return loader(split_seed=split_seed, **opts)


@functools.lru_cache(maxsize=32)
def _cached(name: str, split_seed: int, frozen_opts: tuple) -> Dataset:
    return load_dataset(name, split_seed, **dict(frozen_opts))


def load_cached(name: str, split_seed: int = 0, **opts) -> Dataset:
    """Like :func:`load_dataset`, memoised for built-in datasets (runs and experiments share them)."""
    if name == "csv":
        return load_dataset(name, split_seed, **opts)
    return _cached(name, split_seed, tuple(sorted(opts.items())))


def _loader(name: str):
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return _LOADERS[name]


__all__ = ["DATASETS", "TASKS", "Dataset", "available", "load_cached", "load_dataset", "options"]
