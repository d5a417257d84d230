"""The run's timeline: ``run.at(epoch)`` against a run of the same setup stopped at that epoch."""

import numpy as np
import pytest
import torch

from growlab import Run
from growlab.run.archive import checksum, read_archive
from growlab.run.timeline import DEFAULT_BUDGET, Timeline


def _network(run):
    """Member 0 of a live run's network as numpy: active masks, alive, weights, biases."""
    net = run.network
    return (
        [net.effective_mask(l)[0].cpu().numpy() for l in range(net.n_layers)],
        [a[0].cpu().numpy() for a in net.alive],
        [w[0].cpu().numpy() for w in net.weights],
        [b[0].cpu().numpy() for b in net.biases],
    )


def _check_against_stopped_runs(kw, every, epochs, min_changes=2):
    """Train one run to the end; step a second one epoch by epoch and compare ``at``."""
    full = Run(**kw)
    full.timeline.every = every
    full.run()
    stopped = Run(**kw)
    changed = 0
    for epoch in range(epochs + 1):
        if epoch:
            stopped.step()
        view = full.at(epoch)
        masks, alive, weights, biases = _network(stopped)
        assert view.epoch == epoch
        for m, v in zip(masks, view.masks):
            assert v.shape == m.shape and np.array_equal(v, m), f"structure differs at epoch {epoch}"
        assert all(np.array_equal(a, v) for a, v in zip(alive, view.alive))
        if epoch % every == 0 or epoch == epochs:
            assert epoch in full.timeline.checkpoints
        assert view.exact == (epoch in full.timeline.checkpoints)  # (a layer removal adds one)
        if view.exact:  # exact at checkpoints: the very weights
            assert all(np.array_equal(w, v) for w, v in zip(weights, view.weights))
            assert all(np.array_equal(b, v) for b, v in zip(biases, view.biases))
        else:  # between: inactive connections weigh 0, the rest come from the last checkpoint
            assert view.checkpoint == max(c for c in full.timeline.checkpoints if c < epoch)
            for m, v in zip(view.masks, view.weights):
                assert not v[~m].any()
        if epoch and not view.same_structure(full.at(epoch - 1)):
            changed += 1
    assert changed >= min_changes, "the run should change its structure, or the test shows little"
    return full


def test_at_matches_a_run_stopped_at_that_epoch_mlp():
    kw = dict(dataset="heart", arch="16-8", method="strategic+prune", epochs=24, seed=1)
    run = _check_against_stopped_runs(kw, every=5, epochs=24)
    assert run.timeline.checkpoints == [0, 5, 10, 15, 20, 24]


def test_at_matches_a_run_stopped_at_that_epoch_conv():
    kw = dict(dataset="digits", arch="c4k3-p2-16", method="gradient+prune", epochs=12, seed=2, batch_size=400, interval=2)
    run = _check_against_stopped_runs(kw, every=4, epochs=12)
    assert run.at(5).masks[0].shape == (4, 1, 3, 3) and run.at(5).weights[1].shape == (16, 4 * 3 * 3)


@pytest.mark.parametrize(
    "method, extra",
    [("odf2nna", {"epsilon": 5.0}),  # removes whole layers: the layout changes mid-run
     ("nest", {"interval": 2}),  # grows neurons, then prunes
     ("lottery", {"rounds": 4})],  # rewinds weights
)
def test_at_matches_stopped_runs_for_the_phase_methods(method, extra):
    kw = dict(dataset="heart", arch="16-8", method=method, epochs=20, seed=0, **extra)
    run = _check_against_stopped_runs(kw, every=3, epochs=20, min_changes=1 if method == "odf2nna" else 2)
    if method == "odf2nna":
        assert run.at(0).capacity == (27, 16, 8, 1) and run.at(20).capacity == (27, 1)
        removed = next(e for e in range(21) if run.at(e).capacity == (27, 1))
        assert removed in run.timeline.checkpoints  # a new layout starts with a full copy


