"""What an experiment trains: its settings, its members, and the groups that share a population.

A *member* is one (method, threshold, seed) cell of the grid. Members of one method train
together in one population (a :class:`Group`): a method object acts on a whole population,
and the sparsity threshold is a ``per_member`` parameter, so every threshold × seed of a method
fits in one set of batched tensors. A method without a threshold (``dense``, ``subnet``) trains
one member per seed; its rows are repeated for every threshold, since the same seed would give
the same run at every threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from growlab.config import TRAIN_FIELDS, TrainConfig
from growlab.methods import METHODS

#: the seven methods of the synthesis-and-pruning paper, in its table order
PAPER_METHODS = ("dense", "prune", "subnet", "random", "strategic", "random+prune", "strategic+prune")
#: the paper's sparsity thresholds T
PAPER_THRESHOLDS = (0.8, 0.85, 0.9, 0.95, 0.99)
#: training settings an experiment fixes itself (``seed`` is the grid's, ``method`` the group's)
_OWN_FIELDS = {"method", "seed", "dataset", "arch", "epochs"}


@dataclass(frozen=True)
class Group:
    """Members of one method trained as one population.

    Attributes:
        method: a named method.
        params: its parameters, shared by every member.
        seeds: one seed per member ``(P,)``: initial weights, structure and batch order.
        thresholds: one sparsity threshold per member ``(P,)``; ``None`` everywhere when the
            method has none.
    """

    method: str
    params: dict = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    thresholds: tuple[float | None, ...] = ()

    @property
    def population(self) -> int:
        return len(self.seeds)

    @property
    def uses_threshold(self) -> bool:
        return self.thresholds[0] is not None if self.thresholds else False


def as_seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    """``10`` → ``(0, ..., 9)``; a sequence of ints is kept (duplicates refused).

    Example:
        >>> as_seeds(3), as_seeds([7, 2])
        ((0, 1, 2), (7, 2))
    """
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a count or a list of integers, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {seeds}")
        return tuple(range(seeds))
    out = tuple(seeds)
    if not out or not all(isinstance(s, int) and not isinstance(s, bool) for s in out):
        raise ValueError(f"seeds must be a count or a non-empty list of integers, got {seeds!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {list(out)}")
    return out


def as_thresholds(thresholds: float | Sequence[float]) -> tuple[float, ...]:
    """Sparsity thresholds in [0, 1), distinct, in the order given."""
    values = (thresholds,) if isinstance(thresholds, (int, float)) else tuple(thresholds)
    if not values:
        raise ValueError("give at least one sparsity threshold, e.g. thresholds=(0.9,)")
    out = []
    for t in values:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 1:
            raise ValueError(f"a sparsity threshold is a fraction in [0, 1), got {t!r}")
        out.append(float(t))
    if len(set(out)) != len(out):
        raise ValueError(f"thresholds must be distinct, got {out}")
    return tuple(out)


def split_params(methods: Sequence[str], params: dict[str, Any]) -> tuple[dict, dict[str, dict]]:
    """Separate training settings from method parameters.

    A method parameter goes to every method that has it; one that no method has, or a
    value a method refuses, raises ``ValueError`` (nothing runs).

    Returns:
        ``(train_kw, {method: method_kw})``.

    Example:
        >>> split_params(["dense", "strategic"], {"lr": 0.01, "sigma": 2.0})
        ({'lr': 0.01}, {'dense': {}, 'strategic': {'sigma': 2.0}})
    """
    own = sorted(set(params) & _OWN_FIELDS)
    if own:
        raise ValueError(f"{', '.join(own)} cannot be set here: the experiment sets them itself")
    train = {k: v for k, v in params.items() if k in TRAIN_FIELDS}
    rest = {k: v for k, v in params.items() if k not in TRAIN_FIELDS}
    if "sparsity" in rest:
        raise ValueError("sparsity is what the experiment varies: pass thresholds=(...) instead")
    per_method, used = {}, set()
    for name in methods:
        specs = METHODS.get(name).param_specs()
        kw = {k: v for k, v in rest.items() if k in specs}
        METHODS.make(name, **kw)  # validate now, before anything trains
        per_method[name], used = kw, used | set(kw)
    unknown = sorted(set(rest) - used)
    if unknown:
        raise ValueError(f"no method of this experiment has the parameter(s) {', '.join(unknown)}")
    return train, per_method


def training_config(dataset: str, arch, epochs: int, **train_kw) -> TrainConfig:
    """The settings every member trains with (validated like a run's; ``method``/``seed`` unused)."""
    return TrainConfig(dataset=dataset, arch=arch, epochs=epochs, **train_kw)


def make_groups(
    methods: Sequence[str],
    seeds: tuple[int, ...],
    thresholds: tuple[float, ...],
    params: dict[str, dict],
    chunk: int | None = None,
) -> list[Group]:
    """The populations to train: per method, threshold-major then seed, in chunks of ``chunk``
    seeds (every threshold of those seeds: one group; ``None``: all seeds in one group).

    Members never depend on who shares their population (DESIGN §3c), so the split changes no
    result, only how much can train in parallel. A method whose members interact (ODF2NNA's
    shared layout, NeST's shared activation shift) trains each member alone.

    Example:
        >>> [g.population for g in make_groups(["dense", "random"], (0, 1), (0.8, 0.9), {})]
        [2, 4]
        >>> [g.seeds for g in make_groups(["random"], (0, 1, 2), (0.8,), {}, chunk=2)]
        [(0, 1), (2,)]
    """
    if not methods:
        raise ValueError("give at least one method")
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods must be distinct, got {list(methods)}")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk must be a positive number of seeds or None, got {chunk!r}")
    groups = []
    for name in methods:
        kw = dict(params.get(name, {}))
        size = 1 if METHODS.make(name, **kw).members_interact else (chunk or len(seeds))
        for start in range(0, len(seeds), size):
            part = seeds[start : start + size]
            if "sparsity" in METHODS.get(name).param_specs():
                lone = [(t, s) for t in thresholds for s in part]
                if size == 1:  # one member per population
                    groups += [Group(name, kw, (s,), (t,)) for t, s in lone]
                    continue
                groups.append(Group(name, kw, tuple(s for _, s in lone), tuple(t for t, _ in lone)))
            else:
                groups.append(Group(name, kw, part, (None,) * len(part)))
    return groups
