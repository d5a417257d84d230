"""``interpretations``: readings of paper 000 on its protocol, claims as paired differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from growlab.cli import main
from growlab.experiment import READINGS, interpretations
from growlab.experiment.interpretations import CLAIMS, Reading, claim_frame, paired

SMALL = dict(seeds=3, thresholds=(0.8,), epochs=30)


def test_paired_differences_match_a_paired_t_test():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.05, 20), rng.normal(0.78, 0.05, 20)
    d = paired(a, b)
    lo, hi = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert d["mean"] == pytest.approx((a - b).mean()) and (d["low"], d["high"]) == pytest.approx((lo, hi))
    assert d["better"] + d["worse"] == 20 and d["n"] == 20


def test_claims_pool_thresholds_per_seed_before_the_interval():
    rows = []
    for seed in range(3):
        for t in (0.8, 0.9):
            for m in ("strategic", "random", "subnet", "strategic+prune", "random+prune"):
                acc = {"strategic": 0.8, "random": 0.7, "subnet": 0.6, "strategic+prune": 0.6, "random+prune": 0.7}[m]
                rows.append({"method": m, "threshold": t, "seed": seed, "val_acc": acc + 0.01 * seed * (t == 0.9)})
    members = pd.DataFrame(rows).assign(reading="r")
    c = claim_frame(members, [Reading("r", "")], (0.8, 0.9)).set_index(["claim", "threshold"])
    assert c.loc[("strategic − random", "all"), "mean"] == pytest.approx(10.0)
    assert c.loc[("strategic+prune − random+prune", 0.8), "mean"] == pytest.approx(-10.0)
    assert c.loc[("strategic − subnet", "all"), "better"] == 3
    assert set(c.index.get_level_values("claim")) == {name for name, _, _ in CLAIMS}


def test_readings_share_what_they_leave_alone_and_change_what_they_read():
    r = interpretations(**SMALL, readings=["growlab", "usable junctures", "AUC of labels", "no floor"])
    m = r.members.set_index(["reading", "method", "threshold", "seed"]).sort_index()
    base = m.loc["growlab"]
    # 7 methods in the base reading, strategic ×2 for usable, hybrids ×2 for no floor: 11 distinct trainings
    assert r.trained == 7 + 2 + 2
    for reading, changed in (("usable junctures", {"strategic", "strategic+prune"}),
                             ("no floor", {"random+prune", "strategic+prune"}), ("AUC of labels", set())):  # fmt: skip
        other = m.loc[reading]
        for method in ("dense", "prune", "subnet", "random", "strategic", "random+prune", "strategic+prune"):
            same = base.loc[method].val_acc.equals(other.loc[method].val_acc)
            assert same or method in changed, (reading, method)
    labels = m.loc["AUC of labels"]
    assert labels.val_auc.equals(base.val_auc_labels) and not labels.val_auc.equals(base.val_auc)
    t = r.claims_table()
    assert list(t.index) == ["growlab", "usable junctures", "AUC of labels", "no floor"] and t.notna().all().all()
    assert set(r.methods.method) == {"dense", "prune", "subnet", "random", "strategic", "random+prune", "strategic+prune"}


def test_the_report_the_cli_and_bad_names(tmp_path, capsys):
    assert main(["experiment", "interpretations", "--seeds", "2", "--thresholds", "0.9", "--epochs", "5",
                 "--readings", "growlab,false start at the window", "--quiet", "--out", str(tmp_path)]) == 0  # fmt: skip
    assert "claims, all thresholds" in capsys.readouterr().out
    text = (tmp_path / "interpretations.md").read_text()
    assert "## Claims, all thresholds" in text and "false start at the window" in text
    assert {p.name for p in tmp_path.iterdir()} >= {"claims.csv", "methods.csv", "members.csv", "claims.html"}
    assert main(["experiment", "interpretations", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(x.name in listed for x in READINGS)
    with pytest.raises(ValueError, match="unknown reading.*valid: growlab"):
        interpretations(seeds=1, readings=["nope"])
    assert main(["experiment", "interpretations", "--readings", "nope", "--out", str(tmp_path / "x")]) == 2
