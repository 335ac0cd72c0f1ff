"""Atom snapshots as PNG: OVITO's renderer when it is installed, matplotlib otherwise (see :func:`gstorder.plot.snapshot`)."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import warnings

import numpy as np

from ._atomic import atomic_write
from .errors import GstorderWarning

#: Viewing directions: the camera looks along these (``"perspective"`` from the (1, 1, 1) corner).
VIEWS = {"x": (-1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, -1.0), "perspective": (-1.0, -1.0, -1.0)}
RENDERERS = ("auto", "ovito", "matplotlib")


@functools.lru_cache(maxsize=1)
def ovito_available() -> str | None:
    """``None`` if OVITO can render here, else why not (a sentence naming the fix); tried once per process.

    The probe runs with the process's standard error silenced at the file
    descriptor: OVITO's Qt and Vulkan layers print several lines there
    ("Failed to load vulkan", ...) on a headless machine without Vulkan
    before the failure reaches Python, and the reason is returned instead.
    """
    fix = ("pip install 'gstorder[ovito]' and, headless on Debian/Ubuntu, apt-get install libvulkan1 "
           "mesa-vulkan-drivers")
    with _quiet_stderr():
        try:
            import ovito.vis  # noqa: F401
        except Exception as exc:  # ImportError, or a missing system library (libGL)
            return f"OVITO cannot be imported ({type(exc).__name__}: {_first_line(exc)}); {fix}"
        try:  # a one-atom render: the OpenGL renderer needs system libraries the import does not
            with tempfile.TemporaryFile() as fh:
                _ovito(fh, np.zeros((1, 3)), np.eye(3) * 3.0, np.ones((1, 3)), np.ones(1), "z", (32, 32))
        except Exception as exc:
            return f"OVITO is installed but cannot render ({type(exc).__name__}: {_first_line(exc)}); {fix}"
    return None


def _first_line(exc) -> str:
    """The first line of an exception's message (OVITO's Vulkan error runs to a dozen lines of advice)."""
    return str(exc).strip().split("\n", 1)[0]


@contextlib.contextmanager
def _quiet_stderr():
    """Send what C/C++ libraries write to file descriptor 2 to nowhere for the duration (Python's own errors raise)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 to silence (an embedded interpreter)
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: Whether the fallback from OVITO to matplotlib was announced in this process.
_announced = False


def auto_renderer() -> str:
    """The renderer ``renderer="auto"`` uses here: ``"ovito"`` if it can render, else ``"matplotlib"``.

    When OVITO is installed but cannot render (the usual case: a headless
    machine without Vulkan), one :class:`~gstorder.errors.GstorderWarning` per
    process says so, with the reason and the fix; a missing OVITO is the
    documented default and passes in silence.
    """
    global _announced
    why = ovito_available()
    if why is None:
        return "ovito"
    if why.startswith("OVITO is installed") and not _announced:
        _announced = True
        warnings.warn(f"snapshots are drawn with matplotlib: {why} (or pass renderer='matplotlib')", GstorderWarning,
                      stacklevel=4)
    return "matplotlib"


def render(path, positions, cell, colours, radii, *, view: str, size, renderer: str) -> str:
    """Render atoms (positions Å, RGB colours in [0, 1], radii Å) to a PNG at ``path``; the renderer used."""
    if renderer == "auto":
        renderer = auto_renderer()
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
