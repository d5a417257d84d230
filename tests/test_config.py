import pytest

from growlab.config import TrainConfig, check_memory, parse_arch


@pytest.mark.parametrize(
    "text, widths",
    [("16-8", (16, 8)), ("300-100", (300, 100)), (" 32 ", (32,)), ("paper", (16, 8)),
     ("lenet-300-100", (300, 100)), ("Playground", (4, 2)), (7, (7,)), ([5, 3], (5, 3)),
     ("16,8", (16, 8)), (" 16 - 8 ", (16, 8)), ("16;8", (16, 8))],
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


# ---------------------------------------------------------------- conv architectures
from growlab.config import ConvShape, check_conv_memory, conv_arch, format_arch  # noqa: E402


@pytest.mark.parametrize(
    "text, layers",
    [("c6k5-p2-c16k5-p2-120-84", ("c6k5", "p2", "c16k5", "p2", 120, 84)),
     ("lenet-5", ("c6k5", "p2", "c16k5", "p2", 120, 84)), ("LeNet-5-Caffe", ("c20k5", "p2", "c50k5", "p2", 500)),
     ("C32K3P1-p2-c64k3s2p1-10", ("c32k3p1", "p2", "c64k3s2p1", 10)), ("c8k3-p2", ("c8k3", "p2")),
     ("c6k5s1p0", ("c6k5",)), (("c6k3", "p2", 32), ("c6k3", "p2", 32)), (["c6k3", "32"], ("c6k3", 32))],
)
def test_parse_arch_reads_conv_layers_into_canonical_tokens(text, layers):
    assert parse_arch(text) == layers
    assert parse_arch(format_arch(layers)) == layers  # the text form reads back the same


def test_conv_arch_gives_the_structure_and_the_maps_on_an_image():
    a = conv_arch("c32k3p1-p2-c64k3s2p1-10")
    assert a.channels == (32, 64) and a.hidden == (10,)
    assert a.shapes == (ConvShape(3, 1, 1, 2), ConvShape(3, 2, 1, 1))
    assert a.maps((1, 28, 28)) == ((28, 28), (14, 14), (7, 7))
    assert conv_arch("lenet-5").maps((1, 28, 28))[-1] == (4, 4)  # 16·4·4 = 256 flattened columns
    assert conv_arch("16-8") is None and conv_arch("paper") is None


@pytest.mark.parametrize(
    "text, message",
    [("p2-c6k5", "must follow a conv layer"), ("c6k5-p2-p2", "one pooling per conv"),
     ("120-c6k5", "must come before the dense widths"), ("c0k5", "channels must be in"),
     ("c6k0", "kernel size must be in"), ("c6k5s9", "stride must be in"), ("c6k5p5", "padding must be in"),
     ("c6k5-p1", "pooling size must be in"), ("c5000k3", "channels must be in"), ("c6k5-84x", "'84x' is not a layer"),
     ("c6-p2", "'c6' is not a layer")],
)
def test_bad_conv_architectures_are_refused_saying_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_arch(text)


def test_an_architecture_too_deep_for_the_images_says_where_it_stops():
    with pytest.raises(ValueError, match="does not fit 8×8 images: the 5×5 kernel of 'c16k5'"):
        conv_arch("lenet-5").maps((1, 8, 8))
    with pytest.raises(ValueError, match="max-pooling p2 after 'c16k3' gets 1×1 maps"):
        conv_arch("c6k3-p2-c16k3-p2").maps((1, 8, 8))


def test_conv_memory_estimate_refuses_absurd_networks():
    with pytest.raises(ValueError, match="GiB"):
        check_conv_memory(conv_arch("c4096k3p1-c4096k3p1"), (1, 28, 28), 10)
    check_conv_memory(conv_arch("lenet-5"), (1, 28, 28), 10)  # fine


def test_train_config_keeps_a_conv_architecture_through_a_dict():
    c = TrainConfig(dataset="mnist5k", arch="lenet-5")
    assert c.arch == ("c6k5", "p2", "c16k5", "p2", 120, 84)
    assert TrainConfig.from_dict(c.to_dict()) == c
