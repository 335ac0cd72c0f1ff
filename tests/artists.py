"""What a matplotlib Axes holds, as plain arrays, so plot tests can compare it with the result it was drawn from."""

import numpy as np


def lines(ax) -> dict:
    """Label -> (x, y) of every line on ``ax`` (labels must be unique)."""
    out = {}
    for line in ax.lines:
        label = line.get_label()
        assert label not in out, f"two lines labelled {label!r}"
        out[label] = (np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float))
    return out


def mesh(ax) -> np.ndarray:
    """The colour values of the one pcolormesh on ``ax``, as drawn (rows along y)."""
    from matplotlib.collections import QuadMesh

    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1, f"{len(meshes)} meshes on the axes"
    return np.ma.filled(np.ma.asarray(meshes[0].get_array(), dtype=float), np.nan)


def bars(ax) -> list:
    """Heights of each bar container on ``ax``, in the order drawn."""
    from matplotlib.container import BarContainer

    return [np.array([b.get_height() for b in c]) for c in ax.containers if isinstance(c, BarContainer)]


def assert_line(ax, label, x, y, **tolerance) -> None:
    """The line labelled ``label`` runs through (x, y)."""
    drawn = lines(ax)
    assert label in drawn, f"no line {label!r} among {sorted(drawn)}"
    np.testing.assert_allclose(drawn[label][0], np.asarray(x, dtype=float), **tolerance)
    np.testing.assert_allclose(drawn[label][1], np.asarray(y, dtype=float), **tolerance)


def step_histogram(patch) -> tuple:
    """(edges, heights) of a ``histtype="step"`` histogram's outline."""
    xy = patch.get_xy()
    return xy[0::2, 0], xy[1:-1:2, 1]
