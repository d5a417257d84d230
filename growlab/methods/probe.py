"""A growth cycle's signals on one batch of training rows, kept current through its births (NeST).

NeST computes its growth gradients "either using the whole training set or a large batch"
(paper 003, §3.2.1). A :class:`Probe` is that batch and one forward pass over it: connection
growth's ∂L/∂w, the bridging gradients of neuron growth (:mod:`growlab.methods.neurons`) and
the loss of each candidate kernel set of feature-map growth (:mod:`growlab.methods.feature_maps`)
are all read from it. After each birth only the layers from the changed one on are computed
again (:meth:`~growlab.engine.Network.resume`), so every decision of a cycle still sees the
births before it, as when each is computed afresh, at a fraction of the cost:

- the connection gradients and the trace come from one forward/backward pass over the rows;
  connections grown at zero leave the trace as it is;
- a bridging gradient needs ``∂L/∂u^{k+1}``: a backward pass through the layers after ``k``
  only;
- a newborn neuron or feature map changes its own layer's output; the layers after it run again.

The rows are drawn without replacement from each growing member's own stream (a member that
does not grow takes the first rows and draws nothing, so its stream is the same alone as in any
population); ``rows=None`` or a training set no larger than ``rows`` uses the whole set.
"""

from __future__ import annotations

from typing import Callable

import torch

from growlab.engine import member_losses
from growlab.engine.products import Trace
from growlab.methods.context import CycleContext
from growlab.methods.scores import sample_rows


class Probe:
    """The rows ``(X, y)`` of a growth cycle and the network's trace on them.

    Args:
        ctx: the cycle.
        rows: training rows per member; ``None``: the whole training set.
        members: the members that grow (bool ``(P,)``; default all): only they draw rows.

    Example:
        >>> # probe = Probe(ctx, 256); grads = probe.gradients(); grow_neuron(ctx, k, ..., probe=probe)
    """

    def __init__(self, ctx: CycleContext, rows: int | None, members: torch.Tensor | None = None):
        self.net = ctx.net
        who = None if members is None else members.nonzero().flatten().tolist()
        self.X, self.y = sample_rows(ctx, rows, who)
        self._trace: Trace | None = None
        self._pending: tuple[int, Callable[[], torch.Tensor]] | None = None  # (layer, its new output)

    @property
    def rows(self) -> int:
        """Rows per member."""
        return self.X.shape[-2]

    def gradients(self) -> list[torch.Tensor]:
        """Dense ∂L/∂W of every layer on the rows, inactive connections included (each member's
        own mean loss), shaped like the weights; the forward pass is kept as the trace."""
        net = self.net
        with torch.enable_grad(), net.conv_flags():
            tr = net.trace(self.X)
            found = torch.autograd.grad(member_losses(tr.outputs, self.y, net.task).sum(), net.parameters())
        self._trace = _detached(tr)
        return [net.weight_view(l, g) for l, g in enumerate(found)]

    def trace(self) -> Trace:
        """The network's forward pass over the rows as it is now (no gradients)."""
        if self._trace is None:
            with torch.no_grad(), self.net.conv_flags():
                self._trace = self.net.trace(self.X)
        if self._pending is not None:
            layer, output = self._pending
            self._pending = None
            with torch.no_grad():
                self._trace = self.net.resume(self._trace, layer, output())
        return self._trace

    def signals(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`~growlab.methods.neurons.layer_signals` on the rows: the input of weight layer
        ``k − 1`` and ``δ = ∂L/∂u^{k+1}`` at the output of weight layer ``k``, padded widths."""
        net, tr = self.net, self.trace()
        z = tr.pre[k].detach().requires_grad_()
        with torch.enable_grad(), net.conv_flags():
            out = net.resume(tr, k, z).outputs
            (delta,) = torch.autograd.grad(member_losses(out, self.y, net.task).sum(), z)
        return tr.inputs[k - 1], delta

    def losses(self, layer: int, z: torch.Tensor, candidates: int) -> torch.Tensor:
        """Each member's mean loss with ``candidates`` alternative outputs of weight layer
        ``layer`` stacked along the rows, ``z`` ``(P, candidates·rows, …)`` candidate-major.
        ``(P, candidates)`` float64"""
        net = self.net
        with torch.no_grad(), net.conv_flags():
            out = net.resume(self.trace(), layer, z).outputs  # (P, c·B, n_out)
        P, B = out.shape[0], self.rows
        y = self.y.expand(P, B) if self.y.dim() == 1 else self.y
        y = y[:, None].expand(P, candidates, B).reshape(P * candidates, B)
        return member_losses(out.reshape(P * candidates, B, -1), y, net.task).double().view(P, candidates)

    def changed(self, layer: int, output: Callable[[], torch.Tensor]) -> None:
        """Weight layer ``layer`` now outputs ``output()`` (shaped like ``trace().pre[layer]``;
        the layers before it unchanged): the layers after it run again when the trace is next
        read (after a cycle's last birth, never)."""
        if self._pending is not None:
            self.trace()
        self._pending = (layer, output)


def _detached(tr: Trace) -> Trace:
    return Trace(
        tr.outputs.detach(), [t.detach() for t in tr.inputs], [t.detach() for t in tr.pre], tr.widths,
        [t.detach() for t in tr.maps],
    )  # fmt: skip
