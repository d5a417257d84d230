"""Configuration: architecture strings and training settings, parsed and validated in one place."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Sequence, Union

from growlab.params import Param, echo

#: A layer of an architecture: a dense width (int) or a conv / pooling token (``"c6k5"``, ``"p2"``).
Layer = Union[int, str]

ARCH_PRESETS: dict[str, tuple[Layer, ...]] = {
    "paper": (16, 8),
    "lenet-300-100": (300, 100),
    "playground": (4, 2),
    "lenet-5": ("c6k5", "p2", "c16k5", "p2", 120, 84),
    "lenet-5-caffe": ("c20k5", "p2", "c50k5", "p2", 500),
}

#: Widest hidden layer accepted from a string; a larger one is almost always a typo.
MAX_WIDTH = 100_000
#: Most channels of one conv layer, largest kernel and largest pooling window accepted.
MAX_CHANNELS, MAX_KERNEL, MAX_POOL = 4096, 31, 16
#: Most hidden layers: deeper nets do not train here, and building thousands of layers is a
#: way to keep a server busy.
MAX_DEPTH = 32
#: Longest architecture text read (a message quotes at most ``ECHO`` characters of it).
MAX_ARCH_TEXT = 1_000
#: Largest estimated engine memory (bytes) for one network before we refuse.
MAX_BYTES = 4 * 2**30
#: Bytes per connection: weight, gradient, two optimizer moments, the effective weight of a
#: step and its gradient (4 each); edge mask, effective mask and its float copy (1 + 1 + 4);
#: birth epoch and cycle (4 + 4); the copy kept for divergence recovery (weight, mask, births,
#: moments: 21); the snapshot a UI draws (weight, mask, birth epoch: 9); and the temporaries of
#: a step and of a grow/prune cycle that ranks every connection (a float score, an int64 sort
#: index, picks and masked copies: 32). ``benchmarks/bench_memory.py`` measures it against the
#: real peak.
PER_CONNECTION = 4 * 6 + 6 + 8 + 21 + 9 + 32
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

_CONV_HELP = (
    "conv layers may come first: c<channels>k<kernel>, optionally s<stride> and p<zero padding> "
    "(c6k5, c32k3p1, c16k5s2), each optionally followed by a max-pooling p<size> (p2)"
)
_ARCH_HELP = (
    "hidden widths separated by '-' (e.g. '16-8', '300-100'), a single width ('32'); "
    f"{_CONV_HELP}, as in 'c6k5-p2-c16k5-p2-120-84'; or a preset: {', '.join(ARCH_PRESETS)}"
)
_CONV_TOKEN = re.compile(r"c(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?")
_POOL_TOKEN = re.compile(r"p(\d+)")


@dataclass(frozen=True)
class ConvShape:
    """The geometry of one conv layer: a ``kernel``×``kernel`` convolution with ``stride`` and
    zero ``padding``, then, when ``pool`` > 1, max-pooling over ``pool``×``pool`` windows with
    stride ``pool`` (PyTorch's ``MaxPool2d(pool)``: a remainder row or column is dropped).

    Example:
        >>> ConvShape(5, pool=2).out_hw(28, 28)
        (12, 12)
    """

    kernel: int
    stride: int = 1
    padding: int = 0
    pool: int = 1

    def conv_hw(self, h: int, w: int) -> tuple[int, int]:
        """Map size after the convolution (before pooling)."""
        k, s, p = self.kernel, self.stride, self.padding
        return (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        """Map size after the convolution and the pooling."""
        h, w = self.conv_hw(h, w)
        return h // self.pool, w // self.pool

    def token(self, channels: int) -> str:
        """The conv token of this geometry with ``channels`` output channels (pooling not included)."""
        s = f"s{self.stride}" if self.stride != 1 else ""
        p = f"p{self.padding}" if self.padding else ""
        return f"c{channels}k{self.kernel}{s}{p}"


@dataclass(frozen=True)
class ConvArch:
    """A conv architecture: conv layers (``channels[i]`` maps of geometry ``shapes[i]``), then a
    flatten, then dense ``hidden`` widths (possibly none) before the output layer.

    Example:
        >>> a = conv_arch("lenet-5")
        >>> a.channels, a.hidden, a.maps((1, 28, 28))
        ((6, 16), (120, 84), ((28, 28), (12, 12), (4, 4)))
    """

    channels: tuple[int, ...]
    shapes: tuple[ConvShape, ...]
    hidden: tuple[int, ...]

    @property
    def tokens(self) -> tuple[Layer, ...]:
        """The canonical layers (what :func:`parse_arch` returns and archives store)."""
        out: list[Layer] = []
        for c, shape in zip(self.channels, self.shapes):
            out.append(shape.token(c))
            if shape.pool > 1:
                out.append(f"p{shape.pool}")
        return (*out, *self.hidden)

    def maps(self, image: tuple[int, int, int]) -> tuple[tuple[int, int], ...]:
        """Map size ``(H, W)`` of every channel layer (the input first) on ``image`` = (C, H, W).

        Raises:
            ValueError: when a layer would leave no map (images too small for the architecture).
        """
        h, w = int(image[1]), int(image[2])
        out = [(h, w)]
        for c, shape in zip(self.channels, self.shapes):
            ch, cw = shape.conv_hw(h, w)
            if ch < 1 or cw < 1:
                raise ValueError(
                    f"architecture {format_arch(self.tokens)!r} does not fit {image[1]}×{image[2]} images: "
                    f"the {shape.kernel}×{shape.kernel} kernel of {shape.token(c)!r} is larger than its "
                    f"{h}×{w} input{' (with padding)' if shape.padding else ''}"
                )
            h, w = shape.out_hw(h, w)
            if h < 1 or w < 1:
                raise ValueError(
                    f"architecture {format_arch(self.tokens)!r} does not fit {image[1]}×{image[2]} images: "
                    f"max-pooling p{shape.pool} after {shape.token(c)!r} gets {ch}×{cw} maps, smaller than its window"
                )
            out.append((h, w))
        return tuple(out)


def parse_arch(arch: str | int | Sequence[Layer]) -> tuple[Layer, ...]:
    """Parse an architecture: hidden widths like ``"16-8"``, conv layers, or a preset name.

    Dense widths come back as ints; conv and pooling layers as canonical tokens
    (``"c6k5"``: 6 maps of 5×5 kernels, stride 1, no padding; ``"c32k3p1"``: zero padding 1;
    ``"c16k5s2"``: stride 2; ``"p2"``: 2×2 max-pooling with stride 2, after a conv layer).
    Conv layers come first, then dense widths; a conv architecture may have no dense hidden
    layer (the flatten then feeds the output layer). Every hidden layer, conv or dense, uses
    the run's activation; pooling is applied after it. :func:`conv_arch` gives the structure.

    Args:
        arch: ``"16-8"``, ``"c6k5-p2-c16k5-p2-120-84"``, a preset (``"paper"``,
            ``"lenet-300-100"``, ``"playground"``, ``"lenet-5"``, ``"lenet-5-caffe"``), an int,
            or a sequence of layers (ints and tokens, e.g. read back from an archive).

    Returns:
        The layers as a tuple: positive ints and canonical conv/pooling tokens.

    Raises:
        ValueError: with a message saying what is accepted.

    Example:
        >>> parse_arch("16-8")
        (16, 8)
        >>> parse_arch("playground")
        (4, 2)
        >>> parse_arch("C6K5-p2-120")
        ('c6k5', 'p2', 120)
    """
    return _parse(arch)[0]


def conv_arch(arch: str | int | Sequence[Layer]) -> ConvArch | None:
    """The conv structure of an architecture, or ``None`` when it has no conv layer.

    Example:
        >>> conv_arch("16-8") is None, conv_arch("c8k3-p2").hidden
        (True, ())
    """
    return _parse(arch)[1]


def is_conv(arch: str | int | Sequence[Layer]) -> bool:
    """Whether the architecture starts with conv layers (and so needs image data)."""
    return conv_arch(arch) is not None


def _layers(arch) -> list[Layer]:
    """The raw layers of ``arch``: ints and lower-case tokens (presets expanded)."""
    if isinstance(arch, bool):
        raise ValueError(f"architecture must be text or widths, got {arch!r}; expected {_ARCH_HELP}")
    shown = echo(arch)
    if isinstance(arch, int):
        return [arch]
    if isinstance(arch, (tuple, list)):
        if not all(isinstance(x, (int, str)) and not isinstance(x, bool) for x in arch):
            raise ValueError(f"architecture widths must be integers (or conv tokens like 'c6k5'), got {shown}")
        return [x.strip().lower() if isinstance(x, str) else x for x in arch]
    if isinstance(arch, str):
        text = arch.strip().lower()
        if text in ARCH_PRESETS:
            return list(ARCH_PRESETS[text])
        if len(text) > MAX_ARCH_TEXT:
            raise ValueError(f"architecture text is {len(text):,} characters long (at most {MAX_ARCH_TEXT:,}): {shown}")
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", text):
            raise ValueError(f"cannot read architecture {shown}; expected {_ARCH_HELP}")
        return text.split("-")
    raise ValueError(f"architecture must be text or widths, got {type(arch).__name__}")


def _parse(arch) -> tuple[tuple[Layer, ...], ConvArch | None]:
    """The one parser behind :func:`parse_arch` and :func:`conv_arch`."""
    layers, shown = _layers(arch), echo(arch)
    if not layers:
        raise ValueError(f"architecture {shown} has no hidden layer; expected {_ARCH_HELP}")
    if len(layers) > MAX_DEPTH:
        raise ValueError(f"architecture {shown} has {len(layers):,} hidden layers; at most {MAX_DEPTH} are allowed")
    channels: list[int] = []
    shapes: list[ConvShape] = []
    widths: list[int] = []
    for x in layers:
        if isinstance(x, int) or x.isdigit():
            widths.append(_width(arch, int(x)))
            continue
        conv, pool = _CONV_TOKEN.fullmatch(x), _POOL_TOKEN.fullmatch(x)
        if not (conv or pool):
            raise ValueError(f"cannot read architecture {echo(arch)}: {x!r} is not a layer; expected {_ARCH_HELP}")
        if widths:
            raise ValueError(f"architecture {echo(arch)}: conv and pooling layers ({x!r}) must come before the dense widths")
        if m := conv:
            c, k, s, p = (None if g is None else int(g) for g in m.groups())
            channels.append(_bounded(arch, "channels", c, 1, MAX_CHANNELS))
            k = _bounded(arch, "kernel size", k, 1, MAX_KERNEL)
            shapes.append(ConvShape(k, _bounded(arch, "stride", s or 1, 1, k), _bounded(arch, "padding", p or 0, 0, k - 1)))
        else:
            if not shapes or shapes[-1].pool > 1:
                raise ValueError(f"architecture {echo(arch)}: max-pooling {x!r} must follow a conv layer (one pooling per conv)")
            shapes[-1] = dataclasses.replace(shapes[-1], pool=_bounded(arch, "pooling size", int(pool.group(1)), 2, MAX_POOL))
    if not channels:
        return tuple(widths), None
    conv = ConvArch(tuple(channels), tuple(shapes), tuple(widths))
    return conv.tokens, conv


def _width(arch, w: int) -> int:
    if w <= 0:
        raise ValueError(f"architecture {echo(arch)}: every width must be at least 1, got {w}")
    if w > MAX_WIDTH:
        raise ValueError(f"architecture {echo(arch)}: width {w} exceeds the maximum of {MAX_WIDTH:,}")
    return w


def _bounded(arch, what: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"architecture {echo(arch)}: {what} must be in [{low}, {high}], got {value}")
    return value


def format_arch(layers: Sequence[Layer]) -> str:
    """The text form of an architecture: ``(16, 8)`` → ``"16-8"``, conv tokens as they are."""
    return "-".join(str(w) for w in layers)


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
            f"network {echo('-'.join(map(str, sizes)))[1:-1]} × population {population}{rows_note} needs about "
            f"{format_bytes(need)} (limit {format_bytes(limit)}); choose smaller widths"
            + (" or a smaller batch" if rows_note else "")
        )
    return need


def estimate_conv_bytes(
    arch: ConvArch, image: tuple[int, int, int], n_outputs: int, population: int = 1, batch: int = 128
) -> int:
    """Estimated engine memory of a conv network on ``image`` = (C, H, W): 37 bytes per
    connection (as :func:`estimate_bytes`) plus a training batch's maps (each conv layer's
    output before and after pooling and activation, and their gradients: 24 bytes a value)."""
    maps = arch.maps(image)
    chans = (int(image[0]), *arch.channels)
    taps = sum(chans[i] * chans[i + 1] * s.kernel**2 for i, s in enumerate(arch.shapes))
    flat = chans[-1] * maps[-1][0] * maps[-1][1]
    dense = (flat, *arch.hidden, n_outputs)
    connections = taps + sum(a * b for a, b in zip(dense[:-1], dense[1:]))
    h_w = [s.conv_hw(*hw) for s, hw in zip(arch.shapes, maps[:-1])]
    values = sum(c * h * w for c, (h, w) in zip(arch.channels, h_w))
    return population * (connections * 37 + values * batch * 24)


def check_conv_memory(
    arch: ConvArch, image: tuple[int, int, int], n_outputs: int, population: int = 1, batch: int = 128,
    limit: int = MAX_BYTES,
) -> None:
    """Raise ``ValueError`` when a conv network would not fit comfortably (see :func:`estimate_conv_bytes`)."""
    need = estimate_conv_bytes(arch, image, n_outputs, population, batch)
    if need > limit:
        raise ValueError(
            f"network {format_arch(arch.tokens)} on {image[1]}×{image[2]} images × population {population} needs "
            f"about {need / 2**30:.1f} GiB (limit {limit / 2**30:.1f} GiB); choose fewer channels or a smaller batch"
        )


def _known_device(device: str) -> bool:
    """A device the engine can train on (``meta`` and the like hold no data)."""
    if device == "auto":
        return True
    try:
        import torch

        return torch.device(device).type in DEVICE_TYPES
    except (RuntimeError, TypeError, ValueError):
        return False


#: Every training setting, declared once. ``TrainConfig`` checks with it, ``Run.set`` changes the
#: live ones, the CLI's flags, the app's form and URL, ``growlab.Lab`` and archives are built from it.
TRAIN_SETTINGS: dict[str, Param] = {p.name: p for p in (
    Param("epochs", 200, "int", low=1, high=MAX_EPOCHS, doc="epochs to train", live=False),
    Param("seed", 0, "int", low=0, high=2**31 - 1, doc="seed of the weights, the batch order and the method", live=False),
    Param("split_seed", 0, "int", low=0, high=2**31 - 1, doc="seed of the train/validation split", live=False,
          group="training", url=False),
    Param("lr", 0.003, "float", low=0, low_open=True, doc="learning rate (a huge one diverges: the run pauses on its "
          "last sound state)", group="training"),
    Param("optimizer", "adam", "choice", choices=OPTIMIZERS, doc="optimizer", live=False, group="training"),
    Param("momentum", 0.9, "float", low=0, high=1, high_open=True, doc="SGD's momentum", live=False, group="training",
          url=False),
    Param("batch_size", None, "int", low=1, optional=True, none_doc="the full batch, up to 1,024 rows",
          doc="rows per step", live=False, group="training"),
    Param("activation", "relu", "choice", choices=ACTIVATIONS, doc="hidden activation", live=False, group="training"),
    Param("device", None, "text", check=_known_device, optional=True, none_doc="CUDA when there is one",
          hint="'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'", doc="where the network trains", live=False,
          group="training", url=False),
)}  # fmt: skip
#: The training settings that may change while a run trains.
LIVE_SETTINGS = {k: p for k, p in TRAIN_SETTINGS.items() if p.live}


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (everything except the method's own parameters).

    Defaults train the paper's 27-16-8-1 heart network to ~85% validation accuracy.
    """

    dataset: str = "heart"
    arch: tuple[Layer, ...] = (16, 8)
    method: str = "dense"
    epochs: int = TRAIN_SETTINGS["epochs"].default
    seed: int = TRAIN_SETTINGS["seed"].default
    split_seed: int = TRAIN_SETTINGS["split_seed"].default
    lr: float = TRAIN_SETTINGS["lr"].default
    optimizer: str = TRAIN_SETTINGS["optimizer"].default
    momentum: float = TRAIN_SETTINGS["momentum"].default
    batch_size: int | None = TRAIN_SETTINGS["batch_size"].default
    activation: str = TRAIN_SETTINGS["activation"].default
    device: str | None = TRAIN_SETTINGS["device"].default
    dataset_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", parse_arch(self.arch))
        _check(isinstance(self.dataset, str), f"dataset must be a dataset name, got {echo(self.dataset)}")
        _check(isinstance(self.method, str), f"method must be a method name, got {echo(self.method)}")
        for name, setting in TRAIN_SETTINGS.items():
            object.__setattr__(self, name, setting.validate(getattr(self, name)))
        _check(isinstance(self.dataset_options, dict) and all(isinstance(k, str) for k in self.dataset_options),
               f"dataset_options must be a dict of option names to values, got {echo(self.dataset_options)}")  # fmt: skip

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


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
