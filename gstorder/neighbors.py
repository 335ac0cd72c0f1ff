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
larger than the cell are fine. The search runs in a Minkowski-reduced cell
(the same lattice), so strongly tilted cells cost no more than upright ones;
shifts are reported in the frame's own cell vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numba
import numpy as np

from ._checks import count, finite_array, non_negative
from ._kernels.neighbors import cell_index, counting_sort, fractional_coordinates, visit_pairs_parallel, visit_pairs_serial
from .errors import ArgumentTypeError, CellTooSmallError, InvalidArgumentError, SingularCellError
from .frames import Frame, as_frame, cell_basis, require_finite_positions, species_numbers
from .parallel import use_parallel

__all__ = ["NeighborList", "build", "iter_blocks", "neighbor_list", "max_cutoff_without_images", "require_cutoff_fits"]

#: Cells per cut-off length along each axis of the cell list.
_CELLS_PER_CUTOFF = 1

#: Positive cut-offs (and radii) below this act as this, in Å: the kernels compare
#: squared distances, and a smaller cut-off's square underflows to 0, which would
#: lose coincident atoms. Only coincident atoms are this close.
_SMALLEST_CUTOFF = 1e-150

#: Largest number of neighbour cells (periodic images included) searched around
#: each cell: a cut-off many times the cell width would never finish.
_MAX_CELLS_SEARCHED = 10**8


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
            raise InvalidArgumentError(f"mask must have shape {self.i.shape}, got {mask.shape}")
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
            raise InvalidArgumentError(f"keep must have shape {self.centers.shape}, got {keep.shape}")
        counts = self.coordination[keep]
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        pairs = np.repeat(keep, self.coordination)
        return NeighborList(
            self.centers[keep], offsets, self.i[pairs], self.j[pairs], self.distances[pairs],
            self.vectors[pairs], self.shifts[pairs], self.n_atoms, self.cutoff, self.full,
        )

    def within(self, cutoff: float) -> "NeighborList":
        """The sub-list of pairs shorter than ``cutoff`` Å (strict; 0 keeps no pair).

        Raises
        ------
        InvalidArgumentError
            For a negative or non-finite ``cutoff``, or one beyond the list's own.
        """
        cutoff = non_negative("cutoff", cutoff, unit="Å")
        if cutoff > self.cutoff:
            raise InvalidArgumentError(f"cutoff {cutoff} Å exceeds the {self.cutoff} Å this list was built with")
        out = self.select(self.distances < cutoff)
        out.cutoff = float(cutoff)
        return out


