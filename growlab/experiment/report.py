"""The experiment report: Markdown with the settings and tables, CSVs, and standalone HTML plots.

HTML plots embed BokehJS (``INLINE`` resources), so they open offline, e.g. from an e-mail.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from growlab.analysis import MARGIN, WARMUP
from growlab.experiment import reference
from growlab.experiment.labels import label, threshold_label
from growlab.methods import METHODS

if TYPE_CHECKING:  # the result classes call this module; it only reads them
    from growlab.experiment.interpretations import InterpretationsResult
    from growlab.experiment.result import ExperimentResult

#: file name → what it holds (listed at the end of the report)
FILES = {
    "members.csv": "one row per member (method, threshold, seed, accuracy, AUC, density, false start, redundant)",
    "table_mean.csv": "Table 1 form: mean accuracy, AUC, density per method at the largest threshold",
    "table_max_accuracy.csv": "Table 2: maximum final validation accuracy per method and threshold",
    "table_max_auc.csv": "Table 3: maximum final validation AUC per method and threshold",
    "table_mean_accuracy.csv": "mean final validation accuracy per method and threshold",
    "false_starts.csv": "false starts per method and threshold",
    "similarity.csv": "Jaccard similarity of the representative members' connections (Fig. 6)",
    "boxplot.html": "Fig. 5: accuracy box plots per threshold (open in a browser; works offline)",
    "similarity.html": "Fig. 6: the similarity heatmap (open in a browser; works offline)",
}


def md_table(df: pd.DataFrame, digits: int = 2, index: str = "method") -> str:
    """``df`` as a GitHub Markdown table (numbers with ``digits`` decimals).

    Example:
        >>> print(md_table(pd.DataFrame({"a": [1.234]}, index=["x"])))
        | method | a |
        |---|---|
        | x | 1.23 |
    """

    def cell(v) -> str:
        if isinstance(v, (float, np.floating)):
            return "–" if not np.isfinite(v) else f"{v:.{digits}f}"
        return str(v)

    head = f"| {index} | " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "---|" * (len(df.columns) + 1)
    rows = [f"| {i} | " + " | ".join(map(cell, row)) + " |" for i, row in zip(df.index, df.itertuples(index=False))]
    return "\n".join([head, rule, *rows])


def settings_section(r: ExperimentResult) -> str:
    """The training settings and every method's parameter values."""
    s, d = r.settings, r.dataset_info
    batch = s["batch_size"] or f"full batch ({d.get('train_rows')} rows)"
    lines = [
        "## Protocol",
        "",
        f"- data: `{s['dataset']}` ({d.get('inputs')} inputs, {d.get('train_rows')} training / {d.get('val_rows')} "
        f"validation rows, split seed {s['split_seed']}); majority-class rate {r.majority_rate:.1%}",
        f"- network: {d.get('network')}, {s['activation']} hidden units, {d.get('task')} output",
        f"- training: {s['epochs']} epochs, {s['optimizer']} (learning rate {s['lr']}"
        + (f", momentum {s['momentum']}" if s["optimizer"] == "sgd" else "") + f"), {batch}",
        f"- grid: {len(r.methods)} methods × {len(r.thresholds)} sparsity thresholds "
        f"({', '.join(threshold_label(t) for t in r.thresholds)}) × {len(r.seeds)} seeds "
        f"({_seed_text(r.seeds)}) = {len(r.frame)} members",
        "- members sharing a seed start from the same dense weights (and the same random-walk sub-network) "
        "in every method; each method's members train together as one population",
        "- `dense` and `subnet` have no threshold: they train once per seed and their rows repeat for every threshold",
        "- accuracy and AUC are the final validation figures (after the last epoch); tables are in percent",
        "- false start: an output unreachable from every input, or validation accuracy after the warm-up "
        f"({WARMUP:.0%} of the epochs) never, or not at the end, above the majority-class rate "
        f"+ {MARGIN * 100:g} points",
        "",
        "Method parameters (T = the member's sparsity threshold):",
        "",
        "| method | parameters |",
        "|---|---|",
    ]
    for m in r.methods:
        values = METHODS.make(m, **r.method_params.get(m, {})).get_params()
        text = ", ".join(f"{k}={'T' if k == 'sparsity' else v}" for k, v in values.items() if k != "core") or "none"
        lines.append(f"| {m} | {text} |")
    return "\n".join(lines)


