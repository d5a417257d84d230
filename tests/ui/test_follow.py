"""Follow mode without a browser (issue 20): a viewer reads the teacher's run and changes nothing."""

from __future__ import annotations

import pytest

from growlab.run.slots import TrainingSlots
from growlab.ui import create_app
from growlab.ui.follow import ENDED, FollowApp, FollowHub, ReadOnlyError, ReadOnlyRunner, create_follow_app


@pytest.fixture
def classroom():
    """A teacher's app (heart 16-8, strategic+prune), shared in a hub of its own, and a way to add viewers."""
    teacher = create_app(query={"dataset": "heart", "arch": "16-8", "method": "strategic+prune"}, slots=TrainingSlots(2),
                         live=False)  # fmt: skip
    hub = FollowHub(max_viewers=2)
    teacher.share_live.hub = hub
    token = teacher.share_live.start().split("follow=")[1]
    yield teacher.growlab, hub, token
    teacher.growlab.close()


def train(runner, epochs: int) -> None:
    for _ in range(epochs):
        n = runner.snapshot.epoch + 1
        runner.step()
        assert runner.wait(lambda s, n=n: s.epoch == n)


def test_a_viewer_draws_the_teachers_snapshots_the_same_objects_no_copy(classroom):
    teacher, hub, token = classroom
    viewer = create_follow_app(token, hub=hub, live=False).growlab
    assert isinstance(viewer, FollowApp) and hub.counts() == {"shared": 1, "viewers": 1}
    runner = teacher.session.runner
    train(runner, 4)
    assert viewer.refresh() is True
    assert viewer.session.runner.snapshot is runner.snapshot  # one snapshot for everyone
    assert viewer.curves.source.data["epoch"][-1] == 4 and viewer.drawn == runner.snapshot.version
    assert viewer.refresh() is False  # nothing new: nothing drawn


def test_every_command_of_a_viewer_is_refused_and_the_teachers_run_stays_as_it_was(classroom):
    teacher, hub, token = classroom
    viewer = create_follow_app(token, hub=hub, live=False).growlab
    runner = teacher.session.runner
    train(runner, 2)
    before = (runner.snapshot.version, runner.snapshot.epoch, runner.status, dict(runner.pending))
    s = viewer.session
    for command in (s.play, s.step, s.cycle, s.reset):
        command()
        assert s.level == "error" and "read-only" in s.message
    s.model.arch = "4"  # a crafted change of the setup: refused and put back
    assert s.model.arch == "16-8" and "read-only" in s.message
    s.model.lr = 0.1
    assert s.model.lr == 0.003
    ro = viewer.session.runner
    for name, args in (("play", ()), ("set", ()), ("reset", ()), ("call", (len,)), ("prune_redundant", ()), ("show_example", (0,))):
        with pytest.raises(ReadOnlyError):
            getattr(ro, name)(*args)
    viewer.false_starts.update(runner.snapshot)
    assert viewer.false_starts.button.disabled
    viewer.close()  # a viewer leaving never stops the teacher's run
    assert not runner.closed
    assert (runner.snapshot.version, runner.snapshot.epoch, runner.status, dict(runner.pending)) == before


def test_a_read_only_runner_passes_only_the_reads_it_lists():
    class Nothing:
        snapshot = None

    ro = ReadOnlyRunner(Nothing())
    with pytest.raises(AttributeError):
        ro.anything_else  # noqa: B018  (only the listed reads go through)


def test_when_the_teacher_leaves_viewers_are_told_once_and_keep_the_last_picture(classroom):
    teacher, hub, token = classroom
    viewer = create_follow_app(token, hub=hub, live=False).growlab
    train(teacher.session.runner, 3)
    teacher.close()
    teacher_share = viewer.followed
    hub.end(teacher_share)
    viewer.tick()
    assert viewer.ended and viewer.session.message == ENDED and "has ended" in viewer.banner.object
    assert viewer.curves.source.data["epoch"][-1] == 3
    viewer.session.message = ""
    viewer.tick()
    assert viewer.session.message == ""  # told once
    late = create_follow_app(token, hub=hub, live=False)
    assert not hasattr(late, "growlab")  # an ended link opens a page that says so
    assert hub.counts() == {"shared": 0, "viewers": 0}


def test_a_shared_run_takes_up_to_its_viewer_limit_and_sharing_twice_gives_one_link(classroom):
    teacher, hub, token = classroom
    apps = [create_follow_app(token, hub=hub, live=False) for _ in range(3)]
    assert [hasattr(a, "growlab") for a in apps] == [True, True, False]
    assert hub.share(teacher.session.runner).token == token
    assert hub.counts() == {"shared": 1, "viewers": 2}
