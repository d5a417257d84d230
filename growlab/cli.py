"""The ``growlab`` command: ``train`` (and the subcommands later issues add)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

DESCRIPTION = """\
growlab: grow and prune neural networks while they train.

Examples:
  growlab train                                   # dense 27-16-8-1 on heart, 200 epochs
  growlab train --dataset moons --arch 8-8 --epochs 100 --save moons.growlab
  growlab train --method dense --lr 0.01 --optimizer sgd
  growlab train --dataset mnist5k --arch lenet-5 --epochs 30    # a conv net (LeNet-5) on 28×28 images
  growlab serve                                   # the app on http://127.0.0.1:5006/
  growlab record moons.growlab --out life.gif     # the network's grow-and-prune life as an animation
  growlab experiment paper                        # the synthesis-and-pruning paper's protocol, report in paper-000-report/
"""

#: subcommand name → function that adds its parser (``sub.add_parser``) and sets ``func``
COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {}


def command(name: str):
    """Register a subcommand builder."""

    def deco(fn):
        COMMANDS[name] = fn
        return fn

    return deco


def parse_value(text: str):
    """CLI text → int, float, bool or str."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def add_setting_flags(p: argparse.ArgumentParser, names=None) -> None:
    """One flag per training setting (``--lr``, ``--split-seed``…), from :data:`growlab.config.TRAIN_SETTINGS`:
    its range, default and message are the ones ``Run`` and the app use."""
    from growlab.config import TRAIN_SETTINGS

    for name in names or TRAIN_SETTINGS:
        setting = TRAIN_SETTINGS[name]
        default = setting.none_doc if setting.default is None else setting.default
        p.add_argument(
            setting.flag, type=_checked(setting), default=setting.default, metavar=name.upper(),
            help=f"{setting.doc}: {setting.range_text()} (default {default})",
        )


