"""Part and method capabilities are declared on the classes (no name or attribute probing)."""

import pytest

from growlab import Run
from growlab.methods import METHODS


def test_only_odf2nna_previews_epsilon_and_others_say_so():
    assert [n for n in METHODS.names() if METHODS.get(n).previews_epsilon] == ["odf2nna"]
    run = Run("heart", "8", "random", epochs=2)
    with pytest.raises(ValueError, match="preview_epsilon needs a method with ε selection"):
        run.preview_epsilon(0.1)


@pytest.mark.parametrize("method, shows", [("strategic", True), ("strategic+prune", True), ("random", False), ("prune", False)])
def test_focal_junctures_come_from_the_grow_part_that_has_them(method, shows):
    run = Run("heart", "8-4", method, epochs=3, sparsity=0.8)
    assert ("focal_junctures" in run.method.overlays()) is shows
    run.run()
    junctures = run.method.overlays().get("focal_junctures", [])
    assert bool(junctures) is shows  # a strategic run's last cycle seeded growth from some
    assert all(len(j) == 3 and 0 <= j[0] < run.network.n_layers for j in junctures)
