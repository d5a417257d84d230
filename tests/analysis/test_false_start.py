from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from analysis_helpers import T, build

from growlab.analysis import RULES, false_start, false_start_from, warmup_epoch

MAJ = 0.54  # heart's validation majority-class rate, roughly


def fake_run(acc, net=None, epochs=None, status="finished"):
    """A duck-typed run: network, history, data.majority_rate, config.epochs, status."""
    net = build((3, 2, 1)) if net is None else net
    history = pd.DataFrame({"epoch": np.arange(1, len(acc) + 1), "val_acc": acc})
    return SimpleNamespace(
        network=net, history=history, data=SimpleNamespace(majority_rate=MAJ),
        config=SimpleNamespace(epochs=epochs or len(acc)), status=status,
    )  # fmt: skip


def curve(start, warm, end, epochs=50):
    """Accuracy rising from ``start`` to ``warm`` at the warm-up epoch, then moving to ``end``."""
    w = warmup_epoch(epochs)
    return np.concatenate([np.linspace(start, warm, w), np.linspace(warm, end, epochs - w + 1)[1:]])


def test_healthy_run_is_not_a_false_start():
    flag, reason = false_start(fake_run(curve(0.5, 0.8, 0.85)))
    assert not flag
    assert reason.startswith("not a false start") and "reached 85.0%" in reason and "54.0%" in reason


def test_a_slow_starter_that_gets_going_after_warm_up_is_healthy():
    assert not false_start(fake_run(curve(0.45, 0.46, 0.85)))[0]


def test_unreachable_output_is_a_false_start_whatever_the_accuracy():
    cut = build((3, 2, 1), masks=[T([[0, 0, 0], [0, 0, 0]]), None])
    flag, reason = false_start(fake_run(curve(0.5, 0.8, 0.85), net=cut))
    assert flag and "cannot be reached from any input" in reason


def test_stuck_at_the_majority_rate():
    flag, reason = false_start(fake_run(np.full(50, MAJ)))
    assert flag and "after the warm-up window (epoch 10)" in reason and "never rose above" in reason
    assert "54.0% + 2 points" in reason


def test_within_the_margin_is_still_stuck():
    acc = curve(0.5, MAJ + 0.015, MAJ + 0.015)
    assert false_start(fake_run(acc))[0]
    assert not false_start(fake_run(acc), margin=0.01)[0]


def test_late_collapse_is_caught_at_the_end():
    flag, reason = false_start(fake_run(curve(0.5, 0.8, 0.45)))
    assert flag and "ends at validation accuracy 45.0% (epoch 50)" in reason and "best after warm-up 79.1%" in reason


def test_partial_history_judges_only_what_has_happened():
    run = fake_run(curve(0.5, 0.8, 0.45)[:30], epochs=50, status="ready")  # collapsing, not ended
    assert false_start(run) == (False, false_start(run)[1])
    assert "so far" in false_start(run)[1]
    early = fake_run(np.full(10, MAJ), epochs=50, status="ready")  # warm-up not over yet
    assert not false_start(early)[0]
    stuck = fake_run(np.full(12, MAJ), epochs=50, status="ready")
    assert false_start(stuck)[0] and "false start so far" in false_start(stuck)[1]
    diverged = fake_run(np.r_[curve(0.5, 0.8, 0.8)[:30], 0.3], epochs=50, status="diverged")
    assert false_start(diverged)[0]  # a diverged run has ended


def test_vectorized_verdicts_match_one_at_a_time():
    acc = np.stack([curve(0.5, 0.8, 0.85), np.full(50, MAJ), curve(0.5, 0.8, 0.45), curve(0.5, 0.8, 0.85)])
    m = torch.stack([T([[1, 1, 1], [1, 1, 1]])] * 3 + [T([[0, 0, 0], [0, 0, 0]])])
    net = build((3, 2, 1), masks=[m, None], population=4)
    fs = false_start_from(acc, MAJ, net)
    assert fs.flags.tolist() == [False, True, True, True]
    assert [RULES[r] for r in fs.rules] == ["", "warmup", "end", "unreachable"]
    assert fs.rate == 0.75 and len(fs) == 4
    for p in range(4):
        assert fs[p] == false_start(fake_run(acc[p], net=net.member(p)))
    # tensors, per-member majority rates and precomputed reachability are accepted too
    fs2 = false_start_from(torch.tensor(acc), np.full(4, MAJ), np.array([True, True, True, False]))
    assert fs2.flags.tolist() == fs.flags.tolist()


def test_nan_accuracy_counts_as_not_above_and_regression_uses_reachability_only():
    assert false_start_from(np.r_[np.full(49, 0.9), np.nan], MAJ).flags.tolist() == [True]
    reg = false_start_from(pd.DataFrame({"val_mse": np.ones(10)}), float("nan"), build((3, 2, 1)))
    assert reg.flags.tolist() == [False] and "no accuracy" in reg.reasons[0]


def test_warmup_window_and_bad_arguments():
    assert (warmup_epoch(200), warmup_epoch(10), warmup_epoch(1), warmup_epoch(10, 0.25)) == (40, 2, 1, 3)
    for bad in (0, 1):
        with pytest.raises(ValueError, match="warmup"):
            false_start_from(np.ones(5), MAJ, warmup=bad)
    with pytest.raises(ValueError, match="margin"):
        false_start_from(np.ones(5), MAJ, margin=-0.1)


def test_rule_b_readings_and_time_to_bar():
    acc = np.array([
        [0.50, 0.50, 0.50, 0.60, 0.50, 0.50, 0.50, 0.50, 0.50, 0.80],  # one good epoch after the window, a good end
        [0.50, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70],  # going from epoch 2
    ])  # fmt: skip
    kw = dict(majority_rate=0.54, warmup=0.3)  # the window ends at epoch 3; bar 56%
    never = false_start_from(acc, rule_b="never", **kw)
    at_window = false_start_from(acc, rule_b="at_window", **kw)
    mean = false_start_from(acc, rule_b="mean", **kw)
    assert never.flags.tolist() == [False, False]  # member 0 beat the bar at epoch 10
    assert at_window.flags.tolist() == [True, False] and "end of the warm-up window (epoch 3)" in at_window.reasons[0]
    assert mean.flags.tolist() == [True, False] and "mean validation accuracy" in mean.reasons[0]
    assert never.time_to_bar.tolist() == [4.0, 2.0]
    stuck = false_start_from(np.full((1, 10), 0.5), **kw)
    assert np.isnan(stuck.time_to_bar[0])
    with pytest.raises(ValueError, match="rule_b"):
        false_start_from(acc, rule_b="sometimes", **kw)
