"""Numba cell-list neighbour lists shared by every analysis.

:func:`build` returns a :class:`NeighborList` (CSR offsets per centre atom
plus ``i``, ``j``, distances, vectors and periodic shifts);
:func:`iter_blocks` yields the same per block of centre atoms so memory stays
bounded on device-scale frames; :func:`neighbor_list` is a drop-in for
``ase.neighborlist.neighbor_list``.

Conventions (those of ASE): pair ``(i, j, S)`` is listed when
``|r_j + S @ cell - r_i| < cutoff`` (strict), ``vectors = r_j + S @ cell - r_i``
in Å with ``r`` the positions as given (not wrapped), and an atom is its own
neighbour only through a non-zero shift unless ``self_interaction=True``.
Periodic images are searched as far as the cut-off reaches, so cut-offs
larger than the cell are fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numba
import numpy as np

from ._kernels.neighbors import cell_index, counting_sort, fractional_coordinates, visit_pairs_parallel, visit_pairs_serial
from .errors import CellTooSmallError
from .frames import Frame, as_frame, species_numbers
from .parallel import use_parallel

__all__ = ["NeighborList", "build", "iter_blocks", "neighbor_list", "max_cutoff_without_images", "require_cutoff_fits"]

#: Cells per cut-off length along each axis of the cell list.
_CELLS_PER_CUTOFF = 1


@dataclass(eq=False)
class NeighborList:
    """Pairs of atoms closer than a cut-off, grouped by centre atom (CSR).

    Attributes
    ----------
    centers : ndarray of int, shape (n_centers,)
        Centre atoms, in the order of ``offsets``.
    offsets : ndarray of int64, shape (n_centers + 1,)
        Pairs of ``centers[c]`` are ``offsets[c]:offsets[c + 1]``.
    i, j : ndarray of int32, shape (n_pairs,)
        Centre and neighbour atom indices.
    distances : ndarray of float64, shape (n_pairs,)
        Pair distances in Å.
    vectors : ndarray of float64, shape (n_pairs, 3)
        ``r_j + shifts @ cell - r_i`` in Å.
    shifts : ndarray of int32, shape (n_pairs, 3)
        Periodic image of ``j``, in cell vectors.
    n_atoms : int
        Atoms in the frame.
    cutoff : float
        Largest cut-off searched, in Å.
    full : bool
        Both ``(i, j)`` and ``(j, i)`` listed (``False``: each pair once).
    """

    centers: np.ndarray
    offsets: np.ndarray
    i: np.ndarray
    j: np.ndarray
    distances: np.ndarray
    vectors: np.ndarray
    shifts: np.ndarray
    n_atoms: int
    cutoff: float
    full: bool = True

    def __len__(self) -> int:
        return len(self.i)

    def __repr__(self) -> str:
        kind = "full" if self.full else "half"
        return f"NeighborList({len(self)} pairs, {len(self.centers)} centres, cutoff={self.cutoff:g} Å, {kind})"

    @property
    def coordination(self) -> np.ndarray:
        """Number of neighbours of each centre, shape (n_centers,)."""
        return np.diff(self.offsets)

    def neighbors(self, c: int) -> np.ndarray:
        """Neighbour indices of the ``c``-th centre."""
        return self.j[self.offsets[c] : self.offsets[c + 1]]

    def select(self, mask: np.ndarray) -> "NeighborList":
        """Keep the pairs where ``mask`` is true (centres are kept)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.i.shape:
            raise ValueError(f"mask must have shape {self.i.shape}, got {mask.shape}")
        keep = np.add.reduceat(np.append(mask, False).astype(np.int64), self.offsets[:-1]) if len(self.centers) else np.zeros(0, np.int64)
        keep[np.diff(self.offsets) == 0] = 0
        offsets = np.zeros(len(self.centers) + 1, dtype=np.int64)
        np.cumsum(keep, out=offsets[1:])
        return NeighborList(
            self.centers, offsets, self.i[mask], self.j[mask], self.distances[mask],
            self.vectors[mask], self.shifts[mask], self.n_atoms, self.cutoff, self.full,
        )

    def take(self, keep: np.ndarray) -> "NeighborList":
        """The sub-list of the centres where ``keep`` (boolean, shape (n_centers,)) is true, with all their pairs."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != self.centers.shape:
            raise ValueError(f"keep must have shape {self.centers.shape}, got {keep.shape}")
        counts = self.coordination[keep]
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        pairs = np.repeat(keep, self.coordination)
        return NeighborList(
            self.centers[keep], offsets, self.i[pairs], self.j[pairs], self.distances[pairs],
            self.vectors[pairs], self.shifts[pairs], self.n_atoms, self.cutoff, self.full,
        )

    def within(self, cutoff: float) -> "NeighborList":
        """The sub-list of pairs shorter than ``cutoff`` Å (strict)."""
        if cutoff > self.cutoff:
            raise ValueError(f"cutoff {cutoff} Å exceeds the {self.cutoff} Å this list was built with")
        out = self.select(self.distances < cutoff)
        out.cutoff = float(cutoff)
        return out


class _Grid:
    """Atoms binned into cells for repeated neighbour queries on one frame."""

    def __init__(self, frame: Frame, cutoff):
        frame = as_frame(frame)
        self.frame = frame
        n = len(frame)
        pos = frame.positions
        self.types, self.cut_matrix, self.radii, self.max_cutoff = _cutoff_tables(frame, cutoff)
        pbc = frame.pbc
        basis = _binning_basis(frame.cell, pbc)
        recip = np.linalg.inv(basis)  # columns are reciprocal vectors
        frac, wrap, finite = fractional_coordinates(pos, recip, pbc)
        if not finite:
            raise ValueError("positions contain NaN or infinite values")
        lower, extent = np.zeros(3), np.ones(3)
        if n and not pbc.all():
            lower[~pbc] = frac[:, ~pbc].min(axis=0)
            extent[~pbc] = np.maximum(frac[:, ~pbc].max(axis=0) - lower[~pbc], 1e-12)
        # Cartesian width of the binned region perpendicular to each face
        inv_len = np.linalg.norm(recip, axis=0)
        width = extent / inv_len
        rc = self.max_cutoff
        # cells a hair wider than cutoff / _CELLS_PER_CUTOFF, so that the reach below is exact
        n_bins = np.maximum(1, np.floor(width * _CELLS_PER_CUTOFF / (rc * (1 + 1e-9)))).astype(np.int64) if rc > 0 else np.ones(3, np.int64)
        limit = max(8 * n, 1000)
        while np.prod(n_bins) > limit:  # sparse clusters: bound the memory of empty cells
            n_bins = np.maximum(1, n_bins // 2)
        reach = np.ceil(rc * inv_len * n_bins / extent * (1 + 1e-12))
        reach = np.where(pbc, reach, np.minimum(reach, n_bins - 1)).astype(np.int64)  # no cells beyond a free edge
        flat = cell_index(frac, lower, extent, n_bins)
        order, self.bin_start = counting_sort(flat, int(np.prod(n_bins)))
        self.pos_w = pos - wrap @ basis
        self.sorted_pos = np.ascontiguousarray(self.pos_w[order])
        self.sorted_index = order.astype(np.int64)
        self.sorted_types = self.types[order]
        self.sorted_radii = self.radii[order]
        self.sorted_wrap = np.ascontiguousarray(wrap[order])
        self.wrap, self.flat = wrap, flat
        self.n_bins, self.reach, self.basis, self.pbc = n_bins, reach, np.ascontiguousarray(basis), pbc.astype(np.bool_)

    def query(self, centers=None, *, full=True, self_interaction=False, parallel=None) -> NeighborList:
        n = len(self.frame)
        all_atoms = centers is None
        if all_atoms:
            centers = np.arange(n, dtype=np.int64)
        else:
            centers = np.asarray(centers)
            if centers.dtype == bool:
                if centers.shape != (n,):
                    raise ValueError(f"a boolean centers mask must have shape ({n},), got {centers.shape}")
                centers = np.nonzero(centers)[0]
            centers = centers.astype(np.int64).reshape(-1)
            if len(centers) and (centers.min() < 0 or centers.max() >= n):
                raise IndexError(f"centers must lie in [0, {n}), got {centers.min()}..{centers.max()}")
        if all_atoms:
            visit = self.sorted_index  # centres == atoms, already in cell order
        else:
            visit = np.argsort(self.flat[centers], kind="stable").astype(np.int64)
        cell_of_visit = self.flat[centers[visit]]
        new_cell = np.flatnonzero(np.diff(cell_of_visit)) + 1
        home_cells = cell_of_visit[np.concatenate(([0], new_cell))] if len(centers) else cell_of_visit
        home_start = np.concatenate(([0], new_cell, [len(centers)])).astype(np.int64) if len(centers) else np.zeros(1, np.int64)
        if parallel is None:
            parallel = use_parallel(len(centers))
        if parallel:
            tasks = (8 * numba.get_num_threads(),)  # a few tasks per thread balance the load
            kernel = visit_pairs_parallel
        else:
            tasks, kernel = (), visit_pairs_serial
        counts = np.zeros(len(centers), dtype=np.int64)
        args = (
            home_cells, home_start, visit, centers, self.sorted_pos, self.sorted_index,
            self.sorted_types, self.sorted_radii, self.sorted_wrap, self.pos_w, self.types, self.radii, self.wrap,
            self.bin_start, self.n_bins, self.reach, self.pbc, self.basis, self.cut_matrix, self.max_cutoff,
            bool(self_interaction), not full,
        )
        kernel(*args, counts, None, None, None, None, None, None, *tasks)
        offsets = np.zeros(len(centers) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        m = int(offsets[-1])
        out_i = np.empty(m, dtype=np.int32)
        out_j = np.empty(m, dtype=np.int32)
        out_d = np.empty(m, dtype=np.float64)
        out_vec = np.empty((m, 3), dtype=np.float64)
        out_shift = np.empty((m, 3), dtype=np.int32)
        if m:
            counts[:] = 0
            kernel(*args, counts, offsets, out_i, out_j, out_d, out_vec, out_shift, *tasks)
        return NeighborList(centers, offsets, out_i, out_j, out_d, out_vec, out_shift, n, float(self.max_cutoff), bool(full))


def build(frame, cutoff, *, full=True, self_interaction=False, centers=None, parallel=None) -> NeighborList:
    """Neighbour list of a frame by a Numba cell list.

    Parameters
    ----------
    frame : Frame or ase.Atoms
        Periodic, mixed or non-periodic; any (triclinic) cell.
    cutoff : float, dict or array
        Cut-off in Å: a scalar; a per-species-pair table such as
        ``{('Ge', 'Te'): 3.2, ('Te', 'Te'): 3.0}`` (pairs absent from the table
        are never neighbours); or per-atom radii, shape (n_atoms,), in which
        case ``i`` and ``j`` are neighbours when ``d < r_i + r_j`` (ASE's
        convention).
    full : bool
        List every pair both ways (default); ``False`` lists each pair once
        (``i < j``, or ``i == j`` with a lexicographically positive shift).
    self_interaction : bool
        Whether an atom is its own neighbour at zero shift.
    centers : array of int or bool, optional
        Only these centre atoms (all by default); neighbours are still
        searched among all atoms.
    parallel : bool, optional
        Use the multi-threaded kernel; by default when there are enough
        centres and more than one Numba thread (see :func:`gstorder.threads`).

    Returns
    -------
    NeighborList

    Examples
    --------
    >>> from ase.build import bulk
    >>> from gstorder import neighbors
    >>> nl = neighbors.build(bulk("NaCl", "rocksalt", a=6.0), 3.2)
    >>> nl.coordination.tolist()
    [6, 6]
    """
    return _Grid(frame, cutoff).query(centers, full=full, self_interaction=self_interaction, parallel=parallel)


def iter_blocks(frame, cutoff, *, block_size=65536, full=True, self_interaction=False, centers=None,
                parallel=None) -> Iterator[NeighborList]:
    """Neighbour lists of consecutive blocks of centre atoms.

    The cell list is built once; each block's list holds only the pairs of
    its ``block_size`` centres, so peak memory stays bounded on large frames.
    Parameters as in :func:`build`; ``centers`` (indices or a boolean mask)
    restricts the centres that are split into blocks.

    Yields
    ------
    NeighborList
        With ``centers`` the atoms of the block.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    grid = _Grid(frame, cutoff)
    n = len(grid.frame)
    if centers is None:
        centers = np.arange(n, dtype=np.int64)
    else:
        centers = np.asarray(centers)
        centers = np.flatnonzero(centers) if centers.dtype == bool else centers.astype(np.int64).reshape(-1)
    for start in range(0, len(centers), block_size):
        yield grid.query(centers[start : start + block_size], full=full, self_interaction=self_interaction, parallel=parallel)


