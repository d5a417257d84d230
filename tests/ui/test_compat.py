"""growlab.ui.compat: the library internals in one place, with the versions they were tested with."""

from __future__ import annotations

import pathlib
import re
import tomllib
import warnings

import pytest

from growlab.ui import compat

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pyproject_bounds_are_the_tested_versions():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for name, (low, high) in compat.TESTED.items():
        (spec,) = [d for d in deps if re.match(rf"{name}\b", d)]
        assert spec == f"{name}>={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}", spec


def test_the_installed_versions_are_tested_ones():
    with warnings.catch_warnings():
        warnings.simplefilter("error", compat.UntestedVersion)
        for name in compat.TESTED:
            compat.check_version(name)


@pytest.mark.parametrize("name", list(compat.TESTED))
def test_an_untested_version_warns_and_an_old_one_is_refused(name):
    low, high = compat.TESTED[name]
    with pytest.warns(compat.UntestedVersion, match=rf"{name} {high[0]}\.{high[1] + 1}\.0 is newer than growlab was tested"):
        compat.check_version(name, f"{high[0]}.{high[1] + 1}.0")
    with pytest.raises(ImportError, match=rf"growlab needs {name} {low[0]}\.{low[1]} or newer"):
        compat.check_version(name, f"{low[0]}.{low[1] - 1}.9" if low[1] else f"{low[0] - 1}.99.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compat.check_version(name, f"{high[0]}.{high[1]}.7")  # a patch release of a tested minor: silent


def test_the_editable_slider_parts_are_found():
    import panel as pn

    slider = pn.widgets.EditableFloatSlider(start=0, end=1, value=0.5)
    assert isinstance(compat.slider_value_box(slider), pn.widgets.FloatInput)
    assert compat.slider_track(slider).value == 0.5
