"""False starts: runs that never get going (DESIGN §5, paper 000 §6.3).

A run is a false start when

(a) some output cannot be reached from any input (the network cannot respond to its data),
(b) after the warm-up window (default the first 20% of the planned epochs) its validation
    accuracy is not above the majority-class rate plus a margin (default 2 points), or
(c) it ends that way: its last validation accuracy is not above that bar.

Interpretation: the warm-up window ends at epoch ``W = ceil(warmup × epochs)`` (at least 1).
(b) fires when no epoch after ``W`` beats the bar: the run never got going (a slow starter
that beats the bar later is not a false start). (c) fires when the run got going but its
final accuracy is back at or below the bar (a late collapse); it is judged only once the
history covers every planned epoch (or the caller says it is final, e.g. a diverged run).
On a partial history (a live run) (b) reads "so far". A NaN accuracy counts as "not
above". Regression runs have no accuracy, so only (a) applies to them.

The paper (§6.3) names false starts without a rule; (b) has readings, ``rule_b``:
``"never"`` (default, above), ``"at_window"`` (accuracy at the window's last epoch is not above
the bar: not going when the warm-up ends) and ``"mean"`` (mean accuracy after the window is not
above the bar). Every verdict also reports the *time to bar*: the first epoch whose accuracy
beats the bar (NaN when none does).

Experiments train P members at once and have no ``Run`` objects; :func:`false_start_from`
gives per-member verdicts from an accuracy array ``(P, epochs)`` and the population network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from growlab.analysis.paths import reachability
from growlab.engine import Network

WARMUP = 0.2
MARGIN = 0.02
#: rule codes of :class:`FalseStarts`
RULES = ("", "unreachable", "warmup", "end")
#: readings of rule (b) (see the module docstring)
RULE_B = ("never", "at_window", "mean")


@dataclass(frozen=True)
class FalseStarts:
    """Verdicts for P members.

    Attributes:
        flags: ``(P,)`` bool: false start or not.
        rules: ``(P,)`` int: index into ``RULES`` of the first rule that fired (0: none).
        reasons: one sentence per member saying why (or why not).
    """

    flags: np.ndarray
    rules: np.ndarray
    reasons: list[str]
    time_to_bar: np.ndarray | None = None  # (P,) first epoch above the bar, NaN if none

    @property
    def rate(self) -> float:
        """Fraction of members that are false starts."""
        return float(self.flags.mean()) if len(self.flags) else float("nan")

    def __getitem__(self, p: int) -> tuple[bool, str]:
        return bool(self.flags[p]), self.reasons[p]

    def __len__(self) -> int:
        return len(self.flags)


def warmup_epoch(epochs: int, warmup: float = WARMUP) -> int:
    """The epoch that closes the warm-up window (1-based, at least 1).

    Example:
        >>> warmup_epoch(200), warmup_epoch(3)
        (40, 1)
    """
    return max(1, math.ceil(warmup * epochs - 1e-9))


def _as_acc(val_acc) -> np.ndarray:
    """History frame / Series / (E,) / (P, E) array or tensor → float array ``(P, E)``."""
    if hasattr(val_acc, "columns"):  # a history DataFrame
        val_acc = val_acc["val_acc"] if "val_acc" in val_acc.columns else np.empty(0)
    if torch.is_tensor(val_acc):
        val_acc = val_acc.detach().cpu().numpy()
    acc = np.asarray(val_acc, dtype=np.float64)
    return acc[None, :] if acc.ndim == 1 else acc


def _reached(network, P: int) -> np.ndarray:
    """``(P,)`` bool: every output reachable; from a Network, a bool array, or None (assume so)."""
    if network is None:
        return np.ones(P, dtype=bool)
    if isinstance(network, Network):
        return reachability(network).connected.cpu().numpy()
    return np.broadcast_to(np.asarray(network, dtype=bool), (P,)).copy()


def false_start_from(
    val_acc,
    majority_rate,
    network: Network | np.ndarray | None = None,
    *,
    epochs: int | None = None,
    final: bool | None = None,
    warmup: float = WARMUP,
    margin: float = MARGIN,
    rule_b: str = "never",
) -> FalseStarts:
    """False-start verdicts for P members from their accuracy curves (vectorized).

    Args:
        val_acc: validation accuracy per epoch: ``(P, E)`` or ``(E,)`` array/tensor, or a
            run history DataFrame (its ``val_acc`` column). Missing (regression): only (a).
        majority_rate: the validation majority-class rate, a float or ``(P,)``.
        network: the P-member population (for rule (a)), or a ``(P,)`` bool array "every
            output is reachable", or ``None`` to skip rule (a).
        epochs: planned epochs (default: the curves' length ``E``).
        final: whether the curves are complete (default: ``E >= epochs``).
        warmup: fraction of ``epochs`` in the warm-up window, in (0, 1).
        margin: accuracy (0–1 scale) the run must beat the majority rate by.
        rule_b: the reading of rule (b): ``never``, ``at_window`` or ``mean``.

    Example:
        >>> acc = np.array([[0.60, 0.75, 0.80, 0.85, 0.84],   # healthy
        ...                 [0.54, 0.54, 0.54, 0.55, 0.54]])  # stuck at the majority rate
        >>> fs = false_start_from(acc, majority_rate=0.54)
        >>> fs.flags.tolist(), fs.rate
        ([False, True], 0.5)
    """
    if not 0 < warmup < 1:
        raise ValueError(f"warmup must be a fraction in (0, 1), got {warmup!r}")
    if not 0 <= margin < 1:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}")
    if rule_b not in RULE_B:
        raise ValueError(f"rule_b must be one of {', '.join(RULE_B)}, got {rule_b!r}")
    acc = _as_acc(val_acc)
    P = max(acc.shape[0], 1) if acc.size else (network.population if isinstance(network, Network) else 1)
    E = acc.shape[1] if acc.size else 0
    epochs = E if epochs is None else int(epochs)
    final = E >= epochs if final is None else bool(final)
    bar = np.broadcast_to(np.asarray(majority_rate, dtype=np.float64), (P,)) + margin
    reached = _reached(network, P)
    w = warmup_epoch(epochs, warmup) if epochs else 0
    has_acc = acc.size > 0 and not np.isnan(bar).all()
    after = acc[:, w:] if has_acc else acc[:, :0]  # (P, E - W): epochs after the window
    best = np.where(np.isnan(after), -np.inf, after).max(axis=1) if after.shape[1] else np.full(P, np.inf)
    last = acc[:, -1] if has_acc and final and E else np.full(P, np.inf)  # inf: not judged (yet)
    judged = {"never": best, "at_window": acc[:, w - 1] if has_acc and E >= w >= 1 else np.full(P, np.inf),
              "mean": np.nanmean(after, axis=1) if after.shape[1] else np.full(P, np.inf)}[rule_b]  # fmt: skip
    with np.errstate(invalid="ignore"):
        low_w, low_end = ~(judged > bar) & has_acc, ~(last > bar) & has_acc  # NaN accuracy is low
        above = (acc > bar[:, None]) if has_acc else np.zeros((P, 0), dtype=bool)
    ttb = np.where(above.any(axis=1), above.argmax(axis=1) + 1.0, np.nan) if above.size else np.full(P, np.nan)
    rules = np.where(~reached, 1, np.where(low_w, 2, np.where(low_end, 3, 0)))
    reasons = [
        _reason(int(r), best[p], last[p], bar[p] - margin, margin, w, E, has_acc, rule_b, judged[p])
        for p, r in enumerate(rules)
    ]
    return FalseStarts(rules > 0, rules, reasons, ttb)


def _pct(v: float) -> str:
    return f"{v:.1%}" if np.isfinite(v) else "none (NaN)"


def _reason(
    rule: int, best: float, last: float, majority: float, margin: float, w: int, E: int, has_acc: bool,
    rule_b: str = "never", judged: float = float("nan"),
) -> str:  # fmt: skip
    bar = f"the majority-class rate {majority:.1%} + {margin * 100:g} points"
    so_far = "" if np.isfinite(last) else " so far"
    if rule == 1:
        return "false start: an output cannot be reached from any input (no connected path)"
    if rule == 2 and rule_b == "at_window":
        return f"false start: at the end of the warm-up window (epoch {w}) validation accuracy was {_pct(judged)}, not above {bar}"
    if rule == 2 and rule_b == "mean":
        return f"false start{so_far}: after the warm-up window (epoch {w}) mean validation accuracy {_pct(judged)} is not above {bar}"
    if rule == 2:
        return (
            f"false start{so_far}: after the warm-up window (epoch {w}) validation accuracy never rose "
            f"above {bar} (best {_pct(best)} by epoch {E})"
        )
    if rule == 3:
        return (
            f"false start: it ends at validation accuracy {last:.1%} (epoch {E}), not above {bar} "
            f"(best after warm-up {_pct(best)})"
        )
    if not has_acc:
        return "not a false start: every output is reachable (no accuracy to judge for this task)"
    if not np.isfinite(best):
        return f"not a false start so far: every output is reachable; the warm-up window ends at epoch {w}"
    if not np.isfinite(last):
        return f"not a false start so far: validation accuracy reached {best:.1%} after warm-up, above {bar}"
    return (
        f"not a false start: validation accuracy reached {best:.1%} after warm-up "
        f"and ends at {last:.1%}, above {bar}"
    )


def false_start(run, warmup: float = WARMUP, margin: float = MARGIN, rule_b: str = "never") -> tuple[bool, str]:
    """Whether ``run`` is a false start, and why (rules in the module docstring).

    Args:
        run: anything with ``network``, ``history`` (a DataFrame with ``val_acc``),
            ``data.majority_rate`` and ``config.epochs`` (a :class:`growlab.Run`); a
            ``status`` of ``"diverged"`` makes its history final.
        warmup: fraction of the planned epochs in the warm-up window.
        margin: accuracy (0–1 scale) the run must beat the majority rate by.
        rule_b: the reading of rule (b) (module docstring).

    Returns:
        ``(is_false_start, reason)``.

    Example:
        >>> from growlab import Run
        >>> run = Run("heart", "16-8", "dense", epochs=100)
        >>> _ = run.run()
        >>> false_start(run)[0]
        False
    """
    net = run.network.member(0) if run.network.population > 1 else run.network
    history = run.history
    final = True if getattr(run, "status", None) == "diverged" else None
    verdict = false_start_from(
        history, run.data.majority_rate, net, epochs=run.config.epochs, final=final, warmup=warmup, margin=margin,
        rule_b=rule_b,
    )  # fmt: skip
    return verdict[0]