def neighbor_list(quantities, a, cutoff, self_interaction=False, max_nbins=None):
    """Drop-in replacement for ``ase.neighborlist.neighbor_list``.

    Parameters
    ----------
    quantities : str
        Letters of the wanted arrays: ``i`` (first atom), ``j`` (second
        atom), ``d`` (distance, Å), ``D`` (distance vector, Å), ``S`` (shift
        in cell vectors).
    a : ase.Atoms or Frame
    cutoff : float, dict or array
        As in ASE: scalar, ``{(Z1, Z2): cutoff}`` / ``{('Ge', 'Te'): cutoff}``,
        or per-atom radii.
    self_interaction : bool
    max_nbins : ignored
        Accepted for compatibility with ASE.

    Returns
    -------
    ndarray or tuple of ndarray
        In the order of ``quantities``, with ASE's dtypes (``intp`` indices).
    """
    nl = build(a, cutoff, self_interaction=self_interaction)
    table = {
        "i": lambda: nl.i.astype(np.intp),
        "j": lambda: nl.j.astype(np.intp),
        "d": lambda: nl.distances,
        "D": lambda: nl.vectors,
        "S": lambda: nl.shifts.astype(np.intp),
    }
    bad = [q for q in quantities if q not in table]
    if bad:
        raise ValueError(f"unknown quantity {bad[0]!r}; choose from 'i', 'j', 'd', 'D', 'S'")
    out = tuple(table[q]() for q in quantities)
    return out[0] if len(out) == 1 else out


