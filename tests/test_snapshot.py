"""plot.snapshot: the paper's colours in the pixels, through matplotlib and (where installed) OVITO."""

import numpy as np
import pytest

from gstorder import plot, structures
from gstorder._snapshot import ovito_available

RENDERERS = ["matplotlib", pytest.param("ovito", marks=pytest.mark.skipif(
    ovito_available() is not None, reason=f"[ovito-rendering] OVITO rendering unavailable: {ovito_available()}"))]


def _pixels(path):
    from matplotlib.image import imread

    image = imread(path)[..., :3]
    drawn = image.sum(-1) < 2.7  # not white background
    return image, drawn


@pytest.mark.parametrize("renderer", RENDERERS)
def test_kbar_colours_in_the_pixels(tmp_path, renderer):
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=0)
    n = len(atoms)
    assert plot.snapshot(atoms, tmp_path / "crystal.png", color_by="kbar", values=np.ones(n), renderer=renderer) == renderer
    image, drawn = _pixels(tmp_path / "crystal.png")
    yellow = (image[..., 0] > 0.7) & (image[..., 1] > 0.6) & (image[..., 2] < 0.45)
    assert drawn.mean() > 0.05 and (yellow & drawn).sum() > 0.5 * drawn.sum()  # an ideal crystal is yellow
    plot.snapshot(atoms, tmp_path / "glass.png", color_by="kbar", values=np.zeros(n), renderer=renderer)
    image, drawn = _pixels(tmp_path / "glass.png")
    red = (image[..., 0] > 0.35) & (image[..., 1] < 0.3) & (image[..., 2] < 0.3)
    assert (red & drawn).sum() > 0.5 * drawn.sum()  # k̄ = 0 is red
    mask = np.zeros(n, bool)
    mask[::2] = True
    plot.snapshot(atoms, tmp_path / "anti.png", color_by="kbar", values=np.ones(n), antisites=mask, renderer=renderer)
    image, drawn = _pixels(tmp_path / "anti.png")
    assert (image.max(-1) < 0.15).sum() > 0.1 * drawn.sum()  # anti-sites black


@pytest.mark.parametrize("renderer", RENDERERS)
def test_species_colours_views_and_slabs(tmp_path, renderer):
    atoms = structures.rocksalt("GeTe", 3, seed=0)
    plot.snapshot(atoms, tmp_path / "s.png", view="z", slab=("z", 0.0, 4.0), size=(320, 240), renderer=renderer)
    image, drawn = _pixels(tmp_path / "s.png")
    assert image.shape[:2] == (240, 320) and drawn.mean() > 0.02
    green = (image[..., 1] > image[..., 0] + 0.1) & (image[..., 1] > image[..., 2] + 0.1)  # Te, Fig. 1's green
    assert (green & drawn).sum() > 0.2 * drawn.sum()


def test_cluster_colours_in_the_pixels(tmp_path):
    from gstorder import nucleation

    atoms = structures.rocksalt("GeTe", 3, a=6.0)
    ids = np.zeros(len(atoms), dtype=np.int32)
    ids[atoms.positions[:, 0] < 6.0] = 1  # one "nucleus": a third of the box
    result = nucleation.clusters(atoms, crystalline=ids > 0)
    plot.snapshot(atoms, tmp_path / "c.png", color_by="cluster", values=result, view="z", renderer="matplotlib")
    image, drawn = _pixels(tmp_path / "c.png")
    blue = np.array(plot.cluster_colours([1])[0])  # tab20's first colour
    grey = (np.abs(image - 0.85).max(-1) < 0.05) & drawn
    coloured = (np.abs(image - blue).max(-1) < 0.12) & drawn
    assert coloured.sum() > 0.1 * drawn.sum() and grey.sum() > 0.3 * drawn.sum()
    with pytest.raises(ValueError, match="needs values"):
        plot.snapshot(atoms, tmp_path / "x.png", color_by="cluster")
    with pytest.raises(ValueError, match="integer nucleus id"):
        plot.snapshot(atoms, tmp_path / "x.png", color_by="cluster", values=np.ones(len(atoms)))


def test_bad_arguments_and_nothing_half_written(tmp_path):
    atoms = structures.rocksalt("GeTe", 2, seed=0)
    for kwargs, message in [(dict(view="top"), "view='top'"), (dict(renderer="povray"), "renderer='povray'"),
                            (dict(size=(0, 10)), r"size\[0\] must be"), (dict(radius=-1.0), "radius must be"),
                            (dict(color_by="kbar"), "needs values="), (dict(color_by="kbar", values=[1.0]), "one number per atom"),
                            (dict(slab=("y", 500.0, 600.0)), "holds no atoms"), (dict(slab=("w", 0, 1)), "slab must be"),
                            (dict(antisites=[True]), "boolean mask")]:
        with pytest.raises(ValueError, match=message):
            plot.snapshot(atoms, tmp_path / "x.png", **{"renderer": "matplotlib", **kwargs})
    assert not list(tmp_path.iterdir())


