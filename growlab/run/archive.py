"""Run archives: one file with config, history, events, tensors, optimizer and RNG state.

Archives hold only tensors and plain Python values, are written atomically (a temporary
file in the same folder, then ``os.replace``) and are read with
``torch.load(weights_only=True)``: nothing is unpickled from a user's file.

Loading checks what it reads before using it: a SHA-256 of the contents stored in the
archive (a flipped byte anywhere is found), every tensor's shape against the network's
layout, the config against the network and the dataset, and the counters against each other.
Anything wrong is a ``ValueError`` saying what, and nothing is built from it.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import warnings
import tempfile

import torch

from growlab.config import TRAIN_FIELDS, ConvShape, TrainConfig
from growlab.data import Dataset

FORMAT = "growlab-run"
#: 2: with a checksum of the contents (version 1 archives load without one).
VERSION = 2
STATUSES = ("ready", "paused", "finished", "diverged")


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
        "timeline": run.timeline.state_dict(),
    }
    archive["checksum"] = checksum(archive)
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


def load_run(path, device: str | None = None):
    """Rebuild the run stored at ``path``; continuing it matches a run that never stopped."""
    from growlab.run.run import Run

    a = read_archive(path)
    try:
        _validate(a)
        cfg = dict(a["config"])
        if device is not None:
            cfg["device"] = device
        dataset = _dataset(a["dataset"])
        train_keys = TRAIN_FIELDS - {"dataset", "arch", "method", "epochs", "seed"}  # Run's positional ones
        run = Run(
            dataset if dataset is not None else cfg["dataset"], tuple(cfg["arch"]), cfg["method"], cfg["epochs"],
            cfg["seed"], **{k: cfg[k] for k in train_keys if k in cfg}, **a["method"]["params"],
        )  # fmt: skip
        run.method.load_state_dict(a["method"]["state"])
        # a run may have lost whole layers since it started (ODF2NNA): take the saved layout
        relayout = list(a["network"]["capacity"]) != list(run.network.capacity)
        _check_layout(a["network"], run)
        run.network.load_state_dict(a["network"], relayout=True)
        if relayout:
            run.optimizer.rebuild()
        _check_optimizer(a["optimizer"], run.network)
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
        _timeline(a, run)
    except _Invalid as e:
        raise ValueError(f"{path} is a damaged growlab run archive: {e}") from None
    except (KeyError, TypeError, IndexError, RuntimeError, AttributeError) as e:
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{path} is a damaged growlab run archive ({type(e).__name__}: {first})") from None
    except ValueError as e:  # a config value a run refuses
        raise ValueError(f"{path} holds a setup that cannot run: {e}") from None
    return run


#: What an archive from before timelines says when asked for a past epoch.
NO_TIMELINE = ("this archive was saved by a growlab without timelines, so epochs before {epoch} cannot be shown; "
               "epochs from {epoch} on are recorded as the run continues")  # fmt: skip


def _timeline(a: dict, run) -> None:
    """The saved timeline, or (older archives) one that starts now with a note saying why."""
    if "timeline" not in a:
        run.timeline.mark_missing(run.epoch, NO_TIMELINE.format(epoch=run.epoch))
        run.timeline.record(run)
        return
    try:
        run.timeline.load_state_dict(a["timeline"])
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        raise _Invalid(f"its timeline is unreadable ({e})") from None
    _need(run.timeline.last == run.epoch, f"its timeline ends at epoch {run.timeline.last}, the run at {run.epoch}")
    run.timeline.index_events(run)  # so that the first scrub of a loaded run is as quick as the rest


class _Invalid(Exception):
    """What is wrong with an archive's contents."""


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise _Invalid(what)


def _shape(t, shape: tuple, what: str, dtype: torch.dtype | None = None) -> None:
    _need(isinstance(t, torch.Tensor), f"{what} is not a tensor")
    _need(tuple(t.shape) == tuple(shape), f"{what} has shape {tuple(t.shape)}, the network needs {tuple(shape)}")
    if dtype is not None:
        _need(t.dtype == dtype, f"{what} is {t.dtype}, not {dtype}")


