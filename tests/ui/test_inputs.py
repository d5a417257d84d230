"""Every input checked the same way (issue 15): refused with the run's message, the control put back."""

from __future__ import annotations

import panel as pn
import pytest

from growlab.config import TrainConfig
from growlab.run.slots import TrainingSlots
from growlab.ui import create_app
from growlab.ui.model import SessionModel, check_setting

FAST = {"dataset": "xor", "arch": "4", "epochs": "6"}


@pytest.fixture
def session():
    template = create_app(query=dict(FAST), slots=TrainingSlots(2), live=False)
    yield template.growlab.session
    template.growlab.close()


@pytest.mark.parametrize("name, value", [("epochs", 0), ("epochs", -5), ("epochs", 99_999_999), ("batch_size", -3),
                                         ("seed", -1), ("epochs", None), ("seed", None)])  # fmt: skip
def test_a_refused_setting_says_why_and_the_box_shows_the_value_in_use(session, name, value):
    before, run = getattr(session.model, name), session.runner.snapshot.run_id
    setattr(session.model, name, value)
    assert session.level == "error" and session.message.startswith("Refused:") and name in session.message
    assert getattr(session.model, name) == before
    assert session.runner.snapshot.run_id == run  # nothing was rebuilt


def test_the_app_refuses_with_the_runs_own_message():
    for name, value in [("epochs", 0), ("batch_size", -3), ("seed", -1)]:
        with pytest.raises(ValueError) as app:
            check_setting(name, value)
        with pytest.raises(ValueError) as api:
            TrainConfig(**{name: value})
        assert str(api.value) in str(app.value)
    check_setting("batch_size", 0)  # the app's "0 = full batch"


def test_a_link_with_a_refused_setting_says_so():
    problems = SessionModel().apply_query({"epochs": "0", "seed": "-1", "batch_size": "-3"})
    assert len(problems) == 3 and all("must be" in p for p in problems)


def test_an_accepted_setting_rebuilds_the_untouched_run(session):
    session.model.seed = 5
    assert session.runner.snapshot.extra["config"]["seed"] == 5
    session.model.batch_size = 8
    assert session.runner.snapshot.extra["config"]["batch_size"] == 8


@pytest.mark.parametrize("text", ["16,8", " 16 - 8 ", "16, 8"])
def test_an_obvious_architecture_is_normalised(session, text):
    session.model.arch = text
    assert session.model.arch == "16-8"
    assert session.runner.snapshot.sizes == (2, 16, 8, 1)


def test_an_emptied_method_box_is_a_message_not_a_traceback(session):
    session.model.method = "strategic"
    mp = session.model.method_params
    mp.sigma = None
    assert session.level == "error" and "sigma needs a number" in session.message
    assert mp.sigma == 1.0


def test_a_parameter_the_schedule_ignores_is_hidden():
    from growlab.ui.model import method_params
    from growlab.ui.sidebar import method_widgets

    mp = method_params("prune")
    assert mp.schedule != "steps"
    column = method_widgets(mp)
    per_cycle = [w for w in column.select(pn.widgets.Widget) if "gl-param-prune_per_cycle" in (w.css_classes or [])]
    assert len(per_cycle) == 1 and not per_cycle[0].visible  # polynomial ramps to the target: no per-cycle count
    mp.schedule = "steps"
    assert per_cycle[0].visible
    mp.schedule = "constant"
    assert not per_cycle[0].visible
    hybrid = method_widgets(method_params("random+prune"))  # no schedule: it always prunes per cycle
    shown = [w for w in hybrid.select(pn.widgets.Widget) if "gl-param-prune_per_cycle" in (w.css_classes or [])]
    assert len(shown) == 1 and shown[0].visible
