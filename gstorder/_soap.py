"""quippy's SOAP power spectrum: settings, radial basis, and the numba and quippy backends.

The native backend follows ``spec.md`` ("SOAP exactly as quippy computes it")
and reproduces quippy-ase 0.10.3's ``soap`` vectors to round-off; the quippy
backend calls ``quippy.descriptors.Descriptor`` and is the oracle in the tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from math import factorial
from typing import Iterator

import numpy as np
from scipy.linalg import cholesky, solve
from scipy.special import erf

from . import _checks, neighbors
from .parallel import n_tasks
from ._kernels.soap import radial_decay, soap_block
from .errors import InvalidArgumentError, UnknownSpeciesError
from .frames import Frame, species_numbers

__all__ = ["SoapSettings", "soap_settings", "iter_soap", "SoapBlocks", "BACKENDS"]

BACKENDS = ("numba", "quippy")

#: quippy soap options the native kernel does not reproduce, with quippy's defaults. Asking for the default is a
#: no-op; any other value is refused by the native backend (never a different vector) and passed on to quippy's.
_QUIPPY_ONLY = {"average": False, "diagonal_radial": False, "Z_mix": False, "R_mix": False, "sym_mix": False,
                "coupling": True, "K": 0, "compress_file": "", "compress_mode": "", "nu_R": 2, "nu_S": 1,
                "mix_shift": 0, "species_mix": False, "radial_mix": False, "xml_version": None}

#: Centre atoms per SOAP block: 8,192 rows of 3,331 float64 numbers are 218 MB.
SOAP_BLOCK_SIZE = 8192


@dataclass(frozen=True)
class SoapSettings:
    """Options of quippy's ``soap`` descriptor (lengths in Å), defaults from the paper.

    Attributes
    ----------
    cutoff, atom_sigma, n_max, l_max, cutoff_transition_width, central_weight,
    covariance_sigma0, normalise, basis_error_exponent, central_reference_all_species
        As in quippy (``cutoff_transition_width`` w: the weight falls from 1 at
        ``cutoff - w`` to 0 at ``cutoff``).
    species : tuple of str
        Neighbour species channels, in this order (quippy's ``species_Z``).
    centres : tuple of str
        Species of the centre atoms (quippy's ``Z``).
    """

    cutoff: float = 5.5
    atom_sigma: float = 0.5
    n_max: int = 12
    l_max: int = 4
    species: tuple = ("Ge", "Sb", "Te")
    centres: tuple = ("Ge", "Sb", "Te")
    cutoff_transition_width: float = 0.5
    central_weight: float = 1.0
    covariance_sigma0: float = 0.0
    normalise: bool = True
    basis_error_exponent: float = 10.0
    central_reference_all_species: bool = False
    #: quippy-only options (name, value) with non-default values: only ``backend="quippy"`` computes them.
    quippy_only: tuple = ()

    @property
    def dimension(self) -> int:
        """Length of one SOAP vector, (l_max + 1) K (K + 1) / 2 + 1 with K = n_species n_max."""
        if self.quippy_only:
            raise InvalidArgumentError(f"SOAP options {dict(self.quippy_only)} are computed by quippy alone: pass "
                                       "backend='quippy'")
        k = len(self.species) * self.n_max
        return (self.l_max + 1) * k * (k + 1) // 2 + 1

    def descriptor_string(self) -> str:
        """The quippy descriptor string of these settings."""
        zs = " ".join(str(z) for z in species_numbers(self.species))
        cz = " ".join(str(z) for z in species_numbers(self.centres))
        return (
            f"soap cutoff={self.cutoff!r} cutoff_transition_width={self.cutoff_transition_width!r} "
            f"atom_sigma={self.atom_sigma!r} n_max={self.n_max} l_max={self.l_max} "
            f"central_weight={self.central_weight!r} covariance_sigma0={self.covariance_sigma0!r} "
            f"normalise={'T' if self.normalise else 'F'} basis_error_exponent={self.basis_error_exponent!r} "
            f"central_reference_all_species={'T' if self.central_reference_all_species else 'F'} "
            f"n_species={len(self.species)} species_Z={{{zs}}} n_Z={len(self.centres)} Z={{{cz}}}"
            + "".join(f" {name}={_quippy_value(value)}" for name, value in self.quippy_only)
        )

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


def soap_settings(options=None, *, backend: str = "numba", **overrides) -> SoapSettings:
    """Validated :class:`SoapSettings` from a dict of quippy-style options.

    Accepts gstorder's names and quippy's (``species_Z``, ``Z``, ``n_species``,
    ``n_Z``, ``radial_basis="EQUISPACED_GAUSS"``). quippy options the native
    kernel does not reproduce (``coupling``, ``nu_R``, ``average``,
    ``diagonal_radial``, species mixing, compression, ...) are accepted at
    quippy's default value; other values only with ``backend="quippy"``.

    Raises
    ------
    InvalidArgumentError
        For such an option with the native backend (the message names
        ``backend='quippy'``), unknown options and out-of-range values.
        For unknown options or out-of-range values.
    """
    _checks.choice("backend", backend, BACKENDS)
    if isinstance(options, SoapSettings):
        options = options.as_dict()
    opts = dict(options or {}, **overrides)
    quippy_only = dict(opts.pop("quippy_only", ()))
    for name, default in _QUIPPY_ONLY.items():
        if name not in opts:
            continue
        value = opts.pop(name)
        if _same_option(value, default):
            continue
        if backend != "quippy":
            raise InvalidArgumentError(f"SOAP option {name}={value!r} (quippy's default: {default!r}) is not "
                                       "reproduced by gstorder's kernel; use backend='quippy' for it")
        quippy_only[name] = value
    basis = opts.pop("radial_basis", "EQUISPACED_GAUSS")
    if str(basis).upper() != "EQUISPACED_GAUSS":
        if backend != "quippy":
            raise InvalidArgumentError(f"SOAP option radial_basis={basis!r} is not reproduced by gstorder's kernel "
                                       "(only 'EQUISPACED_GAUSS', quippy's default); use backend='quippy' for it")
        quippy_only["radial_basis"] = basis
    opts["quippy_only"] = tuple(sorted(quippy_only.items()))
    if "species_Z" in opts:
        opts["species"] = opts.pop("species_Z")
    if "Z" in opts:
        opts["centres"] = opts.pop("Z")
    n_species, n_z = opts.pop("n_species", None), opts.pop("n_Z", None)
    fields = {f.name for f in dataclasses.fields(SoapSettings)}
    unknown = set(opts) - fields
    if unknown:
        raise InvalidArgumentError(f"unknown SOAP option(s) {sorted(unknown)}; valid: {sorted(fields)}")
    if "species" in opts and "centres" not in opts:
        opts["centres"] = opts["species"]
    for key in ("species", "centres"):
        if key in opts:
            value = opts[key]
            value = [value] if isinstance(value, (str, int, np.integer)) else list(value)
            opts[key] = tuple(_symbol(z) for z in species_numbers(value))
            if not opts[key]:
                raise InvalidArgumentError(f"SOAP {key} must name at least one species")
            if len(set(opts[key])) != len(opts[key]):
                raise InvalidArgumentError(f"SOAP {key} lists a species twice: {opts[key]}")
    settings = SoapSettings(**opts)
    if n_species is not None and int(n_species) != len(settings.species):
        raise InvalidArgumentError(f"n_species={n_species} but species_Z lists {len(settings.species)} species")
    if n_z is not None and int(n_z) != len(settings.centres):
        raise InvalidArgumentError(f"n_Z={n_z} but Z lists {len(settings.centres)} species")
    settings = _check(settings)
    if len(settings.species) == 1 and not settings.central_reference_all_species:
        settings = dataclasses.replace(settings, central_reference_all_species=True)  # quippy does the same
    return settings


def _same_option(value, default) -> bool:
    """Whether a quippy option value means quippy's default (``'T'``/``'F'`` strings as booleans)."""
    if isinstance(default, bool) and isinstance(value, str) and value.strip().upper() in ("T", "F", "TRUE", "FALSE"):
        value = value.strip().upper() in ("T", "TRUE")
    if default is None or isinstance(default, str):
        return value is None or value == default
    try:
        return isinstance(value, (bool, np.bool_, int, float, np.number)) and float(value) == float(default)
    except (TypeError, ValueError):
        return False


def _quippy_value(value) -> str:
    """An option value as quippy's descriptor string writes it."""
    if isinstance(value, (bool, np.bool_)):
        return "T" if value else "F"
    return str(value)


def _symbol(z) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[int(z)]


def _check(s: SoapSettings) -> SoapSettings:
    """The settings with every number checked (and the counts as ints)."""
    cutoff = _checks.positive("cutoff", s.cutoff, unit="Å")
    return dataclasses.replace(
        s, cutoff=cutoff,
        cutoff_transition_width=_checks.real("cutoff_transition_width", s.cutoff_transition_width, unit="Å", low=0.0,
                                             low_open=True, high=cutoff),
        atom_sigma=_checks.positive("atom_sigma", s.atom_sigma, unit="Å"),
        n_max=_checks.count("n_max", s.n_max, maximum=64), l_max=_checks.count("l_max", s.l_max, minimum=0, maximum=20),
        central_weight=_checks.real("central_weight", s.central_weight),
        covariance_sigma0=_checks.real("covariance_sigma0", s.covariance_sigma0),
        basis_error_exponent=_checks.positive("basis_error_exponent", s.basis_error_exponent),
        normalise=_checks.flag("normalise", s.normalise),
        central_reference_all_species=_checks.flag("central_reference_all_species", s.central_reference_all_species))


def radial_basis(s: SoapSettings):
    """Gaussian exponent α, basis centres r_b (Å), transform T = C⁻¹ L and L's first row."""
    alpha = 1.0 / (2.0 * s.atom_sigma**2)
    r_cb = s.cutoff + s.atom_sigma * np.sqrt(2.0 * s.basis_error_exponent * np.log(10.0))
    rb = np.arange(s.n_max) * (r_cb / s.n_max)
    diff = rb[:, None] - rb[None, :]
    cov = np.exp(-alpha * diff**2)
    # overlap ∫_0^∞ r² exp(-α(r - r_a)²) exp(-α(r - r_b)²) dr in closed form
    m = 0.5 * (rb[:, None] + rb[None, :])
    beta = 2.0 * alpha
    gauss = 0.5 * np.sqrt(np.pi / beta) * (1.0 + erf(m * np.sqrt(beta)))
    overlap = np.exp(-0.5 * alpha * diff**2) * ((m**2 + 1.0 / (2.0 * beta)) * gauss + m * np.exp(-beta * m**2) / (2.0 * beta))
    lower = cholesky(overlap, lower=True)
    transform = solve(cov, lower)
    return alpha, rb, np.ascontiguousarray(transform), np.ascontiguousarray(lower[0])


def ylm_norms(l_max: int) -> np.ndarray:
    """Normalisation of the real spherical harmonics, indexed l*l + l + m."""
    out = np.empty((l_max + 1) ** 2)
    for l in range(l_max + 1):
        for m in range(-l, l + 1):
            a = abs(m)
            value = np.sqrt((2 * l + 1) / (4 * np.pi) * factorial(l - a) / factorial(l + a))
            out[l * l + l + m] = value * (np.sqrt(2.0) if m else 1.0)
    return out


def centre_mask(frame: Frame, s: SoapSettings) -> np.ndarray:
    """Atoms that are SOAP centres (species in ``s.centres``)."""
    return np.isin(frame.numbers, species_numbers(s.centres))


def iter_soap(frame: Frame, s: SoapSettings, *, backend: str = "numba", centers=None, block_size: int = SOAP_BLOCK_SIZE,
              parallel=None, reuse: bool = False, out: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """SOAP vectors of a frame, block by block: ``(centre atom indices, vectors (n, dim))``.

    ``centers`` (indices or mask) restricts the centres further; by default
    every atom whose species is in ``s.centres``. With ``reuse=True`` every
    block is written into the same buffer (fresh pages for each 218 MB block
    cost about a quarter of the SOAP time): use a block before asking for
    the next. With ``out`` (C-contiguous, one row per centre: see
    :func:`centre_mask`), the blocks are written straight into its
    consecutive rows and the yielded vectors are views of it.
    """
    _checks.choice("backend", backend, BACKENDS)
    if s.quippy_only and backend != "quippy":
        raise InvalidArgumentError(f"SOAP options {dict(s.quippy_only)} need backend='quippy'")
    block_size = _checks.count("block_size", block_size)
    mask = centre_mask(frame, s)
    if centers is not None:
        chosen = np.zeros(len(frame), dtype=bool)
        chosen[np.asarray(centers)] = True
        mask &= chosen
    if out is not None and (len(out) != int(mask.sum()) or not out.flags.c_contiguous):
        raise InvalidArgumentError(f"out must be C-contiguous with {int(mask.sum())} rows, got {out.shape}")
    if backend == "quippy":
        ids, vectors = _quippy_vectors(frame, s, mask)
        if out is not None:
            out[:] = vectors
            vectors = out
        yield ids, vectors
        return
    blocks, start = SoapBlocks(frame, s), 0
    for nl in neighbors.iter_blocks(frame, float(s.cutoff), block_size=block_size, centers=mask, parallel=parallel):
        rows = None if out is None else out[start : start + len(nl.centers)]
        start += len(nl.centers)
        yield nl.centers, blocks.vectors(nl, parallel=parallel, reuse=reuse, out=rows)


class SoapBlocks:
    """The native SOAP of one frame, block by block of centres, from neighbour lists at the SOAP cut-off.

    ``vectors(nl)`` computes the (len(nl.centers), dim) vectors of the
    block's centres from ``nl``, a full list within ``s.cutoff`` (e.g. a
    block of :class:`gstorder.pipeline.FrameNeighbours`).
    """

    def __init__(self, frame: Frame, s: SoapSettings, *, buffer: np.ndarray | None = None):
        self.s = s
        self.basis = radial_basis(s)
        self.decay = radial_decay(self.basis[0], self.basis[1], float(s.cutoff))
        self.norms = ylm_norms(s.l_max)
        self.channel = np.full(len(frame), -1, dtype=np.int64)
        for k, z in enumerate(species_numbers(s.species)):
            self.channel[frame.numbers == z] = k
        #: The output buffer ``vectors(reuse=True)`` writes into; hand it to the next frame's SoapBlocks to keep it.
        self.buffer = buffer if buffer is not None and buffer.shape[1:] == (s.dimension,) else None

    def vectors(self, nl, *, parallel=None, reuse: bool = False, out: np.ndarray | None = None,
                order: np.ndarray | None = None, columns: np.ndarray | None = None) -> np.ndarray:
        """SOAP vectors of the block's centres.

        Into ``out`` (C-contiguous, (n_centres, dim)) if given; else, with
        ``reuse``, into one buffer kept between blocks (and frames). With
        ``order`` (a permutation of the centres' positions), centre ``c``'s
        vector is row ``order[c]``; with ``columns`` (a permutation of the
        dim components), component d is column ``columns[d]``.
        """
        if out is None:
            if not reuse or self.buffer is None or len(self.buffer) < len(nl.centers):
                self.buffer = np.empty((len(nl.centers), self.s.dimension))
            out = self.buffer[: len(nl.centers)]
        self._run(nl, np.empty((0, self.s.dimension)), out, parallel, order, columns=columns)
        return out

    def projections(self, nl, refs: np.ndarray, *, out: np.ndarray | None = None, parallel=None,
                    rows: np.ndarray | None = None, columns: np.ndarray | None = None) -> np.ndarray:
        """Dot products of the block's SOAP vectors with the rows of ``refs`` (n_refs, dim): (n_centres, n_refs).

        The vectors themselves are never stored: each lives in a per-thread
        row while it is projected. Equal to ``vectors(nl) @ refs.T`` to a few
        ulp; for tens of rows (k̄ against the bases of its reference groups)
        it skips writing and re-reading 26 kB per atom. With ``rows``
        ((n_centres, 2) integers), centre c is projected on ``refs[rows[c, 0]
        : rows[c, 1]]`` alone and its other columns are left unset. With
        ``columns`` (as in :meth:`vectors`), ``refs`` holds the first
        m <= dim of those columns (the components beyond are taken as zero).
        """
        refs = np.ascontiguousarray(refs, dtype=float)
        width = refs.shape[-1] <= self.s.dimension if columns is not None else refs.shape[-1] == self.s.dimension
        if refs.ndim != 2 or not width or not len(refs):
            raise InvalidArgumentError(f"refs must have shape (n >= 1, {self.s.dimension}), got {refs.shape}")
        if out is None:
            out = np.empty((len(nl.centers), len(refs)))
        if rows is None:
            rows = np.repeat([[0, len(refs)]], len(nl.centers), axis=0)
        self._run(nl, refs, out, parallel, rows=rows, columns=columns)
        return out

    def _run(self, nl, refs, out, parallel, order=None, rows=None, columns=None) -> None:
        if not len(nl.centers):
            return
        n, dim = len(nl.centers), self.s.dimension
        order = np.arange(n) if order is None else _checks.permutation("order", order, n)
        columns = np.arange(dim) if columns is None else _checks.permutation("columns", columns, dim)
        if out.shape[0] < n or (not len(refs) and out.shape[1] != dim):
            raise InvalidArgumentError(f"out must have at least {n} rows of {dim if not len(refs) else len(refs)}, "
                                       f"got {out.shape}")
        if rows is None:
            rows = np.zeros((n, 2), dtype=np.int64)
        else:
            rows = np.asarray(rows, dtype=np.int64)
            if rows.shape != (n, 2) or (rows[:, 0] < 0).any() or (rows[:, 1] < rows[:, 0]).any() or \
                    (rows[:, 1] > min(len(refs), out.shape[1])).any():
                raise InvalidArgumentError(f"rows must be ({n}, 2) ranges within the {len(refs)} refs, got {rows.shape}")
        s = self.s
        alpha, rb, transform, l0 = self.basis
        soap_block(nl.offsets, nl.centers, nl.j, nl.distances, nl.vectors, self.channel,
                   bool(s.central_reference_all_species), rb, self.decay, alpha, float(s.cutoff),
                   float(s.cutoff_transition_width), transform, l0, float(s.central_weight), int(s.l_max), len(s.species),
                   self.norms, bool(s.normalise), float(s.covariance_sigma0), refs, rows, columns, order, out,
                   n_tasks(len(nl.centers), parallel))


_DESCRIPTORS: dict = {}


def _quippy_vectors(frame: Frame, s: SoapSettings, mask: np.ndarray):
    try:
        from quippy.descriptors import Descriptor
    except ImportError as exc:  # pragma: no cover - quippy-ase is a dependency
        raise ImportError("backend='quippy' needs quippy-ase: pip install quippy-ase") from exc
    key = s.descriptor_string()
    if key not in _DESCRIPTORS:
        _DESCRIPTORS[key] = Descriptor(key)
    atoms = frame.to_atoms()
    if not frame.pbc.any():  # quippy wants a cell enclosing a cluster
        span = np.ptp(frame.positions, axis=0) if len(frame) else np.zeros(3)
        atoms.set_cell(np.diag(span + 2 * s.cutoff + 1.0))
        atoms.positions = atoms.positions - frame.positions.min(axis=0) + s.cutoff + 0.5
    out = _DESCRIPTORS[key].calc(atoms)
    if "data" not in out or not len(out["data"]):
        return np.zeros(0, np.int64), np.zeros((0, 0 if s.quippy_only else s.dimension))
    index = np.asarray(out["ci"]).reshape(-1) - 1
    data = np.asarray(out["data"]).reshape(len(index), -1)
    keep = mask[index]
    return index[keep], data[keep]


def require_species(frame: Frame, s: SoapSettings, what: str = "SOAP") -> None:
    """Every species of the frame must be a SOAP channel, or :class:`UnknownSpeciesError`."""
    known = set(species_numbers(s.species).tolist())
    absent = sorted({_symbol(z) for z in np.unique(frame.numbers) if z not in known})
    if absent:
        raise UnknownSpeciesError(f"{frame.describe()} contains {absent}, which the {what} species "
                                  f"{list(s.species)} do not include; add them to species=")

