"""Per-member random streams: every random draw a member makes comes from its own generator.

A member of a population is then bit-identical whether it trains alone, in any grid, at any
population size or position (DESIGN §3c): nothing it draws depends on how many other members
draw, or in which order. Each stream is a CPU ``torch.Generator`` seeded from the member's seed
and a salt (one salt per purpose, so the batch order, the initial structure and the method's
draws are independent streams of one seed).
"""

from __future__ import annotations

from typing import Sequence

import torch


def stream_seed(seed: int, salt: int) -> int:
    """The generator seed of member seed ``seed`` for the purpose ``salt``.

    Example:
        >>> stream_seed(0, 7) == stream_seed(0, 7), stream_seed(0, 7) != stream_seed(1, 7)
        (True, True)
    """
    return (int(seed) * 1_000_003 + int(salt)) % 2**63


class MemberStreams:
    """One random stream per member of a population, member ``p`` seeded from ``seeds[p]``.

    Draws are made member by member, each from its own generator, and stacked: member ``p``'s
    numbers are the ones it would draw alone. Members sharing a seed draw the same numbers.

    Example:
        >>> s = MemberStreams([3, 5], salt=1)
        >>> alone = MemberStreams([5], salt=1)
        >>> torch.equal(s.rand(4)[1], alone.rand(4)[0])
        True
    """

    def __init__(self, seeds: Sequence[int], salt: int = 0):
        self.seeds = tuple(int(s) for s in seeds)
        self.salt = int(salt)
        self.generators = [torch.Generator().manual_seed(stream_seed(s, salt)) for s in self.seeds]

    def __len__(self) -> int:
        return len(self.generators)

    def __getitem__(self, p: int) -> torch.Generator:
        return self.generators[p]

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Uniform [0, 1) numbers, ``shape`` per member. ``(P, *shape)`` on the CPU"""
        return torch.stack([torch.rand(shape, generator=g, dtype=dtype) for g in self.generators])

    def rand_each(self, counts: Sequence[int], dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """``counts[p]`` uniform numbers from member ``p``, members one after another. ``(Σ counts,)``"""
        parts = [torch.rand(int(c), generator=g, dtype=dtype) for g, c in zip(self.generators, counts) if c]
        return torch.cat(parts) if parts else torch.empty(0, dtype=dtype)

    def randperm(self, n: int, members: Sequence[int] | None = None) -> torch.Tensor:
        """A permutation of ``range(n)`` per member, drawn only by ``members`` (default all);
        others get ``range(n)`` itself. ``(P, n)`` int64"""
        if members is None:
            return torch.stack([torch.randperm(n, generator=g) for g in self.generators])
        out = torch.arange(n).expand(len(self.generators), n).clone()
        for p in members:
            out[p] = torch.randperm(n, generator=self.generators[p])
        return out

    def signs(self, *shape: int, members: Sequence[int] | None = None) -> torch.Tensor:
        """Uniform ±1 of ``shape``, drawn only by ``members`` (default all); others get +1. ``(P, *shape)``"""
        out = torch.ones(len(self.generators), *shape)
        for p in range(len(self.generators)) if members is None else members:
            out[p] = torch.randint(0, 2, shape, generator=self.generators[p]).float() * 2 - 1
        return out

    def select(self, members: Sequence[int]) -> "MemberStreams":
        """The streams of ``members`` only (the same generator objects: drawing from the result
        advances these members' streams)."""
        sub = MemberStreams.__new__(MemberStreams)
        sub.seeds = tuple(self.seeds[p] for p in members)
        sub.salt = self.salt
        sub.generators = [self.generators[p] for p in members]
        return sub

    def state_dict(self) -> dict:
        return {"seeds": list(self.seeds), "salt": self.salt, "states": [g.get_state() for g in self.generators]}

    def load_state_dict(self, state: dict) -> None:
        states = state["states"]
        if len(states) != len(self.generators):
            raise ValueError(f"stream state has {len(states)} members, this population {len(self.generators)}")
        for g, s in zip(self.generators, states):
            g.set_state(s)
