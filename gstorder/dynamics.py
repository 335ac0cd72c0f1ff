"""Dynamics over a trajectory: unwrapped coordinates, mean square displacement, mass density (Fig. 3b)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import xarray as xr

from ._common import analysis_frames, attrs_of, frame_coords, frame_species, inverse_cell
from .errors import MissingDataError
from .frames import Frame

__all__ = ["unwrapped_positions", "msd", "density"]


def unwrapped_positions(frames, *, index=None, show_progress=None, desc="unwrap") -> Iterator[tuple[Frame, np.ndarray]]:
    """Yield ``(frame, unwrapped positions in Å)`` along a trajectory.

    LAMMPS image flags (``frame.arrays["image"]``) are used when present;
    otherwise each step is the minimum-image displacement since the previous
    frame (in fractional coordinates, so variable and triclinic cells work),
    which is exact as long as no atom moves more than half a cell between
    two frames. Atoms may cross the box any number of times.
    """
    previous, unwrapped, n = None, None, None
    for frame in analysis_frames(frames, index, desc=desc, show_progress=show_progress):
        if n is not None and len(frame) != n:
            raise ValueError(f"{frame.describe()} has {len(frame)} atoms, the first frame {n}; unwrapping needs the same atoms")
        n = len(frame)
        if "image" in frame.arrays and frame.pbc.any():
            unwrapped = frame.positions + np.asarray(frame.arrays["image"], dtype=float) @ frame.cell
        elif previous is None or not frame.pbc.any():
            unwrapped = frame.positions.copy()
        else:
            step = frame.positions @ inverse_cell(frame) - previous.positions @ inverse_cell(previous)
            step[:, frame.pbc] -= np.round(step[:, frame.pbc])
            unwrapped = unwrapped + step @ np.linalg.inv(inverse_cell(frame))
        previous = frame
        yield frame, unwrapped


def msd(frames, *, per_species: bool = True, remove_drift: bool = False, index=None, show_progress=None) -> xr.Dataset:
    """Mean square displacement from the first frame, from unwrapped coordinates.

    Parameters
    ----------
    frames : path, Frame, ase.Atoms, Trajectory or iterable of them
        A trajectory with the same atoms in every frame.
    per_species : bool
        Also report each species (``msd_species``).
    remove_drift : bool
        Subtract the centre-of-mass displacement of each frame first.

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
    origin, species, types, rows, times = None, None, None, [], []
    for frame, pos in unwrapped_positions(frames, index=index, show_progress=show_progress, desc="msd"):
        if origin is None:
            origin = pos.copy()
            species, types = frame_species(frame)
            masses = frame.atom_masses
        d = pos - origin
        if remove_drift:
            d -= (masses[:, None] * d).sum(axis=0) / masses.sum()
        sq = (d**2).sum(axis=1)
        rows.append([sq.mean()] + [sq[types == k].mean() for k in range(len(species))])
        times.append(np.nan if frame.time is None else frame.time)
    rows = np.array(rows)
    ds = xr.Dataset({"msd": ("frame", rows[:, 0], {"long_name": "mean square displacement", "units": "Å²"})},
                    coords=frame_coords(np.array(times)),
                    attrs=attrs_of(analysis="msd", remove_drift=remove_drift, origin="first frame"))
    if per_species:
        ds["msd_species"] = xr.DataArray(rows[:, 1:], dims=("frame", "species"), coords={"species": species},
                                         attrs={"long_name": "mean square displacement", "units": "Å²"})
    return ds


def density(frames, *, index=None, show_progress=None) -> xr.Dataset:
    """Mass density (g/cm³), number density (Å⁻³) and volume (Å³) per frame, e.g. along an NPT run.

    Raises
    ------
    MissingDataError
        For a frame that is not periodic in all three directions.

    Examples
    --------
    >>> from gstorder import density, structures
    >>> round(float(density(structures.rocksalt("GeTe", 1, a=6.0)).density[0]), 3)
    6.157
    """
    rows, times = [], []
    for frame in analysis_frames(frames, index, desc="density", show_progress=show_progress):
        if not frame.pbc.all():
            raise MissingDataError(f"{frame.describe()} is not periodic in all directions; its density needs a cell volume")
        rows.append((frame.mass_density, len(frame) / frame.volume, frame.volume))
        times.append(np.nan if frame.time is None else frame.time)
    rows = np.array(rows)
    return xr.Dataset(
        {"density": ("frame", rows[:, 0], {"long_name": "mass density", "units": "g/cm³"}),
         "number_density": ("frame", rows[:, 1], {"long_name": "number density", "units": "1/Å³"}),
         "volume": ("frame", rows[:, 2], {"long_name": "cell volume", "units": "Å³"})},
        coords=frame_coords(np.array(times)), attrs={"analysis": "density"},
    )
