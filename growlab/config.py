"""Configuration: architecture strings and training settings, parsed and validated in one place."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

ARCH_PRESETS: dict[str, tuple[int, ...]] = {
    "paper": (16, 8),
    "lenet-300-100": (300, 100),
    "playground": (4, 2),
}

#: Widest hidden layer accepted from a string; a larger one is almost always a typo.
MAX_WIDTH = 100_000
#: Largest estimated engine memory (bytes) for one network before we refuse.
MAX_BYTES = 4 * 2**30

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
OPTIMIZERS = ("adam", "sgd")

_ARCH_HELP = (
    "hidden widths separated by '-' (e.g. '16-8', '300-100'), a single width ('32'), "
    f"or a preset: {', '.join(ARCH_PRESETS)}"
)


def parse_arch(arch: str | int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Parse hidden-layer widths from text like ``"16-8"`` or a preset name.

    Args:
        arch: ``"16-8"``, ``"300-100"``, a preset (``"paper"``, ``"lenet-300-100"``,
            ``"playground"``), an int, or a sequence of ints.

    Returns:
        The hidden widths as a tuple of positive ints.

    Raises:
        ValueError: with a message saying what is accepted.

    Example:
        >>> parse_arch("16-8")
        (16, 8)
        >>> parse_arch("playground")
        (4, 2)
    """
    if isinstance(arch, bool):
        raise ValueError(f"architecture must be text or widths, got {arch!r}; expected {_ARCH_HELP}")
    if isinstance(arch, int):
        widths: tuple[int, ...] = (arch,)
    elif isinstance(arch, (tuple, list)):
        if not all(isinstance(w, int) and not isinstance(w, bool) for w in arch):
            raise ValueError(f"architecture widths must be integers, got {arch!r}")
        widths = tuple(arch)
    elif isinstance(arch, str):
        text = arch.strip().lower()
        if text in ARCH_PRESETS:
            return ARCH_PRESETS[text]
        if not re.fullmatch(r"\d+(-\d+)*", text):
            raise ValueError(f"cannot read architecture {arch!r}; expected {_ARCH_HELP}")
        widths = tuple(int(part) for part in text.split("-"))
    else:
        raise ValueError(f"architecture must be text or widths, got {type(arch).__name__}")
    if not widths:
        raise ValueError(f"architecture {arch!r} has no hidden layer; expected {_ARCH_HELP}")
    for w in widths:
        if w <= 0:
            raise ValueError(f"architecture {arch!r}: every width must be at least 1, got {w}")
        if w > MAX_WIDTH:
            raise ValueError(f"architecture {arch!r}: width {w} exceeds the maximum of {MAX_WIDTH:,}")
    return widths


def format_arch(widths: tuple[int, ...]) -> str:
    """The text form of hidden widths: ``(16, 8)`` → ``"16-8"``."""
    return "-".join(str(w) for w in widths)


def estimate_bytes(sizes: tuple[int, ...], population: int = 1) -> int:
    """Estimated engine memory for layer sizes (inputs, hidden..., outputs).

    Per connection: weight, gradient, two optimizer moments (4 bytes each), the edge mask
    and its float copy (5 bytes), the birth epoch (4 bytes), plus a saved copy for
    divergence recovery (12 bytes).
    """
    connections = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return connections * population * 37


def check_memory(sizes: tuple[int, ...], population: int = 1, limit: int = MAX_BYTES) -> None:
    """Raise ``ValueError`` when a network of these layer sizes would not fit comfortably."""
    need = estimate_bytes(sizes, population)
    if need > limit:
        raise ValueError(
            f"network {'-'.join(map(str, sizes))} × population {population} needs about "
            f"{need / 2**30:.1f} GiB (limit {limit / 2**30:.1f} GiB); choose smaller widths"
        )


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (everything except the method's own parameters).

    Defaults train the paper's 27-16-8-1 heart network to ~85% validation accuracy.
    """

    dataset: str = "heart"
    arch: tuple[int, ...] = (16, 8)
    method: str = "dense"
    epochs: int = 200
    seed: int = 0
    split_seed: int = 0
    lr: float = 0.003
    optimizer: str = "adam"
    momentum: float = 0.9
    batch_size: int | None = None
    activation: str = "relu"
    device: str | None = None
    dataset_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", parse_arch(self.arch))
        _check(isinstance(self.epochs, int) and self.epochs >= 1, f"epochs must be a positive integer, got {self.epochs!r}")
        _check(isinstance(self.seed, int), f"seed must be an integer, got {self.seed!r}")
        _check(isinstance(self.split_seed, int), f"split_seed must be an integer, got {self.split_seed!r}")
        _check(_is_number(self.lr) and self.lr > 0, f"lr must be a positive number, got {self.lr!r}")
        _check(self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        _check(_is_number(self.momentum) and 0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum!r}")
        _check(
            self.batch_size is None or (isinstance(self.batch_size, int) and self.batch_size >= 1),
            f"batch_size must be a positive integer or None (full batch up to 1024 rows), got {self.batch_size!r}",
        )
        _check(self.activation in ACTIVATIONS, f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain types only (for archives, URLs and reports)."""
        d = dataclasses.asdict(self)
        d["arch"] = list(self.arch)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if k == "arch" else v) for k, v in d.items() if k in names})


TRAIN_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
