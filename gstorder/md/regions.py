"""Atom selections for heat pulses and tags: :func:`half_cylinder` (the mushroom cell's heater), :func:`slab`
and :func:`sphere`.
"""

from __future__ import annotations

import numpy as np

from .._checks import choice, finite_array, positive, real
from ..errors import InvalidArgumentError
from ..frames import as_frame, minimum_image, require_finite_positions
from .runner import _check_atoms


def half_cylinder(atoms, *, radius: float, centre: float | None = None, axis: str = "y", height: str = "z",
                  base: float | None = None) -> np.ndarray:
    """Atoms within ``radius`` Å of a line along ``axis`` at height ``base``, at ``centre`` Å along the third axis.

    The mushroom cell's heater: a half-cylinder at the bottom centre of the
    x–z plane. ``base`` defaults to the lowest atom (the bottom plane, a
    quarter lattice constant above z = 0 in :func:`~gstorder.structures.mushroom_cell`).
    """
    _check_atoms(atoms)
    radius = positive("radius", radius, unit="Å")
    a, h = "xyz".index(choice("axis", axis, "xyz")), "xyz".index(choice("height", height, "xyz"))
    if a == h:
        raise InvalidArgumentError(f"axis and height must differ, both are {axis!r}")
    w = 3 - a - h
    pos = atoms.get_positions()
    c = atoms.cell[w, w] / 2 if centre is None else real("centre", centre, unit="Å")
    b = pos[:, h].min() if base is None else real("base", base, unit="Å")
    return np.hypot(pos[:, w] - c, pos[:, h] - b) < radius


def slab(atoms, *, axis: str = "z", lower: float, upper: float) -> np.ndarray:
    """Atoms with ``lower <= r_axis < upper`` (Å); ``lower`` < ``upper``, either may be infinite."""
    _check_atoms(atoms)
    axis = choice("axis", axis, "xyz")
    lower, upper = real("lower", lower, unit="Å", allow_inf=True), real("upper", upper, unit="Å", allow_inf=True)
    if not lower < upper:
        raise InvalidArgumentError(f"lower must be below upper, got lower={lower}, upper={upper}")
    r = atoms.get_positions()[:, "xyz".index(axis)]
    return (r >= lower) & (r < upper)


def sphere(atoms, *, centre, radius: float) -> np.ndarray:
    """Atoms within ``radius`` Å of ``centre``, by minimum-image distance.

    Parameters
    ----------
    atoms : ase.Atoms or Frame
        Periodic (any cell, tilted included), a slab or a cluster; a zero
        cell vector along a non-periodic axis is fine.
    centre : array_like, shape (3,)
        Centre of the sphere in Å.
    radius : float
        Radius in Å, > 0.

    Returns
    -------
    ndarray of bool, shape (n_atoms,)

    Raises
    ------
    InvalidArgumentError
        For a non-finite or misshapen ``centre``, a non-positive or
        non-finite ``radius``, or an atom with a non-finite position (named).
    ArgumentTypeError
        For arguments of the wrong type.
    SingularCellError
        For (nearly) linearly dependent periodic cell vectors.
    """
    centre = finite_array("centre", centre, shape=(3,), unit="Å")
    radius = positive("radius", radius, unit="Å")
    frame = as_frame(atoms)
    require_finite_positions(frame)
    d = minimum_image(frame, frame.positions - centre)
    return np.einsum("ij,ij->i", d, d) < radius * radius
