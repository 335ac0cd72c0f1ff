"""Cavities as Akola and Jones define them: the space farther than a probe distance from every atom.

Akola & Jones (Phys. Rev. B 76, 235201 (2007)) map the cavities of
amorphous Ge-Sb-Te on a grid: points farther than 2.8 Å from every atom are
cavity points, and cavity points that touch (share a face of the grid, also
across the periodic boundaries) form one cavity. gstorder lays a grid of
``spacing`` (0.2 Å) along the three cell vectors (triclinic cells too), finds
the covered points column by column (each atom covers one interval of every
column its sphere crosses) and joins the uncovered runs of neighbouring
columns by union-find. Memory: one slab of columns as bits at a time, then
only the runs of cavity points.
"""

from __future__ import annotations


import numpy as np
import xarray as xr

from . import _checks
from ._labels import attrs_of, frame_coords
from .errors import InvalidArgumentError, MissingDataError
from .frames import cell_basis
from .parallel import thread_count, thread_map
from .pipeline import Analysis, Part
from .registry import Figure, Parameter, Requires, public, register
from ._kernels.voids import label_runs, slab_runs

__all__ = ["cavities", "Cavities", "cavity_grid", "cavity_atoms"]

#: Bytes of the column bitsets of one slab.
SLAB_BYTES = 2 * 2**20


