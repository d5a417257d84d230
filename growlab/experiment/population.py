"""Train one :class:`~growlab.experiment.plan.Group` as one population, as a ``Run`` trains one member.

The loop mirrors :meth:`growlab.Run.step` (train an epoch, then let the method cycle, then
measure) for all P members at once; nothing in it loops over members. Each member keeps its
own initial weights and structure (from its seed: members sharing a seed start alike in every
group), its own batch order, its own threshold and its own random streams (DESIGN §3c), and
every matrix product is computed per member: a member's curves and final weights are bit for
bit those of the same ``growlab.Run`` trained alone, whatever else shares its population.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from growlab.analysis import FalseStarts, false_start_from, redundant_count
from growlab.config import TrainConfig
from growlab.data import Dataset
from growlab.engine import Network, Optimizer, Trainer, macro_ovr_auc, network_for, probabilities
from growlab.experiment.plan import Group
from growlab.methods import CycleContext, Method, make_method
from growlab.methods.context import method_streams


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
