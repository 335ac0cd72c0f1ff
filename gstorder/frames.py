"""The one frame abstraction every analysis consumes.

A :class:`Frame` is a snapshot of an atomistic model in gstorder's units:
positions and cell in Å, velocities in Å/ps, masses in amu, time in ps.
Readers (:func:`gstorder.read_frames`) produce frames; :func:`as_frame` turns
an ``ase.Atoms`` into one and :meth:`Frame.to_atoms` goes back.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
from ase import Atoms
from ase import units as ase_units
from ase.data import atomic_masses, atomic_numbers, chemical_symbols
from ase.geometry import minkowski_reduce

from .errors import ArgumentTypeError, EmptyFrameError, InvalidArgumentError, MissingDataError, SingularCellError, UnknownSpeciesError

#: One amu per Å³ in g/cm³.
AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660

#: Multiply an ASE velocity (Å per ASE time unit) by this to get Å/ps.
ASE_VELOCITY_TO_A_PER_PS = ase_units.fs * 1000.0

__all__ = ["Frame", "as_frame", "species_numbers", "cell_basis", "minimum_image", "require_finite_positions",
           "ASE_VELOCITY_TO_A_PER_PS"]

#: A periodic cell is refused as singular when its volume (area, for two
#: periodic vectors) is at most this fraction of the product of their lengths.
SINGULAR_CELL_TOLERANCE = 1e-9


@dataclass(eq=False)
class Frame:
    """One snapshot of an atomistic model.

    Parameters
    ----------
    positions : ndarray, shape (n_atoms, 3)
        Cartesian positions in Å.
    numbers : ndarray of int, shape (n_atoms,)
        Atomic numbers; 0 is a dummy atom (ASE's ``X``, the default of
        ``Atoms(positions=...)``).
    cell : ndarray, shape (3, 3)
        Cell vectors as rows, in Å. Rows of zeros are allowed along
        non-periodic axes (an isolated cluster has an all-zero cell). A frame
        may hold a degenerate or non-finite cell, or non-finite positions, as
        read from a file; analyses that need the geometry refuse it (see
        :func:`cell_basis`, :func:`require_finite_positions`).
    pbc : ndarray of bool, shape (3,)
        Periodicity along each cell vector.
    velocities : ndarray, shape (n_atoms, 3), optional
        Velocities in Å/ps.
    masses : ndarray, shape (n_atoms,), optional
        Masses in amu; standard atomic masses are used when absent.
    time : float, optional
        Simulation time in ps.
    arrays : dict of str to ndarray
        Other per-atom data from the file (tags, fixed flags, image flags
        ``image`` (n_atoms, 3), forces, ...), first axis ``n_atoms``.
    info : dict
        Per-frame metadata (energy, step, source file and index, ...).
    """

    positions: np.ndarray
    numbers: np.ndarray
    cell: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    pbc: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=bool))
    velocities: np.ndarray | None = None
    masses: np.ndarray | None = None
    time: float | None = None
    arrays: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64).reshape(-1, 3)
        n = len(self.positions)
        self.numbers = np.ascontiguousarray(self.numbers, dtype=np.int64).reshape(-1)
        self.cell = np.array(self.cell, dtype=np.float64).reshape(3, 3)
        self.pbc = np.array(np.broadcast_to(self.pbc, (3,)), dtype=bool)
        if len(self.numbers) != n:
            raise InvalidArgumentError(f"numbers has {len(self.numbers)} entries but positions has {n} atoms")
        bad = (self.numbers < 0) | (self.numbers >= len(chemical_symbols))
        if bad.any():
            raise UnknownSpeciesError(f"atomic number {self.numbers[bad][0]} is not a chemical element (nor 0, a dummy atom)")
        if self.velocities is not None:
            self.velocities = np.ascontiguousarray(self.velocities, dtype=np.float64)
            if self.velocities.shape != (n, 3):
                raise InvalidArgumentError(f"velocities must have shape ({n}, 3), got {self.velocities.shape}")
        if self.masses is not None:
            self.masses = np.ascontiguousarray(self.masses, dtype=np.float64).reshape(-1)
            if len(self.masses) != n:
                raise InvalidArgumentError(f"masses has {len(self.masses)} entries for {n} atoms")
            bad = ~(np.isfinite(self.masses) & (self.masses > 0))
            if bad.any():  # a density, a temperature or a centre of mass from them would be nonsense, silently
                atom, count = int(np.argmax(bad)), int(bad.sum())
                raise InvalidArgumentError(f"masses must be positive and finite (amu); atom {atom} has {self.masses[atom]} "
                                           f"({count} atom{'s' * (count != 1)} in all)")
        for key, value in self.arrays.items():
            if len(value) != n:
                raise InvalidArgumentError(f"per-atom array {key!r} has {len(value)} rows for {n} atoms")
        if self.pbc.any():
            periodic_cell = self.cell[self.pbc]
            if np.any(np.linalg.norm(periodic_cell, axis=1) == 0.0):
                axes = [a for a in range(3) if self.pbc[a] and not self.cell[a].any()]
                raise MissingDataError(
                    f"pbc is {self.pbc.tolist()} but cell vector(s) {axes} are zero; "
                    "give a cell or set those axes non-periodic"
                )

    def __len__(self) -> int:
        return len(self.positions)

    def __repr__(self) -> str:
        extra = []
        if self.velocities is not None:
            extra.append("velocities")
        if self.time is not None:
            extra.append(f"time={self.time:g} ps")
        tail = (", " + ", ".join(extra)) if extra else ""
        return f"Frame({self.formula}, pbc={self.pbc.tolist()}{tail})"

    @property
    def symbols(self) -> np.ndarray:
        """Chemical symbols, shape (n_atoms,)."""
        return _SYMBOLS[self.numbers]

    @property
    def species(self) -> list[str]:
        """Chemical symbols present, ordered by atomic number."""
        return [chemical_symbols[z] for z in np.unique(self.numbers)]

    @property
    def formula(self) -> str:
        """Composition as a formula string, e.g. ``'Ge27Sb54Te108'``."""
        zs, counts = np.unique(self.numbers, return_counts=True)
        return "".join(f"{chemical_symbols[z]}{c}" for z, c in zip(zs, counts)) or "empty"

    @property
    def atom_masses(self) -> np.ndarray:
        """Masses in amu: the file's, else standard atomic masses."""
        if self.masses is not None:
            return self.masses
        return atomic_masses[self.numbers]

    @property
    def volume(self) -> float:
        """Cell volume in Å³ (requires a fully periodic, finite, non-singular cell; see :func:`cell_basis`)."""
        if not self.pbc.all():
            raise MissingDataError(f"{self.describe()}: the volume needs a cell periodic in all three directions")
        cell_basis(self)  # refuses NaN and (nearly) singular cells
        return float(abs(np.linalg.det(self.cell)))

    @property
    def mass_density(self) -> float:
        """Mass density in g/cm³ (requires a fully periodic cell)."""
        return float(self.atom_masses.sum() * AMU_PER_A3_TO_G_PER_CM3 / self.volume)

    def describe(self) -> str:
        """Where the frame came from, for messages: ``'run.xyz frame 12'`` or ``'frame'``."""
        if "file" in self.info:
            return f"{self.info['file']} frame {self.info.get('frame_index', '?')}"
        return "frame"

    def require_velocities(self) -> np.ndarray:
        """Velocities in Å/ps, or a :class:`MissingDataError` naming the frame."""
        if self.velocities is None:
            where = self.describe()
            raise MissingDataError(
                f"{where} has no velocities; write them to the trajectory "
                "(extxyz 'velo' column, LAMMPS dump vx vy vz)"
            )
        return self.velocities

    def to_atoms(self) -> Atoms:
        """Convert to ``ase.Atoms`` (velocities converted to ASE units)."""
        atoms = Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=self.pbc)
        if self.masses is not None:
            atoms.set_masses(self.masses)
        if self.velocities is not None:
            atoms.set_velocities(self.velocities / ASE_VELOCITY_TO_A_PER_PS)
        for key, value in self.arrays.items():
            atoms.new_array(key, np.asarray(value))
        atoms.info.update(self.info)
        if self.time is not None:
            atoms.info["time_ps"] = self.time
        return atoms

    def copy(self) -> "Frame":
        """A deep copy."""
        return Frame(
            positions=self.positions.copy(),
            numbers=self.numbers.copy(),
            cell=self.cell.copy(),
            pbc=self.pbc.copy(),
            velocities=None if self.velocities is None else self.velocities.copy(),
            masses=None if self.masses is None else self.masses.copy(),
            time=self.time,
            arrays={k: np.array(v, copy=True) for k, v in self.arrays.items()},
            info=dict(self.info),
        )


