"""Dynamics over a trajectory: unwrapped coordinates, mean square displacement, mass density (Fig. 3b)."""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np
import xarray as xr

from . import _checks
from ._labels import attrs_of, frame_coords
from .frames import inverse_cell
from .pipeline import Analysis, Part, analysis_frames
from .registry import Figure, Parameter, Requires, public, register
from .species import frame_species
from .errors import GstorderWarning, InconsistentFramesError, MissingDataError
from .frames import Frame
from ._figures import _group, _new_figure, _number, _timed, species_time_figure
from . import plot

__all__ = ["unwrapped_positions", "Unwrapper", "msd", "density", "MSD", "Density"]


class Unwrapper:
    """Unwrapped positions along a trajectory, one frame after the other.

    LAMMPS image flags (``frame.arrays["image"]``) are used when present;
    otherwise the image counts are found from the fractional coordinates'
    jumps since the previous frame (so variable and triclinic cells work),
    which is exact as long as no atom moves more than half a cell between
    two frames. Atoms may cross the box any number of times. Either way the
    unwrapped position is the position plus whole cell vectors of the frame's
    own cell, so a box that grows or shrinks (NPT) moves the atoms with it.
    """

    def __init__(self):
        self.previous, self.unwrapped, self.images = None, None, None

    def add(self, frame: Frame) -> np.ndarray:
        """Unwrapped positions (Å) of ``frame``, the next frame of the trajectory."""
        previous = self.previous
        if previous is not None and len(frame) != len(previous):
            raise InconsistentFramesError(f"{frame.describe()} has {len(frame)} atoms, the first frame {len(previous)}; "
                                          "unwrapping needs the same atoms")
        if "image" in frame.arrays and frame.pbc.any():
            self.images = np.asarray(frame.arrays["image"], dtype=float).reshape(len(frame), 3)
            self.unwrapped = frame.positions + self.images @ frame.cell
        elif previous is None or not frame.pbc.any():
            self.unwrapped, self.images = frame.positions.copy(), np.zeros((len(frame), 3))
        else:
            step = frame.positions @ inverse_cell(frame) - previous.positions @ inverse_cell(previous)
            self.images[:, frame.pbc] -= np.round(step[:, frame.pbc])
            self.unwrapped = frame.positions + self.images @ np.linalg.inv(inverse_cell(frame))
        self.previous = frame
        return self.unwrapped


def unwrapped_positions(frames, *, index=None, show_progress=None, desc="unwrap") -> Iterator[tuple[Frame, np.ndarray]]:
    """Yield ``(frame, unwrapped positions in Å)`` along a trajectory (see :class:`Unwrapper`)."""
    unwrap = Unwrapper()
    for frame in analysis_frames(frames, index, desc=desc, show_progress=show_progress):
        yield frame, unwrap.add(frame)


class MSD(Analysis):
    """:func:`msd` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "msd"
    order = 80
    summary = "mean square displacement per species"
    sequential = True
    same_atoms = True
    selectable = True
    parameters = (
        Parameter("per_species", True, "also report each species (msd_species)", check=_checks.flag, kind="bool"),
        Parameter("remove_drift", False, "subtract the centre-of-mass displacement of each frame first",
                  check=_checks.flag, kind="bool"),
    )
    requires = Requires(several_frames=True)

    def setup(self, frame):
        self.unwrap, self.origin, self.warned = Unwrapper(), None, False
        self.species, self.types = frame_species(frame)
        self.masses = frame.atom_masses
        self.chosen = self.centre_mask(frame)

    def end_frame(self, state, frame) -> Part:
        pos = self.unwrap.add(frame)
        if self.origin is None:
            self.origin = pos.copy()
        d = pos - self.origin
        if self.remove_drift:
            d -= (self.masses[:, None] * d).sum(axis=0) / self.masses.sum()
        sq = (d**2).sum(axis=1)
        lost = ~np.isfinite(sq) & self.chosen
        if lost.any() and not self.warned:  # once: an atom's unwrapped path stays NaN after its first NaN position
            self.warned = True
            atom, n = int(np.argmax(lost)), int(lost.sum())
            warnings.warn(f"msd: {frame.describe()}: atom {atom} has a non-finite position ({n} atom{'s' * (n != 1)} in "
                          f"all); the mean square displacements that include {'it' if n == 1 else 'them'} are NaN from "
                          "this frame on", GstorderWarning, stacklevel=2)
        with np.errstate(invalid="ignore"):
            return Part([sq[self.chosen].mean()] + [sq[self.chosen & (self.types == k)].mean() if
                                                    (self.chosen & (self.types == k)).any() else np.nan
                                                    for k in range(len(self.species))])

    def result(self, parts, times) -> xr.Dataset:
        rows = np.array([p.data for p in parts])
        ds = xr.Dataset({"msd": ("frame", rows[:, 0], {"long_name": "mean square displacement", "units": "Å²"})},
                        coords=frame_coords(times),
                        attrs=attrs_of(analysis="msd", remove_drift=self.remove_drift, origin="first frame"))
        if self.per_species:
            ds["msd_species"] = xr.DataArray(rows[:, 1:], dims=("frame", "species"), coords={"species": self.species},
                                             attrs={"long_name": "mean square displacement", "units": "Å²"})
        return ds


class Density(Analysis):
    """:func:`density` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "density"
    order = 90
    summary = "mass density per frame"
    rows_section = "run"
    requires = Requires(periodic=True)

    def end_frame(self, state, frame) -> Part:
        if not frame.pbc.all():
            raise MissingDataError(f"{frame.describe()} is not periodic in all directions; its density needs a cell volume")
        return Part((frame.mass_density, len(frame) / frame.volume, frame.volume))

    def result(self, parts, times) -> xr.Dataset:
        rows = np.array([p.data for p in parts])
        return xr.Dataset(
            {"density": ("frame", rows[:, 0], {"long_name": "mass density", "units": "g/cm³"}),
             "number_density": ("frame", rows[:, 1], {"long_name": "number density", "units": "1/Å³"}),
             "volume": ("frame", rows[:, 2], {"long_name": "cell volume", "units": "Å³"})},
            coords=frame_coords(times), attrs={"analysis": "density"},
        )


