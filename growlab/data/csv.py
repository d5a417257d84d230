"""User CSV files: parsed as CSV only, validated, encoded, with clear errors for every problem."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pandas as pd

from growlab.data.base import Dataset, encode_labels, split_and_standardize

MAX_CSV_BYTES = 50 * 2**20
MAX_CSV_ROWS = 200_000
#: Most columns read: a wider table is refused from its header, before anything is parsed.
MAX_CSV_COLUMNS = 2_000
#: Most network inputs after one-hot encoding.
MAX_INPUTS = 5_000
MAX_CATEGORIES = 50
#: A target with at most this many distinct integer values is treated as classes.
MAX_CLASSES = 20
#: Largest magnitude of a feature value (beyond it, squares overflow and z-scores become NaN).
MAX_FEATURE = 1e150
#: Largest magnitude of a regression target (errors in its units must stay finite in float32).
MAX_TARGET = 1e15
#: Column names quoted in a message.
QUOTED = 5


def load_csv(
    split_seed: int = 0,
    path: str | os.PathLike | None = None,
    data: bytes | str | None = None,
    target: str | None = None,
    task: str | None = None,
    drop: tuple[str, ...] | list[str] = (),
    max_bytes: int = MAX_CSV_BYTES,
) -> Dataset:
    """Load a CSV table from a file path or from uploaded bytes.

    Numeric columns are z-scored, text columns with at most 50 distinct values are one-hot
    encoded, missing values are imputed (median for numbers, most frequent value for text)
    and counted in ``dataset.info["imputed"]``. Rows without a target are dropped.

    Args:
        split_seed: seed of the stratified 80/20 split.
        path: a CSV file; or
        data: the file's contents (an upload).
        target: the column to predict (required).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred when omitted
            (text or at most 20 distinct integers → classes, otherwise regression).
        drop: columns to ignore (identifiers, free text).
        max_bytes: refuse larger inputs.

    Raises:
        ValueError: for every problem with the file, with a message saying what to fix.
    """
    label = os.path.basename(str(path)) if path is not None else "upload"
    df = _read(path, data, max_bytes)
    if target is None:
        raise ValueError(f"choose a target column; columns are: {', '.join(map(str, df.columns))}")
    if target not in df.columns:
        raise ValueError(f"no column named {target!r}; columns are: {', '.join(map(str, df.columns))}")
    unknown = [c for c in drop if c not in df.columns]
    if unknown:
        raise ValueError(f"cannot drop unknown columns {unknown}; columns are: {', '.join(map(str, df.columns))}")
    info: dict = {"source": f"CSV {label}", "dropped_rows": 0, "imputed": {}, "dropped_columns": list(drop)}

    missing_target = df[target].isna()
    if missing_target.any():
        info["dropped_rows"] = int(missing_target.sum())
        df = df[~missing_target].reset_index(drop=True)
    if len(df) < 10:
        raise ValueError(f"{label} has {len(df)} usable rows; at least 10 are needed")

    y, class_names, task = _target(df[target], task)
    X = _features(df.drop(columns=[target, *drop]), info)
    if task != "regression":
        counts = np.bincount(y)
        if counts.min() < 2:
            rare = class_names[int(counts.argmin())]
            raise ValueError(f"class {rare!r} of {target!r} has only {counts.min()} row; each class needs at least 2")
    opts = {"target": target, "task": task, "drop": list(drop)}
    if path is not None:
        opts["path"] = str(path)
    return split_and_standardize("csv", X, y, task, class_names, split_seed=split_seed, options=opts, info=info)


def read_header(data: bytes | str) -> list[str]:
    """The column names on a CSV's first line, checked without parsing the rest of the file.

    Raises:
        ValueError: not UTF-8, no header, more than :data:`MAX_CSV_COLUMNS` columns, or a
            name used twice (the message names the columns).

    Example:
        >>> read_header(b"age,sex,label\n50,1,0\n")
        ['age', 'sex', 'label']
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    try:
        names = next(csv.reader(text), None)
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text; save it as a UTF-8 CSV") from None
    except csv.Error as e:
        raise ValueError(f"cannot read the CSV's header: {e}") from None
    if not names or not any(n.strip() for n in names):
        raise ValueError("the CSV has no header line with column names")
    if len(names) > MAX_CSV_COLUMNS:
        raise ValueError(f"the CSV has {len(names):,} columns; at most {MAX_CSV_COLUMNS:,} are read (drop columns first)")
    names = [n.strip() for n in names]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    twice = [n for n, k in seen.items() if k > 1]
    if twice:
        raise ValueError(f"column names used more than once: {_names(twice)}; rename them so each is unique")
    return names


def _overflows(text: str) -> bool:
    """Whether ``text`` is a number too large for a float (``"1e309"``)."""
    try:
        return not np.isfinite(float(text))
    except ValueError:
        return False


def _names(names) -> str:
    """A few names, quoted, then how many more."""
    names = list(names)
    shown = ", ".join(repr(str(n)[:60]) for n in names[:QUOTED])
    return shown + (f" and {len(names) - QUOTED:,} more" if len(names) > QUOTED else "")