def test_movie_of_a_trajectory_is_an_animated_gif(tmp_path):
    from PIL import Image

    frames = [structures.rocksalt("GeTe", 2, seed=s) for s in range(3)]
    values = np.array([np.full(len(frames[0]), v) for v in (0.0, 0.5, 1.0)])
    assert plot.movie(frames, tmp_path / "m.gif", color_by="kbar", values=values, renderer="matplotlib",
                      size=(160, 120), show_progress=False) == "matplotlib"
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (160, 120)
        gif.seek(2)
        last = np.asarray(gif.convert("RGB")).astype(int)
    yellow = (last[..., 0] > 180) & (last[..., 1] > 150) & (last[..., 2] < 120)
    assert yellow.sum() > 100  # the last frame, k̄ = 1, is yellow
    with pytest.raises(ValueError, match="animated GIF"):
        plot.movie(frames, tmp_path / "m.mp4")
    with pytest.raises(ValueError, match="values hold 1 frames"):
        plot.movie(frames, tmp_path / "n.gif", color_by="kbar", values=values[:1], renderer="matplotlib")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gif"]


def test_auto_renderer_probes_ovito_once_quietly_and_says_once_when_it_falls_back(tmp_path):
    """In a fresh process: OVITO's Vulkan errors (four lines per call on a headless machine) never reach stderr, and
    a fallback from an installed OVITO is announced once, however many snapshots follow."""
    import os
    import subprocess
    import sys

    code = ("import warnings, sys\nwarnings.simplefilter('always')\nfrom gstorder import plot, structures\n"
            "atoms = structures.rocksalt('GeTe', 1, a=6.0)\n"
            f"used = [plot.snapshot(atoms, {str(tmp_path)!r} + f'/s{{k}}.png', size=(64, 48)) for k in range(3)]\n"
            "from gstorder._snapshot import ovito_available\nprint(used[0], len(set(used)), ovito_available() or 'ok')\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    no_driver = {"VK_ICD_FILENAMES": str(tmp_path / "none.json"), "VK_DRIVER_FILES": str(tmp_path / "none.json")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": root, **no_driver})  # Vulkan finds no driver, as headless
    assert out.returncode == 0, out.stderr[-2000:]
    used, kinds, why = out.stdout.strip().split(" ", 2)
    others = [line for line in out.stderr.splitlines() if "snapshots are drawn with matplotlib" not in line]
    assert kinds == "1" and not [line for line in others if "vulkan" in line.lower()], out.stderr
    notices = out.stderr.count("snapshots are drawn with matplotlib: OVITO is installed but cannot render")
    if why == "ok":
        assert used == "ovito" and notices == 0
    else:
        assert used == "matplotlib" and notices == (1 if why.startswith("OVITO is installed") else 0), out.stderr


def test_the_fallback_notice_names_the_reason_and_the_fix(tmp_path, monkeypatch):
    import warnings

    from gstorder import _snapshot
    from gstorder.errors import GstorderWarning

    why = "OVITO is installed but cannot render (RuntimeError: no Vulkan); apt-get install libvulkan1 mesa-vulkan-drivers"
    monkeypatch.setattr(_snapshot, "ovito_available", lambda: why)
    monkeypatch.setattr(_snapshot, "_announced", False)
    atoms = structures.rocksalt("GeTe", 1, a=6.0)
    with pytest.warns(GstorderWarning, match=r"snapshots are drawn with matplotlib: OVITO is installed but cannot render "
                      r"\(RuntimeError: no Vulkan\); apt-get install libvulkan1 .*or pass renderer='matplotlib'"):
        assert plot.snapshot(atoms, tmp_path / "a.png", size=(64, 48)) == "matplotlib"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        plot.snapshot(atoms, tmp_path / "b.png", size=(64, 48))
        plot.snapshot(atoms, tmp_path / "c.png", size=(64, 48), renderer="matplotlib")
    assert not seen
    monkeypatch.setattr(_snapshot, "ovito_available", lambda: "OVITO cannot be imported (ImportError: no ovito); pip ...")
    monkeypatch.setattr(_snapshot, "_announced", False)
    with warnings.catch_warnings(record=True) as seen:  # not installed: the documented default, in silence
        warnings.simplefilter("always")
        assert plot.snapshot(atoms, tmp_path / "d.png", size=(64, 48)) == "matplotlib"
    assert not seen
