"""Plumbing shared by the analyses: frames with progress, species tables, thread tasks, labels."""

from __future__ import annotations

import os
from typing import Any, Iterator

import numba
import numpy as np
import xarray as xr
from ase.data import chemical_symbols

from ._progress import progress
from .errors import EmptyFrameError, UnknownSpeciesError
from .frames import Frame, iter_frames, species_numbers
from .parallel import use_parallel

#: Atoms per block of centres: bounds the pairs held at once on device-scale frames.
DEFAULT_BLOCK_SIZE = 65536


def analysis_frames(frames: Any, index=None, *, desc: str, show_progress=None, allow_empty=False) -> Iterator[Frame]:
    """Frames of any accepted input, with a progress bar, refusing empty frames.

    Raises
    ------
    EmptyFrameError
        For a frame without atoms (unless ``allow_empty``) or when no frame is selected.
    """
    total = None
    if isinstance(frames, (str, os.PathLike)):
        from .io import Trajectory

        frames = Trajectory(frames)
    if hasattr(frames, "__len__") and index is None:
        total = len(frames)
    count = 0
    for frame in progress(iter_frames(frames, index=index), total=total, desc=desc, show=show_progress):
        if len(frame) == 0 and not allow_empty:
            raise EmptyFrameError(f"{frame.describe()} has no atoms; {desc} needs at least one")
        count += 1
        yield frame
    if count == 0:
        raise EmptyFrameError(f"no frames selected for {desc} (index={index!r})")


def frame_species(frame: Frame, species=None) -> tuple[list[str], np.ndarray]:
    """Species labels in atomic-number order and each atom's index into them.

    ``species`` fixes the list (e.g. from the first frame of a trajectory);
    an atom of another species raises :class:`UnknownSpeciesError`.
    """
    if species is None:
        zs = np.flatnonzero(np.bincount(frame.numbers))  # O(N), unlike np.unique
    else:
        zs = species_numbers(species)
        absent = np.setdiff1d(np.flatnonzero(np.bincount(frame.numbers)), zs)
        if len(absent):
            raise UnknownSpeciesError(
                f"{frame.describe()} contains {[chemical_symbols[z] for z in absent]}, not among the species "
                f"{[chemical_symbols[z] for z in zs]} of the first frame"
            )
    lookup = np.zeros(max(int(zs.max(initial=0)), int(frame.numbers.max(initial=0))) + 1, dtype=np.int64)
    lookup[zs] = np.arange(len(zs))
    types = lookup[frame.numbers]
    return [chemical_symbols[z] for z in zs], types


def species_mask(frame: Frame, species, *, what: str) -> np.ndarray:
    """Boolean mask of the atoms of ``species`` (a symbol or list; ``None`` = all)."""
    if species is None:
        return np.ones(len(frame), dtype=bool)
    zs = species_numbers([species] if isinstance(species, (str, int, np.integer)) else species)
    present = set(np.unique(frame.numbers).tolist())
    missing = [chemical_symbols[z] for z in zs if z not in present]
    if len(missing) == len(zs):
        raise UnknownSpeciesError(f"{what}={species!r}: no such atoms in {frame.describe()} ({frame.formula})")
    return np.isin(frame.numbers, zs)


#: Named species groups: cations and anions of the GST family.
GROUPS = {"cations": ("Ge", "Sb"), "anions": ("Te",)}


def species_groups(groups) -> dict[str, tuple]:
    """Validated species groups, group name -> species.

    ``groups`` holds names from :data:`GROUPS` (``"cations"``,
    ``"anions"``), single species (a group of one), sequences of species
    (named by joining them with ``+``), or is a dict name -> species.

    Raises
    ------
    UnknownSpeciesError
        For a symbol that is not an element.
    ValueError
        For a species in two groups or no group at all.
    """
    if isinstance(groups, dict):
        table = {str(g): (v,) if isinstance(v, str) else tuple(v) for g, v in groups.items()}
    else:
        table = {}
        for g in groups:
            if isinstance(g, str):
                table[g] = GROUPS.get(g, (g,))
            else:
                table["+".join(g)] = tuple(g)
    seen = {}
    for g, members in table.items():
        species_numbers(members)  # unknown symbols raise UnknownSpeciesError
        for s in members:
            if s in seen:
                raise ValueError(f"species {s!r} is in two groups ({seen[s]!r} and {g!r})")
            seen[s] = g
    if not table:
        raise ValueError("groups must name at least one group, e.g. ('cations', 'anions')")
    return table


