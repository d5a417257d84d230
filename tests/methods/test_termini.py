"""Terminus sampling: the windowed sampler a cycle uses draws exactly what whole rows would."""

from __future__ import annotations

import pytest
import torch
from method_helpers import build_ctx

from growlab.methods.termini import _sample_full, sample_near


@pytest.mark.parametrize("density", [0.05, 0.5, 0.97])
def test_windowed_sampling_picks_what_sampling_the_whole_layer_picks(density):
    """``sample_near`` looks at ~50 termini around β; it must choose exactly as the whole layer would."""
    g = torch.Generator().manual_seed(int(density * 100))
    ctx = build_ctx(sizes=(60, 400, 2), population=2, density=density, steps=0, events=False)
    net = ctx.net
    if density > 0.9:  # some dead targets too
        net.set_alive(1, torch.rand(2, 400, generator=g) > 0.1)
    M = 1000
    member = torch.randint(0, 2, (M,), generator=g)
    origin = torch.randint(0, 60, (M,), generator=g)
    beta = torch.rand(M, generator=g, dtype=torch.float64) * 399
    beta[::7] = beta[::7].round()
    beta[::2] = origin[::2].double() * 399 / 59  # as center="origin" places it: junctures share a row
    u = torch.rand(M, 1, generator=g, dtype=torch.float64)
    u[::47] = 0.0
    u[1::43] = 1 - 2**-53
    for sigma, mu in [(1.0, 0.0), (1e-4, 0.0), (0.3, 2.5), (3.0, 0.0), (1.0, 7.0)]:
        sig, m = torch.full((M,), sigma, dtype=torch.float64), torch.full((M,), mu, dtype=torch.float64)
        sig[member == 1] *= 1.5  # per-member σ
        choice, has = sample_near(net, 0, member, origin, beta, sig, m, u)
        want, want_has = _sample_full(net, 0, member, origin, beta, sig, m, u)
        assert torch.equal(has, want_has)
        assert torch.equal(choice[has], want[has])
        even = slice(0, None, 2)  # β set by the origin: rows of one (member, origin) share a draw
        key = member[even] * 60 + origin[even]
        choice, has = sample_near(net, 0, member[even], origin[even], beta[even], sig[even], m[even], u[even], key)
        assert torch.equal(has, want_has[even])
        assert torch.equal(choice[has], want[even][has])