class _Grid:
    """Atoms binned into cells for repeated neighbour queries on one frame."""

    def __init__(self, frame: Frame, cutoff):
        frame = as_frame(frame)
        require_finite_positions(frame)
        self.frame = frame
        n = len(frame)
        pos = frame.positions
        self.types, self.cut_matrix, self.radii, self.max_cutoff = _cutoff_tables(frame, cutoff)
        pbc = frame.pbc
        basis, self.op = cell_basis(frame, reduced=True)  # shifts in the reduced basis are S @ op in the cell's
        recip = np.linalg.inv(basis)  # columns are reciprocal vectors
        frac, wrap = fractional_coordinates(pos, recip, pbc)
        lower, extent = np.zeros(3), np.ones(3)
        if n and not pbc.all():
            lower[~pbc] = frac[:, ~pbc].min(axis=0)
            extent[~pbc] = np.maximum(frac[:, ~pbc].max(axis=0) - lower[~pbc], 1e-12)
        self.n_bins, self.reach = _grid_shape(extent / np.linalg.norm(recip, axis=0), self.max_cutoff, pbc, n)
        flat = cell_index(frac, lower, extent, self.n_bins)
        order, self.bin_start = counting_sort(flat, int(np.prod(self.n_bins)))
        self.pos_w = pos - wrap @ basis
        self.sorted_pos = np.ascontiguousarray(self.pos_w[order])
        self.sorted_index = order.astype(np.int64)
        self.sorted_types = self.types[order]
        self.sorted_radii = self.radii[order]
        self.sorted_wrap = np.ascontiguousarray(wrap[order])
        self.wrap, self.flat = wrap, flat
        self.basis, self.pbc = np.ascontiguousarray(basis), pbc.astype(np.bool_)

    def query(self, centers=None, *, full=True, self_interaction=False, parallel=None) -> NeighborList:
        n = len(self.frame)
        all_atoms = centers is None
        centers = np.arange(n, dtype=np.int64) if all_atoms else _centre_indices(centers, n)
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
            if not (self.op == np.eye(3)).all():
                out_shift = self._cell_shifts(out_i, out_j, out_vec, out_shift, full)
        return NeighborList(centers, offsets, out_i, out_j, out_d, out_vec, out_shift, n, float(self.max_cutoff), bool(full))

    def _cell_shifts(self, i, j, vectors, shifts, full):
        """Shifts found in the reduced basis, in the frame's cell vectors (``vectors`` fixed in place)."""
        shifts = shifts.astype(np.int64) @ self.op
        if len(shifts) and np.abs(shifts).max() > np.iinfo(np.int32).max:
            raise SingularCellError(f"{self.frame.describe()}: the cell {self.frame.cell.tolist()} (Å) is so skewed that "
                                    "image shifts in its vectors overflow 32-bit integers; give a reduced cell")
        shifts = shifts.astype(np.int32)
        if not full:  # an atom's own image keeps the lexicographically positive shift of the two
            nonzero = shifts != 0
            first = np.take_along_axis(shifts, np.argmax(nonzero, axis=1)[:, None], axis=1)[:, 0]
            flip = (i == j) & (first < 0)
            shifts[flip] *= -1
            vectors[flip] *= -1
        return shifts


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

    Raises
    ------
    InvalidArgumentError
        For a negative or non-finite cut-off (any entry), a position that is
        not finite (the atom is named), a non-finite cell, centres out of
        range, or a cut-off so many times the cell that the search would not end.
    ArgumentTypeError
        For a cut-off or centres of the wrong type.
    SingularCellError
        For (nearly) linearly dependent periodic cell vectors.
    UnknownSpeciesError
        For a species of a per-pair table that is not an element (``'X'``,
        ASE's dummy atom, is allowed).

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
    block_size = count("block_size", block_size)
    grid = _Grid(frame, cutoff)
    n = len(grid.frame)
    centers = np.arange(n, dtype=np.int64) if centers is None else _centre_indices(centers, n)
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
        or per-atom radii, in Å; 0 (or a zero entry) lists no pairs.
    self_interaction : bool
    max_nbins : ignored
        Accepted for compatibility with ASE.

    Returns
    -------
    ndarray or tuple of ndarray
        In the order of ``quantities``, with ASE's dtypes (``intp`` indices).
    """
    if not isinstance(quantities, str):
        raise ArgumentTypeError(f"quantities must be a string of 'i', 'j', 'd', 'D', 'S', got {type(quantities).__name__}")
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
        raise InvalidArgumentError(f"quantities: unknown quantity {bad[0]!r}; choose from 'i', 'j', 'd', 'D', 'S'")
    out = tuple(table[q]() for q in quantities)
    return out[0] if len(out) == 1 else out


def max_cutoff_without_images(frame) -> float:
    """Largest cut-off (Å) at which no atom sees two images of one neighbour.

    Half the smallest perpendicular width over the periodic directions (of
    the Minkowski-reduced cell, for a tilted one); ``inf`` for a
    non-periodic frame.
    """
    frame = as_frame(frame)
    if not frame.pbc.any():
        return float("inf")
    widths = _perpendicular_widths(frame)
    return float(0.5 * widths[frame.pbc].min())


def require_cutoff_fits(frame, cutoff: float, *, what: str = "cutoff") -> None:
    """Raise :class:`CellTooSmallError` if ``cutoff`` exceeds half a periodic width.

    For analyses defined without periodic self-images.
    """
    frame = as_frame(frame)
    widths = _perpendicular_widths(frame)
    for axis in range(3):
        if frame.pbc[axis] and widths[axis] < 2 * cutoff:
            raise CellTooSmallError(
                f"cell not large enough in direction {axis}: width {widths[axis]:.3f} Å < 2*{what}="
                f"{2 * cutoff:.3f} Å; use {what} <= {max_cutoff_without_images(frame):.3f} Å or a larger supercell"
            )


# --------------------------------------------------------------------------- helpers


def _perpendicular_widths(frame: Frame) -> np.ndarray:
    """Distance between lattice planes along each periodic axis of the reduced cell, Å (inf along free axes)."""
    basis, _ = cell_basis(frame, reduced=True)
    return np.where(frame.pbc, 1.0 / np.linalg.norm(np.linalg.inv(basis), axis=0), np.inf)


def _grid_shape(width: np.ndarray, cutoff: float, pbc: np.ndarray, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells along each axis of the cell list and how many cells the cut-off reaches.

    ``width`` (Å) is the binned region's extent perpendicular to each face.
    Cells are at least the cut-off wide, and at most ``max(8 n_atoms, 1000)``
    in all, so a tiny cut-off or an atom far from the others (a sparse
    cluster) cannot ask for more cells than memory holds; sizes are computed
    in floating point, so no count overflows.
    """
    if cutoff == 0:
        return np.ones(3, np.int64), np.zeros(3, np.int64)
    limit = max(8 * n_atoms, 1000)
    with np.errstate(over="ignore"):  # a cut-off of 1e-320 Å asks for infinitely many cells: clipped
        n_bins = np.clip(np.floor(width * _CELLS_PER_CUTOFF / (cutoff * (1 + 1e-9))), 1, limit)  # a hair wider than cutoff
    while np.prod(n_bins) > limit:
        n_bins = np.maximum(1, np.floor(n_bins / 2))
    reach = np.maximum(1, np.ceil(cutoff / width * n_bins * (1 + 1e-12)))  # cells the cut-off spans
    reach = np.where(pbc, reach, np.minimum(reach, n_bins - 1))  # no cells beyond a free edge
    if np.prod(2 * reach + 1) > _MAX_CELLS_SEARCHED:
        raise InvalidArgumentError(
            f"cutoff {cutoff:g} Å spans {int(reach.max()):d} periodic images of a cell {width.min():.3g} Å wide: every "
            "atom would have more neighbours than memory holds; use a shorter cutoff"
        )
    return n_bins.astype(np.int64), reach.astype(np.int64)


def _centre_indices(centers, n: int) -> np.ndarray:
    """Centre atoms as int64 indices from indices or a boolean mask of shape (n,)."""
    centers = np.asarray(centers)
    if centers.dtype == bool:
        if centers.shape != (n,):
            raise InvalidArgumentError(f"a boolean centers mask must have shape ({n},), got {centers.shape}")
        return np.flatnonzero(centers).astype(np.int64)
    if centers.size and centers.dtype.kind not in "iu":
        raise ArgumentTypeError(f"centers must be atom indices (integers) or a boolean mask, got dtype {centers.dtype}")
    centers = centers.astype(np.int64).reshape(-1)
    if len(centers) and (centers.min() < 0 or centers.max() >= n):
        raise InvalidArgumentError(f"centers must lie in [0, {n}), got {centers.min()}..{centers.max()}")
    return centers


def _cutoff_tables(frame: Frame, cutoff):
    """Per-atom type index, type-pair cut-off matrix, per-atom radii and search radius (validated, Å)."""
    n = len(frame)
    if isinstance(cutoff, dict):
        zs = np.unique(frame.numbers)
        index = {int(z): t for t, z in enumerate(zs)}
        types = np.searchsorted(zs, frame.numbers).astype(np.int64)
        matrix = np.zeros((max(len(zs), 1), max(len(zs), 1)))
        for key, value in cutoff.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise InvalidArgumentError(f"per-pair cut-off keys must be pairs of species, got {key!r}")
            value = float(_representable(non_negative(f"cutoff[{key!r}]", value, unit="Å")))
            za, zb = species_numbers(key, dummy=True)
            if int(za) in index and int(zb) in index:
                ta, tb = index[int(za)], index[int(zb)]
                matrix[ta, tb] = matrix[tb, ta] = value
        return types, matrix, np.zeros(n), float(matrix.max()) if matrix.size else 0.0
    if np.ndim(cutoff) == 0:
        value = float(_representable(non_negative("cutoff", cutoff, unit="Å")))
        return np.zeros(n, dtype=np.int64), np.array([[value]]), np.zeros(n), value
    radii = finite_array("cutoff", cutoff, shape=(-1,), unit="Å")
    if len(radii) != n:
        raise InvalidArgumentError(f"per-atom cutoff radii must have {n} entries, got {len(radii)}")
    if (radii < 0).any():
        atom = int(np.argmax(radii < 0))
        raise InvalidArgumentError(f"cutoff: per-atom radius of atom {atom} is {radii[atom]} Å; radii must be ≥ 0")
    radii = _representable(radii)
    return np.zeros(n, dtype=np.int64), np.zeros((1, 1)), radii, float(2 * radii.max()) if n else 0.0


def _representable(cutoff) -> np.ndarray:
    """Cut-offs (Å) with positive values below :data:`_SMALLEST_CUTOFF` raised to it; zero stays zero."""
    cutoff = np.asarray(cutoff, dtype=np.float64)
    return np.where(cutoff > 0, np.maximum(cutoff, _SMALLEST_CUTOFF), 0.0)
