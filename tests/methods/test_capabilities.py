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


def test_a_composed_method_builds_each_part_once_and_the_part_reads_live_values():
    """Parts are not rebuilt every cycle: the same part object serves each cycle and sees a
    live change made through the method (one validation, in the method)."""
    from growlab.methods import make_method
    from growlab.methods.grow import GROWERS
    from growlab.methods.prune import Pruner

    method = make_method("strategic+prune", sigma=1.0)
    grower, pruner = method.part(GROWERS, method.grow_part), method.part(Pruner)
    assert method.part(GROWERS, method.grow_part) is grower and method.part(Pruner) is pruner
    method.set_params(sigma=2.5, min_age=3)
    assert grower.sigma == 2.5 and pruner.min_age == 3
    method.set_member_values(sigma=[0.5, 1.5])
    assert grower.member_tensor("sigma", 2).tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match="sigma"):
        method.set_params(sigma=-1.0)
    assert grower.sigma == 2.5  # a refused change reaches no part