_SYMBOLS = np.array(chemical_symbols)

_ATOMS_SKIP_ARRAYS = {"numbers", "positions", "momenta", "masses"}


def as_frame(obj: Any) -> Frame:
    """Turn an ``ase.Atoms`` (or a :class:`Frame`) into a :class:`Frame`.

    ASE velocities are converted to Å/ps; ``atoms.info['time_ps']`` (or
    ``'time'`` in fs, the libAtoms convention) becomes :attr:`Frame.time`.
    """
    if isinstance(obj, Frame):
        return obj
    if not isinstance(obj, Atoms):
        raise ArgumentTypeError(f"expected ase.Atoms or gstorder.Frame, got {type(obj).__name__}")
    velocities = None
    if obj.has("momenta"):
        velocities = obj.get_velocities() * ASE_VELOCITY_TO_A_PER_PS
    masses = obj.get_masses() if obj.has("masses") else None
    info = dict(obj.info)
    time = info.pop("time_ps", None)
    if time is None and "time" in info:
        time = float(info["time"]) / 1000.0
    arrays = {k: v for k, v in obj.arrays.items() if k not in _ATOMS_SKIP_ARRAYS}
    return Frame(
        positions=obj.positions,
        numbers=obj.numbers,
        cell=obj.cell.array,
        pbc=obj.pbc,
        velocities=velocities,
        masses=masses,
        time=None if time is None else float(time),
        arrays=arrays,
        info=info,
    )


