"""CSV files that used to be read wrongly: each is refused with a message naming the columns."""

from __future__ import annotations

import io

import numpy as np
import pytest

from growlab.data import load_dataset
from growlab.data.csv import MAX_CSV_COLUMNS, read_header


def table(**columns) -> bytes:
    """A CSV of 40 rows from ``name=list-or-callable`` columns (and a binary ``label``)."""
    out = io.StringIO()
    names = list(columns) + (["label"] if "label" not in columns else [])
    out.write(",".join(names) + "\n")
    for r in range(40):
        row = [str(v(r) if callable(v) else v[r % len(v)]) for v in columns.values()]
        out.write(",".join(row + ([str(r % 2)] if "label" not in columns else [])) + "\n")
    return out.getvalue().encode()


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e308", "-1e308", "1e309"])
def test_infinite_or_huge_feature_values_are_refused_by_column(bad):
    data = table(age=lambda r: r, income=lambda r: bad if r == 3 else r * 10)
    with pytest.raises(ValueError, match=r"columns 'income' hold infinite values or values beyond"):
        load_dataset("csv", data=data, target="label")


def test_a_regression_target_near_1e300_is_refused():
    data = table(x=lambda r: r, price=lambda r: 1e300 * (1 + r / 40))
    with pytest.raises(ValueError, match=r"target 'price' holds values beyond ±1e\+15 \(largest 1\.98e\+300\)"):
        load_dataset("csv", data=data, target="price", task="regression")


def test_a_large_but_sane_regression_target_still_trains():
    ds = load_dataset("csv", data=table(x=lambda r: r, price=lambda r: 1e9 + r * 1e6), target="price", task="regression")
    assert np.isfinite(ds.y_train.numpy()).all() and ds.task == "regression"


def test_duplicate_column_names_are_refused_not_renamed():
    data = b"a,b,a,label\n" + b"".join(f"{r},{r},{r},{r % 2}\n".encode() for r in range(40))
    with pytest.raises(ValueError, match=r"column names used more than once: 'a'"):
        load_dataset("csv", data=data, target="label")
    with pytest.raises(ValueError, match="used more than once"):
        read_header(data)


def test_a_one_hot_input_named_like_another_column_is_refused():
    data = table(a=["x", "y"], **{"a=x": lambda r: r})
    with pytest.raises(ValueError, match=r"one-hot input 'a=x' \(value 'x' of column 'a'\) has the name of another column"):
        load_dataset("csv", data=data, target="label")


def test_too_many_columns_are_refused_from_the_header_alone():
    header = ",".join(f"c{i}" for i in range(MAX_CSV_COLUMNS + 1)).encode()
    broken_body = b"\n" + b'"' * 10  # would not even parse: the header is enough to refuse it
    with pytest.raises(ValueError, match=f"has {MAX_CSV_COLUMNS + 1:,} columns; at most {MAX_CSV_COLUMNS:,}"):
        load_dataset("csv", data=header + broken_body, target="c0")


def test_a_wide_table_at_the_cap_loads():
    n = MAX_CSV_COLUMNS - 1
    rng = np.random.default_rng(0)
    rows = "\n".join(",".join(map(str, rng.integers(0, 9, n))) + f",{r % 2}" for r in range(30))
    data = (",".join(f"c{i}" for i in range(n)) + ",label\n" + rows + "\n").encode()
    ds = load_dataset("csv", data=data, target="label")
    assert ds.n_inputs == n and np.isfinite(ds.X_train.numpy()).all()
