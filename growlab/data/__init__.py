"""Datasets: built-in tables, generated 2-D toys and user CSV files, as standardized tensors."""

from __future__ import annotations

import functools
import inspect
import math
import os

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
        raise ValueError(f"split_seed must be an integer, got {_shown(split_seed)}")
    for key, value in opts.items():
        _check_type(name, key, value, valid[key])
    return loader(split_seed=split_seed, **opts)


#: The kinds of option value accepted, by the type of the option's default (``None``: checked by the loader).
_KINDS = {bool: ((bool,), "true or false"), int: ((int,), "an integer"), float: ((int, float), "a number"),
          str: ((str,), "text"), tuple: ((tuple, list), "a list")}  # fmt: skip
_CSV_KINDS = {"path": ((str, os.PathLike), "a file path"), "data": ((bytes, bytearray, str), "the file's bytes or text"),
              "target": ((str,), "a column name"), "task": ((str, type(None)), "'binary', 'multiclass' or 'regression'")}  # fmt: skip


def _check_type(name: str, key: str, value, default) -> None:
    """``ValueError`` when an option's value is not of the kind its default is (a clear message, not a TypeError later)."""
    if name == "csv" and key in _CSV_KINDS:
        kinds, what = _CSV_KINDS[key]
        ok = isinstance(value, kinds) or (key != "task" and value is None)
    elif type(default) in _KINDS:
        kinds, what = _KINDS[type(default)]
        ok = isinstance(value, kinds) and (type(default) is bool or not isinstance(value, bool))
        ok = ok and not (isinstance(value, float) and not math.isfinite(value))
        if ok and type(default) is tuple:
            ok = all(isinstance(v, str) for v in value)
            what = "a list of column names"
    else:
        return
    if not ok:
        raise ValueError(f"dataset {name!r}: option {key} must be {what}, got {_shown(value)}")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + "…" + text[-3:]


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
