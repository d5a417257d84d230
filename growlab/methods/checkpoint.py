"""Stored weights of a population, per member: what NeST goes back to and the lottery rewinds to.

Also :func:`quality`, the validation figure the phase methods decide on (accuracy, or R² for
regression).
"""

from __future__ import annotations

import torch

from growlab.engine import Network, member_losses, probabilities
from growlab.methods.context import CycleContext
from growlab.methods.structure import members_like


@torch.no_grad()
def quality(ctx: CycleContext) -> torch.Tensor:
    """Validation accuracy per member ``(P,)`` float64; R² = 1 − MSE/Var(y) for regression.

    R² stands in for accuracy on regression data, so "target accuracy 0.8" reads "explains
    80% of the validation variance" (targets are standardized, so the loss is the MSE).

    Example:
        >>> # quality(ctx) -> tensor([0.8525], dtype=torch.float64)
    """
    out, y = ctx.net.forward(ctx.X_val), ctx.y_val  # only what the figure needs (no AUC, no F1)
    if ctx.task == "regression":
        var = float(ctx.y_val.float().var(unbiased=False).clamp(min=1e-12))
        return 1.0 - member_losses(out, y, ctx.task).double().cpu() / var
    probs = probabilities(out, ctx.task)
    pred = (probs > 0.5).long() if ctx.task == "binary" else probs.argmax(dim=2)
    return (pred == y.long()).double().mean(dim=1).cpu()  # evaluate()'s accuracy


class Checkpoint:
    """Weights, biases and edge masks of every member, updated member by member.

    Example:
        >>> net = Network((3, 2, 1), population=2)
        >>> cp = Checkpoint(net)
        >>> torch.equal(cp.weights[0], net.weights[0].detach())
        True
    """

    def __init__(self, net: Network):
        self.weights = [w.detach().clone() for w in net.weights]  # (P, out, in) each
        self.biases = [b.detach().clone() for b in net.biases]  # (P, out) each
        self.masks = [m.clone() for m in net.masks]

    @torch.no_grad()
    def save(self, net: Network, who: torch.Tensor) -> None:
        """Store the current values of members ``who`` (bool ``(P,)``)."""
        who = who.to(net.device)
        self._to(net.device)
        for l in range(net.n_layers):
            self.weights[l][who] = net.weights[l].detach()[who]
            self.biases[l][who] = net.biases[l].detach()[who]
            self.masks[l][who] = net.masks[l][who]

    @torch.no_grad()
    def rewind(self, ctx: CycleContext, who: torch.Tensor) -> int:
        """Set the surviving connections and biases of members ``who`` to the stored values.

        The structure is kept (pruned stays pruned); the optimizer state of every rewound
        weight and bias is cleared. Returns the number of connections rewound.
        """
        net, n = ctx.net, 0
        who = who.to(net.device)
        self._to(net.device)
        for l in range(net.n_layers):
            sel = members_like(who, net.weights[l]).expand_as(net.weights[l])
            keep = net.effective_mask(l) & sel
            net.weights[l].copy_(torch.where(sel, self.weights[l] * net.active_float(l), net.weights[l]))
            bsel = who[:, None].expand_as(net.biases[l])
            net.biases[l].copy_(torch.where(bsel, self.biases[l] * net.alive_float(l), net.biases[l]))
            ctx.optimizer.reset(l, sel, bias=bsel)
            n += int(keep.sum())
        return n

    def restore(self, ctx: CycleContext, who: torch.Tensor, cause: str) -> None:
        """Make members ``who`` the stored networks again: structure (as ``grow``/``prune``
        events with ``cause``) and values."""
        net = ctx.net
        who = who.to(net.device)
        self._to(net.device)
        for l in range(net.n_layers):
            sel = members_like(who, net.masks[l])
            back = self.masks[l] & ~net.masks[l] & sel
            if back.any():
                ctx.grow(l, back, self.weights[l], cause)
            gone = net.masks[l] & ~self.masks[l] & sel
            if gone.any():
                ctx.prune(l, gone, cause)
        self.rewind(ctx, who)

    def state_dict(self) -> dict:
        cpu = lambda ts: [t.detach().cpu().clone() for t in ts]  # noqa: E731
        return {"weights": cpu(self.weights), "biases": cpu(self.biases), "masks": cpu(self.masks)}

    @classmethod
    def from_state(cls, state: dict) -> "Checkpoint":
        """A checkpoint holding ``state`` (from :meth:`state_dict`); moved to the network's
        device when first used."""
        cp = cls.__new__(cls)
        cp.weights, cp.biases = list(state["weights"]), list(state["biases"])
        cp.masks = [t.bool() for t in state["masks"]]
        return cp

    def _to(self, device: torch.device) -> None:
        if self.weights and self.weights[0].device != device:
            self.weights = [t.to(device) for t in self.weights]
            self.biases = [t.to(device) for t in self.biases]
            self.masks = [t.to(device) for t in self.masks]
