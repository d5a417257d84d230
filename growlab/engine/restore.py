"""Restore points: a network's training state kept to go back to, at the cost of a memcpy.

A run keeps the state before every epoch (a divergence goes back to it; DESIGN §10). A state
dict and a deep copy of the optimizer's per epoch cost as much as a few training steps; a
:class:`RestorePoint` instead copies the trainable tensors and the optimizer's buffers into
tensors it kept from its previous save (no allocation once the shapes settle), and the
structure (masks, alive neurons, births, layout) only when the network's
``structure_version`` says it changed since — it does not change while an epoch trains.
"""

from __future__ import annotations

from typing import Any

import torch


class RestorePoint:
    """The state of a network, its optimizer and its trainer at one moment, to go back to.

    Saving again overwrites it in place. Restoring leaves it intact (it can serve twice).

    Example:
        >>> from growlab.engine import Network, Optimizer, Trainer
        >>> net = Network((2, 1)); opt = Optimizer(net); trainer = Trainer(net, opt)
        >>> point = RestorePoint(); point.save(net, opt, trainer)
        >>> _ = trainer.step(torch.ones(3, 2), torch.ones(3))
        >>> point.restore(net, opt, trainer); trainer.steps
        0
    """

    def __init__(self) -> None:
        self.params: list[torch.Tensor] = []
        self._tensors: list[torch.Tensor] = []  # the copies: parameters, then optimizer buffers
        self.optimizer: list[dict[str, Any] | None] = []
        self.groups: list[dict[str, Any]] = []
        self.trainer: dict | None = None
        self.activation: str | None = None
        self.structure: dict | None = None  # the network's state dict when its structure was last copied
        self.version: int | None = None  # the structure_version it was copied at

    def save(self, net, optimizer, trainer, share: "RestorePoint | None" = None) -> None:
        """Copy the state now. ``share``: another point whose structure copy this one may
        reuse when it is of the same structure (structure copies are never written to)."""
        version = net.structure_version
        if self.version != version:
            if share is not None and share.version == version and share.structure is not None:
                self.structure = share.structure
            else:
                self.structure = net.state_dict()
            self.version = version
        params, torch_opt = net.parameters(), optimizer.torch
        states = [torch_opt.state.get(p) or {} for p in params]
        sources = [p.detach() for p in params] + [v for st in states for v in st.values() if torch.is_tensor(v)]
        kept = self._tensors
        if len(kept) == len(sources) and all(
            a.shape == b.shape and a.dtype == b.dtype and a.device == b.device for a, b in zip(kept, sources)
        ):
            torch._foreach_copy_(kept, sources)  # one call for every tensor, into the copies kept from before
        else:
            kept = self._tensors = [t.clone() for t in sources]
        self.params, rest = kept[: len(params)], iter(kept[len(params) :])
        self.optimizer = [{k: next(rest) if torch.is_tensor(v) else v for k, v in st.items()} or None for st in states]
        self.groups = [{k: v for k, v in g.items() if k != "params"} for g in torch_opt.param_groups]
        self.trainer = trainer.state_dict()
        self.activation = net.activation

    def restore(self, net, optimizer, trainer) -> None:
        """Put the network, optimizer and trainer back as they were at :meth:`save`."""
        if self.trainer is None:
            raise ValueError("nothing saved in this restore point")
        if net.structure_version != self.version:
            relayout = list(self.structure["capacity"]) != list(net.capacity)  # a cycle may have removed a layer
            net.load_state_dict(_cloned(self.structure), relayout=relayout)
            if relayout:
                optimizer.rebuild(keep_state=False)
            self.version = net.structure_version  # the network now has this point's structure
        if net.activation != self.activation:
            net.set_activation(self.activation)
        with torch.no_grad():
            for w, saved in zip(net.parameters(), self.params):
                w.copy_(saved)
        torch_opt = optimizer.torch
        for p, saved in zip(net.parameters(), self.optimizer):
            if saved is None:
                torch_opt.state.pop(p, None)
            else:
                torch_opt.state[p] = {k: v.clone() if torch.is_tensor(v) else v for k, v in saved.items()}
        for group, saved in zip(torch_opt.param_groups, self.groups):
            group.update(saved)
        trainer.load_state_dict(self.trainer)


def _cloned(state: dict) -> dict:
    """``state`` with every tensor (in lists too) cloned, so loading it shares nothing with it."""
    def one(v):
        if torch.is_tensor(v):
            return v.clone()
        if isinstance(v, list):
            return [one(x) for x in v]
        return v

    return {k: one(v) for k, v in state.items()}
