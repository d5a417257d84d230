"""Copies of a :class:`~growlab.engine.Network`: state dicts, CPU copies, single members, ``nn.Sequential``.

State dicts hold the true shapes only (never the padding of the stored parameters), so an
archive does not depend on how the engine lays its tensors out. A conv network's state also
holds its ``image`` and ``kernels`` (plain ints).
"""

from __future__ import annotations

import torch

from growlab.config import ConvShape
from growlab.engine.activations import activation_module

_PER_MEMBER = ("weights", "biases", "masks", "alive", "birth_epoch", "birth_cycle")


class Copies:
    """The copying half of :class:`~growlab.engine.Network` (a mixin; see there for the tensors)."""

    def state_dict(self) -> dict:
        """Tensors and layout (CPU copies), loadable with ``torch.load(weights_only=True)``."""
        cpu = lambda ts: [t.detach().cpu().contiguous().clone() for t in ts]  # noqa: E731
        return {
            "sizes": list(self.sizes), "capacity": list(self.capacity), "task": self.task,
            "activation": self.activation, "seeds": list(self.seeds),
            "weights": cpu(self.weights), "biases": cpu(self.biases), "masks": cpu(self.masks),
            "alive": cpu(self.alive), "birth_epoch": cpu(self.birth_epoch), "birth_cycle": cpu(self.birth_cycle),
            **self._conv_state(),
        }  # fmt: skip

    def _conv_state(self) -> dict:
        """``image`` and ``kernels`` of a conv network as plain lists (nothing for an MLP)."""
        if not self.n_conv:
            return {}
        kernels = [[k.kernel, k.stride, k.padding, k.pool] for k in self.kernels]
        return {"image": list(self.image), "kernels": kernels}

    def load_state_dict(self, state: dict, relayout: bool = False) -> None:
        """Copy tensors from :meth:`state_dict` output (same layout) into this network.

        ``relayout=True`` also accepts a state with other hidden layers (e.g. after
        :meth:`remove_layer`): the network takes the state's layout, with new weight tensors.
        """
        same = list(state["capacity"]) == list(self.capacity)
        ends = [state["capacity"][0], state["capacity"][-1]] == [self.capacity[0], self.capacity[-1]]
        conv = {k: state.get(k) for k in ("image", "kernels")} == {k: self._conv_state().get(k) for k in ("image", "kernels")}
        if len(state["seeds"]) != self.population or not conv or not (same or (relayout and ends)):
            raise ValueError("state does not match this network's layout")
        if not same:
            self.capacity = tuple(int(c) for c in state["capacity"])
            self.allocate([tuple(w.shape[1:]) for w in state["weights"]])
        with torch.no_grad():
            for l in range(self.n_layers):
                self.weights[l].copy_(state["weights"][l])
                self.biases[l].copy_(state["biases"][l])
        dev = self.device
        self.masks = [m.to(dev).bool() for m in state["masks"]]
        self.alive = [a.to(dev).bool() for a in state["alive"]]
        self.birth_epoch = [t.to(dev) for t in state["birth_epoch"]]
        self.birth_cycle = [t.to(dev) for t in state["birth_cycle"]]
        self.sizes = tuple(state["sizes"])
        self.set_activation(state["activation"])
        self.refresh()

    @classmethod
    def from_state_dict(cls, state: dict, device: str | torch.device | None = None):
        """A new network holding ``state``."""
        kernels = tuple(ConvShape(*map(int, k)) for k in state.get("kernels", ()))
        net = cls(
            state["sizes"], population=len(state["seeds"]), capacity=state["capacity"],
            activation=state["activation"], task=state["task"], seeds=state["seeds"], device=device,
            image=state.get("image"), kernels=kernels,
        )  # fmt: skip
        net.load_state_dict(state)
        return net

    def copy(self, device: str | torch.device | None = None):
        """An independent copy (on ``device``, default the same device)."""
        return type(self).from_state_dict(self.state_dict(), device=device or self.device)

    def cpu(self):
        """An independent CPU copy (safe to read from another thread)."""
        return self.copy(device="cpu")

    def member(self, p: int):
        """An independent single-member copy of member ``p``."""
        s = self.state_dict()
        for key in _PER_MEMBER:
            s[key] = [t[p : p + 1].clone() for t in s[key]]
        s["seeds"] = [self.seeds[p]]
        return type(self).from_state_dict(s, device=self.device)

    def to_sequential(self, p: int = 0) -> torch.nn.Sequential:
        """Member ``p`` as a dense ``torch.nn.Sequential`` at full capacity (inactive weights 0).

        A conv network becomes ``Conv2d, act, MaxPool2d, …, Flatten, Linear, act, …``; it reads
        images ``(B, C, H, W)``, not flattened rows.
        """
        mods: list[torch.nn.Module] = []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if self.is_conv(l):
                k = self.kernels[l]
                layer = torch.nn.Conv2d(w.shape[2], w.shape[1], k.kernel, stride=k.stride, padding=k.padding)
            else:
                if l == self.n_conv and self.n_conv:
                    mods.append(torch.nn.Flatten())
                layer = torch.nn.Linear(w.shape[2], w.shape[1])
            with torch.no_grad():
                layer.weight.copy_(w[p].detach().cpu())
                layer.bias.copy_(b[p].detach().cpu())
            mods.append(layer)
            if l < self.n_layers - 1:
                mods.append(activation_module(self.activation)())
            if self.is_conv(l) and self.kernels[l].pool > 1:
                mods.append(torch.nn.MaxPool2d(self.kernels[l].pool))
        return torch.nn.Sequential(*mods)
