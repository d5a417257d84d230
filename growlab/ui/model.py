"""The session model: everything the user chose, as ``param`` state (no widgets, no run).

``SessionModel`` holds the setup (dataset and its options, architecture, method, the method's
own parameters, training settings, seed, speed) and turns it into a runner spec
(:meth:`SessionModel.spec`) and a URL query (:meth:`SessionModel.query`), and back
(:meth:`SessionModel.apply_query`). The method's parameters live in a separate
``Parameterized`` built from ``growlab.methods.available()``, swapped when the method changes.
"""

from __future__ import annotations

import math
from typing import Any

import param

from growlab.config import TRAIN_SETTINGS, format_arch, parse_arch
from growlab.data import DATASETS
from growlab.data import options as dataset_options
from growlab.methods import available as available_methods
from growlab.ui.text import short

#: Architecture presets offered next to the text box (DESIGN §7).
ARCH_PRESETS = {"paper 16-8": "16-8", "lenet-300-100": "300-100", "playground 4-2": "4-2", "lenet-5 (conv, 28×28)": "lenet-5", "small cnn (8×8)": "c6k3-c16k3-p2-32"}
CUSTOM = "custom"
#: Learning rates offered (TensorFlow Playground's list, plus Adam's default 0.003).
LEARNING_RATES = (0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
#: speed name → (seconds between ticks, epochs per tick)
SPEEDS = {"slow": (0.5, 1), "normal": (0.1, 1), "fast": (0.0, 1), "fastest": (0.0, 10)}
#: Method parameters shown under "schedule & details" instead of at the top.
ADVANCED = {"interval", "start", "stop", "offset", "prune_interval", "prune_offset", "min_age", "scope",
            "center", "init_weight", "criterion"}  # fmt: skip
TOYS = tuple(d for d in DATASETS if "noise" in dataset_options(d))
#: Method parameters that only matter for some values of another of the same method's (the
#: sidebar hides them otherwise): name → (other, values). prune's steps schedule alone prunes
#: ``prune_per_cycle`` at a time (the hybrids, which have no schedule, always do).
ONLY_WHEN = {"prune_per_cycle": ("schedule", ("steps",))}
#: The tabs under the diagram, by the names links give them (the app's order).
TABS = ("inspector", "boundary", "false-starts", "events", "export", "compare")
#: Page layouts: ``projector`` fits the diagram, curves, decision boundary, legend and tabs on
#: one 1280×720 screen (larger fonts, fewer curves); ``standard`` shows everything, scrolling.
LAYOUTS = ("standard", "projector")
#: How the page is shown (links carry them; changing them never touches the run).
VIEW_KEYS = ("speed", "tab", "layout")
#: The setup's choices that are not training settings, in the order a link and ``growlab.Lab`` take them.
SETUP_KEYS = ("dataset", "noise", "arch", "method")
#: The training settings the app's form offers and a link carries: those of
#: :data:`growlab.config.TRAIN_SETTINGS` with a URL key, in the table's order.
FORM_SETTINGS = tuple(name for name, setting in TRAIN_SETTINGS.items() if setting.url)
#: Settings the URL carries besides the method's parameters.
URL_KEYS = (*SETUP_KEYS, *FORM_SETTINGS, *VIEW_KEYS)
#: Query parameters that belong to the page, not the setup (the template's colour theme).
PAGE_KEYS = {"theme"}
#: Settings whose range is the run's own (the table's): checked by :func:`check_setting`, with
#: the run's message, before they reach the model's run.
CHECKED = FORM_SETTINGS
#: The form's stand-in for an optional setting's ``None`` (batch size 0 = the full batch).
FORM_NONE = 0


def check_setting(name: str, value: Any) -> None:
    """``ValueError`` with the run's own message when ``value`` is not allowed for setting ``name``
    (one of :data:`CHECKED`); the app, the CLI and the API refuse the same values the same way."""
    setting = TRAIN_SETTINGS[name]
    if value is None:
        raise ValueError(f"{name} must be {setting.expected()}, got nothing")
    if setting.optional and value == FORM_NONE:
        return  # the app's 0 is the run's None
    try:
        setting.validate(value)
    except ValueError as e:
        raise ValueError(f"{e}; {FORM_NONE} = {setting.none_doc}" if setting.optional else str(e)) from None


def run_value(name: str, value: Any) -> Any:
    """A form value of training setting ``name`` as the run takes it (``0`` → ``None`` for an
    optional setting, a float for a float)."""
    setting = TRAIN_SETTINGS[name]
    if setting.optional and value == FORM_NONE:
        return None
    return float(value) if setting.kind == "float" else value


def setting_parameter(name: str) -> param.Parameter:
    """The session model's ``param`` parameter for training setting ``name``, from the table:
    default and doc from it, a choice's objects, the learning rate's offered values. Ranges are
    the run's (:func:`check_setting`), so a refused value is reverted with the run's message."""
    setting = TRAIN_SETTINGS[name]
    doc = f"{setting.doc[0].upper()}{setting.doc[1:]}{' (live)' if setting.live else ''}; {setting.expected()}."
    default = FORM_NONE if setting.default is None and setting.optional else setting.default
    if name == "lr":
        return param.Selector(default=default, objects=list(LEARNING_RATES), check_on_set=False, doc=doc)
    if setting.kind == "choice":
        return param.Selector(default=default, objects=list(setting.choices), doc=doc)
    if setting.kind == "int":
        return param.Integer(default=default, allow_None=True, doc=doc)
    if setting.kind == "float":
        return param.Number(default=default, allow_None=True, doc=doc)
    raise TypeError(f"the app's form has no widget for the {setting.kind} setting {name!r}; give it url=False")


def ignored(method_params: param.Parameterized, name: str) -> bool:
    """Whether the method ignores its parameter ``name`` with its other values as they are (:data:`ONLY_WHEN`)."""
    other, values = ONLY_WHEN.get(name, (None, ()))
    return other in method_params.specs and getattr(method_params, other) not in values


def method_specs(method: str) -> dict[str, dict]:
    """The method's parameter descriptions (``Param.describe()``), by name."""
    return dict(available_methods()[method]["params"])


def _param_for(spec: dict) -> param.Parameter:
    """A ``param`` parameter for one method parameter; ranges are checked by the run, not here,
    so a refused value reaches the runner and the user sees its message."""
    kw = {"default": spec["default"], "doc": f"{spec['doc']} — {spec['range']}", "label": spec["name"].replace("_", " ")}
    if spec["kind"] in ("float", "int"):
        kw["allow_None"] = True  # an emptied number box reaches the session, which refuses it with a message
    if spec["kind"] == "float":
        return param.Number(**kw)
    if spec["kind"] == "int":
        return param.Integer(**kw)
    if spec["kind"] == "choice":
        return param.Selector(objects=list(spec["choices"]), **kw)
    return param.Boolean(**kw)


#: The app's starting values where a method's own defaults show nothing happening in a lesson:
#: strategic growth at sparsity 0.9 from a sub-network reaches its density cap within a few
#: epochs, and its top junctures are soon saturated; at 0.5, with junctures that can still grow,
#: it visibly grows for most of the run (heart 16-8: 141 of 160 cycles). Links write them out.
#: strategic+prune read literally is a false start (heart 16-8 seeds 0–4: 0–2 of 27 inputs left on
#: a path, 54–74% at epoch 200; xor: none, 55%): pruning cuts the inputs' one link each and growth
#: from origins never reconnects them nor adds a neuron to a path, and copied weights leave units
#: dead. Kept inputs, growth from both ends with initializer weights: 79–87% on heart, 68–93% on xor.
APP_DEFAULTS = {"strategic": {"sparsity": 0.5, "junctures": "usable"},
                "strategic+prune": {"sparsity": 0.5, "junctures": "usable", "keep_inputs": True,
                                    "grow_from": "both", "init_weight": "random"}}  # fmt: skip
#: On a 2-D toy a growing method's density cap (1 − sparsity) must leave room to grow: xor 2-4-1
#: has 12 possible connections, and at sparsity 0.9 not one more than its start fits.
TOY_DEFAULTS = {"sparsity": 0.5}


def app_defaults(method: str, dataset: str | None = None) -> dict[str, Any]:
    """The app's starting values for ``method``'s parameters on ``dataset`` (beyond the method's own)."""
    out = dict(APP_DEFAULTS.get(method, {}))
    if dataset in TOYS and _grows(method):
        out.update({k: v for k, v in TOY_DEFAULTS.items() if k in method_specs(method)})
    return out


def _grows(method: str) -> bool:
    from growlab.ui.activity import grows

    return grows(method)


def method_params(method: str, values: dict | None = None, dataset: str | None = None) -> param.Parameterized:
    """A fresh ``Parameterized`` holding ``method``'s parameters (defaults, the app's
    :func:`app_defaults` for ``dataset``, then ``values``)."""
    values = {**app_defaults(method, dataset), **(values or {})}
    specs = method_specs(method)
    attrs = {name: _param_for(spec) for name, spec in specs.items()}
    cls = type("MethodParams_" + "".join(c if c.isalnum() else "_" for c in method), (param.Parameterized,), attrs)
    obj = cls(name=method)
    obj.specs = specs  # plain attribute: the views read ranges and the live flag from here
    if values:
        obj.param.update(**{k: v for k, v in values.items() if k in specs})
    return obj


class SessionModel(param.Parameterized):
    """What one browser session has chosen. Changing it never trains anything by itself."""

    dataset = param.Selector(default="heart", objects=list(DATASETS), doc="Dataset to learn (toys are 2-D).")
    noise = param.Number(default=0.1, bounds=(0, 1), step=0.05, doc="Label noise of the 2-D toy datasets.")
    csv_data = param.Bytes(default=None, allow_None=True, doc="The uploaded CSV file's bytes.")
    csv_name = param.String(default="", doc="The uploaded CSV file's name.")
    csv_columns = param.List(default=[], item_type=str, doc="Columns of the uploaded CSV.")
    target = param.Selector(default=None, objects=[], allow_None=True, doc="Column of the CSV to predict.")
    arch = param.String(default="16-8", doc="Hidden widths, e.g. 16-8 (two hidden layers of 16 and 8 neurons).")
    preset = param.Selector(default="paper 16-8", objects=[CUSTOM, *ARCH_PRESETS], doc="Architecture preset.")
    method = param.Selector(default="dense", objects=list(available_methods()), doc="Grow/prune method.")
    method_params = param.ClassSelector(class_=param.Parameterized, doc="The chosen method's own parameters.")
    # the training settings (FORM_SETTINGS) are added from the table below the class
    speed = param.Selector(default="normal", objects=list(SPEEDS), doc="How fast training runs.")
    tab = param.Selector(default="inspector", objects=list(TABS), doc="The tab shown under the diagram.")
    layout = param.Selector(default="standard", objects=list(LAYOUTS), doc="Page layout (projector: one screen).")

    def __init__(self, **params):
        super().__init__(**params)
        self._last_dataset = self.dataset
        if self.method_params is None or self.method_params.name != self.method:
            self.method_params = method_params(self.method, dataset=self.dataset)

    @param.depends("method", watch=True)
    def _new_method(self) -> None:
        self.method_params = method_params(self.method, dataset=self.dataset)

    @param.depends("dataset", watch=True)
    def _dataset_defaults(self) -> None:
        """Between a table and a 2-D toy, the method's parameters still at the app's default for the
        old dataset take the new one's (:func:`app_defaults`); values the user set stay."""
        mp, specs = self.method_params, self.method_params.specs
        old, new = app_defaults(self.method, self._last_dataset), app_defaults(self.method, self.dataset)
        self._last_dataset = self.dataset
        changes = {}
        for k in {*old, *new} & set(specs):
            was, target = old.get(k, specs[k]["default"]), new.get(k, specs[k]["default"])
            if getattr(mp, k) == was and was != target:
                changes[k] = target
        if changes:
            mp.param.update(**changes)

    @param.depends("preset", watch=True)
    def _preset_to_arch(self) -> None:
        if self.preset in ARCH_PRESETS:
            self.arch = ARCH_PRESETS[self.preset]

    @param.depends("arch", watch=True)
    def _arch_to_preset(self) -> None:
        text = self.arch.strip()
        self.preset = next((name for name, a in ARCH_PRESETS.items() if a == text), CUSTOM)

    def set_csv(self, data: bytes, name: str, columns: list[str]) -> None:
        """Take an uploaded CSV (already read for its header) and pick its last column as target."""
        self.param.target.objects = list(columns)
        self.param.update(csv_data=data, csv_name=name, csv_columns=list(columns), target=columns[-1])

    def copy(self) -> "SessionModel":
        """A new model with the same choices, the method's parameters and an uploaded CSV included
        (nothing watches it yet: a reloaded page builds its controls on it)."""
        values = {k: v for k, v in self.param.values().items() if k not in ("name", "method_params", "target")}
        mp = method_params(self.method, values=self.method_values(), dataset=self.dataset)
        new = SessionModel(**values, method_params=mp)
        new.param.target.objects = list(self.param.target.objects)
        new.target = self.target
        return new

    # ------------------------------------------------------------------ conversions
    def method_values(self) -> dict[str, Any]:
        """The method's parameter values by name."""
        mp = self.method_params
        return {name: getattr(mp, name) for name in mp.specs}

    def spec(self) -> dict:
        """Keyword arguments for a new ``Run`` (``ValueError`` when the setup cannot run)."""
        parse_arch(self.arch)  # fail early, with the config's own message
        for name in CHECKED:
            check_setting(name, getattr(self, name))
        spec = {
            "dataset": self.dataset, "arch": self.arch.strip(), "method": self.method,
            **{name: run_value(name, getattr(self, name)) for name in FORM_SETTINGS}, **self.method_values(),
        }  # fmt: skip
        if self.dataset in TOYS:
            spec["dataset_options"] = {"noise": float(self.noise)}
        elif self.dataset == "csv":
            if self.csv_data is None or self.target is None:
                raise ValueError("upload a CSV file and choose its target column first")
            spec["dataset_options"] = {"data": self.csv_data, "target": self.target}
        return spec

    def query(self) -> dict[str, str]:
        """The setup as URL query parameters (no CSV contents: uploads are not shareable)."""
        q = {"dataset": self.dataset, "arch": self.arch.strip(), "method": self.method, "seed": str(self.seed)}
        if self.dataset in TOYS:
            q["noise"] = f"{self.noise:g}"
        for key in (*FORM_SETTINGS, *VIEW_KEYS):
            value = getattr(self, key)
            if value != self.param[key].default and key not in q:
                q[key] = f"{value:g}" if isinstance(value, float) else str(value)
        specs, ours = self.method_params.specs, app_defaults(self.method, self.dataset)
        for name, value in self.method_values().items():
            if value != specs[name]["default"] or name in ours:  # the app's own defaults are written out
                q[name] = f"{value:g}" if isinstance(value, float) else str(value)
        return q

    def apply_query(self, query: dict[str, str]) -> list[str]:
        """Set the model from URL query parameters; returns messages for values refused.

        Unknown or bad values are skipped (each with a message), so a stale link still opens.
        """
        problems: list[str] = []
        updates: dict[str, Any] = {}
        for key in URL_KEYS:
            if key in query:
                try:
                    updates[key] = self._coerce(key, query[key])
                except ValueError as e:
                    problems.append(f"link: {e}")
        if updates.get("dataset") == "csv":
            problems.append("link: CSV uploads are not part of links; upload the file again")
            updates.pop("dataset")
        if "dataset" in updates:  # first: its defaults, then what the link says
            self.dataset = updates.pop("dataset")
        self.param.update(**updates)
        method_keys = {k: v for k, v in query.items() if k not in URL_KEYS and k not in PAGE_KEYS}
        specs = self.method_params.specs
        unknown = [k for k in method_keys if k not in specs]
        if unknown:
            names = ", ".join(repr(short(k, 40)) for k in unknown[:5]) + (f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else "")
            problems.append(f"link: {self.method!r} has no parameter {names}; ignored")
        for key, text in method_keys.items():
            if key not in specs:
                continue
            try:
                setattr(self.method_params, key, _coerce_spec(specs[key], text))
            except ValueError as e:
                problems.append(f"link: {e}")
        return problems

    def _coerce(self, key: str, text: str) -> Any:
        p = self.param[key]
        if key == "arch":
            return format_arch(parse_arch(text))
        if key in FORM_SETTINGS:  # the table's type and range, the run's message
            setting = TRAIN_SETTINGS[key]
            if setting.optional and text.strip() == str(FORM_NONE):
                return FORM_NONE
            return setting.validate(text)
        if isinstance(p, param.Selector):
            if text not in p.objects:
                raise ValueError(f"{key} must be one of {', '.join(map(str, p.objects))}, got {short(text, 60)!r}")
            return text
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{key} must be a number, got {short(text, 60)!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {short(text, 60)!r}")
        lo, hi = p.bounds or (None, None)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ValueError(f"{key} must be in [{lo}, {hi}], got {short(text, 60)!r}")
        return value


for _name in FORM_SETTINGS:
    SessionModel.param.add_parameter(_name, setting_parameter(_name))
del _name


def _coerce_spec(spec: dict, text: str) -> Any:
    """URL text → a method parameter's type (range checks are the run's job)."""
    from growlab.methods import Param

    p = Param(spec["name"], spec["default"], spec["kind"], spec["low"], spec["high"], spec["low_open"],
              spec["high_open"], tuple(spec["choices"]), spec["doc"], spec["live"])  # fmt: skip
    return p.validate(text)
