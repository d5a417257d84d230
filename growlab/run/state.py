"""What a :meth:`Run.state_dict <growlab.run.run.Run.state_dict>` holds, and the checks
:meth:`Run.load_state_dict <growlab.run.run.Run.load_state_dict>` makes before using one.

A run's state is a plain dict of tensors and Python values (PyTorch's convention): the
config it was built with, the method's parameters and state, the network, optimizer, trainer
and random streams, the history, events, pending live changes, counters and the timeline.
Every tensor's shape is checked against the network's layout, the config against the run
and the counters against each other; anything wrong is an :class:`InvalidState` (a
``ValueError``) saying what.
"""

from __future__ import annotations

import torch

from growlab.config import LIVE_SETTINGS, TRAIN_SETTINGS, ConvShape, TrainConfig

#: Every key of a run's state dict (``timeline`` may be ``None``: a state from before timelines).
KEYS = (
    "config", "method", "network", "optimizer", "trainer", "streams", "history", "events", "pending",
    "epoch", "cycles", "status", "since", "timeline",
)  # fmt: skip
STATUSES = ("ready", "paused", "finished", "diverged")
#: Config fields a state must share with the run it is loaded into (the device may differ; the
#: live settings are the optimizer's, in the state).
FIXED = ("dataset", "arch", "method", "dataset_options", *(k for k in TRAIN_SETTINGS if k not in LIVE_SETTINGS and k != "device"))


class InvalidState(ValueError):
    """A run state that does not hold together; ``what`` says why (without the preamble)."""

    def __init__(self, what: str):
        super().__init__(f"cannot load this run state: {what}")
        self.what = what


def need(ok: bool, what: str) -> None:
    if not ok:
        raise InvalidState(what)


def check_shape(t, shape: tuple, what: str, dtype: torch.dtype | None = None) -> None:
    need(isinstance(t, torch.Tensor), f"{what} is not a tensor")
    need(tuple(t.shape) == tuple(shape), f"{what} has shape {tuple(t.shape)}, the network needs {tuple(shape)}")
    if dtype is not None:
        need(t.dtype == dtype, f"{what} is {t.dtype}, not {dtype}")


def check_structure(state: dict) -> TrainConfig:
    """What a state must satisfy on its own, before any run is built from it: its keys, the
    network's tensors against its layout, the counters against each other and the config.

    Returns:
        The state's config. ``InvalidState`` for a damaged state; a plain ``ValueError`` (the
        config's message) for a setting a run refuses.
    """
    need(isinstance(state, dict), f"the state is a {type(state).__name__}, not a dict")
    missing = [k for k in KEYS if k not in state and k != "timeline"]
    need(not missing, f"the state has no {', '.join(missing)}")
    net = state["network"]
    need(isinstance(net, dict), "the network's state is not a record")
    cap = [int(c) for c in net["capacity"]]
    P, L = len(net["seeds"]), len(cap) - 1
    need(L >= 1 and P >= 1 and min(cap) >= 1, f"the network's layout {cap} is not a network")
    for key in ("weights", "biases", "masks", "birth_epoch", "birth_cycle"):
        need(len(net[key]) == L, f"the network has {len(net[key])} {key} tensors for {L} layers")
    need(len(net["alive"]) == L + 1, f"the network has {len(net['alive'])} neuron masks for {L + 1} neuron layers")
    kernels = net.get("kernels", [])  # conv layers first: (kernel, stride, padding, pool) each
    need(isinstance(kernels, list) and len(kernels) < L, f"the network has {len(kernels)} conv layers for {L} layers")
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
        check_shape(net["weights"][l], shape, f"the weights of layer {l}")
        check_shape(net["masks"][l], shape, f"the mask of layer {l}", torch.bool)
        check_shape(net["birth_epoch"][l], shape, f"the birth epochs of layer {l}")
        check_shape(net["birth_cycle"][l], shape, f"the birth cycles of layer {l}")
        check_shape(net["biases"][l], (P, cap[l + 1]), f"the biases of layer {l}")
        need(net["weights"][l].is_floating_point() and bool(torch.isfinite(net["weights"][l]).all()),
             f"the weights of layer {l} are not finite numbers")  # fmt: skip
        need(bool(torch.isfinite(net["biases"][l]).all()), f"the biases of layer {l} are not finite numbers")
    for k in range(L + 1):
        check_shape(net["alive"][k], (P, cap[k]), f"the neuron mask of layer {k}", torch.bool)
    sizes = [int(x) for x in net["sizes"]]
    need(len(sizes) == len(cap) and all(1 <= s <= c for s, c in zip(sizes, cap)) and sizes[0] == cap[0]
         and sizes[-1] == cap[-1], f"the network's sizes {sizes} do not fit its capacity {cap}")  # fmt: skip
    need(isinstance(state["config"], dict), "the config is not a record")
    cfg = TrainConfig.from_dict(state["config"])  # ValueError: a value a run refuses
    epoch, cycles = state["epoch"], state["cycles"]
    need(isinstance(epoch, int) and 0 <= epoch <= cfg.epochs, f"epoch {epoch!r} is outside 0..{cfg.epochs}")
    need(isinstance(cycles, int) and cycles >= 0, f"the cycle count {cycles!r} is not a count")
    need(isinstance(state["history"], list), "the history is not a list of rows")
    need(len(state["history"]) == epoch, f"the history has {len(state['history'])} rows for {epoch} epochs trained")
    need(all(isinstance(r, dict) for r in state["history"]), "the history rows are not records")
    need(state["status"] in STATUSES, f"the status {state['status']!r} is not one of {', '.join(STATUSES)}")
    need(isinstance(state["events"], dict), "the event log is not a record")
    lengths = {len(v) for v in state["events"].values()}
    need(len(lengths) <= 1, "the event log's columns have different lengths")
    need(isinstance(state["since"], (list, tuple)) and len(state["since"]) == 4, "the growth counters are not four tensors")
    for i, t in enumerate(state["since"]):
        check_shape(t, (P,), f"growth counter {i}")
    need(isinstance(state["pending"], dict), "the pending changes are not a record")
    method = state["method"]
    need(isinstance(method, dict) and isinstance(method.get("params"), dict) and "state" in method,
         "the method's part is not a record of its name, parameters and state")  # fmt: skip
    need(method.get("name", cfg.method) == cfg.method, f"the method {method.get('name')!r} is not the config's {cfg.method!r}")
    need(isinstance(state["streams"], list) and len(state["streams"]) == P, f"the random streams are not {P} generator states")
    return cfg