def _checked(setting) -> Callable[[str], object]:
    """argparse's ``type``: the setting's own validation, its message as argparse's error."""

    def parse(text: str):
        try:
            return setting.validate(None if setting.optional and text.lower() == "none" else text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = setting.name  # argparse names the type in some messages
    return parse


def parse_extra(tokens: list[str]) -> dict:
    """``["--sigma", "2", "--focal-junctures=5"]`` → ``{"sigma": 2, "focal_junctures": 5}``."""
    out, i = {}, 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--") or tok == "--":
            raise ValueError(f"unexpected argument {tok!r}")
        key, eq, val = tok[2:].partition("=")
        if not eq:
            if i + 1 >= len(tokens) or tokens[i + 1].startswith("--"):
                raise ValueError(f"--{key} needs a value")
            val, i = tokens[i + 1], i + 1
        out[key.replace("-", "_")] = parse_value(val)
        i += 1
    return out


def check_output(path: str, folder: bool = False, flag: str = "--out") -> None:
    """Refuse, before any work, an output the command could not write (``ValueError``, one line).

    A file's folder must exist and take new files, and the path must not be a folder; a
    folder output (``folder=True``) may be created, under the nearest folder that exists.
    """
    import os
    import tempfile

    target = os.path.abspath(os.fspath(path))
    if folder:
        if os.path.exists(target) and not os.path.isdir(target):
            raise ValueError(f"{flag} {path}: that is a file, not a folder")
        where = target
        while not os.path.exists(where):
            where = os.path.dirname(where)
        if not os.path.isdir(where):
            raise ValueError(f"{flag} {path}: {where} is a file, so no folder can be made there")
    else:
        if os.path.isdir(target):
            raise ValueError(f"{flag} {path}: that is a folder; give a file name (e.g. {os.path.join(path, 'run.growlab')})")
        where = os.path.dirname(target)
        if not os.path.isdir(where):
            raise ValueError(f"{flag} {path}: the folder {where} does not exist")
    try:  # the only honest test of "may I write here" (permissions, read-only disks, root)
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as e:
        raise ValueError(f"{flag} {path}: cannot write in {where} ({e.strerror or e})") from None


def _methods_epilog() -> str:
    from growlab.methods import available

    lines = ["methods and their parameters (pass as --name value):"]
    for name, d in available().items():
        lines.append(f"  {name:<17} {d['doc']}")
        for p in d["params"].values():
            lines.append(f"      --{p['name'].replace('_', '-'):<20} {p['range']:<22} default {p['default']}: {p['doc']}")
    lines.append("dataset options (e.g. --noise 0.2 for toys, --path F --target COL for csv) are passed the same way.")
    return "\n".join(lines)


@command("train")
def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train one run in the terminal with a progress bar",
        description="Train one run and print its final validation accuracy, AUC and size.",
        epilog=_methods_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from growlab.config import ARCH_PRESETS
    from growlab.data import DATASETS

    p.add_argument("--dataset", default="heart", help=f"one of: {', '.join(DATASETS)} (default heart)")
    p.add_argument(
        "--arch", default="16-8",
        help="hidden widths like 16-8; conv layers first on image datasets (mnist5k, digits): "
        "c<channels>k<kernel>[s<stride>][p<padding>] and max-pooling p<size>, e.g. c6k5-p2-c16k5-p2-120-84; "
        f"or a preset: {', '.join(ARCH_PRESETS)} (lenet-5 = c6k5-p2-c16k5-p2-120-84, "
        f"lenet-5-caffe = c20k5-p2-c50k5-p2-500)",
    )
    p.add_argument("--method", default="dense", help="a named method (listed below; default dense)")
    add_setting_flags(p)
    p.add_argument("--save", metavar="FILE", help="write the run archive here when done")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--report", action="store_true", help="also print false-start verdict, redundancy and size summary")
    p.set_defaults(func=_train, accepts_extra=True)


def _train(args, extra: dict) -> int:
    from growlab.config import TRAIN_SETTINGS
    from growlab.run import Run

    if args.save:
        check_output(args.save, flag="--save")  # before training, not after
    settings = {k: getattr(args, k) for k in TRAIN_SETTINGS}
    run = Run(args.dataset, args.arch, args.method, **settings, **extra)  # extra: dataset options and method parameters
    print(f"{run.data!r} on {run.network.device}; method {args.method}", file=sys.stderr)
    run.run(progress=not args.quiet)
    if run.status == "diverged":
        print(f"diverged: {run.events.iloc[-1]['cause']}", file=sys.stderr)
    s = run.summary()
    total = run.network.n_possible() + sum(run.network.capacity[1:])
    if run.data.task == "regression":
        quality = f"val_mse {s.get('val_mse', float('nan')):.4f}"
    else:
        quality = f"val_acc {s.get('val_acc', float('nan')):.4f}  val_auc {s.get('val_auc', float('nan')):.4f}"
    print(f"epoch {s['epoch']}/{run.epochs}  {quality}  density {s.get('density', 1.0):.3f}  "
          f"active params {s.get('active_params', total)}/{total}")  # fmt: skip
    if args.save:  # before the report: whatever the report meets, the trained run is kept
        run.save(args.save)
        print(f"saved {args.save}", file=sys.stderr)
    if args.report:
        from growlab.analysis import run_report

        print(run_report(run))
    return 0 if run.status != "diverged" else 1


EXPORT_EPILOG = """\
The file holds only tensors and plain values; plain torch loads it (no growlab, no pickle):

  import torch
  blob = torch.load("model.pt", weights_only=True)
  model = torch.nn.Sequential(*(getattr(torch.nn, name)(*args) for name, *args in blob["modules"]))
  if blob["pruned"]:  # --format prune
      for layer in model:
          if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
              torch.nn.utils.prune.identity(layer, "weight")
  model.load_state_dict(blob["state_dict"])
  model.eval()

A conv model (Conv2d layers, dead channels removed) reads images: x.view(-1, *blob["image"]).
"""


@command("export")
def _export_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a run's compacted model (plain torch) to a file",
        description="DAG-prune a saved run, drop dead and redundant neurons (channels) and connections, and write "
        "the smaller torch.nn.Sequential (Linear layers; Conv2d layers first for a conv run) as a state_dict "
        "plus its list of modules.",
        epilog=EXPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("archive", metavar="RUN.growlab", help="a run archive written by `growlab train --save`")
    p.add_argument("--format", choices=("torch", "prune"), default="torch",
                   help="torch: plain weights; prune: torch.nn.utils.prune form (weight_orig, weight_mask)")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the model (e.g. model.pt)")
    p.set_defaults(func=_export)


def _export(args, extra: dict) -> int:
    import os

    from growlab.analysis import export_run, summary
    from growlab.run import Run

    if not os.path.isfile(args.archive):
        raise ValueError(f"no such archive: {args.archive}")
    check_output(args.out)
    if os.path.abspath(args.out) == os.path.abspath(args.archive) or (
        os.path.exists(args.out) and os.path.samefile(args.out, args.archive)
    ):
        raise ValueError(f"--out {args.out} is the archive itself; write the model to another file")
    try:
        run = Run.load(args.archive, device="cpu")
    except FileNotFoundError as e:
        raise ValueError(str(e)) from None
    blob = export_run(run, args.out, fmt=args.format)
    t = summary(run.network).totals
    sizes, n_conv = [str(n) for n in blob["sizes"]], run.network.n_conv
    shape = f"layers {'-'.join(sizes)}"
    if n_conv:
        image = "×".join(map(str, blob["image"]))
        shape = f"conv channels {'-'.join(sizes[: n_conv + 1])} on {image} images, dense {'-'.join(sizes[n_conv + 1 :])}"
    print(f"wrote {args.out}: {shape} ({blob['activation']}), {t['compact_params']} parameters of "
          f"{t['dense_params']} dense ({t['compact_compression']:.2f}× smaller), "
          f"{t['compact_flops']:,} FLOPs per example of {t['dense_flops']:,}")  # fmt: skip
    return 0


@command("serve")
def _serve_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the interactive app in the browser",
        description="Serve the growlab app (one run per browser tab). Binds 127.0.0.1 unless --address says otherwise.",
    )
    p.add_argument("--port", type=int, default=5006, help="TCP port (default 5006; 0 picks a free one)")
    p.add_argument("--address", default="127.0.0.1",
                   help="interface to bind (default 127.0.0.1, this machine only; 0.0.0.0 = every network, and "
                        "pages may then be loaded from this machine's names and addresses)")  # fmt: skip
    p.add_argument("--classroom", action="store_true",
                   help="serve the class: the same as --address 0.0.0.0 (students open http://<this machine's "
                        "address>:PORT/, printed at start)")  # fmt: skip
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--max-runs", type=int, default=None, help="runs training at once (default $GROWLAB_MAX_RUNS or CPUs)")
    p.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="another host the page may be loaded from (e.g. behind a proxy); repeatable")  # fmt: skip
    p.add_argument("--session-lifetime", type=float, default=None, metavar="SECONDS",
                   help="seconds after a tab is closed or reloaded before its run is stopped and freed; a reload "
                        "within them keeps the run (default 15)")  # fmt: skip
    p.add_argument("--memory-budget", default=None, metavar="SIZE",
                   help="memory all runs may take together, e.g. 8GiB; a setup that does not fit is refused "
                        "(default $GROWLAB_MEMORY_BUDGET or half this machine's memory)")  # fmt: skip
    p.set_defaults(func=_serve)


