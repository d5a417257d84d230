"""Configuration: architecture strings and training settings, parsed and validated in one place."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field

ARCH_PRESETS: dict[str, tuple[int, ...]] = {
    "paper": (16, 8),
    "lenet-300-100": (300, 100),
    "playground": (4, 2),
}

#: Widest hidden layer accepted from a string; a larger one is almost always a typo.
MAX_WIDTH = 100_000
#: Most hidden layers: deeper nets do not train here, and building thousands of layers is a
#: way to keep a server busy.
MAX_DEPTH = 32
#: Longest architecture text read; a message quotes at most ``ECHO`` characters of it.
MAX_ARCH_TEXT, ECHO = 1_000, 60
#: Largest estimated engine memory (bytes) for one network before we refuse.
MAX_BYTES = 4 * 2**30
#: Bytes per connection: weight, gradient, two optimizer moments, the effective weight of a
#: step and its gradient (4 each); edge mask, effective mask and its float copy (1 + 1 + 4);
#: birth epoch and cycle (4 + 4); the copy kept for divergence recovery (weight, mask, births,
#: moments: 21); the snapshot a UI draws (weight, mask, birth epoch: 9); and a weight's worth
#: of temporaries (4). ``benchmarks/bench_memory.py`` measures it against the real peak.
PER_CONNECTION = 4 * 6 + 6 + 8 + 21 + 9 + 4
#: Bytes per unit (hidden and output) and training row: pre-activation, activation and the
#: gradient flowing back, float32.
PER_UNIT_ROW = 12
#: Bytes per unit of the widest layer pair and evaluated row (no gradients): its input and output.
PER_EVAL_UNIT_ROW = 8

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
#: Devices a run may ask for ("auto" and None pick CUDA when there is one).
DEVICE_TYPES = ("cpu", "cuda", "mps")
#: Most epochs one run trains.
MAX_EPOCHS = 1_000_000
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
    shown = _echo(arch)
    if isinstance(arch, int):
        widths: tuple[int, ...] = (arch,)
    elif isinstance(arch, (tuple, list)):
        if not all(isinstance(w, int) and not isinstance(w, bool) for w in arch):
            raise ValueError(f"architecture widths must be integers, got {shown}")
        widths = tuple(arch)
    elif isinstance(arch, str):
        text = arch.strip().lower()
        if text in ARCH_PRESETS:
            return ARCH_PRESETS[text]
        if len(text) > MAX_ARCH_TEXT:
            raise ValueError(f"architecture text is {len(text):,} characters long (at most {MAX_ARCH_TEXT:,}): {shown}")
        if not re.fullmatch(r"\d+(-\d+)*", text):
            raise ValueError(f"cannot read architecture {shown}; expected {_ARCH_HELP}")
        widths = tuple(int(part) for part in text.split("-"))
    else:
        raise ValueError(f"architecture must be text or widths, got {type(arch).__name__}")
    if not widths:
        raise ValueError(f"architecture {shown} has no hidden layer; expected {_ARCH_HELP}")
    if len(widths) > MAX_DEPTH:
        raise ValueError(f"architecture {shown} has {len(widths):,} hidden layers; at most {MAX_DEPTH} are allowed")
    for w in widths:
        if w <= 0:
            raise ValueError(f"architecture {shown}: every width must be at least 1, got {w}")
        if w > MAX_WIDTH:
            raise ValueError(f"architecture {shown}: width {w:,} exceeds the maximum of {MAX_WIDTH:,}")
    return widths


def _echo(value) -> str:
    """``repr(value)``, cut to :data:`ECHO` characters: a message never repeats a huge input whole."""
    text = repr(value) if not isinstance(value, (tuple, list)) or len(value) <= ECHO else repr(type(value)(value[:ECHO]))
    return text if len(text) <= ECHO else text[: ECHO - 4] + "…" + text[-3:]


def format_arch(widths: tuple[int, ...]) -> str:
    """The text form of hidden widths: ``(16, 8)`` → ``"16-8"``."""
    return "-".join(str(w) for w in widths)


def estimate_bytes(sizes: tuple[int, ...], population: int = 1, rows: int = 0, batch: int = 0) -> int:
    """Estimated memory of a run with layer sizes ``(inputs, hidden..., outputs)``.

    Counts the connections (see :data:`PER_CONNECTION`) and the activations: a training step
    on ``batch`` rows keeps every unit's values and gradients (:data:`PER_UNIT_ROW`), and an
    evaluation of ``rows`` rows (the whole training or validation set, without gradients)
    holds the input and output of the widest layer pair at once. Each member of a
    ``population`` has its own.

    Example:
        >>> estimate_bytes((27, 16, 8, 1)) < 2**20
        True
        >>> estimate_bytes((784, 100_000, 10), rows=4000, batch=4000) > 8 * 2**30  # the activations
        True
    """
    connections = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    train = batch * sum(sizes[1:]) * PER_UNIT_ROW
    evaluate = rows * max(a + b for a, b in zip(sizes[:-1], sizes[1:])) * PER_EVAL_UNIT_ROW
    return population * (connections * PER_CONNECTION + max(train, evaluate))


def format_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``; ``5 * 2**30`` → ``"5.0 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def check_memory(sizes: tuple[int, ...], population: int = 1, limit: int = MAX_BYTES, rows: int = 0, batch: int = 0) -> int:
    """The estimate of :func:`estimate_bytes`; ``ValueError`` when it is above ``limit``."""
    need = estimate_bytes(sizes, population, rows=rows, batch=batch)
    if need > limit:
        rows_note = f" with {batch:,} rows per step" if batch * sum(sizes[1:]) * PER_UNIT_ROW >= need / 4 else ""
        raise ValueError(
            f"network {_echo('-'.join(map(str, sizes)))[1:-1]} × population {population}{rows_note} needs about "
            f"{format_bytes(need)} (limit {format_bytes(limit)}); choose smaller widths"
            + (" or a smaller batch" if rows_note else "")
        )
    return need


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
        _check(isinstance(self.dataset, str), f"dataset must be a dataset name, got {_echo(self.dataset)}")
        _check(isinstance(self.method, str), f"method must be a method name, got {_echo(self.method)}")
        _check(_is_int(self.epochs) and 1 <= self.epochs <= MAX_EPOCHS,
               f"epochs must be a whole number in [1, {MAX_EPOCHS:,}], got {_echo(self.epochs)}")  # fmt: skip
        _check(_is_int(self.seed), f"seed must be an integer, got {_echo(self.seed)}")
        _check(_is_int(self.split_seed), f"split_seed must be an integer, got {_echo(self.split_seed)}")
        _check(_is_number(self.lr) and 0 < self.lr < math.inf, f"lr must be a positive finite number, got {_echo(self.lr)}")
        _check(self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {_echo(self.optimizer)}")
        _check(_is_number(self.momentum) and 0 <= self.momentum < 1, f"momentum must be in [0, 1), got {_echo(self.momentum)}")
        _check(
            self.batch_size is None or (_is_int(self.batch_size) and self.batch_size >= 1),
            f"batch_size must be a positive integer or None (full batch up to 1024 rows), got {_echo(self.batch_size)}",
        )
        _check(self.activation in ACTIVATIONS, f"activation must be one of {ACTIVATIONS}, got {_echo(self.activation)}")
        _check(self.device is None or _known_device(self.device),
               f"device must be None or 'auto' (CUDA when there is one), 'cpu', 'cuda', 'cuda:N' or 'mps', got {_echo(self.device)}")  # fmt: skip
        _check(isinstance(self.dataset_options, dict) and all(isinstance(k, str) for k in self.dataset_options),
               f"dataset_options must be a dict of option names to values, got {_echo(self.dataset_options)}")  # fmt: skip

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


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _known_device(device) -> bool:
    """A device the engine can train on (``meta`` and the like hold no data)."""
    if not isinstance(device, str):
        return False
    if device == "auto":
        return True
    try:
        import torch

        return torch.device(device).type in DEVICE_TYPES
    except (RuntimeError, TypeError, ValueError):
        return False


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