def test_a_view_is_read_only_and_outside_epochs_are_refused():
    run = Run("heart", "16-8", "random+prune", epochs=6, seed=0)
    run.run(epochs=3)
    view = run.at(2)
    with pytest.raises(ValueError, match="read-only"):
        view.weights[0][0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        view.masks[0][0, 0] = False
    for bad, message in [(4, "outside .* epochs 0..3"), (-1, "outside"), (1.5, "whole number"), ("2", "whole number")]:
        with pytest.raises(ValueError, match=message):
            run.at(bad)
    before = run.at(3)
    run.step()  # the view is a copy: training on does not change it
    assert before.epoch == 3 and before.same_structure(run.at(3))


def test_a_forced_cycle_replaces_its_epoch_and_events_are_listed_per_epoch():
    run = Run("heart", "16-8", "random+prune", epochs=20, seed=0, grow_per_cycle=5)
    run.run(epochs=2)
    before = run.at(2)
    result = run.cycle()
    assert result["grown"] or result["pruned"]
    after = run.at(2)
    assert not after.same_structure(before) and after.exact
    masks, *_ = _network(run)
    assert all(np.array_equal(m, v) for m, v in zip(masks, after.masks))
    events = run.timeline.events_at(run, 2)
    assert len(events) and set(events["epoch"]) == {2}
    assert set(events["kind"]) & {"grow", "prune"}


def test_forced_cycles_in_one_epoch_keep_the_epochs_before_it_and_the_next_ones_exact():
    # re-recording the latest epoch starts from the state it was diffed against (no rebuild):
    # the epochs before must be as a twin without the forced cycles has them, the later ones as
    # a twin that forced the same cycles
    kw = dict(dataset="heart", arch="16-8", method="random+prune", epochs=20, seed=0, grow_per_cycle=5)
    run, twin, plain = Run(**kw), Run(**kw), Run(**kw)
    for r in (run, twin, plain):
        r.timeline.every = 8  # epochs 1..7 rebuilt from the diffs
        r.run(epochs=3)
    past = [plain.at(e) for e in range(4)]
    assert not past[3].same_structure(past[2])  # epoch 3's cycle changed it: its re-recording must start at 2
    for _ in range(3):
        run.cycle()
    run.run(epochs=2)
    for e in range(3):
        assert run.at(e).same_structure(past[e])
        assert all(np.array_equal(a, b) for a, b in zip(run.at(e).weights, past[e].weights))
    for _ in range(3):
        twin.cycle()
    truth = {3: _network(twin)[0]}  # the masks the twin had at the end of each epoch
    for e in (4, 5):
        twin.step()
        truth[e] = _network(twin)[0]
    for e in (3, 4, 5):
        assert all(np.array_equal(m, v) for m, v in zip(truth[e], run.at(e).masks))
    assert not run.at(3).same_structure(past[3])  # the forced cycles changed epoch 3


def test_a_rollback_after_divergence_drops_the_undone_epochs():
    run = Run("heart", "16-8", epochs=30, optimizer="sgd", lr=100.0, activation="leaky_relu", seed=0)
    run.run()
    assert run.status == "diverged" and run.epoch < 30
    assert run.timeline.last == run.epoch and run.timeline.epochs == list(range(run.epoch + 1))
    with pytest.raises(ValueError, match="outside"):
        run.at(run.epoch + 1)
    masks, alive, weights, biases = _network(run)
    view = run.at(run.epoch)
    assert view.exact and all(np.array_equal(w, v) for w, v in zip(weights, view.weights))


def test_the_timeline_is_saved_in_the_archive_and_continues_after_loading(tmp_path):
    kw = dict(dataset="heart", arch="16-8", method="strategic+prune", epochs=16, seed=4)
    a = Run(**kw)
    a.timeline.every = 3
    a.run(epochs=8)
    path = tmp_path / "run.growlab"
    a.save(path)
    b = Run.load(path)
    assert b.timeline.epochs == a.timeline.epochs and b.timeline.every == 3 and b.timeline.note is None
    for e in range(9):
        x, y = a.at(e), b.at(e)
        assert x.exact == y.exact and x.same_structure(y)
        assert all(np.array_equal(p, q) for p, q in zip(x.weights, y.weights))
    a.run()
    b.run()
    for e in range(17):
        assert a.at(e).same_structure(b.at(e)) and a.at(e).exact == b.at(e).exact


def test_an_archive_without_a_timeline_loads_with_a_note(tmp_path):
    run = Run("heart", "16-8", "random+prune", epochs=10, seed=0)
    run.run(epochs=4)
    path = tmp_path / "old.growlab"
    run.save(path)
    archive = read_archive(path)
    del archive["timeline"]  # what growlab wrote before it kept timelines
    archive["checksum"] = checksum(archive)
    torch.save(archive, path)
    old = Run.load(path)
    assert old.history.equals(run.history)
    assert "without timelines" in old.timeline.note and old.timeline.epochs == [4]
    with pytest.raises(ValueError, match="saved by a growlab without timelines, so epochs before 4"):
        old.at(2)
    assert old.at(4).same_structure(run.at(4))
    old.run(epochs=2)
    assert old.timeline.epochs == [4, 5, 6]


def test_a_damaged_timeline_is_refused_saying_so(tmp_path):
    run = Run("heart", "16-8", "dense", epochs=4, seed=0)
    run.run(epochs=2)
    path = tmp_path / "bad.growlab"
    run.save(path)
    archive = read_archive(path)
    archive["timeline"]["entries"].pop(1)  # a hole in the epochs
    archive["checksum"] = checksum(archive)
    torch.save(archive, path)
    with pytest.raises(ValueError, match="damaged growlab run archive: its timeline"):
        Run.load(path)


def test_the_checkpoint_interval_keeps_lenet_300_100_within_the_budget():
    n = 784 * 300 + 300 * 100 + 100 * 10 + 300 + 100 + 10  # LeNet-300-100's weights and biases
    every = Timeline.interval(200, n)
    checkpoints = len(range(0, 201, every)) + 1  # and the latest epoch's copy
    assert checkpoints * 4 * n <= DEFAULT_BUDGET < 2 * checkpoints * 4 * n  # within it, and using it
    assert every == 7
    assert Timeline.interval(200, 27 * 16 + 16 * 8 + 8 + 25) == 1  # heart: every epoch


def test_a_past_snapshot_is_the_snapshot_the_run_had_at_that_epoch():
    from growlab.run.snapshot import snapshot_of
    from growlab.run.timeline import snapshot_at

    kw = dict(dataset="heart", arch="16-8", method="strategic+prune", epochs=20, seed=3)
    a, b = Run(**kw), Run(**kw)
    a.run(epochs=15)
    b.run(epochs=9)
    then, past = snapshot_of(b), snapshot_at(a, 9, snapshot_of(a))
    assert past.epoch == then.epoch == 9 and past.last_row == then.last_row and past.n_history == 9
    for x, y in zip(past.masks, then.masks):
        assert np.array_equal(x, y)
    assert len(past.recent) and past.recent.equals(then.recent)  # the same fading grown/pruned overlays
    assert list(past.recent.dtypes) == list(then.recent.dtypes)
    assert past.extra["timeline"] == {"epoch": 9, "exact": True, "checkpoint": 9, "live": 15}