def _seed_text(seeds) -> str:
    if list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def tables_section(r: ExperimentResult) -> str:
    """Tables 1–3 (beside the paper's for the paper protocol), mean accuracy by threshold, false starts."""
    paper = r.protocol == "paper"
    t1 = r.table("mean")
    last = threshold_label(r.thresholds[-1])
    note = " — ours (paper's)" if paper else ""
    parts = [f"## Table 1 form: mean over seeds at threshold {last}{note}", ""]
    if paper and last == "99%":
        shown = reference.side_by_side(t1[["accuracy", "AUC"]], reference.TABLE_1)
        parts.append(md_table(shown.assign(density=t1.density.map("{:.2f}".format))))
    else:
        parts.append(md_table(t1))
    for kind, title, ref in (("max_accuracy", "Table 2: maximum validation accuracy", reference.TABLE_2),
                             ("max_auc", "Table 3: maximum validation AUC", reference.TABLE_3)):  # fmt: skip
        t = r.table(kind)
        parts += ["", f"## {title}{note}", "", md_table(reference.side_by_side(t, ref) if paper else t)]
    parts += ["", "## Mean validation accuracy by threshold", "", md_table(r.table("mean_accuracy"))]
    parts += ["", "## Mean validation AUC by threshold", "", md_table(r.table("mean_auc"))]
    parts += ["", "## Mean final density by threshold (%)", "", md_table(r.table("mean_density"))]
    fs = r.false_starts().reset_index()
    fs["threshold"] = fs.threshold.map(threshold_label)
    parts += ["", "## False starts", "", md_table(fs.set_index("method"), digits=1)]
    return "\n".join(parts)


