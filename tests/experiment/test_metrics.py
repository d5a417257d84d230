"""The experiment's own figures: its per-epoch AUC and the box statistics of Fig. 5."""

import numpy as np
import pytest
import torch

from growlab.engine import binary_auc
from growlab.experiment.plots import box_stats
from growlab.experiment.population import pairwise_auc


@pytest.mark.parametrize("levels", [None, 10, 2])  # continuous scores, many ties, almost all tied
def test_pairwise_auc_equals_the_engines_rank_auc(levels):
    g = torch.Generator().manual_seed(1)
    scores = torch.rand(40, 61, generator=g)
    if levels:
        scores = torch.round(scores * levels) / levels
    labels = torch.rand(61, generator=g) > 0.45
    np.testing.assert_allclose(pairwise_auc(scores, labels), binary_auc(scores.numpy(), labels.numpy()), atol=1e-12)
    assert np.isnan(pairwise_auc(scores, torch.ones(61, dtype=torch.bool))).all()


def test_box_stats_use_exclusive_quartiles_and_flag_outliers():
    v = np.array([52.0, 80, 82, 84, 85, 86, 87, 88, 90])
    s = box_stats(v)
    q1, q3 = np.quantile(v, [0.25, 0.75], method="weibull")  # Excel's QUARTILE.EXC, the paper's
    assert (s["q1"], s["q3"]) == (q1, q3) and s["q2"] == 85
    assert s["outliers"] == [52.0] and s["lo"] == 80 and s["hi"] == 90
    assert s["mean"] == pytest.approx(v.mean())
    assert np.isnan(box_stats(np.array([np.nan]))["q2"])


@pytest.mark.parametrize("levels", [None, 5, 1])  # distinct scores, ties, one value per row
def test_average_ranks_match_scipys_rankdata_with_ties_and_nans(levels):
    from scipy.stats import rankdata

    from growlab.engine.metrics import average_ranks

    rng = np.random.default_rng(levels or 0)
    scores = rng.random((6, 33))
    if levels:
        scores = np.round(scores * levels) / levels
    scores[2, 7] = np.nan  # a diverged member: its whole row is nan, as in scipy
    np.testing.assert_array_equal(average_ranks(scores), rankdata(scores, axis=1))
