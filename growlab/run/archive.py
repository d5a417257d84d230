"""Run archives: one file with config, history, events, tensors, optimizer and RNG state.

Archives hold only tensors and plain Python values, are written atomically (a temporary
file in the same folder, then ``os.replace``) and are read with
``torch.load(weights_only=True)``: nothing is unpickled from a user's file.
"""

from __future__ import annotations

import os
import pickle
import tempfile

import torch

from growlab.data import Dataset

FORMAT = "growlab-run"
VERSION = 1


def save_run(run, path) -> None:
    """Write ``run`` to ``path`` atomically."""
    data = run.data
    dataset = {"spec": data.spec()}
    if data.name == "csv":  # user data may be gone later: keep the prepared tensors
        dataset["tensors"] = {
            "X_train": data.X_train, "y_train": data.y_train, "X_val": data.X_val, "y_val": data.y_val,
            "feature_names": list(data.feature_names), "class_names": list(data.class_names),
            "task": data.task, "target_mean": data.target_mean, "target_std": data.target_std,
            "feature_mean": list(data.feature_mean), "feature_std": list(data.feature_std),
        }  # fmt: skip
    archive = {
        "format": FORMAT,
        "version": VERSION,
        "torch_version": str(torch.__version__),
        "config": run.config.to_dict(),
        "method": {"name": run.config.method, "params": run.method.get_params(), "state": run.method.state_dict()},
        "dataset": dataset,
        "network": run.network.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "trainer": run.trainer.state_dict(),
        "streams": run.streams.state_dict()["states"],
        "history": [dict(r) for r in run._history],
        "events": run.event_log.state_dict(),
        "pending": dict(run._pending),
        "epoch": run.epoch,
        "cycles": run.cycles,
        "status": run.status,
        "since": [run._since[0].cpu(), run._since[1].cpu(), run.ctx.grown.cpu(), run.ctx.pruned.cpu()],
    }
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


def read_archive(path) -> dict:
    """The raw archive dict; ``ValueError`` for anything that is not a growlab run archive."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such archive: {path}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path} is not a readable growlab run archive (the file is empty)")
    try:
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
    if archive.get("version", 0) > VERSION:
        raise ValueError(f"{path} was written by a newer growlab (archive version {archive['version']})")
    return archive


def load_run(path, device: str | None = None):
    """Rebuild the run stored at ``path``; continuing it matches a run that never stopped."""
    from growlab.run.run import Run

    a = read_archive(path)
    try:
        cfg = dict(a["config"])
        if device is not None:
            cfg["device"] = device
        dataset = _dataset(a["dataset"])
        train_keys = ("split_seed", "lr", "optimizer", "momentum", "batch_size", "activation", "device", "dataset_options")
        run = Run(
            dataset if dataset is not None else cfg["dataset"], tuple(cfg["arch"]), cfg["method"], cfg["epochs"],
            cfg["seed"], **{k: cfg[k] for k in train_keys if k in cfg}, **a["method"]["params"],
        )  # fmt: skip
        run.method.load_state_dict(a["method"]["state"])
        # a run may have lost whole layers since it started (ODF2NNA): take the saved layout
        relayout = list(a["network"]["capacity"]) != list(run.network.capacity)
        run.network.load_state_dict(a["network"], relayout=True)
        if relayout:
            run.optimizer.rebuild()
        run.optimizer.load_state_dict(a["optimizer"])
        run.trainer.load_state_dict(a["trainer"])
        if "streams" in a:
            run.streams.load_state_dict({"states": a["streams"]})
        else:  # archives before per-member streams held the run's one generator
            run.streams[0].set_state(a["generator"])
        run._history = [dict(r) for r in a["history"]]
        run.event_log.load_state_dict(a["events"])
        run._pending = dict(a["pending"])
        run.epoch, run.cycles, run.status = int(a["epoch"]), int(a["cycles"]), a["status"]
        run.ctx.epoch = run.epoch
        dev = run.network.device
        s0, s1, g, p = (t.to(dev) for t in a["since"])
        run._since = (s0, s1)
        run.ctx.grown, run.ctx.pruned = g, p
    except (KeyError, TypeError, IndexError, RuntimeError) as e:
        raise ValueError(f"{path} is a damaged growlab run archive ({type(e).__name__}: {e})") from None
    return run


def _dataset(d: dict) -> Dataset | None:
    if "tensors" not in d:
        return None
    t = d["tensors"]
    spec = dict(d["spec"])
    spec.pop("name", None)
    return Dataset(
        name="csv", X_train=t["X_train"], y_train=t["y_train"], X_val=t["X_val"], y_val=t["y_val"],
        feature_names=tuple(t["feature_names"]), class_names=tuple(t["class_names"]), task=t["task"],
        options=spec, target_mean=t["target_mean"], target_std=t["target_std"],
        feature_mean=tuple(t.get("feature_mean", ())), feature_std=tuple(t.get("feature_std", ())),
    )  # fmt: skip
