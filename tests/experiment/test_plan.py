"""Planning a grid: seeds, thresholds, parameter routing and groups (nothing trains here)."""

import pytest

from growlab.experiment.plan import as_seeds, as_thresholds, make_groups, split_params


def test_seeds_and_thresholds_are_parsed_and_checked():
    assert as_seeds(3) == (0, 1, 2) and as_seeds([5, 1]) == (5, 1)
    assert as_thresholds(0.9) == (0.9,) and as_thresholds([0.8, 0.99]) == (0.8, 0.99)
    for bad in (0, [], [1, 1], [1.5], True):
        with pytest.raises(ValueError):
            as_seeds(bad)
    for bad in ((), (1.0,), (-0.1,), (0.8, 0.8), ("x",)):
        with pytest.raises(ValueError, match="threshold"):
            as_thresholds(bad)


def test_params_go_to_the_methods_that_have_them_and_training_settings_apart():
    train, per = split_params(["dense", "strategic", "random+prune"], {"lr": 0.01, "sigma": 2.0, "prune_per_cycle": 3})
    assert train == {"lr": 0.01}
    assert per == {"dense": {}, "strategic": {"sigma": 2.0}, "random+prune": {"prune_per_cycle": 3}}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"bogus": 1}, "no method of this experiment has"),
        ({"sigma": -1.0}, "sigma"),
        ({"sparsity": 0.5}, "thresholds="),
        ({"seed": 3}, "experiment sets them itself"),
    ],
)
def test_bad_params_are_refused_before_anything_trains(params, message):
    with pytest.raises(ValueError, match=message):
        split_params(["dense", "strategic"], params)


def test_groups_put_every_threshold_and_seed_of_a_method_in_one_population():
    dense, prune = make_groups(["dense", "prune"], (3, 7), (0.8, 0.9, 0.99), {"prune": {"schedule": "steps"}})
    assert dense.seeds == (3, 7) and not dense.uses_threshold  # no threshold: once per seed
    assert prune.population == 6 and prune.params == {"schedule": "steps"}
    assert prune.seeds == (3, 7) * 3 and prune.thresholds == (0.8, 0.8, 0.9, 0.9, 0.99, 0.99)
    with pytest.raises(ValueError, match="unknown method"):
        make_groups(["nope"], (0,), (0.9,), {})
    with pytest.raises(ValueError, match="distinct"):
        make_groups(["dense", "dense"], (0,), (0.9,), {})