def _serve(args, extra: dict) -> int:
    from growlab.ui.serve import DEFAULT_LIFETIME, serve

    address = "0.0.0.0" if args.classroom else args.address
    if args.classroom and args.address not in ("127.0.0.1", "0.0.0.0"):
        raise ValueError("give --classroom or --address, not both")
    lifetime = DEFAULT_LIFETIME if args.session_lifetime is None else args.session_lifetime
    serve(args.port, address, args.show, args.max_runs, args.allow_websocket_origin, lifetime,
          args.memory_budget)  # fmt: skip
    return 0


RECORD_EPILOG = """\
Examples:
  growlab train --method strategic+prune --save run.growlab
  growlab record run.growlab --out life.gif               # every epoch, structure only (small)
  growlab record run.growlab --out life.gif --every 5 --weights
  growlab record run.growlab --out life.mp4               # needs: pip install "growlab[mp4]"
"""


@command("record")
def _record_parser(sub) -> None:
    """The ``growlab record`` subcommand (drawing: :mod:`growlab.record`)."""
    p = sub.add_parser(
        "record",
        help="draw a saved run's network at every epoch into a GIF (or MP4)",
        description="Replay a saved run's timeline and draw its network diagram at every (k-th) epoch, with the "
        "connections each structural change grew (green) and pruned (red, dotted), into an animated GIF "
        "(or an MP4 with the mp4 extra). No browser needed.",
        epilog=RECORD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("archive", metavar="RUN.growlab", help="a run archive written by `growlab train --save`")
    p.add_argument("--out", required=True, metavar="FILE", help="the animation to write: .gif or .mp4")
    p.add_argument("--every", type=int, default=1, metavar="K", help="draw every K-th epoch (default 1)")
    p.add_argument("--fps", type=float, default=10.0, help="frames per second (default 10)")
    p.add_argument("--weights", action="store_true", help="draw widths by |w| and colours by sign (larger files)")
    p.add_argument("--title", default=None, help="the frames' title (default: method, dataset, architecture, seed)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=_record_command)


def _record_command(args, extra: dict) -> int:
    import os
    from pathlib import Path

    from growlab.record import FORMATS, describe, record
    from growlab.run import Run

    if not os.path.isfile(args.archive):
        raise ValueError(f"no such archive: {args.archive}")
    if Path(args.out).suffix.lower() not in FORMATS:
        raise ValueError(f"--out {args.out}: the file must end in {' or '.join(FORMATS)}")
    check_output(args.out)
    try:
        run = Run.load(args.archive, device="cpu")
    except FileNotFoundError as e:
        raise ValueError(str(e)) from None
    note = run.timeline.note
    path = record(run, args.out, every=args.every, weights=args.weights, fps=args.fps, title=args.title,
                  progress=args.progress)  # fmt: skip
    info = describe(path)
    frames = f"{info['frames']} frames, " if "frames" in info else ""
    print(f"wrote {path}: {frames}{info['bytes'] / 1e6:.2f} MB, epochs {run.timeline.epochs[0]}..{run.epoch}"
          + (f" (note: {note})" if note else ""))  # fmt: skip
    return 0


@command("experiment")
def _experiment_parser(sub) -> None:
    from growlab.experiment.cli import add_parser

    add_parser(sub)
    kinds = next(a for a in sub.choices["experiment"]._actions if isinstance(a, argparse._SubParsersAction))
    for p in kinds.choices.values():
        if any(a.dest == "out" for a in p._actions):
            p.set_defaults(func=_checking_out(p.get_default("func")))


def _checking_out(run: Callable) -> Callable:
    """``run``, after refusing an ``--out`` folder that could not be written (not after the whole experiment)."""

    def checked(args, extra):
        check_output(args.out, folder=True)
        return run(args, extra)

    return checked


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="growlab", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    from growlab import __version__

    parser.add_argument("--version", action="version", version=f"growlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if rest and not getattr(args, "accepts_extra", False):
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        extra = parse_extra(rest)
        return int(args.func(args, extra) or 0)
    except ValueError as e:
        print(f"growlab {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a disk or network problem: one line, not a traceback
        print(f"growlab {args.command}: error: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
