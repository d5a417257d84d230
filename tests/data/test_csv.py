import pytest
import torch

from growlab.data import load_dataset

GOOD = "age,colour,score,label\n" + "\n".join(
    f"{20 + i},{['red', 'green', 'blue'][i % 3]},{i * 0.5},{'yes' if i % 2 else 'no'}" for i in range(40)
)


def write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_from_path_encodes_categories_and_scales_numbers(tmp_path):
    ds = load_dataset("csv", path=write(tmp_path, GOOD), target="label")
    assert ds.task == "binary" and ds.class_names == ("no", "yes")
    assert ds.feature_names == ("age", "colour=blue", "colour=green", "colour=red", "score")
    assert ds.n_train + ds.n_val == 40
    assert abs(ds.X_train[:, 0].mean().item()) < 1e-5


def test_csv_from_uploaded_bytes(tmp_path):
    ds = load_dataset("csv", data=GOOD.encode(), target="label")
    assert ds.n_inputs == 5


def test_csv_regression_is_inferred_for_continuous_targets(tmp_path):
    ds = load_dataset("csv", data=GOOD, target="score")
    assert ds.task == "regression"


def test_csv_multiclass(tmp_path):
    ds = load_dataset("csv", data=GOOD, target="colour")
    assert ds.task == "multiclass" and ds.n_outputs == 3


def test_csv_nans_are_imputed_and_counted(tmp_path):
    text = GOOD.replace("\n22,blue", "\n,blue").replace("\n24,green", "\n24,")
    ds = load_dataset("csv", data=text, target="label")
    assert ds.info["imputed"] == {"age": 1, "colour": 1}
    assert torch.isfinite(ds.X_train).all()


def test_rows_without_target_are_dropped_and_counted():
    text = GOOD.replace(",yes\n", ",\n", 2)
    ds = load_dataset("csv", data=text, target="label")
    assert ds.info["dropped_rows"] == 2 and ds.n_train + ds.n_val == 38


@pytest.mark.parametrize(
    "text, kw, match",
    [
        ("", {"target": "x"}, "empty"),
        ("   \n\n", {"target": "x"}, "empty"),
        ("a,b,label\n", {"target": "label"}, "no rows"),
        (GOOD, {"target": "missing"}, "no column named 'missing'.*age, colour, score, label"),
        (GOOD, {}, "choose a target column"),
        (GOOD.replace("yes", "no"), {"target": "label"}, "one class"),
        (GOOD.replace("\n25,", "\nabc,"), {"target": "label"}, "non-numeric values \\['abc'\\]"),
        (GOOD, {"target": "label", "task": "regression"}, "must be numeric"),
        (GOOD, {"target": "label", "task": "multiclass"}, "2 classes"),
        (GOOD, {"target": "label", "drop": ["nope"]}, "cannot drop"),
        ("a,label\n1,x\n2,y\n", {"target": "label"}, "usable rows"),
    ],
)
def test_csv_problems_give_clear_value_errors(text, kw, match):
    with pytest.raises(ValueError, match=match):
        load_dataset("csv", data=text, **kw)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such CSV file"):
        load_dataset("csv", path=tmp_path / "nope.csv", target="y")


def test_too_large(tmp_path):
    with pytest.raises(ValueError, match="limit"):
        load_dataset("csv", path=write(tmp_path, GOOD), target="label", max_bytes=100)


def test_not_utf8():
    with pytest.raises(ValueError, match="UTF-8"):
        load_dataset("csv", data=b"a,b\n\xff\xfe,1\n", target="b")


def test_too_many_text_levels_suggests_dropping():
    text = "name,x,label\n" + "\n".join(f"person{i},{i},{i % 2}" for i in range(60))
    with pytest.raises(ValueError, match="drop"):
        load_dataset("csv", data=text, target="label")
    ds = load_dataset("csv", data=text, target="label", drop=["name"])
    assert ds.feature_names == ("x",)


def test_single_row_class_is_refused():
    text = "x,label\n" + "\n".join(f"{i},{'a' if i else 'b'}" for i in range(20))
    with pytest.raises(ValueError, match="only 1 row"):
        load_dataset("csv", data=text, target="label")
