"""Atom selections: which atoms an analysis takes as centres (neighbours always come from every atom).

A selection is given as ``select=`` to every per-atom analysis, to
:func:`gstorder.analyze` (per analysis or for the run) and in the config file:

- a species or a list of them: ``"Ge"``, ``["Ge", "Sb"]``;
- a region in Å: ``{"region": "sphere", "centre": [x, y, z], "radius": r}``,
  ``{"region": "box", "lower": [x0, y0, z0], "upper": [x1, y1, z1]}``,
  ``{"region": "slab", "axis": "z", "lower": z0, "upper": z1}``,
  ``{"region": "cylinder", "axis": "y", "centre": [x, z], "radius": r}``
  (the shapes of :mod:`gstorder.md`; spheres and cylinders by minimum image);
- LAMMPS groups or tags carried by the frames: ``{"group": "heater"}`` (a
  boolean per-atom array of the frame, e.g. ``fixed``/``heater`` read with ``groups=``);
- a boolean mask over the atoms (Python only);
- a dict combining ``species``, ``region`` (with its keys), ``group`` and
  ``invert``: atoms meeting all of them (``invert``: all but those).

Regions are evaluated on every frame, so atoms enter and leave a region as they move.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from .errors import ArgumentTypeError, InvalidArgumentError, MissingDataError
from .frames import Frame, minimum_image, species_numbers

__all__ = ["Selection", "selection", "REGIONS"]

#: Region shapes and their keys (required, optional).
REGIONS = {
    "sphere": (("centre", "radius"), ()),
    "box": (("lower", "upper"), ()),
    "slab": (("axis", "lower", "upper"), ()),
    "cylinder": (("axis", "centre", "radius"), ()),
}


class Selection:
    """Centre atoms chosen by species, region, group and/or mask (all must hold); hashable by identity.

    Build with :func:`selection`; :meth:`mask` gives the atoms of one frame.
    """

    __slots__ = ("species", "region", "group", "array", "invert", "text")

    def __init__(self, *, species=None, region=None, group=None, array=None, invert=False, text=""):
        self.species, self.region, self.group, self.array, self.invert = species, region, group, array, invert
        self.text = text

    def __repr__(self):
        return f"Selection({self.text})"

    def mask(self, frame: Frame) -> np.ndarray:
        """Boolean mask over the atoms of ``frame``."""
        n = len(frame)
        out = np.ones(n, dtype=bool)
        if self.species is not None:
            out &= np.isin(frame.numbers, species_numbers(self.species))
        if self.group is not None:
            if self.group not in frame.arrays:
                raise MissingDataError(f"{frame.describe()} carries no per-atom group {self.group!r} (has "
                                       f"{sorted(frame.arrays) or 'none'}); read LAMMPS dumps with groups='groups.lmp'")
            out &= np.asarray(frame.arrays[self.group], dtype=bool).reshape(n)
        if self.region is not None:
            out &= _region_mask(frame, self.region)
        if self.array is not None:
            if self.array.shape != (n,):
                raise InvalidArgumentError(f"select mask has {self.array.shape[0]} entries, {frame.describe()} {n} atoms")
            out &= self.array
        return ~out if self.invert else out


def selection(value) -> Selection | None:
    """A :class:`Selection` from what a user passed as ``select=`` (see the module docstring); None stays None."""
    if value is None or isinstance(value, Selection):
        return value
    if isinstance(value, str):
        species_numbers([value])
        return Selection(species=(value,), text=value)
    if isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and value and
                                         all(isinstance(v, (bool, np.bool_)) for v in value)):
        array = np.asarray(value)
        if array.dtype != bool or array.ndim != 1:
            raise ArgumentTypeError(f"select as an array must be a 1-D boolean mask over the atoms, got {array.dtype} "
                                    f"of shape {array.shape}")
        return Selection(array=array.copy(), text=f"mask of {int(array.sum())} of {len(array)} atoms")
    if isinstance(value, (list, tuple)):
        if not value or not all(isinstance(v, str) for v in value):
            raise ArgumentTypeError(f"select as a list must name species, e.g. ['Ge', 'Sb'], got {value!r}")
        species_numbers(value)
        return Selection(species=tuple(value), text=" ".join(value))
    if isinstance(value, dict):
        return _from_table(value)
    raise ArgumentTypeError(f"select must be a species, a list of species, a dict (region, group, species) or a boolean "
                            f"mask, got {type(value).__name__} {value!r}")


def _from_table(table: dict) -> Selection:
    table = dict(table)
    species = table.pop("species", None)
    if species is not None:
        species = (species,) if isinstance(species, str) else tuple(species)
        species_numbers(species)
    group = table.pop("group", None)
    if group is not None and not isinstance(group, str):
        raise ArgumentTypeError(f"select group must be the name of a per-atom group such as 'heater', got {group!r}")
    invert = _checks.flag("select.invert", table.pop("invert", False))
    region = None
    if "region" in table:
        region = _region(table)
    elif table:
        raise InvalidArgumentError(f"select: unknown keys {sorted(table)}; use species, group, invert and region "
                                   f"({', '.join(REGIONS)}) with its keys")
    if species is None and group is None and region is None:
        raise InvalidArgumentError("select: an empty table selects nothing; give species, group or region")
    parts = [" ".join(species) if species else "", f"group {group}" if group else "",
             f"{region[0]} {dict(region[1])}" if region else ""]
    return Selection(species=species, group=group, region=region, invert=invert,
                     text=("not " if invert else "") + ", ".join(p for p in parts if p))


def _region(table: dict) -> tuple:
    shape = _checks.choice("select.region", table.pop("region"), tuple(REGIONS))
    required, optional = REGIONS[shape]
    missing = [k for k in required if k not in table]
    extra = [k for k in table if k not in required + optional]
    if missing or extra:
        raise InvalidArgumentError(f"select region {shape!r} takes {', '.join(required)}; "
                                   + (f"missing {missing}" if missing else f"unknown {extra}"))
    params = {}
    for key, value in table.items():
        if key == "axis":
            params[key] = _checks.choice("select.axis", value, ("x", "y", "z"))
        elif key == "radius":
            params[key] = _checks.positive("select.radius", value, unit="Å")
        elif key in ("lower", "upper") and shape == "slab":
            params[key] = _checks.real(f"select.{key}", value, unit="Å", allow_inf=True)
        else:
            size = 2 if shape == "cylinder" else 3
            params[key] = tuple(_checks.finite_array(f"select.{key}", value, shape=(size,), unit="Å").tolist())
    if shape == "slab" and not params["lower"] < params["upper"]:
        raise InvalidArgumentError(f"select slab: lower must be below upper, got {params['lower']} and {params['upper']}")
    if shape == "box" and not all(a < b for a, b in zip(params["lower"], params["upper"])):
        raise InvalidArgumentError(f"select box: lower {params['lower']} must be below upper {params['upper']} on every axis")
    return shape, tuple(sorted(params.items()))


def _region_mask(frame: Frame, region) -> np.ndarray:
    shape, params = region[0], dict(region[1])
    pos = frame.positions
    if shape == "box":
        return ((pos >= params["lower"]) & (pos < params["upper"])).all(axis=1)
    if shape == "slab":
        r = pos[:, "xyz".index(params["axis"])]
        return (r >= params["lower"]) & (r < params["upper"])
    if shape == "sphere":
        d = minimum_image(frame, pos - np.asarray(params["centre"]))
        return np.einsum("ij,ij->i", d, d) < params["radius"] ** 2
    a = "xyz".index(params["axis"])  # cylinder: distance from the axis line through centre (the other two axes)
    others = [k for k in range(3) if k != a]
    point = np.zeros(3)
    point[others] = params["centre"]
    d = minimum_image(frame, pos - point)
    return d[:, others[0]] ** 2 + d[:, others[1]] ** 2 < params["radius"] ** 2
