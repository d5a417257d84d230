"""``docs/reproductions.md`` cannot go stale: its generated blocks are what the committed CSVs
render to, and a retrained sample of the CSVs' rows is what the code produces, to the bit.

Members are bit-identical whatever else shares their grid (DESIGN §3c), so a few seeds of a
50-seed experiment can be retrained alone and compared row for row. When a test here fails,
the code's results changed: run ``python docs/scripts/reproduce.py`` (or ``--only SECTION``),
read the new tables, update the prose that depends on them, and commit ``docs/``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reproduce
import torch
from generated import blocks, read_csv, write_csv

from benchmarks import analysis_heart, nest_fig4
from growlab.analysis import false_start_from
from growlab.experiment import paper
from growlab.experiment.interpretations import BY_NAME
from growlab.methods import METHODS

HINT = "the committed report no longer matches the code: run python docs/scripts/reproduce.py and commit docs/"
#: the sample retrained below: seeds 0 and K at threshold T (K is in both the 50- and 20-seed experiments)
K, T = 13, 0.9


@pytest.fixture(scope="module")
def load():
    return reproduce.loader()


def equal(ours: pd.DataFrame, committed: pd.DataFrame) -> None:
    """The same rows and values, to the last bit (a subset's dtype may differ: 3 is 3.0)."""
    try:
        pd.testing.assert_frame_equal(
            ours.reset_index(drop=True), committed.reset_index(drop=True), check_exact=True, check_dtype=False
        )
    except AssertionError as e:
        raise AssertionError(f"{HINT}\n{e}") from None


def same(recomputed: pd.DataFrame, committed: pd.DataFrame, tmp_path: Path, name: str) -> None:
    """``recomputed`` equals ``committed`` exactly, after the same CSV round trip."""
    equal(read_csv(write_csv(recomputed, tmp_path / name), reproduce.DTYPES.get(name)), committed)


# ---------------------------------------------------------------------------- (a) Markdown = CSVs rendered
def test_the_markdown_has_exactly_the_blocks_the_sections_render():
    declared = [b for s in reproduce.SECTIONS for b in s.blocks]
    assert len(declared) == len(set(declared))
    assert sorted(blocks(reproduce.DOC.read_text(encoding="utf-8"))) == sorted(declared)


@pytest.mark.parametrize("section", reproduce.SECTIONS, ids=lambda s: s.name)
def test_every_generated_block_is_what_the_committed_csvs_render_to(section, load):
    committed = blocks(reproduce.DOC.read_text(encoding="utf-8"))
    rendered = section.render(load)
    assert sorted(rendered) == sorted(section.blocks)
    for name, text in rendered.items():
        assert committed[name] == text, f"block {name!r}: {HINT} (--render-only re-renders from docs/data/)"


# ---------------------------------------------------------------------------- the CSVs agree with each other
def test_the_interpretations_growlab_reading_is_the_paper_protocol(load):
    """Same settings, same seeds: the growlab reading's members are the protocol's members."""
    interp, members = load(reproduce.INTERP), load(reproduce.PAPER)
    ours = interp[interp.reading == "growlab"].drop(columns="reading").reset_index(drop=True)
    cols = list(ours.columns)
    equal(ours, members[members.seed.isin(ours.seed.unique())][cols])


def test_the_auc_of_labels_reading_reports_the_labels_auc_of_the_same_members(load):
    interp = load(reproduce.INTERP)
    labels, base = (interp[interp.reading == r].reset_index(drop=True) for r in ("AUC of labels", "growlab"))
    assert np.array_equal(labels.val_auc, base.val_auc_labels) and np.array_equal(labels.val_acc, base.val_acc)


# ---------------------------------------------------------------------------- (b) a sample retrained
@pytest.fixture(scope="module")
def protocol_at_t():
    """The paper's protocol at T for seeds 0–9: the redundancy table's members."""
    return paper(seeds=10, thresholds=(T,))


def test_the_redundancy_table_is_recomputed_exactly(protocol_at_t, load, tmp_path):
    same(analysis_heart.rows(protocol_at_t), load(reproduce.REDUNDANCY), tmp_path, reproduce.REDUNDANCY)


def test_paper_protocol_members_retrained_alone_equal_the_committed_rows(protocol_at_t, load, tmp_path):
    """Seeds 0–9 at T, trained without the other 40 seeds and 4 thresholds, equal the 50-seed rows."""
    cols = [c for c in reproduce.paper000.MEMBER_COLUMNS if c != "member"]  # member numbers the whole grid
    members = load(reproduce.PAPER)
    equal(protocol_at_t.frame[cols], members[(members.threshold == T) & (members.seed < 10)][cols])


def test_the_false_start_reading_at_the_window_is_recomputed_from_the_retrained_curves(protocol_at_t, load):
    r, interp = protocol_at_t, load(reproduce.INTERP)
    reached = (r.frame.false_start_rule != "unreachable").to_numpy()
    flags = false_start_from(r.curves, r.majority_rate, reached, rule_b="at_window").flags
    rows = interp[(interp.reading == "false start at the window") & (interp.threshold == T) & (interp.seed < 10)]
    assert rows.false_start.tolist() == flags.tolist(), HINT


#: (reading, method) pairs retrained: one per kind of change (juncture choice + direction + budget,
#: the floor, the growth cap, the threshold's reading, the validation rows)
READING_SAMPLE = (
    ("usable, forward, budget", "strategic+prune"),
    ("no floor", "random+prune"),
    ("cap 2 per cycle", "strategic"),
    ("threshold as budget", "random"),
    ("58 validation rows", "subnet"),
)


@pytest.mark.parametrize("reading,method", READING_SAMPLE)
def test_interpretations_members_retrained_alone_equal_the_committed_rows(reading, method, load):
    x = BY_NAME[reading]
    specs = METHODS.get(method).param_specs()
    params = {k: v for k, v in x.params.items() if k in specs}
    r = paper(seeds=(0, K), thresholds=(T,), methods=(method,), dataset_options=dict(x.dataset_options), **params)
    interp = load(reproduce.INTERP)
    rows = interp[(interp.reading == reading) & (interp.method == method) & (interp.threshold == T)]
    rows = rows[rows.seed.isin((0, K))].reset_index(drop=True)
    cols = [c for c in rows.columns if c != "reading"]
    equal(r.frame[cols], rows[cols])


def test_a_hybrid_run_alone_equals_its_committed_cycles_row_and_its_protocol_member(load, tmp_path):
    ours = reproduce.paper000.compute_cycles(1, thresholds=(0.8,), methods=("strategic+prune",))
    runs = load(reproduce.HYBRID)
    same(ours, runs[(runs.method == "strategic+prune") & (runs.threshold == 0.8) & (runs.seed == 0)], tmp_path,
         reproduce.HYBRID)  # fmt: skip
    members = load(reproduce.PAPER)
    member = members[(members.method == "strategic+prune") & (members.threshold == 0.8) & (members.seed == 0)]
    assert ours.val_acc.iloc[0] == member.val_acc.iloc[0]


def test_the_iris_odf2nna_block_is_recomputed_exactly(load, tmp_path):
    rows = load(reproduce.ODF2NNA)
    same(reproduce.odf2nna.compute(["iris"]), rows[rows.dataset == "iris"], tmp_path, reproduce.ODF2NNA)


def test_nest_fig4_is_recomputed_exactly_for_its_first_setting(load, tmp_path):
    setting = nest_fig4.SETTINGS[0]
    rows = load(reproduce.FIG4)
    first = np.ones(len(rows), dtype=bool)
    for k in nest_fig4.Setting.__dataclass_fields__:
        first &= rows[k] == getattr(setting, k)
    same(nest_fig4.compute([setting]), rows[first], tmp_path, reproduce.FIG4)


def test_training_outside_the_grid_leaves_the_thread_setting_as_it_was():
    before = torch.get_num_threads()
    nest_fig4.compute([nest_fig4.Setting(seeds=1, epochs=1, neurons=1)])
    assert torch.get_num_threads() == before
