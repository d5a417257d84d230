"""``growlab record`` / ``run.record``: decode the animation and check its frames."""

import numpy as np
import pytest
from PIL import Image, ImageSequence

from growlab import Run
from growlab.cli import main
from growlab.record import FRAME_PX, diagram_pixels, frame_epochs


@pytest.fixture(scope="module")
def grown():
    """A heart run whose structure changes in some epochs and not in others."""
    run = Run("heart", "16-8", "random+prune", epochs=24, seed=0, interval=3, stop=0.6)
    run.run()
    return run


def _frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")).copy() for f in ImageSequence.Iterator(im)]


def test_a_gif_has_one_frame_per_epoch_and_its_diagram_changes_exactly_with_the_structure(grown, tmp_path):
    path = grown.record(tmp_path / "life.gif", progress=False)
    frames = _frames(path)
    assert len(frames) == grown.epochs + 1 and frames[0].shape == (FRAME_PX[1], FRAME_PX[0], 3)
    changed_structure, changed_diagram = [], []
    for e in range(1, len(frames)):
        changed_structure.append(not grown.at(e).same_structure(grown.at(e - 1)))
        changed_diagram.append(not np.array_equal(diagram_pixels(frames[e]), diagram_pixels(frames[e - 1])))
        assert not np.array_equal(frames[e], frames[e - 1])  # the counter and the cursor move every frame
    assert changed_diagram == changed_structure
    assert 2 <= sum(changed_structure) < len(changed_structure)  # some epochs change, some do not


def test_every_k_th_epoch_and_weights_mode(grown, tmp_path):
    path = grown.record(tmp_path / "w.gif", every=5, weights=True, progress=False)
    frames = _frames(path)
    assert frame_epochs(0, 24, 5) == [0, 5, 10, 15, 20, 24] and len(frames) == 6
    # weights drawn by sign: the app's blue and orange are in the diagram
    pixels = diagram_pixels(frames[-1]).reshape(-1, 3).astype(int)
    blue, orange = np.array([8, 119, 189]), np.array([245, 147, 34])
    assert (np.abs(pixels - blue).sum(axis=1) < 40).any() and (np.abs(pixels - orange).sum(axis=1) < 40).any()


def test_a_conv_run_records(tmp_path):
    run = Run("digits", "c4k3-p2-16", "gradient+prune", epochs=6, seed=2, batch_size=400, interval=2)
    run.run()
    frames = _frames(run.record(tmp_path / "conv.gif", every=2, progress=False))
    assert len(frames) == 4


def test_an_mp4_through_the_optional_extra(grown, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    path = grown.record(tmp_path / "life.mp4", every=4, fps=10, hold=1.0, progress=False)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert tuple(meta["size"]) == FRAME_PX
    assert sum(1 for _ in reader) == len(frame_epochs(0, 24, 4)) + 10  # and one second held


@pytest.mark.parametrize(
    "name, kw, message",
    [("a.png", {}, "must end in .gif or .mp4"), ("a.gif", {"every": 0}, "every must be"),
     ("a.gif", {"fps": 0}, "fps must be"), ("missing/a.gif", {}, "does not exist")],
)
def test_bad_recordings_are_refused_and_write_nothing(grown, tmp_path, name, kw, message):
    with pytest.raises(ValueError, match=message):
        grown.record(tmp_path / name, progress=False, **kw)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_records_a_saved_run(grown, tmp_path, capsys):
    archive = tmp_path / "run.growlab"
    grown.save(archive)
    out = tmp_path / "life.gif"
    assert main(["record", str(archive), "--out", str(out), "--every", "3", "--no-progress"]) == 0
    assert "wrote" in capsys.readouterr().out and len(_frames(out)) == len(frame_epochs(0, 24, 3))
    assert main(["record", str(archive), "--out", str(tmp_path / "x.txt")]) == 2
    assert "must end in .gif or .mp4" in capsys.readouterr().err
    assert main(["record", str(tmp_path / "none.growlab"), "--out", str(out)]) == 2
