"""Sampling the terminus of each new strategic connection (eq. 2 of strategic synthesis).

For a juncture whose origin sits at β on the next layer's index scale, each dormant terminus k
gets probability ∝ exp(−(|k − β| − μ)² / (2σ²)); one is drawn by inverse-CDF sampling with one
uniform per juncture. :func:`sample_termini` does it over whole rows; :func:`sample_near`, what
a cycle uses, draws the same termini looking only near β (see its docstring).
"""

from __future__ import annotations

import math

import torch

from growlab.engine import Network

#: σ below this counts as this (it already means "the nearest dormant neuron")
SIGMA_FLOOR = 1e-6


def terminus_logits(beta: torch.Tensor, n_out: int, sigma: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """Log of the unnormalised eq. 2 weight of every terminus: −(|k − β| − μ)² / (2σ²). ``(M, n_out)``."""
    return logits_at(torch.arange(n_out, dtype=torch.float64, device=beta.device)[None, :], beta, sigma, mu)


def logits_at(k: torch.Tensor, beta: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """:func:`terminus_logits` at termini ``k`` only (float64, ``(M, W)`` or ``(1, W)``): the
    same arithmetic, so the same values bit for bit. ``(M, W)``"""
    dist = (k - beta.double()[:, None]).abs()
    sigma = sigma.double().clamp(min=SIGMA_FLOOR)[:, None]
    return -((dist - mu.double()[:, None]) ** 2) / (2 * sigma**2)


def sample_termini(
    logits: torch.Tensor, candidates: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One terminus per row with probability ∝ exp(logits) among ``candidates``.

    Returns:
        ``(choice, has)``: chosen index ``(M,)`` and whether the row had any candidate ``(M,)``
        (a row without one returns index 0; ignore it).

    Example:
        >>> logits = torch.tensor([[0.0, -1.0, -1e9]], dtype=torch.float64)
        >>> sample_termini(logits, torch.tensor([[False, True, True]]), torch.Generator())[0].tolist()
        [1]
    """
    u = torch.rand(len(logits), 1, generator=generator, dtype=logits.dtype).to(logits.device)
    return _sample(logits, candidates, u)


#: below e^-NIL of the best candidate's weight a candidate's chance is nil (see :func:`_sample`)
NIL = 200.0


def _sample(logits: torch.Tensor, candidates: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`sample_termini` with its uniforms ``u`` ``(M, 1)`` drawn."""
    has = candidates.any(dim=1)
    masked = torch.where(candidates, logits, float("-inf"))
    best = masked.amax(dim=1, keepdim=True).nan_to_num(neginf=0.0)  # (M, 1)
    # relative to each row's best, so a tiny σ cannot underflow every candidate; below e^-200 a
    # candidate's chance is nil anyway, and clamping there keeps exp fast (no denormals)
    probs = torch.where(candidates, torch.exp((masked - best).clamp(min=-NIL)), 0.0)
    cdf = probs.cumsum(dim=1)  # (M, n_out); inverse-CDF sampling, one uniform per row
    choice = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)[:, 0].clamp(max=max(cdf.shape[1] - 1, 0))
    return choice, has


def sample_near(
    net: Network, layer: int, member: torch.Tensor, origin: torch.Tensor, beta: torch.Tensor,
    sigma: torch.Tensor, mu: torch.Tensor, u: torch.Tensor, key: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """:func:`_sample` over the dormant termini of ``origin`` (layer ``layer``, member ``member``),
    looking only at a window of termini around β where it can.

    Two savings, neither of which changes a pick:

    - junctures that share member, origin, β, σ and μ share the distribution: it is computed
      once per group (rows of equal ``key`` when given, else of equal values) and each
      juncture only draws from it with its own uniform;
    - the Gaussian falls so fast that a candidate ~20σ further from β than the best candidate
      has a chance below e^-200, which :func:`_sample` clamps to exactly e^-200: far too small
      to move a cumulative sum that holds the best candidate's weight 1. So a row whose window
      holds a candidate that much better than anything outside it picks from the window what
      it would pick from the whole layer; the other rows (no candidate near β, a uniform of
      exactly 0, a pick past the window's end) are sampled over the whole layer. A row then
      costs ~50 termini instead of the layer's width (300 on LeNet's first layer).
    """
    n_out = net.capacity[layer + 1]
    sig_max, mu_max = (float(sigma.double().clamp(min=SIGMA_FLOOR).max()), float(mu.max())) if len(beta) else (1.0, 0.0)
    half = math.ceil(sig_max * math.sqrt(2 * (NIL + 51)) + mu_max + 1)
    width = 2 * half + 1
    if 2 * width > n_out or len(beta) * n_out <= 16_384:  # little to save: one pass over whole rows
        return _sample_full(net, layer, member, origin, beta, sigma, mu, u)
    # every terminus outside a window is ≥ half + ½ from β, so its logit is at most this
    outside = -max(half + 0.5 - mu_max, 0.0) ** 2 / (2 * sig_max**2)  # ≤ −(NIL + 51)
    group, rep = _groups(*([key] if key is not None else [member, origin, beta, sigma, mu]))  # (M,), (G,)
    choice, ok = _sample_window(
        net, layer, member[rep], origin[rep], beta[rep], sigma[rep], mu[rep], width, group, u, outside
    )
    has = ok.clone()
    rest = (~ok).nonzero().flatten()
    if len(rest):
        choice[rest], has[rest] = _sample_full(
            net, layer, member[rest], origin[rest], beta[rest], sigma[rest], mu[rest], u[rest]
        )
    return choice, has


def _sample_window(net, layer, member, origin, beta, sigma, mu, width: int, group, u, outside: float):
    """:func:`_sample` on a window of ``width`` termini around β for each group ``(G,)``, drawn
    for each row ``(M,)`` of ``group``; no terminus outside a window has a logit above
    ``outside``. Returns ``(choice, ok)`` ``(M,)``: ``ok`` where the window's pick is the whole
    layer's."""
    n_out = net.capacity[layer + 1]
    start = (beta.round().long() - width // 2).clamp(0, n_out - width)  # (G,)
    k = start[:, None] + torch.arange(width, device=beta.device)  # (G, W)
    candidates = _dormant_termini(net, layer, member, origin, start, width)
    masked = torch.where(candidates, logits_at(k.double(), beta, sigma, mu), float("-inf"))
    best = masked.amax(dim=1)  # (G,)
    # torch.where(candidates, exp(…), 0.0) as a product: the same values, faster on the CPU
    probs = torch.exp((masked - best[:, None]).clamp(min=-NIL)).mul_(candidates.view(torch.uint8))
    cdf = probs.cumsum(dim=1)[group]  # (M, W); _sample's arithmetic, on the window
    pick = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)[:, 0]
    # the window holds the best candidate and everything outside is clamped to e^-NIL (-inf
    # best: no candidate, fails too); u = 0 would pick the row's first candidate, a pick past
    # the window's end the row's last terminus
    ok = (best >= outside + NIL + 1)[group] & (u[:, 0] > 0) & (pick < width)
    return start[group] + pick.clamp(max=width - 1), ok


def _groups(*columns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows equal in every column: the group of each row ``(M,)`` and a row of each group ``(G,)``."""
    if len(columns) == 1 and not columns[0].dtype.is_floating_point:
        key = columns[0]
    else:
        key = torch.zeros_like(columns[0], dtype=torch.long)
        for col in columns:
            code = torch.unique(col, return_inverse=True)[1]
            key = torch.unique(key * (int(code.max()) + 1) + code, return_inverse=True)[1] if len(col) else key
    values, group = torch.unique(key, return_inverse=True)
    rep = torch.zeros(len(values), dtype=torch.long, device=key.device)
    rep[group] = torch.arange(len(group), device=key.device)
    return group, rep


def _sample_full(net, layer, member, origin, beta, sigma, mu, u) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_sample` over every terminus of the next layer."""
    n_out = net.capacity[layer + 1]
    candidates = _dormant_termini(net, layer, member, origin, torch.zeros_like(member), n_out)  # (M, n_out)
    return _sample(terminus_logits(beta, n_out, sigma, mu), candidates, u)


def _dormant_termini(net: Network, layer: int, member, origin, start, width: int) -> torch.Tensor:
    """Whether ``origin → start + j`` of ``member`` may grow (dormant edge, both neurons alive)
    for ``j < width``. ``(M, width)``"""
    dormant = ~net.masks[layer].transpose(1, 2).unfold(2, width, 1)[member, origin, start]  # windows of (P, in, out)
    alive_out, alive_in = net.alive[layer + 1], net.alive[layer]
    if not bool(alive_out.all()):
        dormant &= alive_out.unfold(1, width, 1)[member, start]
    if not bool(alive_in.all()):
        dormant &= alive_in[member, origin][:, None]
    return dormant
