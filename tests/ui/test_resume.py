"""A reload keeps the run (issue 15), without a browser: the hub that hands a left page's run to the next page."""

from __future__ import annotations

from growlab.run.slots import TrainingSlots
from growlab.ui import create_app
from growlab.ui.resume import RESUMES, ResumeHub

QUERY = {"dataset": "xor", "arch": "6-4", "method": "strategic+prune", "sparsity": "0.5", "lr": "0.01"}


def trained(epochs: int = 4):
    template = create_app(query=QUERY, slots=TrainingSlots(2), live=False)
    app = template.growlab
    for n in range(1, epochs + 1):
        app.session.runner.step()
        assert app.session.runner.wait(lambda s, n=n: s.epoch == n)
    app.refresh()
    return template, app


def test_a_reload_takes_over_the_run_its_choices_and_history_and_the_old_page_lets_go():
    template, old = trained()
    old.session.model.layout = "projector"
    token = RESUMES.admit(old, template.share_live)
    try:
        runner = old.session.runner
        new = create_app(resume=token, live=False).growlab  # the reloaded page
        assert new.session.runner is runner and new.session.model is not old.session.model
        assert new.session.model.query() == old.session.model.query()  # the same setup, method parameters and layout
        assert new.curves.source.data["epoch"][-1] == 4 and new.drawn == runner.snapshot.version  # drawn at once
        assert old.detached and old.tick() is False  # the left page draws no more
        assert RESUMES.claim(token) is None  # a token hands its run over once
        assert RESUMES.release(token, old) is False and not runner.closed  # the left page's end leaves the run alone
        new.session.model.lr = 0.02  # the new page drives it
        assert runner.pending.get("lr") == 0.02 and new.session.level != "error"
    finally:
        runner.close()


def test_when_the_grace_period_ends_unclaimed_the_run_is_freed_and_its_token_names_nothing():
    hub = ResumeHub()
    template, app = trained(2)
    runner = app.session.runner
    token = hub.admit(app, template.share_live)
    for wrong in ("", "nope", "A" * 3000, "<b>x</b>", None, 7, token + "x"):
        assert hub.claim(wrong) is None  # malformed or unknown: nothing, no error
    assert not runner.closed and hub.counts() == 1
    assert hub.release(token, app) is True  # the page's session ended (the server's lifetime after it was left)
    assert runner.closed and hub.counts() == 0
    assert hub.claim(token) is None
    fresh = create_app(query=QUERY, resume=token, live=False).growlab  # a late reload: a run of its own
    try:
        assert fresh.session.runner is not runner and fresh.session.runner.snapshot.epoch == 0
    finally:
        fresh.close()


def test_a_shared_run_stays_shared_across_a_reload():
    template, old = trained(1)
    url = template.share_live.start()
    token = RESUMES.admit(old, template.share_live)
    runner = old.session.runner
    try:
        again = create_app(resume=token, live=False)  # the teacher's page reloaded
        assert not template.share_live.share.ended  # the class's link still follows the run
        assert again.share_live.start() == url  # the new page's Share live is the same link
        assert RESUMES.release(token, old) is False and not template.share_live.share.ended
    finally:
        template.share_live.close()
        runner.close()