def check_for(state: dict, run) -> None:
    """``state`` fits ``run``: the same fixed settings, its network's inputs and outputs and hidden
    layers, optimizer moments of its tensors' shapes, method parameters the method accepts."""
    cfg = check_structure(state)
    theirs, ours = cfg.to_dict(), run.config.to_dict()
    differ = [k for k in FIXED if theirs[k] != ours[k]]
    need(not differ, "it is of another setup (" + ", ".join(f"{k} {theirs[k]!r}, this run's {ours[k]!r}" for k in differ) + ")")
    net = state["network"]
    built = list(run.network.capacity)
    cap = [int(c) for c in net["capacity"]]
    inputs = run.data.image[0] if net.get("kernels") else run.data.n_inputs  # a conv net reads image channels
    need(cap[0] == inputs and cap[-1] == run.data.n_outputs,
         f"the network has {cap[0]} inputs and {cap[-1]} outputs; its dataset has {inputs} and "
         f"{run.data.n_outputs}")  # fmt: skip
    need(len(net["seeds"]) == run.network.population, "the network's population does not match its config")
    hidden, it = cap[1:-1], iter(built[1:-1])  # a run can only lose whole layers (ODF2NNA)
    need(all(any(h == b for b in it) for h in hidden),
         f"the network's hidden layers {hidden} are not those its config builds ({built[1:-1]})")  # fmt: skip
    # every optimizer moment has its tensor's true shape (torch would broadcast a wrong one, or
    # fail later); entries 2l and 2l + 1 are layer l's weights and biases (Optimizer.state_dict)
    shapes = [tuple(t.shape) for pair in zip(net["weights"], net["biases"]) for t in pair]
    opt = state["optimizer"]
    need(isinstance(opt, dict) and isinstance(opt.get("state"), dict), "the optimizer's state is not a record")
    for index, entry in opt["state"].items():
        need(isinstance(index, int) and 0 <= index < len(shapes), f"optimizer state for unknown parameter {index!r}")
        for name, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                check_shape(value, shapes[index], f"the optimizer's {name} of parameter {index}")
    params, specs = state["method"]["params"], run.method.param_specs()
    unknown = sorted(set(params) - set(specs))
    need(not unknown, f"the method has no parameters {', '.join(unknown)}")
    current = run.method.get_params()
    fixed = [k for k, v in params.items() if not specs[k].live and not same(v, current.get(k))]
    need(not fixed, f"its {', '.join(fixed)} differ from this run's (they only apply at the start)")
    run.method.validate(**{k: v for k, v in params.items() if specs[k].live})


def same(a, b) -> bool:
    """Equal values (tensors by content)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    try:
        return bool(a == b)
    except (TypeError, ValueError, RuntimeError):
        return repr(a) == repr(b)
