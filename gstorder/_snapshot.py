"""Atom snapshots as PNG: OVITO's renderer when it is installed, matplotlib otherwise (see :func:`gstorder.plot.snapshot`)."""

from __future__ import annotations

import functools
import os
import tempfile

import numpy as np

from ._atomic import atomic_write

#: Viewing directions: the camera looks along these (``"perspective"`` from the (1, 1, 1) corner).
VIEWS = {"x": (-1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, -1.0), "perspective": (-1.0, -1.0, -1.0)}
RENDERERS = ("auto", "ovito", "matplotlib")


@functools.lru_cache(maxsize=1)
def ovito_available() -> str | None:
    """``None`` if OVITO can render here, else why not (a sentence naming the fix); tried once per process."""
    fix = ("pip install 'gstorder[ovito]' and, headless on Debian/Ubuntu, apt-get install libvulkan1 "
           "mesa-vulkan-drivers")
    try:
        import ovito.vis  # noqa: F401
    except Exception as exc:  # ImportError, or a missing system library (libGL)
        return f"OVITO cannot be imported ({type(exc).__name__}: {exc}); {fix}"
    try:  # a one-atom render: the OpenGL renderer needs system libraries the import does not
        with tempfile.TemporaryFile() as fh:
            _ovito(fh, np.zeros((1, 3)), np.eye(3) * 3.0, np.ones((1, 3)), np.ones(1), "z", (32, 32))
    except Exception as exc:
        return f"OVITO cannot render ({type(exc).__name__}: {exc}); {fix}"
    return None


def render(path, positions, cell, colours, radii, *, view: str, size, renderer: str) -> str:
    """Render atoms (positions Å, RGB colours in [0, 1], radii Å) to a PNG at ``path``; the renderer used."""
    if renderer == "auto":
        renderer = "ovito" if ovito_available() is None else "matplotlib"
    if renderer == "ovito":
        why = ovito_available()
        if why is not None:
            raise ImportError(why)
        atomic_write(path, lambda fh: _ovito(fh, positions, cell, colours, radii, view, size))
    else:
        atomic_write(path, lambda fh: _matplotlib(fh, positions, cell, colours, radii, view, size))
    return renderer


def _ovito(fh, positions, cell, colours, radii, view, size):
    from ovito.data import DataCollection
    from ovito.pipeline import Pipeline, StaticSource
    from ovito.vis import OpenGLRenderer, Viewport

    data = DataCollection()
    data.create_cell(np.asarray(cell, float), pbc=(True, True, True))
    particles = data.create_particles(count=len(positions))
    particles.create_property("Position", data=np.asarray(positions, float))
    particles.create_property("Color", data=np.asarray(colours, float))
    particles.create_property("Radius", data=np.asarray(radii, float))
    pipeline = Pipeline(source=StaticSource(data=data))
    pipeline.add_to_scene()
    try:
        kind = Viewport.Type.Perspective if view == "perspective" else Viewport.Type.Ortho
        viewport = Viewport(type=kind, camera_dir=VIEWS[view])
        viewport.zoom_all(size=tuple(size))
        with tempfile.TemporaryDirectory() as folder:  # OVITO writes by file name
            png = os.path.join(folder, "snapshot.png")
            viewport.render_image(size=tuple(size), filename=png, background=(1.0, 1.0, 1.0), renderer=OpenGLRenderer())
            with open(png, "rb") as src:
                fh.write(src.read())
    finally:
        pipeline.remove_from_scene()


def _matplotlib(fh, positions, cell, colours, radii, view, size):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    direction = np.asarray(VIEWS[view], float)
    direction /= np.linalg.norm(direction)
    up = np.array([0.0, 0.0, 1.0]) if abs(direction[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    right = np.cross(direction, up)
    right /= np.linalg.norm(right)
    up = np.cross(right, direction)
    u, v, depth = positions @ right, positions @ up, positions @ direction
    order = np.argsort(-depth)  # far atoms first, near ones drawn over them
    dpi = 100
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    span = max(np.ptp(u), np.ptp(v), 1.0)
    points_per_angstrom = 0.9 * min(size) / span * 72 / dpi
    ax.scatter(u[order], v[order], c=colours[order], s=(2 * radii[order] * points_per_angstrom) ** 2, linewidths=0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fig.savefig(fh, format="png", dpi=dpi, facecolor="white")