def species_numbers(species: Iterable[str | int], *, dummy: bool = False) -> np.ndarray:
    """Atomic numbers of chemical symbols (or numbers), with a clear error.

    ``dummy=True`` also accepts ASE's dummy atom (``'X'``, atomic number 0).

    Raises
    ------
    UnknownSpeciesError
        For a symbol that is not a chemical element.
    """
    out = []
    lowest = 0 if dummy else 1
    for s in species:
        if isinstance(s, (int, np.integer)):
            if not lowest <= int(s) < len(chemical_symbols):
                raise UnknownSpeciesError(f"atomic number {s} is not a chemical element")
            out.append(int(s))
            continue
        key = str(s).strip()
        key = key[:1].upper() + key[1:].lower()
        if key == "X" and not dummy:
            raise UnknownSpeciesError(f"species {s!r} is ASE's dummy atom (atomic number 0), not a chemical element; "
                                      "this needs real species: set the atoms' numbers or symbols")
        if key not in atomic_numbers:
            raise UnknownSpeciesError(f"unknown chemical species {s!r}; expected a symbol such as 'Ge', 'Sb', 'Te'")
        out.append(atomic_numbers[key])
    return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------- geometry


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
    InvalidArgumentError, SingularCellError
        For a non-finite position (the atom is named) or a non-finite or
        singular cell (see :func:`cell_basis`).
    """
    if not len(frame):
        raise EmptyFrameError(f"{frame.describe()} has no atoms")
    require_finite_positions(frame)
    cell_basis(frame)
    cell = frame.cell
    scale = max(float(np.abs(cell).max()), 1.0)
    along = np.flatnonzero(np.abs(cell[:, axis]) > 1e-9 * scale)
    coords = frame.positions[:, axis]
    if len(along) == 1 and frame.pbc[along[0]]:
        period = float(abs(cell[along[0], axis]))
        return coords - period * np.floor(coords / period), 0.0, period, True
    if frame.pbc[along].any():
        raise InvalidArgumentError(
            f"{what}: cell vectors {along.tolist()} all have components along {'xyz'[axis]} and some are periodic, so "
            f"{'xyz'[axis]} has no single period; use an orthogonal cell (or, for z, a LAMMPS-style cell with a and b "
            "in the xy plane)"
        )
    lower = float(coords.min())
    return coords, lower, max(float(coords.max()) - lower, 1e-9) * (1 + 1e-9), False


def cell_basis(frame: Frame, *, reduced: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A validated basis of the frame's lattice: the periodic cell vectors, completed along non-periodic axes.

    Rows of non-periodic axes (zero for a slab or a cluster, or whatever a
    file holds) are replaced by an orthonormal basis of the complement of
    the periodic vectors' span, so the basis is always invertible.

    Parameters
    ----------
    frame : Frame
    reduced : bool
        Minkowski-reduce the periodic vectors (same lattice, shortest and
        most orthogonal vectors) when that shortens them: a strongly tilted
        cell becomes a compact one, an upright cell is kept as it is.

    Returns
    -------
    basis : ndarray, shape (3, 3)
        Rows in Å; periodic rows stay in the periodic slots.
    op : ndarray of int, shape (3, 3)
        Unimodular, ``basis[pbc] == (op @ cell)[pbc]``; a shift ``S`` in the
        reduced basis is ``S @ op`` in the frame's cell vectors. The
        identity unless ``reduced``.

    Raises
    ------
    InvalidArgumentError
        For a non-finite cell entry (named).
    SingularCellError
        When the periodic vectors are (nearly) linearly dependent: volume
        (or area) at most :data:`SINGULAR_CELL_TOLERANCE` times the product
        of their lengths.
    """
    cell, pbc = frame.cell, frame.pbc
    if not np.isfinite(cell).all():
        row, col = np.argwhere(~np.isfinite(cell))[0]
        raise InvalidArgumentError(f"{frame.describe()}: cell entry [{row}, {col}] is {cell[row, col]}; the cell must be finite")
    periodic = cell[pbc]
    _, singular, vt = np.linalg.svd(np.vstack([periodic, np.zeros((3 - len(periodic), 3))]))
    if len(periodic):
        lengths = np.linalg.norm(periodic, axis=1)
        content = np.prod(singular[: len(periodic)])  # volume, area or length, without the cancellation of det(P Pᵀ)
        if not content > SINGULAR_CELL_TOLERANCE * np.prod(lengths):
            raise SingularCellError(
                f"{frame.describe()}: the periodic cell vectors {periodic.tolist()} (Å) are (nearly) linearly dependent "
                f"(volume or area {content:.3g}, lengths {lengths.round(6).tolist()}); give a proper cell or set the "
                "degenerate axes non-periodic"
            )
    basis = cell.copy()
    basis[~pbc] = vt[len(periodic) :]
    op = np.eye(3, dtype=np.int64)
    if reduced and pbc.any():
        short, short_op = minkowski_reduce(basis, pbc)
        # keep the cell's own vectors (and axis order) unless reduction makes them shorter: it may only permute them
        if np.prod(np.linalg.norm(short[pbc], axis=1)) < (1 - 1e-9) * np.prod(np.linalg.norm(basis[pbc], axis=1)):
            basis, op = short, short_op.astype(np.int64)
    return basis, op


