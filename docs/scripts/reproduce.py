"""Regenerate every table of ``docs/reproductions.md`` and the per-member CSVs they come from.

    python docs/scripts/reproduce.py                      # everything (10–15 minutes on 2 cores)
    python docs/scripts/reproduce.py --only paper odf2nna # some sections
    python docs/scripts/reproduce.py --render-only        # re-render the blocks from docs/data/
    python docs/scripts/reproduce.py --list

Each section trains what its tables need (torch on one thread, every seed fixed), writes the
raw numbers, one row per member or run, to ``docs/data/``, then every generated block of the
Markdown (``<!-- BEGIN generated: NAME -->`` … ``<!-- END generated -->``) is rendered from the
CSVs on disk; the prose between the blocks is left alone. ``tests/docs/test_reproductions.py``
checks that the committed blocks are what the CSVs render to, and retrains a sample to check
that the CSVs are what the code produces.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT, Path(__file__).resolve().parent):  # the benchmarks package, and this folder's modules
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import interpretations_tables as interp  # noqa: E402
import odf2nna_tables as odf2nna  # noqa: E402
import paper000_tables as paper000  # noqa: E402
import torch  # noqa: E402
from generated import blocks, read_csv, replace, write_csv  # noqa: E402

from benchmarks import analysis_heart, nest_fig4, nest_lottery_lenet  # noqa: E402

DOC = ROOT / "docs" / "reproductions.md"
DATA = ROOT / "docs" / "data"
Load = Callable[[str], pd.DataFrame]
Report = Callable[[str], None]


@dataclass(frozen=True)
class Section:
    """One part of the report: what it trains, the CSVs it writes, the blocks it renders.

    Attributes:
        name: what ``--only`` takes.
        about: one line for ``--list`` and the progress output.
        files: CSV names under ``docs/data/`` it writes → column dtypes to read them with.
        compute: ``compute(report) -> {file: frame}``: trains and measures.
        render: ``render(load) -> {block: markdown}``: only reads CSVs (its own or others').
    """

    name: str
    about: str
    files: dict[str, dict]
    compute: Callable[[Report], dict[str, pd.DataFrame]]
    render: Callable[[Load], dict[str, str]]
    blocks: tuple[str, ...] = field(default=())


PAPER = "paper000_members.csv.gz"
SPLITS = "paper000_split_seeds.csv.gz"
HYBRID = "paper000_cycles.csv"
INTERP = "interpretations_members.csv.gz"
REDUNDANCY = "redundancy_heart_90.csv"
FIG4 = "nest_fig4.csv"
ODF2NNA = "odf2nna.csv"
LENET = "lenet_mnist5k.csv"
TTY = sys.stderr.isatty()


def _paper_blocks(load: Load) -> dict[str, str]:
    m = load(PAPER)
    return {
        "paper-protocol": paper000.render_protocol(m), "paper-tables": paper000.render_tables(m),
        "paper-by-threshold": paper000.render_by_threshold(m),
        "paper-findings": paper000.render_findings(m), "paper-checks": paper000.render_checks(m),
    }  # fmt: skip


def _interp_blocks(load: Load) -> dict[str, str]:
    m = load(INTERP)
    return {
        "interpretations-readings": interp.render_readings(m), "interpretations-claims": interp.render_claims(m),
        "interpretations-shift": interp.render_shift(m),
        "interpretations-claims-by-threshold": interp.render_claims_by_threshold(m),
        "interpretations-methods": interp.render_methods(m),
    }  # fmt: skip


SECTIONS = (
    Section(
        "paper", "paper 000's protocol: 50 seeds × 7 methods × 5 thresholds (growlab.experiment.paper)", {PAPER: {}},
        lambda report: {PAPER: paper000.compute_protocol(50, progress=TTY)}, _paper_blocks,
        ("paper-protocol", "paper-tables", "paper-by-threshold", "paper-findings", "paper-checks"),
    ),
    Section(
        "split-seeds", "the same protocol at split seeds 1 and 2", {SPLITS: {}},
        lambda report: {SPLITS: paper000.compute_splits(50, progress=TTY)},
        lambda load: {"paper-split-seeds": paper000.render_splits(load(PAPER), load(SPLITS))}, ("paper-split-seeds",),
    ),
    Section(
        "cycles", "what strategic growth and the hybrids grow and prune: lone runs, 5 seeds × 5 thresholds", {HYBRID: {}},
        lambda report: {HYBRID: paper000.compute_cycles(5, report=report)},
        lambda load: {"paper-cycles": paper000.render_cycles(load(HYBRID))}, ("paper-cycles",),
    ),
    Section(
        "interpretations", "paper 000's readings, 20 seeds (growlab.experiment.interpretations)", {INTERP: {}},
        lambda report: {INTERP: interp.compute(20, progress=TTY)}, _interp_blocks,
        ("interpretations-readings", "interpretations-claims", "interpretations-shift",
         "interpretations-claims-by-threshold", "interpretations-methods"),
    ),  # fmt: skip
    Section(
        "redundancy", "redundant connections, DAG pruning, false starts at 90%, 10 seeds (benchmarks/analysis_heart.py)",
        {REDUNDANCY: {}}, lambda report: {REDUNDANCY: analysis_heart.compute(10, 0.9)},
        lambda load: {"redundancy-90": analysis_heart.render(load(REDUNDANCY))}, ("redundancy-90",),
    ),
    Section(
        "nest-fig4", "NeST Fig. 4: gradient vs random neuron births (benchmarks/nest_fig4.py)", {FIG4: {}},
        lambda report: {FIG4: nest_fig4.compute()}, lambda load: {"nest-fig4": nest_fig4.render(load(FIG4))},
        ("nest-fig4",),
    ),
    Section(
        "odf2nna", "ODF2NNA tables on iris, breast_cancer, wine, diabetes (docs/scripts/odf2nna_tables.py)",
        {ODF2NNA: {"widths": str}}, lambda report: {ODF2NNA: odf2nna.compute()},
        lambda load: {f"odf2nna-{k}": v for k, v in odf2nna.render(load(ODF2NNA)).items()},
        tuple(f"odf2nna-{d}" for d in odf2nna.DATASETS),
    ),
    Section(
        "lenet", "NeST and the lottery ticket on mnist5k, LeNet-300-100 (benchmarks/nest_lottery_lenet.py)",
        {LENET: {"settings": str, "events": str}}, lambda report: {LENET: nest_lottery_lenet.compute(report=report)},
        lambda load: {"lenet": nest_lottery_lenet.render(load(LENET))}, ("lenet",),
    ),
)
BY_NAME = {s.name: s for s in SECTIONS}
DTYPES = {f: d for s in SECTIONS for f, d in s.files.items()}


def loader(data: Path = DATA) -> Load:
    """``load(file)``: a committed CSV of ``data`` as a frame (cached, read with its dtypes)."""
    cache: dict[str, pd.DataFrame] = {}

    def load(name: str) -> pd.DataFrame:
        if name not in cache:
            path = data / name
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: run python docs/scripts/reproduce.py first")
            cache[name] = read_csv(path, DTYPES.get(name))
        return cache[name]

    return load


def render_all(data: Path = DATA, sections=SECTIONS) -> dict[str, str]:
    """Every block of ``sections`` rendered from the CSVs in ``data``."""
    load, out = loader(data), {}
    for s in sections:
        out.update(s.render(load))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", choices=list(BY_NAME), help="sections to recompute")
    ap.add_argument("--render-only", action="store_true", help="train nothing: re-render the blocks from docs/data/")
    ap.add_argument("--list", action="store_true", help="list the sections and their blocks")
    args = ap.parse_args(argv)
    if args.list:
        for s in SECTIONS:
            print(f"{s.name:<16} {s.about}\n{'':<16} blocks: {', '.join(s.blocks)}; data: {', '.join(s.files)}")
        return
    chosen = [] if args.render_only else [BY_NAME[n] for n in args.only] if args.only else list(SECTIONS)
    torch.set_num_threads(1)  # the same bits every time, and fastest for these small networks
    t_all = time.perf_counter()
    for i, s in enumerate(chosen, 1):
        t = time.perf_counter()
        print(f"[{i}/{len(chosen)}] {s.name}: {s.about}", flush=True)
        frames = s.compute(lambda msg: print(f"      {msg}", flush=True))
        for name, frame in frames.items():
            path = write_csv(frame, DATA / name)
            print(f"      wrote {path.relative_to(ROOT)} ({len(frame)} rows)", flush=True)
        print(f"      {time.perf_counter() - t:.0f} s", flush=True)
    text = DOC.read_text(encoding="utf-8")
    new = render_all()
    missing = sorted(set(blocks(text)) - set(new))
    if missing:
        raise SystemExit(f"{DOC.name} has generated blocks no section renders: {', '.join(missing)}")
    out = replace(text, new)
    changed = [k for k, v in new.items() if blocks(text).get(k) != v]
    DOC.write_text(out, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}: {len(new)} generated blocks, {len(changed)} changed"
          + (f" ({', '.join(changed)})" if changed else "") + f"; {time.perf_counter() - t_all:.0f} s in all")  # fmt: skip


if __name__ == "__main__":
    main()
