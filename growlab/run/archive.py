"""Run archives: one file with a run's :meth:`~growlab.run.run.Run.state_dict` and its dataset.

Archives hold only tensors and plain Python values, are written atomically (a temporary
file in the same folder, then ``os.replace``) and are read with
``torch.load(weights_only=True)``: nothing is unpickled from a user's file.

An archive is the run's state dict (:mod:`growlab.run.state`) plus ``format``, ``version``,
``torch_version``, ``dataset`` (its spec; a CSV run's prepared tensors too) and a SHA-256
``checksum`` of the contents (a flipped byte anywhere is found). Loading checks the format
here and the state in ``Run.load_state_dict`` (every tensor's shape against the network's
layout, the config against the network and the dataset, the counters against each other).
Anything wrong is a ``ValueError`` saying what, and nothing is built from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pickle
import warnings
import tempfile

import torch

from growlab.data import Dataset
from growlab.run.state import KEYS, InvalidState, need

FORMAT = "growlab-run"
#: 2: with a checksum of the contents (version 1 archives load without one).
VERSION = 2


def pack(state: dict, data: Dataset) -> dict:
    """The archive of a run's ``state`` dict and its dataset ``data``, with its checksum."""
    dataset = {"spec": data.spec()}
    if data.name == "csv":  # user data may be gone later: keep the prepared tensors
        dataset["tensors"] = {
            "X_train": data.X_train, "y_train": data.y_train, "X_val": data.X_val, "y_val": data.y_val,
            "feature_names": list(data.feature_names), "class_names": list(data.class_names),
            "task": data.task, "target_mean": data.target_mean, "target_std": data.target_std,
            "feature_mean": list(data.feature_mean), "feature_std": list(data.feature_std),
        }  # fmt: skip
    archive = {"format": FORMAT, "version": VERSION, "torch_version": str(torch.__version__), "dataset": dataset, **state}
    archive["checksum"] = checksum(archive)
    return archive


def write(archive: dict, path) -> None:
    """Write ``archive`` to ``path`` atomically: a temporary file beside it, then ``os.replace``
    (a failed write leaves any previous file as it was)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".growlab-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(archive, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_run(run, path) -> None:
    """Write ``run`` to ``path`` atomically (what ``run.save(path)`` does)."""
    write(pack(run.state_dict(), run.data), path)


def read_archive(path) -> dict:
    """The raw archive dict; ``ValueError`` for anything that is not a growlab run archive."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such archive: {path}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path} is not a readable growlab run archive (the file is empty)")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are not the user's business
            warnings.simplefilter("ignore", UserWarning)
            archive = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # not a torch zip at all, or objects weights_only refuses
        raise ValueError(
            f"{path} is not a readable growlab run archive (not a torch file, or it holds objects "
            "other than tensors and plain values, which growlab never unpickles)"
        ) from None
    except Exception as e:  # corrupted or truncated zip...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path} is not a readable growlab run archive ({first[:200]})") from None
    if not isinstance(archive, dict) or archive.get("format") != FORMAT:
        raise ValueError(f"{path} is a torch file but not a growlab run archive")
    version = archive.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(f"{path} was written by a newer growlab (archive version {version!r})")
    if version >= 2:
        stored = archive.get("checksum")
        if not isinstance(stored, str) or stored != checksum(archive):
            raise ValueError(
                f"{path} is a damaged growlab run archive: its contents do not match the checksum stored in it "
                "(the file was changed or corrupted after it was saved)"
            )
    return archive


def checksum(archive: dict) -> str:
    """SHA-256 of an archive's contents (everything but the checksum itself), as hex.

    Tensors count by dtype, shape and bytes; plain values by type and ``repr``; dicts in key order.
    """
    h = hashlib.sha256()

    def feed(value) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(value, dict):
            keys = sorted((k for k in value if value is not archive or k != "checksum"), key=repr)
            h.update(b"D%d" % len(keys))
            for k in keys:
                feed(k)
                feed(value[k])
        elif isinstance(value, (list, tuple)):
            h.update(b"L%d" % len(value))
            for v in value:
                feed(v)
        else:
            h.update(f"{type(value).__name__}:{value!r};".encode())

    feed(archive)
    return h.hexdigest()


def state_of(archive: dict) -> dict:
    """The run state dict an archive holds (older archives' layouts brought up to date)."""
    a = dict(archive)
    if "streams" not in a and "generator" in a:  # archives before per-member streams held the run's one generator
        a["streams"] = [a.pop("generator")]
    return {k: a[k] for k in KEYS if k in a}


def dataset_of(archive: dict, state: dict) -> Dataset | None:
    """The dataset a CSV run's archive keeps (checked against its network); ``None`` for a named dataset."""
    d = archive["dataset"]
    if "tensors" not in d:
        return None
    t = d["tensors"]
    cap = [int(c) for c in state["network"]["capacity"]]
    n_in, n_out = cap[0], cap[-1]
    for split in ("train", "val"):
        X, y = t[f"X_{split}"], t[f"y_{split}"]
        need(isinstance(X, torch.Tensor) and X.dim() == 2 and X.shape[1] == n_in, f"the {split} inputs do not have {n_in} columns")
        need(isinstance(y, torch.Tensor) and tuple(y.shape) == (X.shape[0],), f"the {split} targets do not match its rows")
        need(bool(torch.isfinite(X).all()), f"the {split} inputs are not finite numbers")
    need(len(t["feature_names"]) == n_in, f"{len(t['feature_names'])} feature names for {n_in} inputs")
    classes = len(t["class_names"])
    need(n_out == (classes if t["task"] == "multiclass" else 1), f"{n_out} outputs for task {t['task']!r}")
    need(all(math.isfinite(float(v)) for v in (t["target_mean"], t["target_std"])), "the target scaling is not finite")
    spec = dict(d["spec"])
    spec.pop("name", None)
    return Dataset(
        name="csv", X_train=t["X_train"], y_train=t["y_train"], X_val=t["X_val"], y_val=t["y_val"],
        feature_names=tuple(t["feature_names"]), class_names=tuple(t["class_names"]), task=t["task"],
        options=spec, target_mean=t["target_mean"], target_std=t["target_std"],
        feature_mean=tuple(t.get("feature_mean", ())), feature_std=tuple(t.get("feature_std", ())),
    )  # fmt: skip


@contextlib.contextmanager
def reading(path):
    """Turn what goes wrong while a run is built from the archive at ``path`` into one ``ValueError``
    naming the file: a damaged archive, or a setup a run refuses."""
    try:
        yield
    except InvalidState as e:
        raise ValueError(f"{path} is a damaged growlab run archive: {e.what}") from None
    except (KeyError, TypeError, IndexError, RuntimeError, AttributeError) as e:
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{path} is a damaged growlab run archive ({type(e).__name__}: {first})") from None
    except ValueError as e:  # a config value a run refuses
        raise ValueError(f"{path} holds a setup that cannot run: {e}") from None