def axis_coordinates(frame: Frame, axis: int, *, what: str) -> tuple[np.ndarray, float, float, bool]:
    """Cartesian coordinates along ``axis`` (0, 1, 2), wrapped into one period where the frame is periodic along it.

    The axis is periodic when exactly one cell vector has a component along
    it and that vector is periodic: its component is the period (an
    orthogonal box, or z in a LAMMPS lower-triangular cell). Otherwise the
    coordinates are taken as they are, over the atoms' extent.

    Returns
    -------
    coords : ndarray (n_atoms,)
    lower, length : float
        The binned range, Å.
    periodic : bool

    Raises
    ------
    ValueError
        When several periodic cell vectors have components along the axis
        (binning along it would mix images).
    """
    if not len(frame):
        raise EmptyFrameError(f"{frame.describe()} has no atoms")
    cell = frame.cell
    scale = max(float(np.abs(cell).max()), 1.0)
    along = np.flatnonzero(np.abs(cell[:, axis]) > 1e-9 * scale)
    coords = frame.positions[:, axis]
    if len(along) == 1 and frame.pbc[along[0]]:
        period = float(abs(cell[along[0], axis]))
        return coords - period * np.floor(coords / period), 0.0, period, True
    if frame.pbc[along].any():
        raise ValueError(
            f"{what}: cell vectors {along.tolist()} all have components along {'xyz'[axis]} and some are periodic, so "
            f"{'xyz'[axis]} has no single period; use an orthogonal cell (or, for z, a LAMMPS-style cell with a and b "
            "in the xy plane)"
        )
    lower = float(coords.min())
    return coords, lower, max(float(coords.max()) - lower, 1e-9) * (1 + 1e-9), False


def inverse_cell(frame: Frame) -> np.ndarray:
    """Inverse of the cell, with zero rows along non-periodic axes completed by an orthonormal complement."""
    from .neighbors import _binning_basis

    return np.linalg.inv(_binning_basis(frame.cell, frame.pbc))


def pair_label(a: str, b: str) -> str:
    """'Ge-Te' style label of a species pair."""
    return f"{a}-{b}"


def n_tasks(work_items: int, parallel=None) -> int:
    """Number of kernel tasks (each with its own histogram buffer): 1 for serial runs."""
    if parallel is None:
        parallel = use_parallel(work_items)
    return 4 * numba.get_num_threads() if parallel else 1


def frame_coords(times: np.ndarray) -> dict:
    """``frame`` and ``time`` coordinates for results over frames."""
    n = len(times)
    return {"frame": ("frame", np.arange(n)), "time": ("frame", times, {"long_name": "time", "units": "ps"})}


def attrs_of(**params) -> dict:
    """Parameters as netCDF-safe attributes (None and containers become strings)."""
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, (dict, list, tuple, set)):
            value = repr(value)
        elif isinstance(value, (bool, np.bool_)):
            value = int(value)
        out[key] = value
    return out


def bin_edges(lo: float, hi: float, width: float | None, bins: int | None, *, what: str) -> np.ndarray:
    """Histogram edges from either a bin width or a bin count."""
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"{what}: the range must satisfy lower < upper, got {lo} to {hi}")
    if bins is not None:
        bins = int(bins)
        if bins < 1:
            raise ValueError(f"{what}: bins must be a positive integer, got {bins}")
        return np.linspace(lo, hi, bins + 1)
    if width is None or not width > 0:
        raise ValueError(f"{what}: bin width must be positive, got {width}")
    n = max(1, int(round((hi - lo) / width)))
    return np.linspace(lo, hi, n + 1)


def centres(edges: np.ndarray) -> np.ndarray:
    return 0.5 * (edges[1:] + edges[:-1])
