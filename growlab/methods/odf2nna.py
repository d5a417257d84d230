"""ODF2NNA (Balderas, Lastra & Benítez, paper 002): train a general model, keep its useful units, refine.

The run's epochs hold both stages: the general model trains for ``epochs / (1 +
refine_fraction)`` epochs (rounded), then ε selection (:mod:`growlab.methods.useful_units`)
removes every hidden unit whose output std over the evaluation rows is ≤ ``epsilon``, folds
their mean outputs into the next layer's biases, deletes layers left empty (the previous layer
then connects directly to the next with fresh weights), and the remaining epochs — about
``refine_fraction`` of the original ones, 0.15 by default as in the paper — refine it with a
fresh optimizer (the paper builds a new model). ``run.cycle()`` applies ε now (the app's
"apply"); ``run.preview_epsilon(eps)`` shows what would go without changing anything.

``nu_formula`` sizes the general model by the paper's Eq. 2, NU = (NP − NC) / (D + NL·(NC + 1))
with NP the training rows, D the inputs, NL the hidden layers and NC the classes (2 for
binary, 1 for regression), rounded down: every hidden layer gets NU units (a rectangular
model), at most as many as the widest configured layer (the allocated capacity).
``eval_data`` picks the evaluation rows of Algorithm 3 (the paper leaves them open): the
training rows by default, so validation figures stay untouched by the selection.

On a conv network a channel is a unit: its output std is taken over the batch and every
position of its map, its mean value folds into the next layer's biases through each kernel's
tap sum (or its flatten block's sum), and a conv layer is never deleted (it keeps its most
variable channel); see :mod:`growlab.methods.useful_units`. ``nu_formula`` sizes MLPs only.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from growlab.engine import Network
from growlab.methods.base import Method
from growlab.methods.checkpoint import quality
from growlab.methods.context import CycleContext
from growlab.methods.params import Param
from growlab.methods.presets import METHODS
from growlab.methods.useful_units import Removal, plan_removal, select_units

EPSILON = Param(
    "epsilon", 0.1, "float", low=0, doc="ε: a hidden unit is kept only if its output std over the evaluation rows exceeds ε",
)  # fmt: skip


def nu_width(n_examples: int, n_inputs: int, n_classes: int, n_hidden: int) -> int:
    """The paper's general-model width NU = (NP − NC) / (D + NL·(NC + 1)), rounded down, ≥ 1.

    Example:
        >>> nu_width(120, 4, 3, 2)  # iris: 117 / 12
        9
    """
    return max(1, math.floor((n_examples - n_classes) / (n_inputs + n_hidden * (n_classes + 1))))


def n_classes(net: Network) -> int:
    """NC of the paper: classes for classification (2 for binary), 1 for regression."""
    return {"binary": 2, "regression": 1}.get(net.task, net.sizes[-1])


@METHODS.register("odf2nna")
class Odf2nna(Method):
    """Train the general model, remove units with output std ≤ ε (folding them), refine."""

    doc = "train a general model, remove units whose output std ≤ ε (folded into biases; empty layers bridged), refine"
    source = "Balderas, Lastra & Benítez, ODF2NNA (paper 002)"
    previews_epsilon = True
    PARAMS: ClassVar[tuple[Param, ...]] = (
        EPSILON,
        Param("refine_fraction", 0.15, "float", low=0, high=1, low_open=True,
              doc="refinement epochs as a fraction of the general model's epochs (the run holds both)"),
        Param("eval_data", "train", "choice", choices=("train", "validation"),
              doc="rows whose unit outputs decide usefulness"),
        Param("nu_formula", False, "bool", live=False,
              doc="size every hidden layer by the paper's NU = (NP − NC)/(D + NL·(NC + 1)) (a rectangular model)"),
    )  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        self.reports: list[dict] = []  # one per application of ε
        self.preview: list[tuple[int, int]] = []  # units ε would remove now (member 0)

    #: a population shares one layout, so a layer goes only when every member can lose it
    members_interact = True

    def capacity(self, sizes: tuple[int, ...], n_conv: int = 0) -> tuple[int, ...]:
        if not self.nu_formula:
            return sizes
        if n_conv:
            raise ValueError(
                "nu_formula sizes the hidden layers of an MLP by the paper's Eq. 2 (NU from the inputs, "
                "classes and training rows); a conv network keeps its configured channels and widths: "
                "leave nu_formula off"
            )
        widest = max(sizes[1:-1])  # rectangular room for NU units per layer
        return (sizes[0], *([widest] * (len(sizes) - 2)), sizes[-1])

    def setup(self, ctx: CycleContext) -> None:
        if self.nu_formula:
            net = ctx.net
            nu = nu_width(ctx.X_train.shape[0], net.sizes[0], n_classes(net), len(net.sizes) - 2)
            width = min(nu, net.capacity[1])
            for k in range(1, len(net.sizes) - 1):
                net.set_alive(k, (torch.arange(net.capacity[k], device=net.device) < width).expand(net.population, -1))
            with torch.no_grad():  # initializer bounds 1/√fan-in for the fan-in the layers now have
                for l in range(1, net.n_layers):
                    net.weights[l].mul_(math.sqrt(net.sizes[l] / width))
                    net.biases[l].mul_(math.sqrt(net.sizes[l] / width))
            capped = f" (capped at the capacity {width})" if width < nu else ""
            ctx.note("note", f"ODF2NNA general model: NU = {nu} units per hidden layer{capped}")

    def prune_epoch(self, epochs: int) -> int:
        """The epoch after which ε is applied: ``epochs / (1 + refine_fraction)``, rounded, ≥ 1."""
        return max(1, round(epochs / (1 + self.refine_fraction)))

    def after_epoch(self, ctx: CycleContext) -> bool:
        due = not self.reports and ctx.epoch >= self.prune_epoch(ctx.epochs)
        if due:
            self.cycle(ctx)
        if ctx.net.population == 1:  # the diagram's hollow units follow training
            self.preview = self.preview_epsilon(ctx, self.epsilon)
        return due

    def cycle(self, ctx: CycleContext) -> None:
        """Apply ε now: remove useless units, fold them, bridge empty layers; fresh optimizer."""
        net = ctx.net
        before, params_before = quality(ctx), net.n_params().cpu()
        removal = select_units(net, self._rows(ctx), self.epsilon, ctx.streams, ctx)
        ctx.optimizer.rebuild(keep_state=False)  # the refined model starts like a new model
        after, params_after = quality(ctx), net.n_params().cpu()
        self.reports.append(self._report(ctx, removal, before, after, params_before, params_after))
        first = len(self.reports) == 1
        what = f"{int(removal.counts[0])} units, {len(removal.layers)} layers" if net.population == 1 else "units"
        ctx.note(
            "phase" if first else "note",
            f"{'training → refinement' if first else 'ε applied again'}: ε = {self.epsilon:g} removed {what}; "
            f"parameters {int(params_before[0])} → {int(params_after[0])}",
        )
        for p, layer, unit in removal.kept:
            ctx.note("note", f"member {p} keeps unit {unit} of layer {layer}: other members still use the layer")
        self.preview = []

    def preview_epsilon(self, ctx: CycleContext, eps: float) -> list[tuple[int, int]]:
        """The ``(neuron_layer, unit)`` of member 0 that applying ``eps`` now would remove
        (all units of a layer that would be deleted included). Changes nothing in the run;
        shown as the ``useless_units`` overlay. ``ValueError`` for ε < 0."""
        eps = EPSILON.validate(eps)
        self.preview = plan_removal(ctx.net, self._rows(ctx), eps).units(0)
        return list(self.preview)

    def _rows(self, ctx: CycleContext) -> torch.Tensor:
        return ctx.X_train if self.eval_data == "train" else ctx.X_val

    def _report(self, ctx, removal: Removal, before, after, params_before, params_after) -> dict:
        return {
            "epoch": ctx.epoch, "epsilon": self.epsilon, "quality_before": float(before[0]),
            "quality_after": float(after[0]), "params_before": int(params_before[0]),
            "params_after": int(params_after[0]), "units_removed": int(removal.counts[0]),
            "layers_removed": list(removal.layers), "sizes_after": list(ctx.net.widths()[0].tolist()),
        }  # fmt: skip

    # ------------------------------------------------------------------ views and state
    def overlays(self) -> dict:
        return {"useless_units": list(self.preview), "phase": "refinement" if self.reports else "training"}

    def state_dict(self) -> dict:
        return {"reports": [dict(r) for r in self.reports], "preview": [list(u) for u in self.preview]}

    def load_state_dict(self, state: dict) -> None:
        self.reports = [dict(r) for r in state.get("reports", [])]
        self.preview = [tuple(int(x) for x in u) for u in state.get("preview", [])]