def _read(path, data, max_bytes: int) -> pd.DataFrame:
    if (path is None) == (data is None):
        raise ValueError("give exactly one of path= (a CSV file) or data= (its contents)")
    if path is not None:
        if not os.path.isfile(path):
            raise ValueError(f"no such CSV file: {path}")
        size = os.path.getsize(path)
        if size > max_bytes:
            raise ValueError(f"{path} is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
        with open(path, "rb") as f:
            data = f.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data must be the CSV's text or bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise ValueError(f"the CSV is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    if not data.strip():
        raise ValueError("the CSV is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text; save it as a UTF-8 CSV") from None
    header = read_header(data)  # columns and names checked before pandas reads (and renames) anything
    try:
        df = pd.read_csv(io.StringIO(text), nrows=MAX_CSV_ROWS + 1)
    except pd.errors.EmptyDataError:
        raise ValueError("the CSV has no columns") from None
    except (pd.errors.ParserError, ValueError) as e:
        raise ValueError(f"cannot parse the CSV: {str(e).splitlines()[0]}") from None
    if len(df) > MAX_CSV_ROWS:
        raise ValueError(f"the CSV has more than {MAX_CSV_ROWS:,} rows; sample it first")
    if df.empty:
        raise ValueError("the CSV has a header but no rows")
    if len(header) == len(df.columns):
        df.columns = header  # the names as written (pandas would rename an empty one "Unnamed: 3")
    return df


def _target(col: pd.Series, task: str | None) -> tuple[np.ndarray, tuple[str, ...], str]:
    numeric = pd.to_numeric(col, errors="coerce")
    is_numeric = numeric.notna().all()
    if task is None:
        integral = is_numeric and np.allclose(numeric, np.round(numeric))
        task = "regression" if is_numeric and not (integral and numeric.nunique() <= MAX_CLASSES) else "classes"
    if task == "regression":
        if not is_numeric:
            bad = col[numeric.isna()].astype(str).unique()[:3]
            raise ValueError(f"target {col.name!r} must be numeric for regression; found {list(bad)}")
        values = numeric.to_numpy(np.float64)
        if not np.isfinite(values).all() or np.abs(values).max() > MAX_TARGET:
            raise ValueError(
                f"target {col.name!r} holds values beyond ±{MAX_TARGET:g} (largest {np.abs(values).max():.3g}); "
                "rescale it (e.g. to thousands or millions) so errors stay finite"
            )
        if numeric.nunique() < 2:
            raise ValueError(f"target {col.name!r} is constant; nothing to learn")
        return values, (), "regression"
    if task not in ("classes", "binary", "multiclass"):
        raise ValueError(f"task must be 'binary', 'multiclass' or 'regression', got {task!r}")
    codes, names = encode_labels(col)
    if len(names) < 2:
        raise ValueError(f"target {col.name!r} has one class ({names[0]!r}); at least two are needed")
    if len(names) > 100:
        raise ValueError(f"target {col.name!r} has {len(names)} distinct values; use task='regression'?")
    inferred = "binary" if len(names) == 2 else "multiclass"
    if task != "classes" and task != inferred:
        raise ValueError(f"target {col.name!r} has {len(names)} classes, so the task is {inferred!r}, not {task!r}")
    return codes, names, inferred


def _features(df: pd.DataFrame, info: dict) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    numeric = [n for n in df.columns if pd.api.types.is_bool_dtype(df[n]) or pd.api.types.is_numeric_dtype(df[n])]
    if numeric:  # all numeric columns at once: a wide table has thousands
        block = df[numeric].astype(float)
        empty = block.isna().all()
        info["dropped_columns"] += [str(n) for n in block.columns[empty.to_numpy()]]
        block = block.loc[:, ~empty.to_numpy()]
        missing = block.isna().sum()
        info["imputed"].update({str(n): int(k) for n, k in missing[missing > 0].items()})
        values = block.to_numpy()
        wild = ~np.isfinite(values) & ~np.isnan(values) | (np.abs(np.nan_to_num(values)) > MAX_FEATURE)
        if wild.any():
            bad = block.columns[wild.any(axis=0)]
            raise ValueError(
                f"columns {_names(bad)} hold infinite values or values beyond ±{MAX_FEATURE:g}; "
                "fix or blank those cells, or drop the columns"
            )
        ready = dict(block.fillna(block.median()).items())
    else:
        ready = {}
    numeric = set(numeric)
    for name in df.columns:
        col = df[name]
        if name in numeric:
            if name in ready:
                out[str(name)] = ready[name]
            continue
        if col.isna().all():
            info["dropped_columns"].append(str(name))
            continue
        n_missing = int(col.isna().sum())
        if n_missing:
            info["imputed"][str(name)] = n_missing
        present = col.dropna().astype(str).str.strip()
        as_number = pd.to_numeric(present, errors="coerce")
        if as_number.notna().mean() >= 0.8:
            junk = present[as_number.isna()].unique()[:3]
            if all(_overflows(v) for v in junk):  # "1e309": a number, but beyond any float
                raise ValueError(
                    f"columns {_names([name])} hold infinite values or values beyond ±{MAX_FEATURE:g} "
                    f"({', '.join(map(repr, junk))}); fix or blank those cells, or drop the columns"
                )
            raise ValueError(
                f"column {name!r} is numeric but holds non-numeric values {list(junk)}; "
                "fix or blank those cells, or drop the column"
            )
        levels = present.unique()
        if len(levels) > MAX_CATEGORIES:
            raise ValueError(
                f"column {name!r} has {len(levels)} distinct text values (at most {MAX_CATEGORIES} are "
                "one-hot encoded); drop it with drop=[...]"
            )
        filled = col.astype(str).str.strip().where(col.notna(), present.mode().iloc[0])
        for level in sorted(levels):
            encoded = f"{name}={level}"
            if encoded in df.columns or encoded in out:
                raise ValueError(
                    f"the one-hot input {encoded!r} (value {level!r} of column {name!r}) has the name of another "
                    "column; rename one of them"
                )
            out[encoded] = (filled == level).astype(float)
    if not out:
        raise ValueError("no feature columns left besides the target")
    if len(out) > MAX_INPUTS:
        raise ValueError(f"the features make {len(out):,} network inputs after one-hot encoding; at most {MAX_INPUTS:,}")
    return pd.DataFrame(out)