def cavity_grid(positions, cell, probe: float, spacing: float, parallel=None):
    """Runs of cavity points and their cavity labels on the grid of ``cell`` (rows: vectors, Å).

    Returns ``(shape, runs, labels, n_cavities)``: the grid (n1, n2, n3),
    runs (i, j, k_start, length) in column order, each run's cavity.
    """
    cell = np.ascontiguousarray(cell, dtype=float)
    shape = tuple(max(1, int(np.ceil(np.linalg.norm(v) / spacing - 1e-9))) for v in cell)
    n1, n2, n3 = shape
    frac = np.asarray(positions, dtype=float) @ np.linalg.inv(cell)
    frac -= np.floor(frac)
    frac[frac >= 1.0] = 0.0  # -1e-17 + 1 rounds to 1
    order = np.argsort(frac[:, 0], kind="stable")
    sorted_s1 = np.ascontiguousarray(frac[order, 0])
    rows = max(1, min(n1, SLAB_BYTES // (8 * n2 * ((n3 + 63) // 64))))
    threads = thread_count(n1 * n2 * n3, parallel, 2**20)
    rows = max(1, min(rows, -(-n1 // (4 * threads)))) if threads > 1 else rows
    slabs = [(i, min(n1, i + rows)) for i in range(0, n1, rows)]

    def slab(bounds):
        return slab_runs(bounds[0], bounds[1], frac, order, sorted_s1, cell, n1, n2, n3, float(probe))

    found = thread_map(slab, slabs, threads)
    runs = np.concatenate(found) if found else np.empty((0, 4), dtype=np.int64)
    offsets = np.zeros(n1 * n2 + 1, dtype=np.int64)
    np.cumsum(np.bincount(runs[:, 0] * n2 + runs[:, 1], minlength=n1 * n2), out=offsets[1:])
    labels, n = label_runs(runs, offsets, n1, n2, n3)
    return shape, runs, labels, n


def _cavity_table(shape, runs, labels, n, cell):
    """Points per cavity and centres (Å; circular means of the fractional coordinates along each cell vector)."""
    n1, n2, n3 = shape
    points = np.bincount(labels, runs[:, 3], minlength=n).astype(np.int64)
    length = runs[:, 3].astype(float)
    angle = np.zeros((n, 3), dtype=complex)
    for axis, size in ((0, n1), (1, n2)):
        phase = np.exp(2j * np.pi * (runs[:, axis] + 0.5) / size)
        angle[:, axis] = np.bincount(labels, (length * phase).real, n) + 1j * np.bincount(labels, (length * phase).imag, n)
    theta = 2 * np.pi / n3  # Σ_{k=s}^{s+L-1} e^{iθ(k+½)}, summed in closed form
    start = runs[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        run_sum = np.where(length == n3, 0.0, np.exp(1j * theta * (start + 0.5)) * (1 - np.exp(1j * theta * length)) /
                           (1 - np.exp(1j * theta))) if n3 > 1 else length.astype(complex)
    angle[:, 2] = np.bincount(labels, run_sum.real, n) + 1j * np.bincount(labels, run_sum.imag, n)
    frac = (np.angle(angle) / (2 * np.pi)) % 1.0
    return points, frac @ cell


class Cavities(Analysis):
    """:func:`cavities` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "cavities"
    order = 50
    summary = "Akola-Jones cavities: grid points farther than a probe distance from every atom, grouped across boundaries"
    windowed = True
    parameters = (
        Parameter("probe", 2.8, "a grid point farther than this from every atom is a cavity point", "Å", _checks.positive),
        Parameter("spacing", 0.2, "grid spacing along each cell vector (at most)", "Å", _checks.positive),
        Parameter("min_volume", 0.0, "cavities smaller than this are left out of the counts and sizes (not of "
                  "volume_fraction)", "Å³", _checks.non_negative),
    )
    requires = Requires(periodic=True)

    def end_frame(self, state, frame) -> Part:
        if not frame.pbc.all():
            raise MissingDataError(f"{frame.describe()} is not periodic in all three directions; cavities need a cell")
        cell = cell_basis(frame)[0]
        n_points = np.prod([np.ceil(np.linalg.norm(v) / self.spacing - 1e-9) for v in cell])
        if n_points > 2**36:
            raise InvalidArgumentError(f"spacing={self.spacing} Å lays {n_points:.3g} grid points on {frame.describe()}; "
                                       "choose a coarser spacing (at most 2^36 points)")
        shape, runs, labels, n = cavity_grid(frame.positions, cell, self.probe, self.spacing, self.parallel)
        points, centres = _cavity_table(shape, runs, labels, n, cell)
        voxel = abs(np.linalg.det(cell)) / np.prod(shape)
        volumes = points * voxel
        keep = volumes >= self.min_volume if self.min_volume > 0 else np.ones(n, dtype=bool)
        return Part({"volume_fraction": points.sum() / np.prod(shape), "volumes": volumes[keep], "centres": centres[keep],
                     "cell": cell, "shape": shape})

    def result(self, parts, times) -> xr.Dataset:
        rows = [p.data for p in parts]
        most = max([len(r["volumes"]) for r in rows] + [0])
        volumes = np.full((len(rows), most), np.nan)
        centres = np.full((len(rows), most, 3), np.nan)
        for f, r in enumerate(rows):
            order = np.argsort(-r["volumes"], kind="stable")  # largest first
            volumes[f, : len(order)] = r["volumes"][order]
            centres[f, : len(order)] = r["centres"][order]
        count = np.array([len(r["volumes"]) for r in rows])
        with np.errstate(invalid="ignore"):
            largest = np.array([r["volumes"].max() if len(r["volumes"]) else 0.0 for r in rows])
            mean = np.array([r["volumes"].mean() if len(r["volumes"]) else np.nan for r in rows])
        per_a3 = {"units": "Å³"}
        return xr.Dataset(
            {
                "volume_fraction": ("frame", np.array([r["volume_fraction"] for r in rows]),
                                    {"long_name": "cavity volume fraction", "units": ""}),
                "n_cavities": ("frame", count, {"long_name": "cavities", "units": ""}),
                "mean_volume": ("frame", mean, {**per_a3, "long_name": "mean cavity volume"}),
                "largest_volume": ("frame", largest, {**per_a3, "long_name": "largest cavity volume"}),
                "cavity_volume": (("frame", "cavity"), volumes, {**per_a3, "long_name": "cavity volume (largest first)"}),
                "centre": (("frame", "cavity", "xyz"), centres, {"long_name": "cavity centre", "units": "Å"}),
                "cell": (("frame", "vector", "xyz"), np.array([r["cell"] for r in rows]),
                         {"long_name": "cell vectors", "units": "Å"}),
            },
            coords={**frame_coords(times), "cavity": np.arange(most), "xyz": ["x", "y", "z"], "vector": ["a", "b", "c"]},
            attrs=attrs_of(analysis="cavities", probe=self.probe, spacing=self.spacing, min_volume=self.min_volume,
                           grid=list(rows[0]["shape"]), definition="Akola & Jones (2007): points farther than probe from "
                           "every atom; face-sharing points (periodically) form one cavity"),
        )


def cavity_atoms(ds, frame: int = -1):
    """The cavity centres of one frame of a :func:`cavities` result as ``ase.Atoms`` (element X, ``volume`` in Å³).

    Write them beside the atoms for OVITO, e.g. ``ase.io.write("cavities.xyz", cavity_atoms(ds))``.

    Examples
    --------
    >>> from gstorder import structures
    >>> from gstorder.voids import cavities, cavity_atoms
    >>> crystal = structures.rocksalt("Ge1Sb2Te4", 2, seed=0)  # 8 of its 32 cation sites are vacant
    >>> ds = cavities(crystal, probe=2.5, spacing=0.25, min_volume=0.5)  # not the single points between atoms
    >>> len(cavity_atoms(ds))
    8
    """
    from ase import Atoms

    one = ds.isel(frame=frame)
    ok = np.isfinite(one.cavity_volume.values)
    atoms = Atoms(symbols=["X"] * int(ok.sum()), positions=one.centre.values[ok], cell=one.cell.values, pbc=True)
    atoms.new_array("volume", one.cavity_volume.values[ok])
    return atoms


def _draw(ds):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(8.0, 3.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    x = ds.time.values if np.isfinite(ds.time.values).all() else ds.frame.values
    left.plot(x, 100 * ds.volume_fraction, marker="o" if len(x) < 30 else None, lw=1.2)
    left.set_xlabel("time (ps)" if np.isfinite(ds.time.values).all() else "frame")
    left.set_ylabel("cavity volume (%)")
    volumes = ds.cavity_volume.values[np.isfinite(ds.cavity_volume.values)]
    if len(volumes):
        right.hist(volumes, bins=30, color="#2ca02c")
    right.set_xlabel("cavity volume (Å³)")
    right.set_ylabel("cavities")
    return fig


def _rows(ds, tree):
    return [("cavities", f"{100 * float(ds.volume_fraction.mean()):.2f} % of the volume, {float(ds.n_cavities.mean()):.1f} "
                         f"per frame (probe {ds.attrs['probe']:g} Å)")]


Cavities.figures = (Figure("cavities", _draw, "Cavity volume fraction against time, and the distribution of cavity "
                                              "volumes (Akola-Jones cavities)."),)
Cavities.rows = staticmethod(_rows)
register(Cavities)


@public(Cavities)
def cavities(frames, **options) -> xr.Dataset:
    """Akola-Jones cavities per frame: their volume fraction, number, sizes and centres.

    Frames periodic in all three directions (see :mod:`gstorder.voids`).

    Raises
    ------
    MissingDataError
        For a frame that is not periodic in all three directions.
    InvalidArgumentError
        For a non-positive ``probe`` or ``spacing``, or a spacing that lays more than 2^36 points.

    Returns
    -------
    xarray.Dataset
        Over ``frame`` (with ``time``): ``volume_fraction``, ``n_cavities``,
        ``mean_volume`` and ``largest_volume`` (Å³); ``cavity_volume``
        (frame, cavity) in Å³, largest first, NaN past the frame's last;
        ``centre`` (frame, cavity, xyz) in Å (see :func:`cavity_atoms` for
        OVITO); ``cell`` (frame, vector, xyz).

    Examples
    --------
    >>> import numpy as np
    >>> from ase import Atoms
    >>> from gstorder import cavities
    >>> lonely = Atoms("Te", positions=[[0, 0, 0]], cell=[10, 10, 10], pbc=True)
    >>> ds = cavities(lonely, probe=2.0, spacing=0.25)
    >>> int(ds.n_cavities[0]), round(float(ds.volume_fraction[0]), 2)  # all but a 2 Å sphere: 1 - 4/3 π 2³ / 10³
    (1, 0.97)
    """
    return Cavities.call(frames, options)
