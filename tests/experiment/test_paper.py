"""The paper's protocol, its published tables and the checks of its findings."""

import pandas as pd
import pytest

from growlab.cli import main
from growlab.experiment import PAPER_METHODS, ExperimentResult, findings, paper
from growlab.experiment.reference import TABLE_1, TABLE_2, TABLE_3, side_by_side


def test_paper_runs_the_seven_methods_with_the_papers_pruning_schedule():
    r = paper(seeds=2, thresholds=(0.9,), epochs=4)
    assert r.protocol == "paper" and r.methods == PAPER_METHODS and len(r.frame) == 14
    assert r.method_params["prune"] == {"schedule": "steps"}
    assert r.settings["dataset"] == "heart" and r.settings["arch"] == [16, 8] and r.settings["epochs"] == 4
    assert "## The paper's findings, checked" in r.report() and "91.38" in r.report()  # the paper's Table 2
    with pytest.raises(ValueError, match="thresholds="):
        paper(seeds=1, sparsity=0.5)


def test_reference_tables_are_the_papers():
    assert TABLE_1.loc["strategic+prune", "accuracy"] == 83.62
    assert TABLE_2.loc["strategic", "90%"] == 96.55 and TABLE_3.loc["prune", "95%"] == 74.61
    assert side_by_side(pd.DataFrame({"99%": [50.0]}, index=["prune"]), TABLE_3).iloc[0, 0] == "50.00 (75.67)"


def _result(rows) -> ExperimentResult:
    """A result from hand-written members: (method, threshold, seed, acc, auc)."""
    f = pd.DataFrame(rows, columns=["method", "threshold", "seed", "val_acc", "val_auc"])
    f["false_start"] = f.val_acc < 0.6
    methods = tuple(dict.fromkeys(f.method))
    return ExperimentResult(f, {}, {}, methods, (0.9,), (0, 1), protocol="paper")


def test_findings_say_reproduces_only_when_every_threshold_agrees():
    good = _result([
        ("prune", 0.9, 0, 0.80, 0.70), ("prune", 0.9, 1, 0.80, 0.70),
        ("subnet", 0.9, 0, 0.70, 0.80), ("subnet", 0.9, 1, 0.45, 0.80),
        ("random", 0.9, 0, 0.70, 0.80), ("random", 0.9, 1, 0.70, 0.80),
        ("strategic", 0.9, 0, 0.90, 0.80), ("strategic", 0.9, 1, 0.80, 0.80),
        ("strategic+prune", 0.9, 0, 0.75, 0.80), ("strategic+prune", 0.9, 1, 0.67, 0.80),
    ])  # fmt: skip
    assert [f.verdict for f in findings(good)] == ["reproduces"] * 3
    bad = _result([(m, 0.9, s, 0.5, 0.9 if m == "prune" else 0.5) for m in ("prune", "subnet", "random", "strategic",
                                                                            "strategic+prune") for s in (0, 1)])  # fmt: skip
    assert [f.verdict for f in findings(bad)] == ["does not reproduce"] * 3
    partial = _result([("dense", 0.9, 0, 0.8, 0.8)])
    assert {f.verdict for f in findings(partial)} == {"not checked"}


def test_cli_writes_the_report(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["experiment", "grid", "--methods", "dense,random", "--seeds", "2", "--thresholds", "0.8,0.9",
                 "--epochs", "3", "--quiet", "--grow-per-cycle", "8", "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "max accuracy (Table 2)" in printed and "| random |" in printed
    assert (out / "report.md").exists() and (out / "boxplot.html").exists()
    assert "grow_per_cycle=8" in (out / "report.md").read_text()
    assert main(["experiment", "paper", "--seeds", "1", "--epochs", "2", "--thresholds", "0.9", "--quiet",
                 "--out", str(tmp_path / "p")]) == 0  # fmt: skip
    assert "strategic synthesis beats random synthesis" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["experiment", "grid", "--methods", "nope", "--epochs", "1"], "unknown method 'nope'"),
        (["experiment", "grid", "--thresholds", "0.9,x"], "--thresholds"),
        (["experiment", "grid", "--dataset", "diabetes", "--methods", "dense", "--epochs", "1", "--seeds", "1"], "regression"),
        (["experiment", "paper", "--sigmaa", "2"], "sigmaa"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_the_schedules_stop_reaches_paper_grid_and_the_cli(tmp_path):
    """``stop`` is the paper's stop delay (DESIGN §4) everywhere; the grid's cancel callback is ``cancel``."""
    early = paper(seeds=1, thresholds=(0.8,), epochs=10, methods=("dense", "random"), stop=0.3)
    late = paper(seeds=1, thresholds=(0.8,), epochs=10, methods=("dense", "random"), stop=1.0)
    assert early.method_params["random"] == {"stop": 0.3} and "stop" not in early.method_params["dense"]
    a, b = (r.frame.set_index("method").loc["random", "active"] for r in (early, late))
    assert a < b  # growth stopped after 3 of 10 epochs
    assert main(["experiment", "paper", "--methods", "random", "--seeds", "1", "--thresholds", "0.9", "--epochs", "3",
                 "--stop", "0.5", "--quiet", "--out", str(tmp_path / "r")]) == 0  # fmt: skip
    assert "stop=0.5" in (tmp_path / "r" / "report.md").read_text()
