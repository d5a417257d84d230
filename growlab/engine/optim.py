"""Adam or SGD over a population's tensors, with per-connection state reset."""

from __future__ import annotations

import torch

from growlab.config import OPTIMIZERS


class Optimizer:
    """A torch optimizer over a :class:`~growlab.engine.network.Network`'s parameters.

    Adam and SGD update each element independently of the others, so one optimizer over
    the population tensors trains every member as if it had its own.

    Args:
        net: the network.
        kind: ``"adam"`` (default) or ``"sgd"`` (with momentum).
        lr: learning rate.
        momentum: SGD momentum.
    """

    def __init__(self, net, kind: str = "adam", lr: float = 0.003, momentum: float = 0.9):
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {kind!r}; valid: {', '.join(OPTIMIZERS)}")
        self.net, self.kind = net, kind
        params = net.parameters()
        if kind == "adam":
            self.torch = _fused_or_foreach(torch.optim.Adam, params, lr=lr)
        else:
            self.torch = _fused_or_foreach(torch.optim.SGD, params, lr=lr, momentum=momentum)

    @property
    def lr(self) -> float:
        return self.torch.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.torch.param_groups:
            group["lr"] = float(value)

    def zero_grad(self) -> None:
        self.torch.zero_grad(set_to_none=False)

    def step(self) -> None:
        self.torch.step()

    def reset(self, layer: int, where: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Clear the optimizer state (moments / momentum) of changed connections of ``layer``.

        Args:
            layer: weight layer index.
            where: bool ``(P, out, in)`` — the connections that were pruned or grown.
            bias: optional bool ``(P, out)`` — biases to clear (neurons removed or born).
        """
        targets = [(self.net.weights[layer], where)]
        if bias is not None:
            targets.append((self.net.biases[layer], bias))
        for param, sel in targets:
            state = self.torch.state.get(param)
            if not state:
                continue
            for key in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
                buf = state.get(key)
                if buf is not None:
                    buf.masked_fill_(sel.to(buf.device), 0.0)

    def reset_at(self, layer: int, index: torch.Tensor) -> None:
        """:meth:`reset` for the connections at ``index`` of ``layer`` (positions in the flattened
        ``(P, out, in)`` weights), without a pass over the whole layer (what a cycle uses)."""
        state = self.torch.state.get(self.net.weights[layer])
        if not state:
            return
        for key in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
            buf = state.get(key)
            if buf is not None:
                buf.view(-1)[index] = 0.0

    def rebuild(self, keep_state: bool = True) -> None:
        """Re-create the torch optimizer over the network's current tensors, same settings.

        Needed when the network's layout changed (:meth:`Network.remove_layer`): tensors still
        in the network keep their state when ``keep_state`` (a removed layer's state goes with
        it); new ones start fresh. ``keep_state=False`` starts every tensor fresh, as for a
        newly built model.
        """
        old = self.torch
        settings = {k: v for k, v in old.param_groups[0].items() if k != "params"}
        self.torch = type(old)(self.net.parameters(), **settings)
        if keep_state:
            for p in self.net.parameters():
                if p in old.state:
                    self.torch.state[p] = old.state[p]

    def state_dict(self) -> dict:
        return self.torch.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.torch.load_state_dict(state)


def _fused_or_foreach(cls, params, **settings):
    """The fused implementation where this torch has it (one kernel per tensor), else foreach.

    Fused matters beyond speed-ups elsewhere: a masked network's Adam moments are exactly
    zero at inactive connections, and the vectorised ``sqrt`` of the foreach path is ~40×
    slower on zeros than on normal numbers on common x86 CPUs.
    """
    try:
        return cls(params, fused=True, **settings)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, foreach=True, **settings)
