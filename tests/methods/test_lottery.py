"""The lottery ticket: prune rates, exact rewinding, round timing."""

import pytest
import torch
from phase_helpers import phase_ctx, train

from growlab import Run
from growlab.engine import Network
from growlab.methods import make_method
from growlab.methods.lottery import lottery_prune_masks


def _lottery_ctx(population=1, epochs=20, **params):
    m = make_method("lottery", **params)
    net = Network((6, 10, 8, 3), population=population, seeds=list(range(population)), task="multiclass", device="cpu")
    ctx = phase_ctx(net, epochs=epochs)
    m.setup(ctx)
    return m, ctx


def _epochs(m, ctx, first, last):
    for e in range(first, last + 1):
        train(ctx, 1)
        ctx.epoch = e
        m.after_epoch(ctx)


@pytest.mark.parametrize("rewind_epoch", [0, 2])
def test_after_rewind_surviving_weights_equal_the_stored_ones_exactly(rewind_epoch):
    m, ctx = _lottery_ctx(population=2, rounds=2, epochs_per_round=4, rewind_epoch=rewind_epoch)
    net = ctx.net
    stored = [w.detach().clone() for w in net.weights], [b.detach().clone() for b in net.biases]
    if rewind_epoch:
        _epochs(m, ctx, 1, rewind_epoch)
        stored = [w.detach().clone() for w in net.weights], [b.detach().clone() for b in net.biases]
    _epochs(m, ctx, rewind_epoch + 1, 4)  # the first round ends after epoch 4: prune, rewind
    assert m.round == 1
    for l in range(net.n_layers):
        alive = net.effective_mask(l)
        assert torch.equal(net.weights[l].detach()[alive], stored[0][l][alive])  # bit for bit
        assert not net.weights[l].detach()[~alive].any()  # pruned ones stay at 0
        assert torch.equal(net.biases[l].detach(), stored[1][l])
    assert not torch.equal(net.masks[0], torch.ones_like(net.masks[0]))
    opt = ctx.optimizer
    assert not opt.buffer(0, "exp_avg").any() and not opt.buffer(0, "exp_avg_sq").any()  # a fresh start per round


def test_prune_rate_is_global_over_hidden_layers_and_half_at_the_output():
    net = Network((6, 10, 8, 3), population=2, seeds=[0, 1], device="cpu")
    picks = lottery_prune_masks(net, 0.2)
    assert sum(int(p[0].sum()) for p in picks[:2]) == round(0.2 * (60 + 80))
    assert int(picks[2][0].sum()) == round(0.1 * 24)
    hidden = torch.cat([w[0].detach().abs().flatten() for w in net.weights[:2]])
    cut = torch.cat([p[0].flatten() for p in picks[:2]])
    assert hidden[cut].max() <= hidden[~cut].min()  # the smallest |w| over both layers together


def test_output_units_are_never_cut_off():
    net = Network((4, 3, 2), device="cpu")
    for _ in range(12):
        picks = lottery_prune_masks(net, 0.9)
        for l, p in enumerate(picks):
            net.set_mask(l, net.masks[l] & ~p)
    assert bool(net.effective_mask(1)[0].any(dim=1).all())


def test_rounds_follow_the_schedule_and_mark_boundaries():
    m, ctx = _lottery_ctx(rounds=3, epochs=16)  # auto: 16 // 4 = 4 epochs per round
    assert m.round_length(16) == 4
    counts = []
    for e in range(1, 17):
        train(ctx, 1)
        ctx.epoch = e
        m.after_epoch(ctx)
        counts.append(int(ctx.net.n_active()[0]))
    ev = ctx.events.frame()
    rewinds = ev[ev.kind == "rewind"]
    assert rewinds.epoch.tolist() == [4, 8, 12] and m.round == 3 and m.overlays()["phase"] == "ticket"
    assert counts[3] < counts[2] and counts[7] < counts[6] and counts[11] < counts[10] and counts[-1] == counts[11]
    # hidden 140 → 112 → 90 → 72 (20% each round), output 24 → 22 → 20 → 18 (10%)
    assert counts[-1] == 72 + 18 and (ev.kind == "prune").sum() == 164 - 90


def test_forced_cycle_before_the_rewind_epoch_stores_first_and_run_integration(tmp_path):
    m, ctx = _lottery_ctx(rounds=2, rewind_epoch=5, epochs_per_round=3)
    train(ctx, 1)
    before = [w.detach().clone() for w in ctx.net.weights]
    m.cycle(ctx)  # no stored weights yet: the current ones are stored, so survivors keep them
    for l, w in enumerate(ctx.net.weights):
        alive = ctx.net.effective_mask(l)
        assert torch.equal(w.detach()[alive], before[l][alive])
    run = Run("moons", "8-8", "lottery", epochs=12, seed=0, rounds=2)
    run.run(5)
    run.save(tmp_path / "l.growlab")
    run.run()
    again = Run.load(tmp_path / "l.growlab")
    again.run()
    assert again.history.equals(run.history) and (run.events.kind == "rewind").sum() == 2


@pytest.mark.parametrize("bad", [{"rate": 0}, {"rate": 1}, {"rounds": -1}, {"epochs_per_round": -2}, {"rewind_epoch": 0.5}])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        make_method("lottery", **bad)