def max_cutoff_without_images(frame) -> float:
    """Largest cut-off (Å) at which no atom sees two images of one neighbour.

    Half the smallest perpendicular width over the periodic directions;
    ``inf`` for a non-periodic frame.
    """
    frame = as_frame(frame)
    if not frame.pbc.any():
        return float("inf")
    widths = _perpendicular_widths(frame.cell)
    return float(0.5 * widths[frame.pbc].min())


def require_cutoff_fits(frame, cutoff: float, *, what: str = "cutoff") -> None:
    """Raise :class:`CellTooSmallError` if ``cutoff`` exceeds half a periodic width.

    For analyses defined without periodic self-images.
    """
    frame = as_frame(frame)
    widths = _perpendicular_widths(frame.cell) if frame.pbc.any() else np.full(3, np.inf)
    for axis in range(3):
        if frame.pbc[axis] and widths[axis] < 2 * cutoff:
            raise CellTooSmallError(
                f"cell not large enough in direction {axis}: width {widths[axis]:.3f} Å < 2*{what}="
                f"{2 * cutoff:.3f} Å; use {what} <= {max_cutoff_without_images(frame):.3f} Å or a larger supercell"
            )


# --------------------------------------------------------------------------- helpers


def _perpendicular_widths(cell: np.ndarray) -> np.ndarray:
    volume = abs(np.linalg.det(cell))
    cross = np.array([np.cross(cell[1], cell[2]), np.cross(cell[2], cell[0]), np.cross(cell[0], cell[1])])
    norms = np.linalg.norm(cross, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norms > 0, volume / norms, 0.0)


