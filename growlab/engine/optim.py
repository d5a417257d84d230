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
        """Drop the gradients (``zero_grad(set_to_none=True)`` without torch's per-call bookkeeping)."""
        for group in self.torch.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        self.torch.step()

    def reset(self, layer: int, where: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Clear the optimizer state (moments / momentum) of changed connections of ``layer``.

        Args:
            layer: weight layer index.
            where: bool, like the layer's weights — the connections that were pruned or grown.
            bias: optional bool ``(P, out)`` — biases to clear (neurons removed or born).
        """
        param = self.net.parameters()[layer]
        state = self.torch.state.get(param)
        if not state:
            return
        sel = self.net.padded(layer, where.to(param.device), None if bias is None else bias.to(param.device))
        for key in _BUFFERS:
            buf = state.get(key)
            if buf is not None:
                buf.masked_fill_(sel, 0.0)

    def reset_at(self, layer: int, index: torch.Tensor) -> None:
        """:meth:`reset` for the connections at ``index`` of ``layer`` (positions in the flattened
        weights, ``(P, out, in)`` or conv ``(P, out, in, k, k)``), without a pass over the whole
        layer (what a cycle uses)."""
        state = self.torch.state.get(self.net.parameters()[layer])
        if not state:
            return
        stored = self.net.padded_index(layer, index)
        for key in _BUFFERS:
            buf = state.get(key)
            if buf is not None:
                buf.view(-1)[stored] = 0.0

    def buffer(self, layer: int, key: str, bias: bool = False) -> torch.Tensor | None:
        """The state buffer ``key`` (``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``) of
        ``layer``'s weights (or biases) at their true shape (a view), ``None`` before the first step."""
        buf = self.torch.state.get(self.net.parameters()[layer], {}).get(key)
        if buf is None:
            return None
        return self._crop(layer, buf, bias, copy=False)

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
        """The torch optimizer's state as if weights and biases were separate tensors at their
        true shapes (entries ``2l`` and ``2l + 1``): the network's padding is not part of it."""
        sd = self.torch.state_dict()
        state = {}
        for l, s in sd["state"].items():
            for part, bias in ((2 * l, False), (2 * l + 1, True)):
                state[part] = {k: self._crop(l, v, bias) if _buffer(v) else v for k, v in s.items()}
        groups = [{**g, "params": [i for p in g["params"] for i in (2 * p, 2 * p + 1)]} for g in sd["param_groups"]]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state: dict) -> None:
        """Load :meth:`state_dict` output (weights and biases joined and padded back)."""
        net, inner = self.net, {}
        entries = {int(i): s for i, s in state["state"].items()}
        for l in range(net.n_layers):
            w, b = entries.get(2 * l), entries.get(2 * l + 1)
            if w is None:
                continue
            merged = {k: v for k, v in w.items() if not _buffer(v)}
            for key in _BUFFERS:
                if key in w:
                    where = w[key].to(net.device)
                    merged[key] = net.padded(l, where, None if b is None else b[key].to(net.device))
            inner[l] = merged
        groups = [{**g, "params": list(range(net.n_layers))} for g in state["param_groups"]]
        self.torch.load_state_dict({"state": inner, "param_groups": groups})

    def _crop(self, layer: int, buf: torch.Tensor, bias: bool, copy: bool = True) -> torch.Tensor:
        """A per-parameter buffer (stored like the parameter: padded, transposed) at the true
        shape of ``layer``'s weights ``(P, out, in)`` (conv: ``(P, out, in, k, k)``) or biases ``(P, out)``."""
        view = self.net.bias_view(layer, buf) if bias else self.net.weight_view(layer, buf)
        return view.contiguous() if copy else view


_BUFFERS = ("exp_avg", "exp_avg_sq", "momentum_buffer")


def _buffer(v) -> bool:
    """Whether an optimizer state entry is a per-element buffer (not Adam's step count)."""
    return torch.is_tensor(v) and v.dim() >= 2


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
