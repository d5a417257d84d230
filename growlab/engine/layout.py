"""The network of an architecture on a dataset: one builder for a run and for an experiment's populations.

An MLP architecture (hidden widths) gets the data's inputs and outputs around it; a conv
architecture needs image data (its channels first, then each conv layer's maps, then the
dense widths) and is refused with a message saying why on tabular data or on images too small
for it. Memory is estimated first (a typo like ``30000-30000`` is refused, not allocated).
"""

from __future__ import annotations

from typing import Callable, Sequence

from growlab.config import check_conv_memory, check_memory, conv_arch, format_arch, parse_arch
from growlab.data.builtin import IMAGE_DATASETS
from growlab.engine.network import Network
from growlab.engine.train import resolve_batch_size

#: ``capacity(sizes, n_conv)``: the widths to allocate (a method's :meth:`~growlab.methods.Method.capacity`)
Capacity = Callable[..., tuple[int, ...]]


def network_sizes(arch, data) -> tuple[tuple, tuple[int, ...]]:
    """``(layers, sizes)``: the parsed architecture and the node counts of every layer on
    ``data`` (inputs first; a conv network's channel counts, then its dense widths), with a
    ``ValueError`` saying why a conv architecture does not fit the data."""
    conv = conv_arch(arch)
    if conv is None:
        layers = parse_arch(arch)
        return layers, (data.n_inputs, *layers, data.n_outputs)
    text = format_arch(conv.tokens)
    if data.image is None:
        images = ", ".join(f"{n} ({'×'.join(map(str, s))})" for n, s in IMAGE_DATASETS.items())
        raise ValueError(
            f"architecture {text!r} starts with conv layers, which read images, but dataset {data.name!r} is "
            f"tabular ({data.n_inputs} columns, no image shape); use an image dataset — {images} — "
            "or hidden widths such as '16-8'"
        )
    conv.maps(data.image)  # refuses images too small for the architecture, saying where
    return conv.tokens, (data.image[0], *conv.channels, *conv.hidden, data.n_outputs)


def network_for(
    arch,
    data,
    *,
    capacity: Capacity | None = None,
    population: int = 1,
    seeds: Sequence[int] | None = None,
    activation: str = "relu",
    device=None,
    batch_size: int | None = None,
) -> Network:
    """The population of architecture ``arch`` on dataset ``data`` (a :class:`~growlab.data.Dataset`).

    Args:
        arch: hidden widths, conv layers then widths, or a preset (see :func:`growlab.config.parse_arch`).
        data: the dataset (its inputs, outputs, task and, for conv layers, image shape).
        capacity: ``capacity(sizes, n_conv)`` → widths to allocate (default: the sizes).
        population, seeds, activation, device: as for :class:`~growlab.engine.Network`.
        batch_size: the training batch (a conv network's memory estimate holds its maps).

    Example:
        >>> from growlab.data import load_cached
        >>> network_for("c6k3-p2-32", load_cached("digits")).sizes
        (1, 6, 32, 10)
    """
    conv = conv_arch(arch)
    _, sizes = network_sizes(arch, data)
    n_conv = 0 if conv is None else len(conv.channels)
    cap = tuple(sizes) if capacity is None else tuple(capacity(sizes, n_conv))
    if conv is None:
        rows = max(data.n_train, data.n_val)
        check_memory(cap, population, rows=rows, batch=resolve_batch_size(batch_size, data.n_train))
        return Network(
            sizes, population=population, capacity=cap, activation=activation, task=data.task, seeds=seeds,
            device=device,
        )  # fmt: skip
    grown = conv if cap == sizes else type(conv)(tuple(cap[1 : n_conv + 1]), conv.shapes, tuple(cap[n_conv + 1 : -1]))
    check_conv_memory(grown, data.image, data.n_outputs, population, batch=resolve_batch_size(batch_size, data.n_train))
    return Network(
        sizes, population=population, capacity=cap, activation=activation, task=data.task, seeds=seeds,
        device=device, image=data.image, kernels=conv.shapes,
    )  # fmt: skip