def require_finite_positions(frame: Frame) -> None:
    """Raise :class:`InvalidArgumentError` naming the first atom with a NaN or infinite coordinate."""
    bad = ~np.isfinite(frame.positions).all(axis=1)
    if bad.any():
        atom = int(np.argmax(bad))
        raise InvalidArgumentError(f"{frame.describe()}: atom {atom} has a non-finite position "
                                   f"{frame.positions[atom].tolist()} (Å); {int(bad.sum())} atom(s) in all")


def minimum_image(frame: Frame, vectors: np.ndarray) -> np.ndarray:
    """Shortest periodic images of displacement vectors.

    Parameters
    ----------
    frame : Frame
        Gives the cell and periodicity; non-periodic axes (zero cell
        vectors allowed: slabs, clusters) are left as they are.
    vectors : ndarray, shape (n, 3)
        Finite displacements in Å.

    Returns
    -------
    ndarray, shape (n, 3)
        Each vector plus the lattice vector that makes it shortest, in Å;
        exact for any cell, tilted ones included (the cell is reduced first).
    """
    d = np.array(vectors, dtype=np.float64).reshape(-1, 3)
    pbc = frame.pbc
    if not pbc.any():
        return d
    basis, _ = cell_basis(frame, reduced=True)
    frac = d @ np.linalg.inv(basis)
    frac[:, pbc] -= np.round(frac[:, pbc])
    d = frac @ basis
    # in a reduced basis the shortest image is the rounded one or one of its neighbours
    best, best2 = d.copy(), np.einsum("ij,ij->i", d, d)
    for shift in itertools.product(*[(-1, 0, 1) if p else (0,) for p in pbc]):
        if any(shift):
            image = d + np.array(shift, dtype=np.float64) @ basis
            image2 = np.einsum("ij,ij->i", image, image)
            shorter = image2 < best2
            best[shorter], best2[shorter] = image[shorter], image2[shorter]
    return best


def inverse_cell(frame: Frame) -> np.ndarray:
    """Inverse of the cell, with rows along non-periodic axes replaced by an orthonormal complement (see :func:`cell_basis`)."""
    return np.linalg.inv(cell_basis(frame)[0])


def __getattr__(name):
    # iter_frames opens paths, so it lives above the readers (gstorder.source); this keeps gstorder.frames.iter_frames
    if name == "iter_frames":
        from .source import iter_frames

        return iter_frames
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
