"""Every bad value the API is given is refused with a clear ``ValueError`` (no raw ``TypeError``,
no 100 kB echo, nothing allocated first)."""

from __future__ import annotations

import pytest

from growlab.config import MAX_DEPTH, TrainConfig, parse_arch
from growlab.params import ECHO
from growlab.data import load_dataset
from growlab.run import Run
from growlab.run.runner import estimate_run


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": float("inf")}, r"lr must be in \(0, ∞\), got inf"),
        ({"lr": float("nan")}, r"lr must be a number in \(0, ∞\), got nan"),
        ({"epochs": True}, "epochs must be a whole number"),
        ({"seed": False}, "seed must be a whole number"),
        ({"seed": -1}, r"seed must be in \[0, "),
        ({"batch_size": True}, r"batch_size must be None \(the full batch, up to 1,024 rows\) or a whole number"),
        ({"device": "meta"}, "device must be"),
        ({"device": 3}, "device must be"),
        ({"dataset_options": "x"}, "dataset_options must be a dict"),
    ],
)
def test_training_settings_are_refused_with_their_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Run("xor", "4", epochs=kwargs.pop("epochs", 5), **kwargs)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: load_dataset("xor", seed="abc"), "option seed must be an integer, got 'abc'"),
        (lambda: load_dataset("xor", n=True), "option n must be an integer"),
        (lambda: load_dataset("csv", data=123, target="y"), "option data must be the file's bytes or text, got 123"),
        (lambda: load_dataset("csv", data=b"a,y\n1,0\n", target=7), "option target must be a column name"),
        (lambda: Run("csv", "4", dataset_options={"data": 123, "target": "y"}), "option data must be"),
    ],
)
def test_dataset_options_of_the_wrong_kind_are_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_huge_architecture_string_is_not_echoed_whole():
    with pytest.raises(ValueError) as e:
        parse_arch("1" * 100_000)
    assert len(str(e.value)) < 300 and "100,000 characters" in str(e.value)
    with pytest.raises(ValueError) as e:
        parse_arch("#" * 500)
    assert str(e.value).count("#") <= ECHO


def test_depth_is_capped_with_a_message():
    parse_arch("-".join(["4"] * MAX_DEPTH))
    with pytest.raises(ValueError, match=f"has {MAX_DEPTH + 1} hidden layers; at most {MAX_DEPTH}"):
        parse_arch("-".join(["4"] * (MAX_DEPTH + 1)))
    with pytest.raises(ValueError, match="hidden layers"):
        TrainConfig(arch=tuple([1] * 20_000))


def test_the_memory_estimate_counts_the_batch_and_refuses_before_allocating():
    wide = {"dataset": "mnist5k", "arch": "100000", "batch_size": 1_000_000}
    need = estimate_run(wide)
    assert need > 8 * 2**30  # with the activations of 4,000 rows × 100,000 units, not just the connections
    assert estimate_run({**wide, "batch_size": 8}) < need
    with pytest.raises(ValueError, match=r"with 4,000 rows per step needs about .* GiB .* or a smaller batch"):
        Run(**wide)
