import pytest

from growlab.config import TrainConfig, check_memory, parse_arch


@pytest.mark.parametrize(
    "text, widths",
    [("16-8", (16, 8)), ("300-100", (300, 100)), (" 32 ", (32,)), ("paper", (16, 8)),
     ("lenet-300-100", (300, 100)), ("Playground", (4, 2)), (7, (7,)), ([5, 3], (5, 3))],
)
def test_parse_arch_accepts(text, widths):
    assert parse_arch(text) == widths


@pytest.mark.parametrize("text", ["", "16--8", "abc", "0-4", "-3", "16-", "4.5", "16 8", "100001", None, True])
def test_parse_arch_refuses_with_a_message_saying_what_is_accepted(text):
    with pytest.raises(ValueError) as e:
        parse_arch(text)
    msg = str(e.value)
    assert "architecture" in msg or "width" in msg


def test_bad_arch_message_lists_presets():
    with pytest.raises(ValueError, match="paper, lenet-300-100, playground"):
        parse_arch("abc")


def test_absurd_sizes_are_refused_by_memory_estimate_before_allocation():
    with pytest.raises(ValueError, match="GiB"):
        check_memory((784, 90000, 90000, 10))
    check_memory((784, 300, 100, 10))  # fine


@pytest.mark.parametrize(
    "kw", [{"epochs": 0}, {"lr": -1}, {"lr": float("nan")}, {"optimizer": "rmsprop"}, {"activation": "gelu"},
           {"batch_size": 0}, {"momentum": 1.0}],
)
def test_train_config_validates(kw):
    with pytest.raises(ValueError):
        TrainConfig(**kw)


def test_train_config_round_trips_through_dict():
    c = TrainConfig(arch="8-4", lr=0.01, dataset_options={"noise": 0.2})
    assert TrainConfig.from_dict(c.to_dict()) == c
