"""Side by side in the Compare tab: pick two members of a grid, train them again, see them in step."""

from __future__ import annotations

import numpy as np
import pytest

from growlab import Run
from growlab.run.slots import TrainingSlots
from growlab.ui.compare import CompareSettings, CompareView, PairJob, default_pair, member_setup

SMALL = dict(methods=["random", "prune"], thresholds=[0.9], seeds=3, epochs=12)


@pytest.fixture(scope="module")
def finished():
    v = CompareView(slots=TrainingSlots(2), live=False, settings=CompareSettings(**SMALL))
    assert v.run() and v.job.wait(120) and v.poll() is False
    yield v
    v.close()


def test_a_member_trained_again_is_that_member(finished):
    result = finished.job.result
    row = result.frame.iloc[4]
    run = Run(**member_setup(result, row))
    run.run()
    np.testing.assert_array_equal(run.history["val_acc"].to_numpy(), result.curves[4])


def test_the_picker_offers_every_member_and_starts_with_a_false_start_or_two_seeds(finished):
    pair, frame = finished.pair, finished.job.result.frame.reset_index(drop=True)
    assert pair._layout.visible and len(pair.first.options) == len(frame) == 6
    a, b = default_pair(frame)
    assert (pair.first.value, pair.second.value) == (a, b) and a != b
    assert frame.method[a] == frame.method[b] and frame.seed[a] != frame.seed[b]
    mixed = frame.groupby("method").false_start.nunique().max() == 2  # some method has both kinds
    assert (frame.false_start[a] and not frame.false_start[b]) if mixed else frame.val_acc[a] >= frame.val_acc[b]
    # a frame with a false start and a good run of its method: those two come first
    f = frame.copy()
    f["false_start"] = False
    f.loc[5, "false_start"] = True
    a, b = default_pair(f)
    assert a == 5 and f.method[b] == f.method[5] and b == f[(f.method == f.method[5]) & (f.index != 5)].val_acc.idxmax()


def test_show_trains_both_and_puts_them_side_by_side(finished):
    pair = finished.pair
    frame = finished.job.result.frame.reset_index(drop=True)
    a = int(frame.index[(frame.method == "random") & (frame.seed == 0)][0])
    b = int(frame.index[(frame.method == "prune") & (frame.seed == 0)][0])  # two methods, one seed
    pair.first.value, pair.second.value = a, b
    assert pair.show() and pair.progress.visible
    assert not pair.show()  # one at a time
    assert pair.job.wait(120) and pair.poll() is False
    view = pair.view
    assert len(pair.holder.objects) == 1 and view is not None and not pair.progress.visible and pair.job.progress == (24, 24)
    assert view.table["epoch"].tolist() == list(range(13))
    assert view.labels[0].startswith("random · 90% · seed 0") and view.labels[1].startswith("prune · 90% · seed 0")
    ra, rb = (r for r, _ in pair.job.pairs)
    assert ra.config.method == "random" and rb.config.method == "prune"
    view.show(6)
    row = view.table.set_index("epoch").loc[6]
    assert 0 < row["jaccard"] < 1
    mine, theirs = (d.snapshot for d in view.diagrams)
    assert len(mine.recent) == row["only_a"] and len(theirs.recent) == row["only_b"]
    assert mine.epoch == theirs.epoch == 6


def test_the_same_member_twice_is_refused_and_a_full_server_says_so(finished):
    pair = finished.pair
    pair.second.value = pair.first.value
    assert not pair.show() and "two different" in pair.status
    pair.second.value = (pair.first.value + 1) % len(pair.first.options)
    full = TrainingSlots(1)
    full.acquire("someone else")
    pair.slots = full
    try:
        assert not pair.show() and "Not started" in pair.status
    finally:
        pair.slots = None


def test_a_pair_job_can_be_stopped():
    job = PairJob([dict(dataset="heart", arch="16-8", method="random", seed=0, epochs=400)] * 2).start()
    job.cancel()
    assert job.wait(60) and job.state == "cancelled" and job.pairs is None
