"""ExperimentResult: the member frame, the paper's tables, false starts, similarity, plots and report."""


import numpy as np
import pandas as pd
import pytest

METHODS = ["dense", "prune", "strategic"]


def test_frame_has_one_row_per_member_with_every_figure(tiny):
    f = tiny.frame
    assert len(f) == 3 * 2 * 2  # methods × thresholds × seeds
    for col in ("method", "threshold", "seed", "val_acc", "best_val_acc", "val_auc", "best_val_auc",
                "density", "redundant", "false_start", "false_start_reason"):  # fmt: skip
        assert col in f.columns
    assert (f.best_val_acc >= f.val_acc).all() and (f.best_val_auc >= f.val_auc).all()
    assert f.val_acc.between(0, 1).all() and f.density.between(0, 1).all()
    assert list(f.method.unique()) == METHODS


def test_a_method_without_threshold_repeats_one_training_per_threshold(tiny):
    dense = tiny.frame[tiny.frame.method == "dense"]
    assert not dense.threshold_used.any() and (dense.density == 1).all()
    by_t = [g.set_index("seed").val_acc for _, g in dense.groupby("threshold")]
    assert by_t[0].equals(by_t[1])
    prune = tiny.frame[tiny.frame.method == "prune"]
    assert prune.threshold_used.all()
    assert prune[prune.threshold == 0.8].density.mean() > prune[prune.threshold == 0.9].density.mean()


def test_tables_have_the_papers_shape_and_labels(tiny):
    t1 = tiny.table("mean")
    assert list(t1.index) == METHODS and list(t1.columns) == ["accuracy", "AUC", "density"]
    rows = tiny.frame[tiny.frame.threshold == 0.9]
    assert t1.loc["prune", "accuracy"] == pytest.approx(rows[rows.method == "prune"].val_acc.mean() * 100)
    for kind, col in (("max_accuracy", "val_acc"), ("max_auc", "val_auc")):
        t = tiny.table(kind)
        assert list(t.index) == METHODS and list(t.columns) == ["80%", "90%"]
        rows = tiny.frame[(tiny.frame.method == "strategic") & (tiny.frame.threshold == 0.8)]
        assert t.loc["strategic", "80%"] == pytest.approx(rows[col].max() * 100)
    assert tiny.table("mean", threshold=0.8).shape == (3, 3)
    assert tiny.table("min_accuracy").shape == (3, 2)
    with pytest.raises(ValueError, match="unknown table"):
        tiny.table("best")
    with pytest.raises(ValueError, match="not in this experiment"):
        tiny.table("mean", threshold=0.5)


def test_false_starts_count_members_per_method_and_threshold(tiny):
    fs = tiny.false_starts()
    assert fs.members.tolist() == [2] * 6
    assert (fs.false_starts == fs[["unreachable", "warmup", "end"]].sum(axis=1)).all()
    f = tiny.frame
    assert fs.false_starts.sum() == f.false_start.sum()
    worst = f[(f.method == "prune") & (f.threshold == 0.9)].val_acc.min() * 100
    assert fs.loc[("prune", 0.9), "worst_accuracy"] == pytest.approx(worst)


def test_similarity_compares_one_seed_across_methods(tiny):
    reps = tiny.representatives()
    assert list(reps.index) == METHODS and reps.seed.nunique() == 1
    sim = tiny.similarity_frame()
    assert list(sim.index) == METHODS and np.allclose(sim.to_numpy(), sim.to_numpy().T)
    assert np.allclose(np.diag(sim), 1.0)
    # dense has every connection, so its Jaccard with another member is that member's density
    prune_density = reps.loc["prune", "density"]
    assert sim.loc["dense", "prune"] == pytest.approx(prune_density)


def test_plots_are_bokeh_figures(tiny):
    from bokeh.models import FactorRange

    box = tiny.boxplot()
    assert isinstance(box.x_range, FactorRange) and len(box.x_range.factors) == 6  # thresholds × methods
    heat = tiny.similarity()
    assert heat.x_range.factors == METHODS


def test_save_writes_the_report_csvs_and_offline_html(tiny, tmp_path):
    path = tiny.save(tmp_path / "out")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"report.md", "members.csv", "table_mean.csv", "table_max_accuracy.csv", "table_max_auc.csv",
            "false_starts.csv", "similarity.csv", "boxplot.html", "similarity.html"} <= names  # fmt: skip
    report = path.read_text()
    assert "6 epochs, adam (learning rate 0.003), full batch (242 rows)" in report
    assert "| strategic | sparsity=T, focal_junctures=4" in report and "## False starts" in report
    assert len(pd.read_csv(tmp_path / "out" / "members.csv")) == 12
    html = (tmp_path / "out" / "boxplot.html").read_text()
    assert "cdn.bokeh.org" not in html and "Bokeh" in html  # BokehJS is inlined: opens offline

