"""Structure edits of a :class:`~growlab.engine.Network`: edge masks, neuron masks, layer removal.

Every edit keeps the network's invariant (inactive weights and dead neurons' biases exactly 0)
and its cached masks in step. Methods change structure through the cycle context
(:class:`growlab.methods.CycleContext`), which calls these and resets the optimizer state.
"""

from __future__ import annotations

import torch


class StructureEdits:
    """The edits half of :class:`~growlab.engine.Network` (a mixin; see there for the tensors)."""

    def set_mask(
        self,
        layer: int,
        new_mask: torch.Tensor,
        values: torch.Tensor | None = None,
        epoch: int = 0,
        cycle: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Replace ``layer``'s edge mask; removed weights become 0, added ones take ``values``.

        Returns:
            ``(removed, added)`` boolean tensors shaped like the layer's weights.
        """
        new_mask = new_mask.to(device=self.device, dtype=torch.bool)
        if new_mask.shape != self.masks[layer].shape:
            raise ValueError(f"mask shape {tuple(new_mask.shape)} != layer shape {tuple(self.masks[layer].shape)}")
        old = self.masks[layer]
        removed, added = old & ~new_mask, new_mask & ~old
        with torch.no_grad():
            w = self.weights[layer]
            if added.any():
                if values is None:
                    raise ValueError("values are required for added connections")
                w.copy_(torch.where(added, values.to(w), w))
                self.birth_epoch[layer][added] = epoch
                self.birth_cycle[layer][added] = cycle
            w.masked_fill_(removed, 0.0)
        self.masks[layer] = new_mask
        self.refresh([layer])
        return removed, added

    def padded_index(self, layer: int, index: torch.Tensor) -> torch.Tensor:
        """Flat positions in the true-shaped ``(P, out, in)`` layer (conv: ``(P, out, in, k, k)``)
        → positions in the stored one."""
        last = getattr(self, "_last_index", None)  # a cycle asks for one index three times in a row
        key = (layer, self._w[layer].shape, index._version)
        if last is not None and last[0] is index and last[1] == key:
            return last[2]
        if self.is_conv(layer):
            stored = self.conv_stored_index(layer, index)
        else:
            _, n_out, n_in = self.masks[layer].shape
            _, in_pad, out_pad = self._w[layer].shape  # stored transposed
            member, rest = index // (n_out * n_in), index % (n_out * n_in)
            stored = (member * in_pad + rest % n_in) * out_pad + rest // n_in
        self._last_index = (index, key, stored)
        return stored

    def weight_values(self, layer: int, index: torch.Tensor) -> torch.Tensor:
        """The weights at flat positions ``index`` of ``layer``'s true-shaped weights, read from
        the stored parameter (no copy of the layer). ``(n,)``"""
        return self._w[layer].detach().view(-1)[self.padded_index(layer, index)]

    def set_edges(
        self,
        layer: int,
        index: torch.Tensor,
        on: bool,
        values: torch.Tensor | None = None,
        epoch: int = 0,
        cycle: int = 0,
    ) -> None:
        """Switch the connections at ``index`` of ``layer`` on (with weights ``values``) or off.

        The same result as :meth:`set_mask`, touching only those connections instead of
        recomputing the layer: a grow/prune cycle on a large network changes a few thousand
        connections out of hundreds of thousands. ``index`` holds positions in the flattened
        ``(P, out, in)`` layer (a conv layer: ``(P, out, in, k, k)``, one per tap) of connections whose edge mask is now the opposite of ``on``;
        ``values`` ``(n,)`` are their initial weights. Births are stamped on switching on; a
        connection to a dead neuron keeps weight 0, as with :meth:`set_mask`.

        Example:
            >>> from growlab.engine import Network
            >>> net = Network((2, 1))
            >>> net.set_edges(0, torch.tensor([1]), on=False)
            >>> net.masks[0].tolist(), net.weights[0][0, 0, 1].item()
            ([[[True, False]]], 0.0)
        """
        # a new mask tensor, as set_mask gives (callers may hold the old one); the caches are
        # contiguous, so flat positions index them through views
        mask = self.masks[layer].clone(memory_format=torch.contiguous_format)
        mask.view(-1)[index] = on
        self._full = None
        self.structure_version += 1
        self.masks[layer] = mask
        wmask, emask = self._wmask[layer].view(-1), self._emask[layer].view(-1)
        w, gw, stored = self._w[layer], self._gmask[layer].view(-1), self.padded_index(layer, index)
        with torch.no_grad():
            if on:
                if values is None:
                    raise ValueError("values are required for added connections")
                live = self._both_alive(layer, index)  # (n,) or None: every neuron is alive
                scale = 1.0 if live is None else live.to(w.dtype)
                w.view(-1)[stored] = values.to(device=w.device, dtype=w.dtype) * scale
                wmask[index] = scale
                gw[stored] = scale
                emask[index] = True if live is None else live
                self.birth_epoch[layer].view(-1)[index] = epoch
                self.birth_cycle[layer].view(-1)[index] = cycle
            else:
                w.view(-1)[stored] = 0.0
                wmask[index] = 0.0
                gw[stored] = 0.0
                emask[index] = False
            w.mul_(self._gmask[layer])  # restore the invariant everywhere, as refresh does (cheap)

    def _both_alive(self, layer: int, index: torch.Tensor) -> torch.Tensor | None:
        """Whether both ends of the connections at flat ``index`` of ``layer`` are alive ``(n,)``;
        ``None`` when every neuron of both layers is."""
        alive_out, alive_in = self.alive[layer + 1], self.alive[layer]
        if bool(alive_out.all()) and bool(alive_in.all()):
            return None
        n_out, n_in = self.capacity[layer + 1], self.in_features(layer)  # weights per output node
        member, rest = index // (n_out * n_in), index % (n_out * n_in)
        return alive_out[member, rest // n_in] & alive_in[member, rest % n_in // self.fan(layer)]

    def unit_weights(self, k: int, units: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The weights touching ``units`` ``(P, cap[k])`` bool of neuron (or channel) layer ``k``:
        those into them (layer ``k - 1``) and out of them (layer ``k``), each shaped like that
        layer's weights, ``None`` past the ends. After a flatten, a channel's outgoing weights are
        its whole block of H·W columns; a conv kernel's are all its taps (what optimizer resets of
        removed or born units need).

        Example:
            >>> from growlab.engine import Network
            >>> into, out = Network((2, 3, 1)).unit_weights(1, torch.tensor([[True, False, False]]))
            >>> into.sum().item(), out.sum().item()
            (2, 1)
        """
        into = out = None
        if k > 0:
            w = self.weights[k - 1]
            into = units.reshape(*units.shape, *[1] * (w.dim() - 2)).expand(w.shape)
        if k < self.n_layers:
            w = self.weights[k]
            cols = self.in_alive_of(k, units)
            out = cols.reshape(cols.shape[0], 1, cols.shape[1], *[1] * (w.dim() - 3)).expand(w.shape)
        return into, out

    def set_alive(self, k: int, alive: torch.Tensor) -> None:
        """Replace the neuron mask of neuron layer ``k`` (hidden layers only)."""
        if not 0 < k < len(self.sizes) - 1:
            raise ValueError(f"only hidden neuron layers (1..{len(self.sizes) - 2}) can change, got {k}")
        self.alive[k] = alive.to(device=self.device, dtype=torch.bool).clone()
        self.refresh([l for l in (k - 1, k) if 0 <= l < self.n_layers])

    def remove_layer(self, k: int) -> None:
        """Delete hidden neuron layer ``k``: layer ``k - 1`` then feeds layer ``k + 1`` directly.

        ODF2NNA's whole-layer removal. The network is re-laid out in place (one weight layer
        fewer); the joining weight layer ``k - 1`` ``(P, cap[k+1], cap[k-1])`` starts with no
        active connection (weights 0, edge mask off) so the caller grows it with fresh weights;
        layer ``k + 1`` keeps its biases. Weight tensors are new objects: rebuild the optimizer
        (:meth:`~growlab.engine.optim.Optimizer.rebuild`) before training on.

        Example:
            >>> from growlab.engine import Network
            >>> net = Network((4, 3, 2, 1))
            >>> net.remove_layer(1)
            >>> net.sizes, tuple(net.weights[0].shape)
            ((4, 2, 1), (1, 2, 4))
        """
        if not self.n_conv < k < len(self.sizes) - 1:
            which = "dense hidden" if self.n_conv else "hidden"
            raise ValueError(f"only {which} neuron layers ({self.n_conv + 1}..{len(self.sizes) - 2}) can be removed, got {k}")
        P, dev = self.population, self.device
        in_pad, out_pad = self._w[k - 1].shape[1], self._w[k].shape[2]
        bridge = torch.zeros(P, in_pad, out_pad, dtype=self._w[k].dtype, device=dev)
        bridge[:, self.in_features(k - 1), :] = self._w[k].detach()[:, self.capacity[k], :]  # layer k + 1 keeps its biases
        self._w[k - 1 : k + 1] = [bridge.requires_grad_()]  # the other layers keep their tensors (and optimizer state)
        for cache in (self._emask, self._wmask, self._bmask, self._gmask):
            cache[k - 1 : k + 1] = [None]
        del self.alive[k]
        self.sizes = self.sizes[:k] + self.sizes[k + 1 :]
        self.capacity = self.capacity[:k] + self.capacity[k + 1 :]
        self._views()
        shape = self.weights[k - 1].shape
        self.masks[k - 1 : k + 1] = [torch.zeros(shape, dtype=torch.bool, device=dev)]
        for births in (self.birth_epoch, self.birth_cycle):
            births[k - 1 : k + 1] = [torch.zeros(shape, dtype=torch.int32, device=dev)]
        self.refresh([k - 1])
