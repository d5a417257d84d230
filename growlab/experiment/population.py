"""Train one :class:`~growlab.experiment.plan.Group` as one population, as a ``Run`` trains one member.

The loop mirrors :meth:`growlab.Run.step` (train an epoch, then let the method cycle, then
measure) for all P members at once; nothing in it loops over members. Each member keeps its
own initial weights and structure (from its seed: members sharing a seed start alike in every
group), its own batch order, its own threshold and its own random streams (DESIGN §3c), and
every matrix product is computed per member: a member's curves and final weights are bit for
bit those of the same ``growlab.Run`` trained alone, whatever else shares its population.

A :class:`Task` is one group with what a worker needs to train it anywhere (the settings, the
thread count, whether it holds a GPU); :func:`run_task` is what every executor runs.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np
import torch

from growlab.analysis import FalseStarts, false_start_from, redundant_count
from growlab.config import TrainConfig
from growlab.data import Dataset, load_cached
from growlab.engine import Network, Optimizer, Trainer, macro_ovr_auc, network_for, probabilities
from growlab.experiment.plan import Group
from growlab.methods import CycleContext, Method, make_method
from growlab.methods.context import method_streams


class Cancelled(RuntimeError):
    """The experiment was stopped before it finished (``cancel`` returned true).

    Attributes:
        result: the members that had finished, as an :class:`~growlab.experiment.ExperimentResult`
            (``None`` when none had).
    """

    result = None


@dataclass
class GroupResult:
    """What one group's training leaves: curves, final structure figures and verdicts.

    Attributes:
        group: what was trained.
        val_acc: validation accuracy after every epoch ``(P, E)``.
        val_auc: validation ROC AUC of the predicted probabilities after every epoch ``(P, E)``.
        val_auc_labels: the same of the hard predictions (0/1, or one-vs-rest per class) ``(P, E)``.
        density: final active connections / dense connections ``(P,)``.
        active: final active connections ``(P,)``.
        redundant: final redundant connections (on no input → output path) ``(P,)``.
        false_starts: per-member verdicts (:func:`growlab.analysis.false_start_from`).
        network: the final population (CPU copy) for similarity analyses.
        seconds: wall-clock time spent training this group.
        where: ``host:pid`` of the process that trained it (set by :func:`run_task`).
        cpu_seconds: CPU time of the training thread (set by :func:`run_task`): below ``seconds``
            when the worker waited for a core.
    """

    group: Group
    val_acc: np.ndarray
    val_auc: np.ndarray
    val_auc_labels: np.ndarray
    density: np.ndarray
    active: np.ndarray
    redundant: np.ndarray
    false_starts: FalseStarts
    network: Network
    seconds: float
    where: str = ""
    cpu_seconds: float = float("nan")


def build(group: Group, data: Dataset, config: TrainConfig) -> tuple[Method, CycleContext]:
    """The method, population and cycle context of ``group``, set up as a ``Run`` would be.

    Example:
        >>> from growlab.data import load_cached
        >>> g = Group("dense", {}, (0, 0, 1), (None,) * 3)
        >>> _, ctx = build(g, load_cached("heart"), TrainConfig())
        >>> torch.equal(ctx.net.weights[0][0], ctx.net.weights[0][1])
        True
    """
    method = make_method(group.method, **group.params)
    if group.uses_threshold:
        method.set_member_values(sparsity=list(group.thresholds))
    net = network_for(
        config.arch, data, capacity=method.capacity, population=group.population, seeds=list(group.seeds),
        activation=config.activation, device=config.device, batch_size=config.batch_size,
    )  # fmt: skip
    opt = Optimizer(net, config.optimizer, lr=config.lr, momentum=config.momentum)
    trainer = Trainer(net, opt, batch_size=config.batch_size)
    dev = net.device
    ctx = CycleContext(
        net, opt, trainer, data.X_train.to(dev), data.y_train.to(dev), data.X_val.to(dev), data.y_val.to(dev),
        method_streams(group.seeds), epoch=0, epochs=config.epochs, events=None,
    )  # fmt: skip
    method.setup(ctx)
    return method, ctx


@torch.no_grad()
def val_metrics(net: Network, X: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validation accuracy, ROC AUC of the probabilities and ROC AUC of the hard predictions of
    every member, ``(P,)`` each (``evaluate``'s, to the last bit).

    Binary AUC is counted pairwise in torch, P(score of a positive > score of a negative) with
    ties counting half: the Mann–Whitney statistic that ``evaluate``'s average ranks give, about
    four times cheaper than ranking every member's scores every epoch. The AUC of hard labels is
    the paper's other possible reading of "AUC" (for binary: the balanced accuracy).
    """
    probs = probabilities(net.forward(X), net.task)  # (P, B) or (P, B, C)
    if net.task == "binary":
        pos = y.bool()
        hard = probs > 0.5
        acc = (hard == pos).double().mean(dim=1)
        return acc.cpu().numpy(), pairwise_auc(probs, pos), pairwise_auc(hard.float(), pos)
    labels = y.long().cpu().numpy()
    probs = probs.cpu().numpy()
    pred = probs.argmax(axis=2)
    onehot = (pred[:, :, None] == np.arange(probs.shape[2])).astype(np.float64)
    return (pred == labels).mean(axis=1), macro_ovr_auc(probs, labels), macro_ovr_auc(onehot, labels)


