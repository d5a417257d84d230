"""Named methods (what the method selector shows), each a preset of parts (DESIGN §4).

| name | init | per cycle |
|---|---|---|
| ``dense`` | dense | nothing |
| ``prune`` | dense | prune toward T on a schedule (``constant``, ``steps``, ``polynomial``) |
| ``subnet`` | subnet | nothing |
| ``random`` | subnet | grow ``grow_per_cycle`` random connections up to density 1 − T |
| ``strategic`` | subnet | grow from the N focal junctures up to density 1 − T |
| ``random+prune`` | subnet | prune ``prune_per_cycle``, then random growth |
| ``strategic+prune`` | subnet | prune ``prune_per_cycle``, then strategic growth |
| ``gradient+prune`` | random sparse | prune, then grow the largest |∂L/∂w| |

Every preset but ``dense`` also accepts ``core=`` (Python API only): start from those masks
instead of its own init, e.g. a common core found by ``growlab.analysis``.

Every method runs on conv networks too (DESIGN §3b). A connection is then a kernel tap: pruning
ranks taps (``granularity="weight"``, the default) or whole kernels or channels (``"kernel"``,
``"channel"``, :mod:`growlab.methods.groups`); ``random`` and ``gradient`` growth pick dormant
taps; the sub-network, strategic synthesis and the Erdős–Rényi init work on the channel graph
(whole kernels; RigL's Erdős–Rényi-Kernel densities for conv layers); the phase methods document
their conv readings (NeST's feature-map growth, ODF2NNA's channels, the lottery's global ranking).
"""

from __future__ import annotations

from growlab.methods.base import Method
from growlab.methods.composed import Composed
from growlab.methods.registry import Registry

METHODS: Registry[Method] = Registry("method")

_PAPER = "Finlinson & Moschoyiannis, synthesis and pruning (paper 000)"


@METHODS.register("dense")
class Dense(Method):
    """All connections active from the start; nothing grows or is pruned (the baseline)."""

    doc = "all connections active; nothing grows or is pruned (baseline)"
    source = "baseline"


@METHODS.register("prune")
class Prune(Composed):
    """Dense start, pruned to sparsity T: ``constant`` (at once), ``steps`` (``prune_per_cycle``
    per cycle, the paper's "constant pruning") or ``polynomial`` (Zhu & Gupta's cubic ramp,
    the default: it reaches T by ``stop`` at any network size)."""

    doc = "dense start; prune to the sparsity threshold on a schedule (constant, steps, polynomial)"
    source = f"{_PAPER}; Zhu & Gupta 2017 (polynomial)"
    init_part, prune_mode = "dense", "target"


@METHODS.register("subnet")
class Subnet(Composed):
    """The paper's random-walk sub-network, trained as it is."""

    doc = "random-walk sub-network (every input has a path to the output); structure fixed"
    source = _PAPER
    init_part = "subnet"


@METHODS.register("random")
class RandomSynthesis(Composed):
    """Sub-network start; random dormant connections grow until density reaches 1 − T."""

    doc = "sub-network start; grow random connections up to density 1 − sparsity"
    source = _PAPER
    init_part, grow_part = "subnet", "random"


@METHODS.register("strategic")
class StrategicSynthesis(Composed):
    """Sub-network start; growth from the N focal junctures (see :mod:`.strategic`) up to 1 − T."""

    doc = "sub-network start; grow from the N strongest connections toward nearby neurons (Gaussian σ, μ)"
    source = _PAPER
    init_part, grow_part = "subnet", "strategic"


@METHODS.register("random+prune")
class RandomPrune(Composed):
    """Random synthesis with pruning: each cycle prunes ``prune_per_cycle`` then grows (≈ SET)."""

    doc = "sub-network start; each cycle prune, then grow random connections (≈ SET)"
    source = f"{_PAPER}; Mocanu et al. 2018 (SET)"
    init_part, grow_part, prune_mode = "subnet", "random", "per_cycle"
    defaults = {"prune_per_cycle": 2}


@METHODS.register("strategic+prune")
class StrategicPrune(Composed):
    """Strategic synthesis with pruning: each cycle prunes ``prune_per_cycle`` then grows strategically.

    Read literally (the defaults) it is often a false start: magnitude pruning ranks the input
    layer's smaller weights first and prunes the sub-network's one connection per input two a
    cycle, while strategic growth, which grows only from the origin of an active connection,
    never reconnects an input (heart 16-8 seed 0: 1 input of 27 left on a path by epoch 30,
    the majority class all run). ``keep_inputs=True`` keeps every input on a path, and
    ``grow_from="both"`` lets growth add neurons to the paths (the app starts with both).
    """

    doc = "sub-network start; each cycle prune, then grow from the focal junctures"
    source = _PAPER
    init_part, grow_part, prune_mode = "subnet", "strategic", "per_cycle"
    defaults = {"prune_per_cycle": 2}


@METHODS.register("gradient+prune")
class GradientPrune(Composed):
    """Random sparse start; each cycle prunes, then grows the dormant connections of largest
    |∂L/∂w| (RigL-style; NeST's connection growth).

    Cycles default to every 5 epochs: grown connections start at zero (as in RigL) and need a
    few steps to grow before magnitude pruning judges them (RigL's ΔT).
    """

    doc = "random sparse start; each cycle prune, then grow the largest |∂L/∂w| (RigL-style)"
    source = "Evci et al. 2020 (RigL); Dai et al. (NeST, paper 003)"
    init_part, grow_part, prune_mode = "random", "gradient", "per_cycle"
    defaults = {"prune_per_cycle": 2, "interval": 5}