register(MSD)
register(Density)


@public(MSD)
def msd(frames, **options) -> xr.Dataset:
    """Mean square displacement from the first frame, from unwrapped coordinates.

    A trajectory with the same atoms in every frame (the same count and the
    same species, atom by atom; :class:`~gstorder.errors.InconsistentFramesError`
    otherwise). With ``select=`` the mean is over the selected atoms of the
    first frame. An atom with a non-finite position makes the means it
    enters NaN from that frame on, with a :class:`~gstorder.errors.GstorderWarning`.

    Returns
    -------
    xarray.Dataset
        ``msd`` (frame) and ``msd_species`` (frame, species) in Å², with
        ``time`` (ps) on ``frame``.

    Examples
    --------
    >>> import numpy as np
    >>> from ase import Atoms
    >>> from gstorder import msd
    >>> frames = [Atoms("Ge", positions=[[0.5 * t, 0, 0]], cell=[3, 3, 3], pbc=True) for t in range(4)]
    >>> msd(frames).msd.values.tolist()
    [0.0, 0.25, 1.0, 2.25]
    """
    return MSD.call(frames, options)


@public(Density)
def density(frames, **options) -> xr.Dataset:
    """Mass density (g/cm³), number density (Å⁻³) and volume (Å³) per frame, e.g. along an NPT run.

    Raises
    ------
    MissingDataError
        For a frame that is not periodic in all three directions.
    SingularCellError
        For a frame whose cell vectors are (nearly) linearly dependent.
    InvalidArgumentError
        For a frame with a non-finite cell entry (named), or masses that are
        not positive and finite (refused when the frame is made).

    Examples
    --------
    >>> from gstorder import density, structures
    >>> round(float(density(structures.rocksalt("GeTe", 1, a=6.0)).density[0]), 3)
    6.157
    """
    return Density.call(frames, options)


# --------------------------------------------------------------------------- figures and key numbers


def _msd_rows(tree):
    ds = _group(tree, "msd")
    if ds is None or not np.isfinite(ds.msd.values[-1]):
        return []
    when = _number(ds.time.values[-1])
    text = f"{float(ds.msd.values[-1]):.3f} Å²" + (f" at {when:g} ps" if np.isfinite(when) else " at the last frame")
    if "msd_species" in ds:
        last = ds.msd_species.isel(frame=-1)
        text += " (" + ", ".join(f"{s} {float(v):.3f}" for s, v in zip(last.species.values, last.values)) + ")"
    return [("MSD", text)]


def _msd_figure(ds):
    return species_time_figure(ds, "msd", "msd_species", plot.msd)[0]


def _density_rows(tree):
    ds = _group(tree, "density")
    if ds is None or not np.isfinite(ds.density.values).any():
        return []
    d = ds.density.values[np.isfinite(ds.density.values)]
    text = f"{d.mean():.3f} g/cm³"
    if np.ptp(d) > 0:
        text += f" (range {d.min():.3f}-{d.max():.3f})"
    return [("density", text)]


def _density_figure(ds):
    if ds.sizes["frame"] < 2 or not np.isfinite(ds.density.values).any():
        return None
    ds, xlabel = _timed(ds)
    fig, ax = _new_figure()
    plot.density(ds, ax=ax)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel(xlabel)
    return fig


MSD.figures = (Figure("msd", _msd_figure,
                      "Mean square displacement from the first frame, all atoms and per species (cf. paper Fig. 3b, "
                      "right)."),)
Density.figures = (Figure("density", _density_figure,
                          "Mass density per frame (cf. paper Fig. 3b, middle)."),)
MSD.rows = staticmethod(_msd_rows)
Density.rows = staticmethod(_density_rows)
