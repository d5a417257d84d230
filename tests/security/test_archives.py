"""Hand-edited or damaged archives and model exports: refused with one clear ``ValueError``
(never torch's advice to load with ``weights_only=False``), nothing built from them."""

from __future__ import annotations

import pickle
import zipfile

import pytest
import torch

from growlab import Run
from growlab.analysis import export_run, load_export
from growlab.run.archive import checksum, read_archive


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("archives") / "r.growlab"
    run = Run("heart", "8-4", "strategic+prune", epochs=6, seed=2)
    run.run()
    run.save(path)
    return path


def rewrite(src, dst, edit, keep_checksum: bool = False):
    """Load ``src``, apply ``edit`` to the dict, save it at ``dst`` with a fresh checksum (a careful hand-editor)."""
    a = torch.load(src, weights_only=True)
    edit(a)
    if not keep_checksum:
        a.pop("checksum", None)
        a["checksum"] = checksum(a)
    torch.save(a, dst)
    return dst


def test_a_flipped_byte_in_tensor_data_is_found(saved, tmp_path):
    bad = tmp_path / "flipped.growlab"
    with zipfile.ZipFile(saved) as z:
        names = z.namelist()
        data = {n: z.read(n) for n in names}
    tensor = max((n for n in names if "/data/" in n), key=lambda n: len(data[n]))  # the largest tensor's bytes
    raw = bytearray(data[tensor])
    raw[len(raw) // 2] ^= 0x10
    data[tensor] = bytes(raw)
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_STORED) as z:
        for n in names:
            z.writestr(n, data[n])
    assert torch.load(bad, weights_only=True)  # torch itself reads it without a word
    with pytest.raises(ValueError, match="do not match the checksum"):
        Run.load(bad)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda a: a["network"]["weights"].__setitem__(0, torch.zeros(1, 8, 1)), "weights of layer 0 has shape"),
        (lambda a: a["network"]["masks"].__setitem__(1, a["network"]["masks"][1].float()), "mask of layer 1 is torch.float32"),
        (lambda a: a["network"]["weights"][0].fill_(float("nan")), "not finite"),
        (lambda a: a["config"].__setitem__("arch", [32, 4]), "hidden layers .* are not those its config builds"),
        (lambda a: a["config"].__setitem__("dataset", "iris"), "its dataset has"),
        (lambda a: a.__setitem__("epoch", 10_000), "epoch 10000 is outside 0..6"),
        (lambda a: a.__setitem__("epoch", 3), "history has 6 rows for 3 epochs"),
        (lambda a: a.__setitem__("status", "hacked"), "status 'hacked'"),
        (lambda a: a["config"].__setitem__("lr", float("inf")), r"lr must be in \(0, ∞\)"),
        (lambda a: a["optimizer"]["state"][0].__setitem__("exp_avg", torch.zeros(3)), "optimizer's exp_avg of parameter 0"),
    ],
)
def test_inconsistent_archives_are_refused(saved, tmp_path, edit, message):
    bad = rewrite(saved, tmp_path / "edited.growlab", edit)
    with pytest.raises(ValueError, match=message):
        Run.load(bad)


def test_an_edited_archive_with_its_old_checksum_is_damaged(saved, tmp_path):
    bad = rewrite(saved, tmp_path / "e.growlab", lambda a: a.__setitem__("cycles", 99), keep_checksum=True)
    with pytest.raises(ValueError, match="checksum"):
        read_archive(bad)


def test_a_good_archive_still_loads_and_continues(saved):
    run = Run.load(saved)
    assert run.epoch == 6 and run.network.is_finite()


class Payload:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.fixture
def export(saved, tmp_path):
    path = tmp_path / "m.pt"
    export_run(Run.load(saved), path)
    return path


@pytest.mark.parametrize("damage", ["pickle", "garbage", "truncated", "foreign", "no_layers", "wrong_shape", "bad_module"])
def test_load_export_errors_are_value_errors_without_torch_advice(export, tmp_path, damage):
    bad = tmp_path / "bad.pt"
    blob = torch.load(export, weights_only=True)
    if damage == "pickle":
        bad.write_bytes(pickle.dumps(Payload()))
    elif damage == "garbage":
        bad.write_bytes(b"\x00not a model at all" * 10)
    elif damage == "truncated":
        bad.write_bytes(export.read_bytes()[: export.stat().st_size // 2])
    elif damage == "foreign":
        torch.save({"weights": torch.zeros(3)}, bad)
    elif damage == "no_layers":
        torch.save({k: v for k, v in blob.items() if k not in ("modules", "sizes")}, bad)
    elif damage == "wrong_shape":
        key = next(iter(blob["state_dict"]))
        blob["state_dict"][key] = torch.zeros(2, 2, 2)
        torch.save(blob, bad)
    else:  # only torch.nn's layer classes that growlab writes are ever looked up
        torch.save({**blob, "modules": [["system", 1]] + blob["modules"][1:]}, bad)
    with pytest.raises(ValueError) as e:
        load_export(bad)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FileNotFoundError):
        load_export(tmp_path / "missing.pt")
    assert isinstance(load_export(export), torch.nn.Sequential)


def test_a_pickled_run_archive_is_refused_without_advice(tmp_path):
    bad = tmp_path / "evil.growlab"
    torch.save({"format": "growlab-run", "x": Payload()}, bad)
    with pytest.raises(ValueError) as e:
        Run.load(bad)
    assert "weights_only" not in str(e.value)
