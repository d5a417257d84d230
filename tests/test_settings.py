"""Every training setting is declared once (config.TRAIN_SETTINGS); each consumer agrees with it."""

import pytest

from growlab.cli import build_parser
from growlab.config import LIVE_SETTINGS, TRAIN_FIELDS, TRAIN_SETTINGS, TrainConfig
from growlab.run import Run

#: a valid value other than the default, per setting (what a round trip must carry)
OTHER = {"epochs": 3, "seed": 7, "split_seed": 2, "lr": 0.01, "optimizer": "sgd", "momentum": 0.5, "batch_size": 64,
         "activation": "tanh", "device": "cpu"}  # fmt: skip
#: a refused value per setting
BAD = {"epochs": 0, "seed": -1, "split_seed": 1.5, "lr": -1.0, "optimizer": "rmsprop", "momentum": 1.0,
       "batch_size": 0, "activation": "gelu", "device": "meta"}  # fmt: skip


def train_parser():
    return build_parser()._subparsers._group_actions[0].choices["train"]


def test_the_table_covers_every_training_field_and_these_tests_cover_the_table():
    assert TRAIN_FIELDS - set(TRAIN_SETTINGS) == {"dataset", "arch", "method", "dataset_options"}
    assert set(OTHER) == set(BAD) == set(TRAIN_SETTINGS)
    assert all(getattr(TrainConfig(), k) == s.default for k, s in TRAIN_SETTINGS.items())


@pytest.mark.parametrize("name", TRAIN_SETTINGS)
def test_the_cli_has_each_settings_flag_with_its_range_and_default(name):
    setting = TRAIN_SETTINGS[name]
    action = next(a for a in train_parser()._actions if setting.flag in a.option_strings)
    assert action.default == setting.default
    assert setting.range_text() in action.help and setting.doc in action.help


@pytest.mark.parametrize("name", TRAIN_SETTINGS)
def test_a_refused_value_reads_the_same_in_the_api_and_the_cli(name, capsys):
    with pytest.raises(ValueError) as api:
        TrainConfig(**{name: BAD[name]})
    with pytest.raises(SystemExit):
        train_parser().parse_args([TRAIN_SETTINGS[name].flag, str(BAD[name])])
    cli = capsys.readouterr().err
    assert str(api.value).split(", got")[0] in cli  # the same words; the CLI quotes the text it was given


def test_every_setting_survives_an_archive_round_trip(tmp_path):
    run = Run("heart", "4", "dense", **OTHER)
    run.step()
    run.save(tmp_path / "r.growlab")
    back = Run.load(tmp_path / "r.growlab")
    assert {k: getattr(back.config, k) for k in TRAIN_SETTINGS} == OTHER


def test_the_live_settings_accept_their_whole_range_mid_run():
    """lr = 100 is DESIGN's divergence demo: what builds a run may also be chosen mid-run."""
    assert set(LIVE_SETTINGS) == {"lr"}
    run = Run("heart", "4", "dense", epochs=3, lr=100.0)
    run.set(lr=100.0)
    with pytest.raises(ValueError, match=r"lr must be in \(0, ∞\)"):
        run.set(lr=0)


# ---------------------------------------------------------------------- the app and growlab.Lab
def app_value(name):
    """OTHER[name] as the app's form holds it (the offered learning rates include it)."""
    from growlab.ui.model import LEARNING_RATES

    assert name != "lr" or OTHER[name] in LEARNING_RATES
    return OTHER[name]


def test_the_app_form_has_one_box_per_linked_setting_showing_its_value():
    """Every setting with a URL key has a box in the sidebar's form, bound to the session model
    (a model change shows in the box); the others are API/CLI-only, by the table's word."""
    import panel as pn

    from growlab.run.slots import TrainingSlots
    from growlab.ui.model import FORM_SETTINGS, SessionModel
    from growlab.ui.session import Session
    from growlab.ui.sidebar import Sidebar

    assert set(FORM_SETTINGS) == {k for k, s in TRAIN_SETTINGS.items() if s.url}
    assert {"split_seed", "momentum", "device"}.isdisjoint(FORM_SETTINGS)  # what the table keeps out of the form
    session = Session(model=SessionModel(epochs=3), slots=TrainingSlots(1), notify=lambda *a: None)
    try:
        form = Sidebar(session=session).__panel__()
        boxes = {c[len("gl-"):]: w for w in form.select(pn.widgets.Widget) for c in w.css_classes if c.startswith("gl-")}
        for name in FORM_SETTINGS:
            box = boxes[name.split("_")[0]]
            setattr(session.model, name, app_value(name))
            assert box.value == app_value(name), name
            assert ("(live)" in box.name) == TRAIN_SETTINGS[name].live, name
    finally:
        session.close()


@pytest.mark.parametrize("name", [k for k, s in TRAIN_SETTINGS.items() if s.url])
def test_a_link_carries_each_linked_setting_and_the_run_gets_it(name):
    from growlab.ui.model import SessionModel

    model = SessionModel()
    setattr(model, name, app_value(name))
    query = model.query()
    assert name in query
    back = SessionModel()
    assert back.apply_query(query) == []
    assert getattr(back, name) == app_value(name)
    assert back.spec()[name] == OTHER[name]


@pytest.mark.parametrize("name", [k for k, s in TRAIN_SETTINGS.items() if s.url])
def test_a_refused_value_reads_the_same_in_a_link_the_app_and_the_api(name):
    from growlab.ui.model import SessionModel, check_setting

    bad = -3 if name == "batch_size" else BAD[name]  # the form's 0 is the full batch
    with pytest.raises(ValueError) as api:
        TrainConfig(**{name: bad})
    words = str(api.value).split(", got")[0]
    problems = SessionModel().apply_query({name: str(bad)})
    assert len(problems) == 1 and words in problems[0]
    with pytest.raises(ValueError) as app:
        check_setting(name, bad)
    assert words in str(app.value)


def test_growlab_lab_takes_every_linked_setting_by_keyword():
    from growlab.ui.lab import MODEL_KEYS, configure
    from growlab.ui.model import SessionModel

    names = [k for k, s in TRAIN_SETTINGS.items() if s.url]
    assert set(names) <= set(MODEL_KEYS)
    model = SessionModel()
    configure(model, {name: app_value(name) for name in names})
    assert {name: model.spec()[name] for name in names} == {name: OTHER[name] for name in names}
