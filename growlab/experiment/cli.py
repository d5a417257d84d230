"""``growlab experiment paper | grid``: run an experiment in the terminal and write its report."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager

EPILOG = """\
Examples:
  growlab experiment paper                          # the whole protocol: 1,750 members, report in paper-000-report/
  growlab experiment paper --seeds 10 --out quick/  # fewer seeds
  growlab experiment interpretations                # the paper's open readings, 20 seeds (--full: 50)
  growlab experiment grid --methods dense,strategic --seeds 20 --thresholds 0.8,0.9 --sigma 2
  growlab experiment grid --dataset moons --arch 8-8 --methods prune,random+prune --epochs 100 --lr 0.01
  growlab experiment paper --scheduler tcp://10.0.0.5:8786 --chunk 5   # on a Dask cluster, 5 seeds per task
  growlab experiment paper --scheduler local:2                        # 2 worker processes on this machine

Other settings pass as --name value: training (--lr, --optimizer, --momentum, --batch-size,
--activation, --device, --split-seed), dataset options (--noise for toys) and method parameters
(--sigma, --focal-junctures, --prune-per-cycle…), each to the methods that have it.
"""


def add_parser(sub) -> None:
    """Add ``experiment`` with its ``paper`` and ``grid`` subcommands to the ``growlab`` parser."""
    p = sub.add_parser(
        "experiment", help="run many seeds × methods × thresholds, batched, and write a report",
        description="Train a grid of members (all of a method's members batched in one population) and write "
        "report.md, CSVs and HTML plots.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.set_defaults(func=lambda args, extra: _usage(p))
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    paper = kinds.add_parser("paper", help="the synthesis-and-pruning paper's protocol (Tables 1-3, Figs. 5-6)")
    _common(paper, seeds=50, thresholds="0.8,0.85,0.9,0.95,0.99", out="paper-000-report")
    paper.add_argument("--methods", default=None, help="comma-separated subset of the paper's seven methods (default: all)")
    paper.set_defaults(func=_run_paper, accepts_extra=True)
    interp = kinds.add_parser(
        "interpretations", help="the paper's open readings on its protocol: its claims as paired differences",
        description="Run named readings of paper 000 (juncture choice, growth start, threshold, pruning floor, AUC, "
        "false-start rule, validation rows) on the paper's protocol and report its claims as paired differences on "
        "the same seeds with 95%% intervals.",
    )  # fmt: skip
    _common(interp, seeds=20, thresholds="0.8,0.85,0.9,0.95,0.99", out="interpretations-report")
    interp.add_argument("--full", action="store_true", help="50 seeds, as in the paper (default 20)")
    interp.add_argument("--readings", default=None, help="comma-separated reading names (default: all; --list shows them)")
    interp.add_argument("--list", action="store_true", help="list the readings and exit")
    interp.set_defaults(func=_run_interpretations, accepts_extra=True)
    grid = kinds.add_parser("grid", help="any grid of methods × thresholds × seeds")
    grid.add_argument("--dataset", default="heart", help="a classification dataset (default heart)")
    grid.add_argument("--arch", default="16-8", help="hidden widths like 16-8, or a preset (default 16-8)")
    grid.add_argument("--methods", default="dense,prune,subnet,random,strategic,random+prune,strategic+prune",
                      help="comma-separated named methods (default: the paper's seven)")  # fmt: skip
    _common(grid, seeds=10, thresholds="0.9", out="experiment-report")
    grid.set_defaults(func=_run_grid, accepts_extra=True)


def _common(p, seeds: int, thresholds: str, out: str) -> None:
    p.add_argument("--seeds", type=int, default=seeds, help=f"seeds 0..N-1 per method and threshold (default {seeds})")
    p.add_argument("--thresholds", default=thresholds, help=f"sparsity thresholds like 0.8,0.9 (default {thresholds})")
    p.add_argument("--epochs", type=int, default=200, help="epochs per member (default 200)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per method (default 1: fastest here)")
    p.add_argument("--workers", type=int, default=None, help="methods trained at once, in parallel (default: up to 2)")
    p.add_argument("--chunk", type=int, default=None, metavar="N",
                   help="seeds per task, a batched population (default: one task per method here, about two per "
                   "worker thread on a cluster); results do not depend on it")  # fmt: skip
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the tasks on a Dask cluster: a scheduler address like tcp://host:8786, or local:N for "
                   "N worker processes on this machine (needs growlab[dask])")  # fmt: skip
    p.add_argument("--out", default=out, metavar="DIR", help=f"where to write the report (default {out}/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _usage(p) -> int:
    p.print_help()
    return 2


def _split(args, extra: dict, dataset: str) -> dict:
    """Extra ``--name value`` pairs → ``grid`` keywords (dataset options go into ``dataset_options``)."""
    from growlab.data import options

    ds = {k: v for k, v in extra.items() if k in options(dataset)}
    kw = {k: v for k, v in extra.items() if k not in ds}
    if ds:
        kw["dataset_options"] = ds
    return {**kw, "epochs": args.epochs, "threads": args.threads, "workers": args.workers, "progress": not args.quiet,
            "chunk": args.chunk}  # fmt: skip


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ValueError(f"--thresholds takes comma-separated fractions like 0.8,0.9, got {text!r}") from None


def _run_paper(args, extra: dict) -> int:
    from growlab.experiment import paper

    kw = _split(args, extra, "heart")
    if args.methods:
        kw["methods"] = _methods(args.methods)
    thresholds = _thresholds(args.thresholds)
    return _attempt(lambda scheduler: paper(args.seeds, thresholds, **kw, scheduler=scheduler), args)


def _methods(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def _run_grid(args, extra: dict) -> int:
    from growlab.experiment import grid

    kw, methods, thresholds = _split(args, extra, args.dataset), _methods(args.methods), _thresholds(args.thresholds)
    return _attempt(lambda scheduler: grid(args.dataset, args.arch, methods, args.seeds, thresholds, **kw,
                                           scheduler=scheduler), args)  # fmt: skip


def _attempt(run, args, finish=None) -> int:
    """``run(scheduler)`` on one cluster for the whole command; then ``finish(result, out)``.

    A failure or a stop is reported, and the members that finished are saved (``finish`` None:
    the experiment report of :func:`_finish`).
    """
    from growlab.experiment import Cancelled, ExperimentFailed

    try:
        with _scheduler(args.scheduler) as scheduler:
            result = run(scheduler)
    except (ConnectionError, ImportError) as e:  # no cluster, or no Dask: nothing ran
        print(f"growlab experiment: error: {e}", file=sys.stderr)
        return 2
    except (ExperimentFailed, Cancelled) as e:
        print(f"growlab experiment: {e}", file=sys.stderr)
        if e.result is not None and finish is None:
            _finish(e.result, args.out)
        return 1 if isinstance(e, ExperimentFailed) else 130
    return (finish or _finish)(result, args.out)


@contextmanager
def _scheduler(address: str | None):
    """``None``, or a Dask client for ``--scheduler`` that every grid of the command shares."""
    if address is None:
        yield None
        return
    from growlab.experiment.distributed import dask_client

    with dask_client(address) as client:
        yield client


def _run_interpretations(args, extra: dict) -> int:
    from growlab.experiment.interpretations import READINGS, interpretations

    if args.list:
        for r in READINGS:
            print(f"{r.name}: {r.doc}")
        return 0
    if extra:
        raise ValueError(f"interpretations takes no method or training settings (got --{', --'.join(extra)}); "
                         "the readings set them")  # fmt: skip
    names = None if args.readings is None else [n.strip() for n in args.readings.split(",") if n.strip()]
    seeds, thresholds = 50 if args.full else args.seeds, _thresholds(args.thresholds)

    def run(scheduler):
        return interpretations(
            seeds, thresholds, names, epochs=args.epochs, progress=not args.quiet, threads=args.threads,
            workers=args.workers, chunk=args.chunk, scheduler=scheduler,
        )  # fmt: skip

    return _attempt(run, args, finish=_finish_interpretations)


def _finish_interpretations(result, out: str) -> int:
    print(f"{result!r}", file=sys.stderr)
    print(f"\nclaims, all thresholds (points, 95% interval)\n{md_table_of(result.claims_table())}")
    path = result.save(out)
    print(f"\nwrote {path} (and claims.csv, methods.csv, members.csv, claims.html)", file=sys.stderr)
    return 0


def md_table_of(df) -> str:
    from growlab.experiment.report import md_table

    return md_table(df, index="reading")


def _finish(result, out: str) -> int:
    """Print the tables (and the paper's findings), write the report."""
    from growlab.experiment.report import md_table

    print(f"{result!r}", file=sys.stderr)
    for kind, title in (("mean", "mean at the largest threshold (Table 1 form)"),
                        ("max_accuracy", "max accuracy (Table 2)"), ("max_auc", "max AUC (Table 3)")):  # fmt: skip
        print(f"\n{title}\n{md_table(result.table(kind))}")
    fs = result.false_starts()
    print(f"\nfalse starts: {int(fs.false_starts.sum())} of {int(fs.members.sum())} member rows")
    if result.protocol == "paper" and result.complete:
        from growlab.experiment import findings

        for f in findings(result):
            print(f"- {f.claim}: {f.verdict}")
    path = result.save(out)
    print(f"\nwrote {path} (and CSVs, boxplot.html, similarity.html)", file=sys.stderr)
    return 0