def pairwise_auc(scores: torch.Tensor, positive: torch.Tensor) -> np.ndarray:
    """ROC AUC of each row of ``scores`` ``(P, n)`` against bool labels ``(n,)``; nan with one class.

    Example:
        >>> pairwise_auc(torch.tensor([[0.1, 0.4, 0.4, 0.8]]), torch.tensor([False, False, True, True]))
        array([0.875])
    """
    s_pos, s_neg = scores[:, positive], scores[:, ~positive]  # (P, n_pos), (P, n_neg)
    if s_pos.shape[1] == 0 or s_neg.shape[1] == 0:
        return np.full(scores.shape[0], np.nan)
    # sign: +1 a win, 0 a tie, -1 a loss; (wins + ties/2) / n = (n + Σ sign) / 2n. The numerator is
    # an exact integer, so the one division rounds it as evaluate's rank formula does: the same AUC
    # to the last bit as a lone run's history
    signs = torch.sign(s_pos[:, :, None] - s_neg[:, None, :]).to(torch.int64).sum(dim=(1, 2))  # (P,)
    n = s_pos.shape[1] * s_neg.shape[1]
    return ((n + signs).double() / (2 * n)).cpu().numpy()


def train_group(
    group: Group, data: Dataset, config: TrainConfig, on_epoch: Callable[[int], None] | None = None
) -> GroupResult:
    """Train every member of ``group`` for ``config.epochs`` epochs; ``on_epoch(e)`` after each.

    ``on_epoch`` reports progress and may raise to stop (e.g. :class:`~growlab.experiment.grid.Cancelled`).

    Example:
        >>> from growlab.data import load_cached
        >>> g = Group("prune", {"schedule": "steps"}, (0, 1), (0.9, 0.9))
        >>> r = train_group(g, load_cached("heart"), TrainConfig(epochs=3))
        >>> r.val_acc.shape
        (2, 3)
    """
    if data.task == "regression":
        raise ValueError(f"experiments compare accuracy and AUC; {data.name!r} is a regression dataset")
    t0 = time.perf_counter()
    method, ctx = build(group, data, config)
    net, E = ctx.net, config.epochs
    acc = np.empty((group.population, E))  # (P, E)
    auc = np.empty((group.population, E))
    auc_labels = np.empty((group.population, E))
    cycles = 0
    for epoch in range(1, E + 1):
        ctx.trainer.epoch(ctx.X_train, ctx.y_train)
        ctx.epoch, ctx.cycle = epoch, cycles + 1
        if method.after_epoch(ctx):
            cycles += 1
        acc[:, epoch - 1], auc[:, epoch - 1], auc_labels[:, epoch - 1] = val_metrics(net, ctx.X_val, ctx.y_val)
        if on_epoch is not None:
            on_epoch(epoch)
    verdicts = false_start_from(acc, data.majority_rate, net, epochs=E)
    return GroupResult(
        group=group, val_acc=acc, val_auc=auc, val_auc_labels=auc_labels, density=net.density().cpu().numpy(),
        active=net.n_active().cpu().numpy(), redundant=redundant_count(net).cpu().numpy(), false_starts=verdicts,
        network=net.cpu(), seconds=time.perf_counter() - t0,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """One group to train, with everything a worker process needs besides the data.

    Attributes:
        key: the group's index in the grid (results are assembled in this order).
        group: the members.
        config: the training settings.
        threads: torch intra-op threads in the worker (``None``: leave the worker's setting).
        gpu: the task holds a ``GPU`` resource: its members train on the worker's CUDA device.
    """

    key: int
    group: Group
    config: TrainConfig
    threads: int | None = 1
    gpu: bool = False

    def __str__(self) -> str:
        return describe(self.group)


def describe(group: Group) -> str:
    """``'prune' seeds 0-9 at T = 0.8, 0.9`` (what a failure message names)."""
    seeds = list(dict.fromkeys(group.seeds))
    run = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    text = f"{group.method!r} seed{'s' if len(seeds) > 1 else ''} "
    text += f"{seeds[0]}-{seeds[-1]}" if run and len(seeds) > 2 else ", ".join(map(str, seeds))
    if group.uses_threshold:
        text += " at T = " + ", ".join(f"{t:g}" for t in dict.fromkeys(group.thresholds))
    return text


@dataclass(frozen=True)
class DataSpec:
    """A built-in dataset by name: a worker loads it once per process and checks it matches.

    ``digest`` is the client's copy's fingerprint: a worker whose packages build different data
    refuses to train rather than give different results.
    """

    name: str
    split_seed: int = 0
    options: dict = field(default_factory=dict)
    digest: str = ""

    @classmethod
    def of(cls, data: Dataset, split_seed: int, options: dict) -> "DataSpec":
        return cls(data.name, split_seed, dict(options), fingerprint(data))

    def load(self) -> Dataset:
        key = (self.name, self.split_seed, tuple(sorted(self.options.items())))
        data, digest = _load_checked(*key)
        if self.digest and digest != self.digest:
            raise RuntimeError(
                f"this worker's copy of dataset {self.name!r} differs from the client's (fingerprint {digest[:12]} "
                f"vs {self.digest[:12]}): install the same growlab and data package versions on every machine"
            )
        return data


@functools.lru_cache(maxsize=8)
def _load_checked(name: str, split_seed: int, options: tuple) -> tuple[Dataset, str]:
    data = load_cached(name, split_seed, **dict(options))
    return data, fingerprint(data)


def fingerprint(data: Dataset) -> str:
    """A hash of the split's tensors (shapes, dtypes and values)."""
    h = hashlib.sha256(data.task.encode())
    for t in (data.X_train, data.y_train, data.X_val, data.y_val):
        t = t.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


class Channel(Protocol):
    """How a running task reports its epochs and learns it should stop (see ``distributed``)."""

    def epoch(self, task: Task, epoch: int) -> None:
        """Called after every epoch; raises :class:`Cancelled` to stop."""


def worker_device(requested: str | None, gpu: bool, cuda_available: bool | None = None) -> str | None:
    """The device a task's members train on: the worker's CUDA device when the task holds a GPU.

    An explicit device is kept; without one, a task holding a ``GPU`` resource trains on
    ``cuda`` (the worker's current device: start one worker per GPU, each seeing its own through
    ``CUDA_VISIBLE_DEVICES``) and any other task on what the worker's torch picks.

    Example:
        >>> worker_device(None, gpu=True, cuda_available=True), worker_device("cpu", gpu=True, cuda_available=True)
        ('cuda', 'cpu')
    """
    if not gpu or requested not in (None, "auto"):
        return requested
    if not (torch.cuda.is_available() if cuda_available is None else cuda_available):
        raise RuntimeError(
            "this Dask worker advertises a GPU resource but its torch has no CUDA device: install a CUDA build of "
            "torch there, or start the worker without --resources GPU=1"
        )
    return "cuda"


#: glibc's own upper bounds when it tunes itself: mmap for blocks from 32 MiB, trim above twice that
_MMAP_THRESHOLD, _TRIM_THRESHOLD = 32 * 2**20, 64 * 2**20


@functools.cache
def _tune_malloc() -> bool:
    """Undo a fixed ``MALLOC_TRIM_THRESHOLD_`` in this process (once); returns whether it did.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting any threshold
    stops glibc from raising its mmap threshold as a program frees large blocks, so every tensor
    of 128 KiB or more (a population's activations) became an mmap, page faults and munmap:
    2.2x the CPU time per task, measured on a Dask worker. Set the thresholds glibc would reach
    by itself instead.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # malloc.h
    return bool(libc.mallopt(M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) & bool(libc.mallopt(M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def run_task(task: Task, data: Dataset | DataSpec, channel: Channel | None = None) -> GroupResult:
    """Train one task where it runs (a thread here, a process, a Dask worker): the unit every executor runs.

    Sets the worker's torch threads (and glibc's malloc thresholds where Dask fixed them), loads a
    :class:`DataSpec` (once per process), picks the device and trains; ``channel.epoch`` is
    called after every epoch.
    """
    if task.threads is not None and torch.get_num_threads() != task.threads:
        torch.set_num_threads(task.threads)
    _tune_malloc()
    dataset = data.load() if isinstance(data, DataSpec) else data
    device = worker_device(task.config.device, task.gpu)
    config = task.config if device == task.config.device else task.config.replace(device=device)
    on_epoch = None if channel is None else (lambda epoch: channel.epoch(task, epoch))
    cpu = time.thread_time()
    result = train_group(task.group, dataset, config, on_epoch)
    result.where, result.cpu_seconds = f"{socket.gethostname()}:{os.getpid()}", time.thread_time() - cpu
    return result