def _binning_basis(cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """The cell, or, if it is degenerate, its periodic rows completed by an orthonormal complement."""
    basis = np.array(cell, dtype=np.float64)
    norms = np.linalg.norm(basis, axis=1)
    if norms.all() and abs(np.linalg.det(basis)) > 1e-9 * np.prod(norms):
        return basis
    periodic = basis[pbc]
    if len(periodic) and np.linalg.matrix_rank(periodic) < len(periodic):
        raise ValueError(f"the periodic cell vectors are linearly dependent: {basis.tolist()}")
    _, _, vt = np.linalg.svd(np.vstack([periodic, np.zeros((3 - len(periodic), 3))]))
    basis[~pbc] = vt[len(periodic) :]
    return basis


def _cutoff_tables(frame: Frame, cutoff):
    """Per-atom type index, type-pair cut-off matrix, per-atom radii and search radius."""
    n = len(frame)
    if isinstance(cutoff, dict):
        zs = np.unique(frame.numbers)
        index = {int(z): t for t, z in enumerate(zs)}
        types = np.searchsorted(zs, frame.numbers).astype(np.int64)
        matrix = np.zeros((max(len(zs), 1), max(len(zs), 1)))
        for key, value in cutoff.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"per-pair cut-off keys must be pairs of species, got {key!r}")
            value = _check_cutoff_value(value, f"cutoff[{key!r}]")
            za, zb = species_numbers(key)
            if int(za) in index and int(zb) in index:
                ta, tb = index[int(za)], index[int(zb)]
                matrix[ta, tb] = matrix[tb, ta] = value
        return types, matrix, np.zeros(n), float(matrix.max()) if matrix.size else 0.0
    if np.ndim(cutoff) == 0:
        value = _check_cutoff_value(cutoff, "cutoff")
        return np.zeros(n, dtype=np.int64), np.array([[value]]), np.zeros(n), value
    radii = np.asarray(cutoff, dtype=np.float64).reshape(-1)
    if len(radii) != n:
        raise ValueError(f"per-atom cutoff radii must have {n} entries, got {len(radii)}")
    if not np.isfinite(radii).all() or (radii < 0).any():
        raise ValueError("per-atom cutoff radii must be finite and non-negative")
    return np.zeros(n, dtype=np.int64), np.zeros((1, 1)), radii, float(2 * radii.max()) if n else 0.0


def _check_cutoff_value(value, name) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in Å, got {value!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite length in Å, got {value}")
    return value
