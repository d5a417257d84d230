"""Named methods, their parameters (names, ranges, per-member values) and ``available()``."""

from __future__ import annotations

import pytest
import torch

import growlab
from growlab.methods import METHODS, available, make_method

TIMING = {"interval", "start", "stop", "offset"}
PRUNING = {"prune_per_cycle", "criterion", "scope", "granularity"}
HYBRID = {"sparsity", "threshold", *PRUNING, "min_age", "keep_inputs", *TIMING, "prune_floor", "prune_interval", "prune_offset"}
STRATEGIC = {"focal_junctures", "sigma", "mu", "center", "init_weight", "junctures", "grow_from", "max_grow"}
EXPECTED = {
    "dense": set(),
    "prune": {"sparsity", "schedule", *PRUNING, *TIMING},
    "subnet": set(),
    "random": {"sparsity", "threshold", "grow_per_cycle", *TIMING},
    "strategic": {"sparsity", "threshold", *STRATEGIC, *TIMING},
    "random+prune": {*HYBRID, "grow_per_cycle"},
    "strategic+prune": {*HYBRID, *STRATEGIC},
    "gradient+prune": {*HYBRID, "grow_per_cycle", "density"},
}


@pytest.mark.parametrize("name", EXPECTED)
def test_each_method_exposes_only_its_own_parameters(name):
    d = available()[name]
    assert set(d["params"]) == EXPECTED[name]
    assert d["doc"] and d["source"]
    for p in d["params"].values():
        assert p["doc"] and p["range"] and "default" in p
    core = {"core"} if name != "dense" else set()
    assert set(METHODS.get(name).param_specs()) == EXPECTED[name] | core


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"valid: .*strategic\+prune"):
        make_method("strategy")


@pytest.mark.parametrize(
    "method,params,message",
    [
        ("strategic", {"sigma": 0}, "sigma must be in"),
        ("strategic", {"sigma": -1.0}, "sigma must be in"),
        ("strategic", {"focal_junctures": -1}, "focal_junctures must be in"),
        ("strategic", {"focal_junctures": 1.5}, "whole number"),
        ("random", {"sparsity": 1.0}, r"sparsity must be in \[0, 1\)"),
        ("random", {"sparsity": -0.1}, "sparsity must be in"),
        ("strategic+prune", {"init_weight": "zeros"}, "one of copy, gaussian, random"),
        ("prune", {"schedule": "cubic"}, "one of constant, steps, polynomial"),
        ("random+prune", {"criterion": "hessian"}, "one of magnitude, taylor, obd"),
        ("subnet", {"sigma": 1.0}, "has no parameter sigma; its parameters: core"),
    ],
)
def test_bad_values_are_refused_with_a_message(method, params, message):
    with pytest.raises(ValueError, match=message):
        make_method(method, **params)
    with pytest.raises(ValueError, match=message):
        growlab.Run("heart", "16-8", method, epochs=1, **params)


def test_per_member_values_validate_and_apply_all_or_nothing():
    m = make_method("strategic+prune")
    m.set_member_values(sigma=[1.0, 2.5], sparsity=[0.8, 0.95])
    assert m.member_tensor("sigma", 2).tolist() == [1.0, 2.5]
    assert m.member_tensor("focal_junctures", 2).tolist() == [4, 4]
    with pytest.raises(ValueError, match="sigma must be in"):
        m.set_member_values(sigma=[1.0, 0.0], mu=[1.0, 1.0])
    assert m.member_tensor("sigma", 2).tolist() == [1.0, 2.5] and "mu" not in m.member_values
    with pytest.raises(ValueError, match="cannot vary per member; these can: .*sparsity"):
        m.set_member_values(interval=[1, 2])
    with pytest.raises(ValueError, match="2 per-member values for a population of 3"):
        m.member_tensor("sigma", 3)
    m.set_params(sigma=3.0)  # a plain value applies to every member again
    assert m.member_tensor("sigma", 2).tolist() == [3.0, 3.0]
    assert m.member_tensor("sparsity", 2, "cpu").dtype == torch.float64
