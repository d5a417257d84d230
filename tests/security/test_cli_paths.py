"""CLI paths that used to fail only after the work (with a traceback, losing it): each is
refused first, with one line, and nothing is trained, exported or run."""

from __future__ import annotations

import pytest

from growlab import Run
from growlab.cli import main


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a run trains or an experiment starts."""
    def trained(*args, **kwargs):
        raise AssertionError("the command did the work before checking its output path")

    monkeypatch.setattr(Run, "run", trained)
    monkeypatch.setattr("growlab.experiment.paper.grid", trained, raising=False)
    monkeypatch.setattr("growlab.experiment.grid", trained, raising=False)


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "r.growlab"
    run = Run("xor", "4", epochs=2)
    run.run()
    run.save(path)
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("where, message", [("missing/r.growlab", "does not exist"), (".", "that is a folder")])
def test_train_save_to_a_bad_path_is_refused_before_training(tmp_path, where, message, no_training, capsys):
    assert main(["train", "--epochs", "100000", "--quiet", "--save", str(tmp_path / where)]) == 2
    assert message in one_line_error(capsys)


@pytest.mark.parametrize("where, message", [("missing/m.pt", "does not exist"), (".", "that is a folder")])
def test_export_to_a_bad_path_is_refused(tmp_path, archive, where, message, capsys):
    assert main(["export", str(archive), "--out", str(tmp_path / where)]) == 2
    assert message in one_line_error(capsys)


def test_export_onto_its_own_archive_is_refused(archive, capsys):
    before = archive.read_bytes()
    assert main(["export", str(archive), "--out", str(archive)]) == 2
    assert "is the archive itself" in one_line_error(capsys)
    assert archive.read_bytes() == before and Run.load(archive).epoch == 2


def test_experiment_to_an_unwritable_folder_is_refused_before_running(tmp_path, no_training, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for out in ("/proc/growlab-report", str(blocker), str(blocker / "inside")):
        assert main(["experiment", "paper", "--seeds", "1", "--epochs", "1", "--quiet", "--out", out]) == 2
        assert "--out" in one_line_error(capsys)


def test_serve_on_an_unknown_host_is_one_line(capsys):
    assert main(["serve", "--address", "no.such.host.invalid", "--port", "0"]) == 2
    assert "no such host" in one_line_error(capsys)


def test_serve_refuses_a_bad_memory_budget(capsys):
    assert main(["serve", "--memory-budget", "lots", "--port", "0"]) == 2
    assert "8GiB" in one_line_error(capsys)