def structure_section(r: ExperimentResult) -> str:
    """Fig. 6's similarity matrix and the redundant connections."""
    reps = r.representatives()
    t = threshold_label(r.thresholds[len(r.thresholds) // 2])
    parts = [
        f"## Similarity of representative members (Fig. 6), T = {t}",
        "",
        f"Representatives: every method's member of seed {int(reps.seed.iloc[0])}, the seed whose final accuracies "
        "are, summed over methods, closest to each method's median; the networks differ by method only "
        "(same initial weights and sub-network).",
        "",
        md_table(r.similarity_frame()),
        "",
        "## Mean redundant connections (on no input → output path) by threshold",
        "",
        md_table(r.table("mean_redundant"), digits=1),
    ]
    return "\n".join(parts)


def findings_section(r: ExperimentResult) -> str:
    lines = ["## The paper's findings, checked", ""]
    for f in reference.findings(r):
        lines += [f"- **{f.claim}: {f.verdict}.** {f.evidence}"]
    return "\n".join(lines)


def missing_section(r: ExperimentResult) -> str:
    """What a partial result lacks: each task that did not finish, and why."""
    lines = [f"## Partial result: {len(r.missing)} tasks did not finish", "",
             "Their members are absent from every table and figure below (also listed in `missing.csv`).", ""]  # fmt: skip
    return "\n".join(lines + [f"- {m.task}: {m.reason}" for m in r.missing])


def markdown(r: ExperimentResult) -> str:
    """The whole report as Markdown."""
    title = "Synthesis and pruning (paper 000) reproduced" if r.protocol == "paper" else "growlab experiment"
    head = [f"# {title}", "", f"{len(r.frame)} members in {r.seconds:.1f} s. Generated by growlab.", ""]
    if r.missing:
        head += [missing_section(r), ""]
    body = [settings_section(r), "", tables_section(r), "", structure_section(r)]
    if r.protocol == "paper" and r.complete:  # the paired comparisons need every member
        body += ["", findings_section(r)]
    body += ["", "## Files", "", *(f"- `{k}`: {v}" for k, v in FILES.items())]
    return "\n".join(head + body) + "\n"


def save(r: ExperimentResult, directory: Path) -> Path:
    """Write the report, CSVs and HTML plots; returns the path of ``report.md``."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    directory.mkdir(parents=True, exist_ok=True)
    r.frame.to_csv(directory / "members.csv", index=False)
    if r.missing:
        pd.DataFrame([vars(m) for m in r.missing]).to_csv(directory / "missing.csv", index=False)
    for kind in ("mean", "max_accuracy", "max_auc", "mean_accuracy"):
        r.table(kind).to_csv(directory / f"table_{kind}.csv")
    r.false_starts().to_csv(directory / "false_starts.csv")
    r.similarity_frame().to_csv(directory / "similarity.csv")
    for name, fig, title in (("boxplot", r.boxplot(), "Fig. 5"), ("similarity", r.similarity(), "Fig. 6")):
        html = file_html(fig, INLINE, f"growlab experiment: {title}")  # INLINE: BokehJS embedded, opens offline
        (directory / f"{name}.html").write_text(html, encoding="utf-8")
    path = directory / "report.md"
    path.write_text(markdown(r), encoding="utf-8")
    return path


INTERPRETATION_FILES = {
    "claims.csv": "every reading × claim × threshold: mean paired difference (points), 95% interval, seeds better/worse",
    "methods.csv": "every reading × method × threshold: mean and worst accuracy, mean AUC, false starts",
    "members.csv": "every member of every reading",
    "claims.html": "the claims × readings with their intervals (open in a browser; works offline)",
}


def interpretations_markdown(r: InterpretationsResult) -> str:
    """The report of :func:`growlab.experiment.interpretations`."""
    s = r.settings
    seeds = s["seeds"]
    lines = [
        "# Readings of paper 000, tested",
        "",
        f"{len(r.readings)} readings × {len(seeds)} seeds ({_seed_text(seeds)}) × thresholds "
        f"{', '.join(threshold_label(t) for t in s['thresholds'])} on the paper's protocol ({s['epochs']} epochs, "
        f"{s['optimizer']} lr {s['lr']}, heart 27-16-8-1); {r.trained} distinct method settings trained "
        f"(a method a reading leaves alone is trained once and shared: members are bit-identical whoever shares "
        f"their population), {r.seconds:.0f} s. Generated by growlab.",
        "",
        "Each cell: the mean over seeds of the paired difference in final validation accuracy, in points, and its "
        "95% t-interval; for *all thresholds* each seed's differences are averaged over the thresholds first. "
        "An interval above 0 supports the paper's claim, below 0 contradicts it.",
        "",
        "## Readings",
        "",
        "| reading | what it reads differently |",
        "|---|---|",
        *(f"| {x.name} | {x.doc} |" for x in r.readings),
    ]
    for t in ["all", *s["thresholds"]]:
        lines += ["", f"## Claims, {label(t)}", "", md_table(r.claims_table(t), index="reading")]
    worst = r.methods.pivot_table(index="reading", columns="method", values="min_accuracy", aggfunc="min", sort=False)
    fs = r.methods.pivot_table(index="reading", columns="method", values="false_starts", aggfunc="sum", sort=False)
    order = [x.name for x in r.readings]
    lines += ["", "## Worst final accuracy per method (all thresholds, %)", "",
              md_table(worst.reindex(index=order), digits=1, index="reading"),  # fmt: skip
              "", "## False starts per method (members, all thresholds)", "",
              md_table(fs.reindex(index=order).astype("Int64"), index="reading"),
              "", "## Pruning's mean accuracy at 99% (%)", "",
              md_table(r.pruning_at(0.99).to_frame("prune at 99%"), digits=1, index="reading")]  # fmt: skip
    lines += ["", "## Files", "", *(f"- `{k}`: {v}" for k, v in INTERPRETATION_FILES.items())]
    return "\n".join(lines) + "\n"


def save_interpretations(r: InterpretationsResult, directory: Path) -> Path:
    """Write the interpretations report, CSVs and the interval plot; returns the Markdown path."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    directory.mkdir(parents=True, exist_ok=True)
    r.claims.to_csv(directory / "claims.csv", index=False)
    r.methods.to_csv(directory / "methods.csv", index=False)
    r.members.to_csv(directory / "members.csv", index=False)
    html = file_html(r.plot(), INLINE, "growlab: readings of paper 000")
    (directory / "claims.html").write_text(html, encoding="utf-8")
    path = directory / "interpretations.md"
    path.write_text(interpretations_markdown(r), encoding="utf-8")
    return path
