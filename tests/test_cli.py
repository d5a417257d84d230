import pytest

from growlab import Run
from growlab.cli import main, parse_extra


def test_train_prints_final_figures_and_saves(tmp_path, capsys):
    out = tmp_path / "r.growlab"
    assert main(["train", "--epochs", "3", "--quiet", "--save", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 3/3" in printed and "val_acc" in printed and "val_auc" in printed and "active params 593/593" in printed
    assert Run.load(out).epoch == 3


def test_train_passes_dataset_options_and_reports_regression(capsys):
    assert main(["train", "--dataset", "moons", "--noise", "0.3", "--arch", "4", "--epochs", "2", "--quiet"]) == 0
    assert main(["train", "--dataset", "diabetes", "--arch", "4", "--epochs", "2", "--quiet"]) == 0
    assert "val_mse" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--arch", "16--8"], "cannot read architecture"),
        (["train", "--method", "nope"], "unknown method 'nope'"),
        (["train", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["train", "--epochs", "1", "--focal-junctures", "3"], "no parameter focal_junctures"),
        (["train", "--sigma"], "--sigma needs a value"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_help_is_useful(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "train" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--arch" in out and "lenet-300-100" in out and "methods and their parameters" in out and "dense" in out


def test_parse_extra():
    assert parse_extra(["--sigma", "2", "--focal-junctures=5", "--init-weight", "copy"]) == {
        "sigma": 2, "focal_junctures": 5, "init_weight": "copy"}
