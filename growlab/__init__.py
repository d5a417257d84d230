"""growlab: grow and prune neural networks while they train, and watch it happen.

Importing growlab never imports panel; the app lives in ``growlab.ui`` (``growlab.Lab`` in a
notebook, imported on first use).

Example:
    >>> import growlab
    >>> run = growlab.Run(dataset="heart", arch="16-8", method="dense", epochs=3)
    >>> len(run.run())
    3
"""

from growlab.config import ARCH_PRESETS, TrainConfig, parse_arch
from growlab.data import Dataset, load_dataset
from growlab.run import Run

__version__ = "0.1.0"

__all__ = ["ARCH_PRESETS", "Dataset", "Run", "TrainConfig", "__version__", "load_dataset", "parse_arch"]


def __getattr__(name: str):
    """``growlab.Lab`` (the app in a notebook) imports panel only when first used."""
    if name == "Lab":
        from growlab.ui.lab import Lab

        return Lab
    raise AttributeError(f"module 'growlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "Lab"])