def _validate(a: dict) -> None:
    """Shapes and counters that must agree before anything is built from them (``_Invalid`` otherwise)."""
    net = a["network"]
    cap = [int(c) for c in net["capacity"]]
    P, L = len(net["seeds"]), len(cap) - 1
    _need(L >= 1 and P >= 1 and min(cap) >= 1, f"the network's layout {cap} is not a network")
    for key in ("weights", "biases", "masks", "birth_epoch", "birth_cycle"):
        _need(len(net[key]) == L, f"the network has {len(net[key])} {key} tensors for {L} layers")
    _need(len(net["alive"]) == L + 1, f"the network has {len(net['alive'])} neuron masks for {L + 1} neuron layers")
    kernels = net.get("kernels", [])  # conv layers first: (kernel, stride, padding, pool) each
    _need(isinstance(kernels, list) and len(kernels) < L, f"the network has {len(kernels)} conv layers for {L} layers")
    area = 1  # the flatten: the first dense layer reads every position of every last map
    if kernels:
        h, w = (int(x) for x in net["image"][1:])
        for k in kernels:
            h, w = ConvShape(*(int(x) for x in k)).out_hw(h, w)
        area = h * w
    for l in range(L):
        taps = (int(kernels[l][0]),) * 2 if l < len(kernels) else ()
        fan_in = cap[l] * (area if kernels and l == len(kernels) else 1)
        shape = (P, cap[l + 1], fan_in, *taps)
        _shape(net["weights"][l], shape, f"the weights of layer {l}")
        _shape(net["masks"][l], shape, f"the mask of layer {l}", torch.bool)
        _shape(net["birth_epoch"][l], shape, f"the birth epochs of layer {l}")
        _shape(net["birth_cycle"][l], shape, f"the birth cycles of layer {l}")
        _shape(net["biases"][l], (P, cap[l + 1]), f"the biases of layer {l}")
        _need(net["weights"][l].is_floating_point() and bool(torch.isfinite(net["weights"][l]).all()),
              f"the weights of layer {l} are not finite numbers")  # fmt: skip
        _need(bool(torch.isfinite(net["biases"][l]).all()), f"the biases of layer {l} are not finite numbers")
    for k in range(L + 1):
        _shape(net["alive"][k], (P, cap[k]), f"the neuron mask of layer {k}", torch.bool)
    sizes = [int(x) for x in net["sizes"]]
    _need(len(sizes) == len(cap) and all(1 <= s <= c for s, c in zip(sizes, cap)) and sizes[0] == cap[0]
          and sizes[-1] == cap[-1], f"the network's sizes {sizes} do not fit its capacity {cap}")  # fmt: skip
    cfg = TrainConfig.from_dict(a["config"])  # ValueError: a value a run refuses
    epoch, cycles = a["epoch"], a["cycles"]
    _need(isinstance(epoch, int) and 0 <= epoch <= cfg.epochs, f"epoch {epoch!r} is outside 0..{cfg.epochs}")
    _need(isinstance(cycles, int) and cycles >= 0, f"the cycle count {cycles!r} is not a count")
    _need(len(a["history"]) == epoch, f"the history has {len(a['history'])} rows for {epoch} epochs trained")
    _need(all(isinstance(r, dict) for r in a["history"]), "the history rows are not records")
    _need(a["status"] in STATUSES, f"the status {a['status']!r} is not one of {', '.join(STATUSES)}")
    lengths = {len(v) for v in a["events"].values()}
    _need(len(lengths) <= 1, "the event log's columns have different lengths")
    for i, t in enumerate(a["since"]):
        _shape(t, (P,), f"growth counter {i}")
    _need(isinstance(a["pending"], dict), "the pending changes are not a record")
    data = a["dataset"]
    if "tensors" in data:
        t = data["tensors"]
        n_in, n_out = cap[0], cap[-1]
        for split in ("train", "val"):
            X, y = t[f"X_{split}"], t[f"y_{split}"]
            _need(isinstance(X, torch.Tensor) and X.dim() == 2 and X.shape[1] == n_in,
                  f"the {split} inputs do not have {n_in} columns")  # fmt: skip
            _need(isinstance(y, torch.Tensor) and tuple(y.shape) == (X.shape[0],), f"the {split} targets do not match its rows")
            _need(bool(torch.isfinite(X).all()), f"the {split} inputs are not finite numbers")
        _need(len(t["feature_names"]) == n_in, f"{len(t['feature_names'])} feature names for {n_in} inputs")
        classes = len(t["class_names"])
        _need(n_out == (classes if t["task"] == "multiclass" else 1), f"{n_out} outputs for task {t['task']!r}")
        _need(all(math.isfinite(float(v)) for v in (t["target_mean"], t["target_std"])), "the target scaling is not finite")


def _check_layout(state: dict, run) -> None:
    """The saved network fits the run its config builds: same inputs and outputs (the dataset's),
    and hidden layers the method's layout has (a run can only lose whole layers, ODF2NNA)."""
    built = list(run.network.capacity)
    cap = [int(c) for c in state["capacity"]]
    inputs = run.data.image[0] if state.get("kernels") else run.data.n_inputs  # a conv net reads image channels
    _need(cap[0] == inputs and cap[-1] == run.data.n_outputs,
          f"the network has {cap[0]} inputs and {cap[-1]} outputs; its dataset has {inputs} and "
          f"{run.data.n_outputs}")  # fmt: skip
    _need(len(state["seeds"]) == run.network.population, "the network's population does not match its config")
    hidden, it = cap[1:-1], iter(built[1:-1])
    _need(all(any(h == b for b in it) for h in hidden),
          f"the network's hidden layers {hidden} are not those its config builds ({built[1:-1]})")  # fmt: skip


def _check_optimizer(state: dict, network) -> None:
    """Every optimizer moment has its tensor's true shape (torch would broadcast a wrong one, or fail
    later). Archives hold the weights' and biases' moments apart, entries ``2l`` and ``2l + 1``
    (:meth:`growlab.engine.Optimizer.state_dict`)."""
    shapes = [tuple(t.shape) for pair in zip(network.weights, network.biases) for t in pair]
    for index, entry in state["state"].items():
        _need(isinstance(index, int) and 0 <= index < len(shapes), f"optimizer state for unknown parameter {index!r}")
        for name, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                _shape(value, shapes[index], f"the optimizer's {name} of parameter {index}")


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
