"""Generated 2-D classroom datasets, as in TensorFlow Playground."""

from __future__ import annotations

import numpy as np
import pandas as pd

from growlab.data.base import Dataset, split_and_standardize

TOYS = ("xor", "circles", "moons", "spiral", "gaussians")


def load_toy(name: str, split_seed: int = 0, n: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """A 2-D binary toy: ``xor``, ``circles``, ``moons``, ``spiral`` or ``gaussians``.

    Args:
        name: which toy.
        split_seed: seed of the train/validation split.
        n: number of points (20 to 100,000).
        noise: standard deviation of the Gaussian noise added to each point (0 to 2).
        seed: seed of the generator.

    Example:
        >>> load_toy("moons", n=200, noise=0.2).n_inputs
        2
    """
    if name not in TOYS:
        raise ValueError(f"unknown toy {name!r}; valid: {', '.join(TOYS)}")
    if not isinstance(n, int) or isinstance(n, bool) or not 20 <= n <= 100_000:
        raise ValueError(f"n must be an integer from 20 to 100,000, got {n!r}")
    if not isinstance(noise, (int, float)) or not 0 <= noise <= 2:
        raise ValueError(f"noise must be a number from 0 to 2, got {noise!r}")
    rng = np.random.default_rng(seed)
    X, y = _GENERATORS[name](n, float(noise), rng)
    return split_and_standardize(
        name, pd.DataFrame(X, columns=["x1", "x2"]), y.astype(np.int64), "binary", ("0", "1"),
        split_seed=split_seed, options={"n": n, "noise": noise, "seed": seed},
        info={"source": f"generated {name} (n={n}, noise={noise}, seed={seed})"},
    )  # fmt: skip


def _xor(n, noise, rng):
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    return X + rng.normal(0, noise, X.shape), y


def _circles(n, noise, rng):
    y = np.arange(n) % 2
    r = np.where(y == 1, rng.uniform(0, 0.5, n), rng.uniform(0.7, 1.0, n))
    t = rng.uniform(0, 2 * np.pi, n)
    X = np.c_[r * np.cos(t), r * np.sin(t)]
    return X + rng.normal(0, noise, X.shape), y


def _moons(n, noise, rng):
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    X = np.where(y[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + rng.normal(0, noise, X.shape), y


def _spiral(n, noise, rng):
    y = np.arange(n) % 2
    r = rng.uniform(0.05, 1.0, n)
    t = 1.75 * 2 * np.pi * r + np.pi * y
    X = np.c_[r * np.sin(t), r * np.cos(t)]
    return X + rng.normal(0, noise, X.shape), y


def _gaussians(n, noise, rng):
    y = np.arange(n) % 2
    centers = np.where(y[:, None] == 1, [[1.0, 1.0]], [[-1.0, -1.0]])
    X = centers + rng.normal(0, 0.5 + noise, (n, 2))
    return X, y


_GENERATORS = {"xor": _xor, "circles": _circles, "moons": _moons, "spiral": _spiral, "gaussians": _gaussians}
