"""SOAP k̄ crystallinity: how crystal-like every atom is, against reference crystals.

Definitions (paper, Methods "Structural analysis using SOAP"; ``spec.md``):
SOAP power spectra p̂ as quippy computes them (cut-off 5.5 Å, σ 0.5 Å,
n_max 12, l_max 4, unit length); per-atom similarity k_i = mean over the
reference environments j of i's group of (p̂_i · p̂_j)^ζ, ζ = 4; k̄_i = the
mean of k over atom i and its neighbours within 3.2 Å. Groups default to
cations {Ge, Sb} and anions {Te}: a Te atom is only ever compared with Te
environments.

The native Numba SOAP (``backend="numba"``, default) reproduces quippy's
vectors to round-off and is fused with the kernel block by block, so the
N × 3,331 descriptor matrix of a device-scale frame never exists;
``backend="quippy"`` calls quippy itself.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from . import _checks, neighbors, structures
from . import vacancies as _vacancies
from ._atomic import atomic_write
from ._labels import attrs_of, frame_coords
from .parallel import one_blas_thread, over_row_chunks
from .pipeline import Analysis, Need, Part, run
from .registry import Figure, Parameter, Requires, public, register
from .species import GROUPS, species_groups
from ._kernels.soap import neighbour_mean
from ._soap import (BACKENDS, SOAP_BLOCK_SIZE, SoapBlocks, SoapSettings, centre_mask, iter_soap, require_species,
                    soap_settings)
from .errors import (ArgumentTypeError, EmptyFrameError, InconsistentFramesError, InvalidArgumentError,
                     ReferenceFileError, UnknownSpeciesError)
from .frames import species_numbers
from .source import iter_frames
from ._figures import _reference_name, mean_text, species_time_figure
from . import plot

__all__ = ["soap", "kbar", "KBar", "NORMALISATIONS", "self_similarity", "antisites", "Reference", "ReferenceProducts", "reference", "calibrate", "Calibration", "write_extxyz", "GROUPS",
           "SoapSettings", "soap_settings"]


#: The paper's references: name -> (description, builder).
_NAMED = {
    "rocksalt": ("three randomised 189-atom rock-salt Ge1Sb2Te4 models (paper Figs 3b, 4)", structures.rocksalt_references),
    "trigonal": ("the 21-atom trigonal Ge1Sb2Te4 cell (paper Fig. 6)", lambda: [structures.trigonal_reference()]),
}


# --------------------------------------------------------------------------- raw vectors


def soap(frames, *, backend: str = "numba", index=None, block_size: int = SOAP_BLOCK_SIZE, parallel=None,
         show_progress=None, **options) -> xr.DataArray:
    """quippy's SOAP power spectra of every centre atom.

    Parameters
    ----------
    frames : path, Frame, ase.Atoms, Trajectory or iterable of them
        All frames must have the same centre atoms. Atoms of species outside
        ``species`` are ignored, as quippy ignores them.
    backend : {'numba', 'quippy'}
        gstorder's native kernel (default; identical to quippy to round-off,
        parallel, in blocks of ``block_size`` centres) or quippy itself.
    **options
        quippy ``soap`` options with the paper's defaults: ``cutoff=5.5``,
        ``atom_sigma=0.5``, ``n_max=12``, ``l_max=4``,
        ``species=("Ge", "Sb", "Te")`` (quippy's ``species_Z``; order
        matters), ``centres`` (quippy's ``Z``, default ``species``),
        ``cutoff_transition_width=0.5``, ``central_weight=1.0``,
        ``covariance_sigma0=0.0``, ``normalise=True``,
        ``basis_error_exponent=10``, ``central_reference_all_species``.
        quippy options the native kernel does not reproduce (``coupling``,
        ``nu_R``, ``nu_S``, ``average``, ``diagonal_radial``, species
        mixing, other radial bases, ...) are accepted at quippy's default
        value and otherwise need ``backend="quippy"``; the native backend
        refuses them (:class:`~gstorder.errors.InvalidArgumentError`) rather
        than return the standard vector.

    Returns
    -------
    xarray.DataArray
        Over (``frame``, ``atom``, ``feature``): 3,331 numbers per atom for the
        paper's settings, in quippy's order. ``atom`` holds the indices of
        the centre atoms; ``attrs["descriptor"]`` the quippy descriptor string.

    Examples
    --------
    >>> from gstorder import crystallinity, structures
    >>> v = crystallinity.soap(structures.trigonal("GeTe"), species=["Ge", "Te"])
    >>> v.shape, round(float((v[0, 0] ** 2).sum()), 12)
    ((1, 6, 1501), 1.0)
    """
    return run(frames, [SOAPVectors(backend=backend, options=options)], index=index, block_size=block_size,
               parallel=parallel, show_progress=show_progress)["soap"]


class SOAPVectors(Analysis):
    """:func:`soap` as an analysis of the one-pass runner: every centre atom's SOAP vector, frame by frame.

    The numba backend takes its neighbours from the shared search and writes
    each block straight into the frame's rows; quippy computes the whole frame.
    """

    name = "soap"
    summary = "SOAP power spectra of every centre atom"
    same_atoms = True
    max_block = SOAP_BLOCK_SIZE
    parameters = (
        Parameter("backend", "numba", "SOAP engine: 'numba' or 'quippy'",
                  check=lambda name, v: _checks.choice(name, v, BACKENDS), kind="str"),
        Parameter("options", None, "quippy soap options (see soap())", kind="table"),
    )

    def prepare(self):
        self.settings = soap_settings(self.options or {}, backend=self.backend)
        if self.settings.quippy_only and self.backend != "quippy":
            raise InvalidArgumentError(f"SOAP options {dict(self.settings.quippy_only)} need backend='quippy'")
        native = self.backend == "numba"
        self.needs = (Need.of(float(self.settings.cutoff), centres=self.settings.centres),) if native else ()

    def begin_frame(self, frame):
        ids = np.flatnonzero(centre_mask(frame, self.settings))
        if not self.needs:
            return {"ids": ids}
        return {"ids": ids, "vectors": np.empty((len(ids), self.settings.dimension)),
                "soap": SoapBlocks(frame, self.settings)}

    def add_block(self, state, frame, lists):
        nl = lists[self.needs[0]]
        if len(nl.centers):
            start = int(np.searchsorted(state["ids"], nl.centers[0]))  # blocks hold consecutive centres
            state["soap"].vectors(nl, parallel=lists.parallel, out=state["vectors"][start : start + len(nl.centers)])

    def end_frame(self, state, frame) -> Part:
        if not self.needs:
            (ids, vectors), = iter_soap(frame, self.settings, backend=self.backend)
            return Part((ids, vectors))
        return Part((state["ids"], state["vectors"]))

    def result(self, parts, times) -> xr.DataArray:
        centre_ids = parts[0].data[0]
        for p in parts[1:]:
            if not np.array_equal(p.data[0], centre_ids):
                raise InconsistentFramesError("a frame has other centre atoms than the first frame; call soap() per frame")
        rows = [p.data[1] for p in parts]
        data = rows[0][None] if len(rows) == 1 else np.stack(rows)  # one frame: a view, no copy
        s = self.settings
        return xr.DataArray(data, dims=("frame", "atom", "feature"),
                            coords={**frame_coords(np.asarray(times)), "atom": centre_ids},
                            name="soap", attrs={"long_name": "SOAP power spectrum", "units": "",
                                                "descriptor": s.descriptor_string(), "backend": self.backend})


# --------------------------------------------------------------------------- references


@dataclass(eq=False)
class Reference:
    """Reference environments for k̄: unit SOAP vectors per species group.

    Build one with :func:`reference`; identical environments are merged and
    carry their multiplicity as a weight, so k̄ is the same as without merging.

    Attributes
    ----------
    vectors : dict of str to ndarray (n_environments, dim)
    weights : dict of str to ndarray (n_environments,)
    groups : dict of str to tuple of str
        Group name -> species.
    settings : SoapSettings
    description : str
    """

    vectors: dict
    weights: dict
    groups: dict
    settings: SoapSettings
    description: str = ""
    _group_of: dict = field(init=False, repr=False)

    def __post_init__(self):
        self._group_of = {s: g for g, members in self.groups.items() for s in members}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{g}: {len(v)}" for g, v in self.vectors.items())
        return f"Reference({self.description!r}; environments {sizes})"

    @property
    def n_environments(self) -> dict:
        """Distinct environments per group (after merging) and their total weight."""
        return {g: (len(v), float(self.weights[g].sum())) for g, v in self.vectors.items()}

    def group_index(self, frame) -> np.ndarray:
        """Index (in ``self.groups`` order) of each atom's group, with a clear error for others."""
        names = list(self.groups)
        symbols = frame.symbols
        out = np.full(len(frame), -1, dtype=np.int64)
        for k, g in enumerate(names):
            out[np.isin(symbols, self.groups[g])] = k
        if (out < 0).any():
            missing = sorted(set(symbols[out < 0]))
            raise UnknownSpeciesError(f"{frame.describe()} contains {missing}, which no reference group holds; "
                                      f"groups are {self.groups}")
        return out

    def save(self, path) -> None:
        """Write to a ``.npz`` file (atomically: a temporary file, then a rename)."""
        arrays = {}
        for g in self.groups:
            arrays[f"vectors/{g}"] = self.vectors[g]
            arrays[f"weights/{g}"] = self.weights[g]
        meta = repr({"groups": {g: list(v) for g, v in self.groups.items()}, "settings": self.settings.as_dict(),
                     "description": self.description, "format": "gstorder-reference-1"})
        atomic_write(path, lambda fh: np.savez_compressed(fh, meta=np.array(meta), **arrays), binary=True)

    @classmethod
    def load(cls, path) -> "Reference":
        """Read a reference written by :meth:`save`."""
        import ast

        try:
            with np.load(path, allow_pickle=False) as data:
                meta = ast.literal_eval(str(data["meta"]))
                if meta.get("format") != "gstorder-reference-1":
                    raise KeyError("format")
                groups = {g: tuple(v) for g, v in meta["groups"].items()}
                vectors = {g: data[f"vectors/{g}"] for g in groups}
                weights = {g: data[f"weights/{g}"] for g in groups}
        except FileNotFoundError:
            raise
        except Exception as exc:  # np.load raises BadZipFile, EOFError, OSError, ValueError... for damaged files
            raise ReferenceFileError(f"{path} is not a gstorder reference file ({type(exc).__name__}: {exc})") from None
        return cls(vectors, weights, groups, soap_settings(meta["settings"]), meta["description"])


def reference(structures_or_name="rocksalt", *, groups=None, backend: str = "numba",
              merge_tolerance: float = 1e-10, **options) -> Reference:
    """Reference environments for :func:`kbar`.

    Parameters
    ----------
    structures_or_name : str, ase.Atoms, Frame or list of them
        ``"rocksalt"`` (the three randomised rock-salt Ge1Sb2Te4 models of
        Figs 3b and 4), ``"trigonal"`` (the trigonal Ge1Sb2Te4 cell of Fig.
        6), or any structures; or a path to a saved reference.
    groups : sequence or dict, optional
        Species groups: names from :data:`GROUPS` (``"cations"``,
        ``"anions"``, the default), lists of species, single species
        (per-element groups, e.g. ``("Ge", "Sb", "Te")``), or a dict name ->
        species. A saved reference keeps its own; asking for others is an error.
    merge_tolerance : float
        Environments whose SOAP vectors agree to this (max abs) are merged.
    **options
        SOAP options as in :func:`soap`.

    Returns
    -------
    Reference

    Examples
    --------
    >>> from gstorder import crystallinity
    >>> ref = crystallinity.reference("trigonal")
    >>> ref.n_environments
    {'cations': (2, 9.0), 'anions': (2, 12.0)}
    """
    return _reference(structures_or_name, groups, backend, merge_tolerance, options or None)


def _reference(structures_or_name, groups, backend, merge_tolerance, options) -> Reference:
    """A reference from a name, structures, a file or a Reference; ``groups``/``options`` None mean 'as it comes'."""
    if isinstance(structures_or_name, Reference) or (
        isinstance(structures_or_name, (str, os.PathLike)) and str(structures_or_name) not in _NAMED
    ):
        if isinstance(structures_or_name, Reference):
            ref = structures_or_name
        elif os.path.exists(structures_or_name):
            ref = Reference.load(structures_or_name)
        else:
            raise InvalidArgumentError(f"reference={structures_or_name!r}: not a named reference "
                                       f"({', '.join(_NAMED)}) nor an existing file")
        if options is not None and soap_settings(options, backend=backend) != ref.settings:
            raise InvalidArgumentError("soap options differ from those the reference was built with; rebuild it with "
                             "crystallinity.reference(structures, **soap) or drop them")
        if groups is not None and species_groups(groups) != ref.groups:
            raise InvalidArgumentError(f"groups={groups!r} differ from the reference's own {ref.groups}; rebuild it with these groups")
        return ref
    settings = soap_settings(options, backend=backend)
    merge_tolerance = _checks.non_negative("merge_tolerance", merge_tolerance)
    group_table = species_groups(("cations", "anions") if groups is None else groups)
    ref = _build_reference(structures_or_name if isinstance(structures_or_name, str) else None,
                           None if isinstance(structures_or_name, str) else structures_or_name,
                           tuple((g, tuple(v)) for g, v in group_table.items()), settings, backend, merge_tolerance)
    # the named ones come from a cache: hand out a copy the caller may change
    return Reference(dict(ref.vectors), dict(ref.weights), dict(ref.groups), ref.settings, ref.description)


def _build_reference(name, frames, group_items, settings, backend, merge_tolerance) -> Reference:
    if name is not None:
        return _named_reference(name, group_items, settings, backend, merge_tolerance)
    groups = dict(group_items)
    collected = {g: [] for g in groups}
    count = 0
    for frame in iter_frames(frames):
        if not len(frame):
            raise EmptyFrameError(f"reference {frame.describe()} has no atoms")
        require_species(frame, settings, "reference SOAP")
        gi = Reference({}, {}, groups, settings).group_index(frame)
        for ids, vecs in iter_soap(frame, settings, backend=backend):
            for k, g in enumerate(groups):
                collected[g].append(vecs[gi[ids] == k])
        count += 1
    if count == 0:
        raise EmptyFrameError("no reference structures given")
    vectors, weights = {}, {}
    for g, parts in collected.items():
        v = np.concatenate(parts) if parts else np.zeros((0, settings.dimension))
        if not len(v):
            raise UnknownSpeciesError(f"the reference structures hold no atoms of group {g!r} ({groups[g]}); "
                                      "pass other groups= or add structures")
        vectors[g], weights[g] = _merge(v, merge_tolerance)
    return Reference(vectors, weights, groups, settings, f"{count} user structure(s)")


@functools.lru_cache(maxsize=16)
def _named_reference(name, group_items, settings, backend, merge_tolerance) -> Reference:
    description, builder = _NAMED[name]
    ref = _build_reference(None, builder(), group_items, settings, backend, merge_tolerance)
    ref.description = f"{name}: {description}"
    return ref


def _merge(vectors: np.ndarray, tolerance: float):
    """Unique rows (to ``tolerance``) and their multiplicities."""
    if tolerance <= 0:
        return vectors, np.ones(len(vectors))
    keys = np.round(vectors / tolerance).astype(np.int64)
    _, first, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first)
    return np.ascontiguousarray(vectors[first[order]]), counts[order].astype(float)


# --------------------------------------------------------------------------- k-bar


def _reference_check(name, value):
    """A reference as a name, a saved file or (Python) a Reference or structures; names and files are checked early."""
    if isinstance(value, str) and value not in _NAMED and not os.path.isfile(value):
        raise InvalidArgumentError(f"{name}={value!r}: not a named reference ({', '.join(_NAMED)}) nor an existing "
                                   "reference file")
    return value


class KBar(Analysis):
    """:func:`kbar` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`).

    ``per_atom=False`` keeps only the per-frame means (``kbar_mean``,
    ``kbar_species``); the runner may also stream the per-atom ``k`` and
    ``kbar`` to disk instead of holding them.
    """

    name = "kbar"
    order = 50
    summary = "SOAP crystallinity k̄ per atom against reference crystals"
    same_atoms = True
    max_block = SOAP_BLOCK_SIZE
    parameters = (
        Parameter("reference", "rocksalt", "reference crystals: 'rocksalt' (Figs 3b, 4), 'trigonal' (Fig. 6), a saved "
                  "reference file, or (Python) a Reference or structures", check=_reference_check, kind="str"),
        Parameter("groups", None, "species groups (see reference()); unset: cations {Ge, Sb} and anions {Te}", kind="list"),
        Parameter("zeta", 4.0, "kernel exponent ζ in k = (p̂_i · p̂_j)^ζ", "", _checks.positive),
        Parameter("normalize", "reference", "how k is put on the paper's scale: 'reference', 'none' or 'best'",
                  check=lambda name, v: _checks.choice(name, v, NORMALISATIONS), kind="str", aliases=("normalise",)),
        Parameter("neighbour_average", True, "average k over each atom and its neighbours within neighbour_cutoff "
                  "(False: k̄ = k)", check=_checks.flag, kind="bool", aliases=("neighbor_average",)),
        Parameter("neighbour_cutoff", 3.2, "cut-off of the neighbour average", "Å", _checks.positive,
                  aliases=("neighbor_cutoff",)),
        Parameter("soap", None, "SOAP options (see soap()); unset: the paper's; a ready Reference fixes them", kind="table"),
        Parameter("backend", "numba", "SOAP engine: 'numba' (fused with the kernel block by block) or 'quippy'",
                  check=lambda name, v: _checks.choice(name, v, BACKENDS), kind="str"),
        Parameter("per_atom", True, "keep the per-atom k and k̄ (False: only the per-frame means)", check=_checks.flag,
                  kind="bool"),
    )
    requires = Requires(species=frozenset({"Ge", "Sb", "Te"}))
    selectable = True

    def __init__(self, **values):
        if values.get("block_size", 0) is None:
            values.pop("block_size")
        if "block_size" in values:  # the old KBar(block_size=...) bounded its SOAP blocks
            self.max_block = _checks.count("block_size", values.pop("block_size"))
        values.pop("workers", None)  # the old KBar(workers=...) only recorded the run's workers
        super().__init__(**values)

    def prepare(self):
        self.ref = _reference(self.reference, self.groups, self.backend, 1e-10, self.soap)
        self.self_similarity = {g: self_similarity(self.ref, g, self.zeta) for g in self.ref.groups}
        self._scale = np.array([1.0 / self.self_similarity[g] if self.normalize == "reference" else 1.0
                                for g in self.ref.groups])
        s = self.ref.settings
        self.products = ReferenceProducts(self.ref)
        self.soap_need = Need.of(float(s.cutoff), centres=s.centres) if self.backend == "numba" else None
        self.average_need = Need.of(self.neighbour_cutoff) if self.neighbour_average else None
        self.needs = tuple(n for n in (self.soap_need, self.average_need) if n is not None)

    def select(self, selection):
        """k and k̄ of every atom (k̄ averages over all neighbours); the per-frame means over the selected atoms."""
        self.selection = selection

    def recorded(self) -> dict:
        return {**self.values, "reference": self.ref.description}

    @property
    def _scratch(self) -> dict:
        """Work buffers reused from frame to frame (never pickled: each process makes its own)."""
        if "_scratch_buffers" not in self.__dict__:
            self._scratch_buffers = {}
        return self._scratch_buffers

    def _buffer(self, name: str, shape) -> np.ndarray:
        """A C-contiguous work array of ``shape``, a view of a buffer kept between calls (grown when too small)."""
        size = int(np.prod(shape))
        buffer = self._scratch.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._scratch[name] = np.empty(size)
        return buffer[:size].reshape(shape)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_scratch_buffers", None)
        return state

    def setup(self, frame):
        self.symbols = frame.symbols
        self.species = sorted(set(self.symbols), key=lambda x: species_numbers([x])[0])

    def begin_frame(self, frame):
        if len(frame) != len(self.symbols) or (frame.symbols != self.symbols).any():
            raise InconsistentFramesError(f"{frame.describe()} has other atoms than the first frame; call kbar() per "
                                          "structure")
        require_species(frame, self.ref.settings, "reference SOAP")
        return {"k": np.full(len(frame), np.nan), "groups": self.ref.group_index(frame), "blocks": [],
                "soap": SoapBlocks(frame, self.ref.settings, buffer=self._scratch.get("soap")) if self.soap_need else None}

    def add_block(self, state, frame, lists):
        if self.soap_need is not None:
            nl, soap, plan = lists[self.soap_need], state["soap"], self.products
            if plan.widest <= PROJECTION_LIMIT:
                gi = state["groups"][nl.centers]
                products = soap.projections(nl, plan.basis, parallel=lists.parallel, rows=plan.row_ranges[gi],
                                            columns=plan.columns,
                                            out=self._buffer("products", (len(nl.centers), plan.rows)))
                with one_blas_thread():
                    self._similarity(state, nl.centers, products=products)
            else:
                # each group's vectors in one run of rows: its product with the group's basis is one slice, no copy
                by_group = np.argsort(state["groups"][nl.centers], kind="stable")
                order = np.empty_like(by_group)
                order[by_group] = np.arange(len(by_group))
                vecs = soap.vectors(nl, parallel=lists.parallel, reuse=True, order=order, columns=plan.columns)
                self._similarity(state, nl.centers[by_group], vecs, parallel=lists.parallel)
        if self.average_need is not None:
            nl = lists[self.average_need]
            state["blocks"].append((nl.centers, nl.offsets, nl.j, lists.parallel))

    def _similarity(self, state, ids, vecs=None, products=None, parallel=None):
        """k of the centres ``ids``: the mean of (p·p')^ζ over their group's environments.

        From their SOAP vectors ``vecs`` (rows, like ``ids``, sorted by
        group), or from their ``products`` with every row of the reference's
        basis (:class:`ReferenceProducts`).
        """
        plan, k, gi = self.products, state["k"], state["groups"][ids]
        best = self.normalize == "best"
        for g, part in enumerate(plan.groups):
            if products is not None:
                rows = np.flatnonzero(gi == g)
                k[ids[rows]] = plan.similarity(products[rows, part.start : part.stop], g, self.zeta, best)
                continue
            lo, hi = np.searchsorted(gi, [g, g + 1])
            if hi > lo:
                k[ids[lo:hi]] = plan.similarity_of_vectors(vecs[lo:hi], g, self.zeta, best, self._buffer, parallel)
        if self.normalize == "reference":
            k[ids] *= self._scale[gi]

    def end_frame(self, state, frame) -> Part:
        if self.soap_need is None:  # quippy: the whole frame at once
            for ids, vecs in iter_soap(frame, self.ref.settings, backend=self.backend):
                by_group = np.argsort(state["groups"][ids], kind="stable")
                self._similarity(state, ids[by_group], vecs[np.ix_(by_group, self.products.order)])
        else:
            self._scratch["soap"] = state["soap"].buffer
        k = state["k"]
        if self.neighbour_average:
            kb = np.empty(len(frame))
            for centers, offsets, j, parallel in state["blocks"]:
                out = np.empty(len(centers))
                neighbour_mean(offsets, centers, j, k, out)
                kb[centers] = out
        else:
            kb = k.copy()
        sel = self.centre_mask(frame)
        with np.errstate(invalid="ignore"):
            means = (kb[sel].mean() if sel.any() else np.nan,
                     np.array([kb[sel & (self.symbols == sp)].mean() if (sel & (self.symbols == sp)).any() else np.nan
                               for sp in self.species]))
        atoms = {"k": (k, _ATOM_ATTRS["k"]), "kbar": (kb, _ATOM_ATTRS["kbar"])} if self.per_atom else None
        return Part(means, atoms)

    def result(self, parts, times) -> xr.Dataset:
        data = {
            "kbar_mean": (("frame",), np.array([p.data[0] for p in parts]), {"long_name": "mean k̄", "units": ""}),
            "kbar_species": (("frame", "species"), np.array([p.data[1] for p in parts]), {"long_name": "mean k̄", "units": ""}),
        }
        if parts[0].atoms:
            data = {name: (("frame", "atom"), np.array([p.atoms[name][0] for p in parts]), attrs)
                    for name, attrs in _ATOM_ATTRS.items()} | data
        ref = self.ref
        return xr.Dataset(
            data,
            coords={**frame_coords(times), "atom": np.arange(len(self.symbols)), "symbol": ("atom", self.symbols),
                    "species": self.species},
            attrs=attrs_of(analysis="kbar", reference=ref.description, zeta=self.zeta, normalise=self.normalize,
                           self_similarity={g: round(float(v), 12) for g, v in self.self_similarity.items()},
                           select=None if self.selection is None else repr(self.selection),
                           neighbour_average=self.neighbour_average, neighbour_cutoff=self.neighbour_cutoff,
                           groups={g: list(v) for g, v in ref.groups.items()},
                           n_reference_environments={g: n for g, (n, _) in ref.n_environments.items()},
                           soap=ref.settings.descriptor_string(), backend=self.backend),
        )


_ATOM_ATTRS = {"k": {"long_name": "SOAP similarity k", "units": ""}, "kbar": {"long_name": "crystallinity k̄", "units": ""}}


#: How k is put on the paper's scale (see :func:`kbar`).
NORMALISATIONS = ("reference", "none", "best")


register(KBar)


@public(KBar)
def kbar(frames, **options) -> xr.Dataset:
    """Per-atom SOAP similarity k and its neighbour average k̄ against reference crystals.

    All frames must have the same atoms (a trajectory). ``normalize``
    decides how a similarity is put on the paper's scale, where k̄ = 1 means
    ideal crystal-like order: ``'reference'`` (default) divides the mean over
    the group's reference environments by that group's mean self-similarity
    (the same mean over the reference's own environments), so an ideal
    crystal like the reference averages 1 (its single atoms scatter around 1,
    a little above or below); ``'none'`` gives the raw mean, which an ideal
    crystal cannot reach when its environments differ from each other (0.65
    for rock-salt Ge1Sb2Te4); ``'best'`` the best match, the largest
    (p̂_i · p̂_j)^ζ over the group's environments (at most 1). The paper
    states neither ζ nor this choice; ``'reference'`` is our reading of "k̄ =
    1 indicating ideal crystal-like order". ``workers`` analyses frames in
    worker processes at once, which pays for many small frames. With
    ``select=`` the means are over the selected atoms (k̄ still averages over
    every neighbour).

    Returns
    -------
    xarray.Dataset
        ``k`` and ``kbar`` over (``frame``, ``atom``); ``kbar_mean`` (frame)
        and ``kbar_species`` (frame, species), the per-frame means; coordinate
        ``symbol`` (atom) and ``time`` (frame, ps); parameters in attrs.

    Examples
    --------
    >>> from gstorder import crystallinity, structures
    >>> gete = structures.trigonal("GeTe", functional="experiment")
    >>> ds = crystallinity.kbar(gete.repeat((2, 2, 1)), reference=gete)  # alpha-GeTe against itself
    >>> round(float(ds.kbar_mean[0]), 10)
    1.0
    """
    return KBar.call(frames, options)



def self_similarity(ref: Reference, group: str, zeta: float = 4) -> float:
    """The mean similarity of a reference group's environments to each other, Σ_jj' w_j w_j' (p̂_j · p̂_j')^ζ / (Σ w)².

    An ideal crystal distributed like the reference has this mean raw k;
    ``normalise="reference"`` divides by it.
    """
    v, w = ref.vectors[group], ref.weights[group]
    w = w / w.sum()
    return float(w @ (v @ v.T) ** zeta @ w)


#: Up to this many basis rows per group, k̄ projects each SOAP vector while it is in cache (SoapBlocks.projections).
PROJECTION_LIMIT = 16

#: Singular values of a reference group below this fraction of its largest are dropped (see ReferenceProducts).
RANK_TOLERANCE = 1e-13

#: SOAP components no larger than this (relative to the largest component) in every reference environment are left out
#: of the products.
ZERO_COMPONENT = 1e-15


@dataclass(frozen=True)
class _GroupProducts:
    """One group's share of :class:`ReferenceProducts`.

    Its reference products are ``basis_products[:, start:stop] @ coefficients``
    (``coefficients`` None: the basis rows are the environments themselves).
    """

    start: int
    stop: int
    coefficients: np.ndarray | None
    weights: np.ndarray  # normalised to sum 1
    rank: int


class ReferenceProducts:
    """The products p · r_j of SOAP vectors p with every environment r_j of their reference group, computed cheaply.

    A reference group's environments R (n × dim) are often numerically low
    rank (the rock-salt cations: rank 18 of 234; anions: 28 of 319). With
    the thin SVD R = U S Vᵀ truncated to the r singular values above
    ``tolerance`` times the largest, p · r_j = (p V)(S Uᵀ)_j: r products of
    length dim and one small (r × n) product instead of n products of length
    dim. That is exact to rounding when nothing is dropped but round-off: a
    dropped part changes each product by at most σ_(r+1) |p| (the spectral
    norm of the remainder), i.e. ≤ 1e-13 σ₁ ≤ 1e-13 √n for unit vectors, and
    k = Σ w_j (p̂ · p̂_j)^ζ by at most ζ times that (2e-11 for ζ = 8, n = 319),
    well inside the 1e-10 to which k equals the direct product. The default
    tolerance sits a few hundred times above the ≈ 1e-16 σ₁ level at which
    the SVD itself resolves singular values, so round-off is never mistaken
    for structure. A group uses the factorised product only where it needs
    fewer flops (r (dim + n) < n dim); full-rank references keep the direct one.

    Components that are zero (≤ 1e-15 of the largest) in every reference
    environment are left out of the products (odd-l components of centrosymmetric
    environments: 1,099 of 3,331 for rock-salt): they change a product by at
    most √1099 · 1e-15 |p|. The SOAP kernel writes the used components first
    (``columns``), so the products read a contiguous part of each row.

    All groups' bases (Vᵀ rows, or the environments themselves) are stacked
    in ``basis``. With a few rows per group (≤ ``PROJECTION_LIMIT``), k̄
    projects every SOAP vector on its group's rows while it is in cache;
    otherwise it multiplies each group's vectors with its rows, block by
    block, on one BLAS thread per Numba thread.

    Parameters
    ----------
    ref : Reference
    tolerance : float, optional
        Singular values at most this fraction of the group's largest are
        dropped (default :data:`RANK_TOLERANCE`, 1e-13).

    Attributes
    ----------
    basis : ndarray (rows, used)
        Every group's basis rows over the used components.
    columns, order : ndarray of int
        Component d of a SOAP vector goes to column ``columns[d]``; ``order``
        is the inverse (the used components first).
    groups : list of _GroupProducts
        Per group: its rows of ``basis``, the (r × n) coefficients or None,
        the normalised weights and the numerical rank.
    """

    def __init__(self, ref: Reference, tolerance: float | None = None):
        if not isinstance(ref, Reference):
            raise ArgumentTypeError(f"ReferenceProducts needs a Reference (see reference()), got {type(ref).__name__}")
        tolerance = RANK_TOLERANCE if tolerance is None else _checks.real("tolerance", tolerance, low=0.0, high=1.0)
        stacked = np.concatenate([ref.vectors[name] for name in ref.groups])
        size = np.abs(stacked).max(axis=0)
        needed = size > ZERO_COMPONENT * size.max()
        #: The components the products use, then the others: SOAP component d goes to column ``columns[d]``.
        self.order = np.concatenate([np.flatnonzero(needed), np.flatnonzero(~needed)])
        self.columns = np.empty(len(needed), dtype=np.int64)
        self.columns[self.order] = np.arange(len(needed))
        blocks, self.groups, start = [], [], 0
        for name in ref.groups:
            vectors, w = ref.vectors[name][:, needed], ref.weights[name]
            n, dim = vectors.shape
            u, sv, vt = np.linalg.svd(vectors, full_matrices=False)
            rank = int((sv > tolerance * sv[0]).sum()) if len(sv) and sv[0] > 0 else 0
            if 0 < rank and rank * (dim + n) < n * dim:
                basis, coefficients = vt[:rank], np.ascontiguousarray((u[:, :rank] * sv[:rank]).T)
            else:
                basis, coefficients = vectors, None
            blocks.append(np.asarray(basis, dtype=float))
            self.groups.append(_GroupProducts(start, start + len(basis), coefficients, w / w.sum(), rank))
            start += len(basis)
        #: Every group's basis rows over the used components, (rows, used).
        self.basis = np.ascontiguousarray(np.concatenate(blocks))
        #: Each group's rows of ``basis``, (n_groups, 2): [start, stop).
        self.row_ranges = np.array([[g.start, g.stop] for g in self.groups], dtype=np.int64)

    @property
    def used(self) -> int:
        """How many SOAP components enter the products (the first ``used`` columns)."""
        return self.basis.shape[1]

    @property
    def widest(self) -> int:
        """The most basis rows of one group: the products per atom of its group."""
        return max(g.stop - g.start for g in self.groups)

    @property
    def rows(self) -> int:
        """Basis rows of all groups (Σ n environments without factorising)."""
        return len(self.basis)

    def similarity_of_vectors(self, vectors: np.ndarray, group: int, zeta: float, best: bool, buffer,
                              parallel=None) -> np.ndarray:
        """Raw k of atoms of ``group`` from their SOAP vectors (components in :attr:`columns` order).

        The rows are split over the Numba threads, each on one BLAS thread
        (threaded OpenBLAS busy-waits and slows the next SOAP block);
        ``buffer(name, shape)`` lends work arrays kept between blocks and
        frames (fresh multi-MB arrays cost page faults every time).
        """
        part, n = self.groups[group], len(vectors)
        out = np.empty(n)
        basis_products = buffer("products", (n, part.stop - part.start))
        expanded = None if part.coefficients is None else buffer("expanded", (n, part.coefficients.shape[1]))
        basis_t = self.basis[part.start : part.stop].T

        def rows(a, b):
            np.matmul(vectors[a:b, : self.used], basis_t, out=basis_products[a:b])
            out[a:b] = self.similarity(basis_products[a:b], group, zeta, best, None if expanded is None else expanded[a:b])

        with one_blas_thread():
            over_row_chunks(rows, n, parallel)
        return out

    def similarity(self, basis_products: np.ndarray, group: int, zeta: float, best: bool, out=None) -> np.ndarray:
        """Raw k of atoms of ``group`` from their products with the group's basis rows (n_atoms, stop - start).

        Overwrites ``basis_products``; ``out`` (n_atoms, n_environments), if
        given, receives the environments' products on the way.
        """
        g = self.groups[group]
        products = basis_products if g.coefficients is None else np.matmul(basis_products, g.coefficients, out=out)
        _power(products, zeta)
        return products.max(axis=1) if best else products @ g.weights


def _power(x: np.ndarray, zeta: float) -> None:
    """``x **= zeta`` in place; ζ = 1, 2, 4, 8 by squaring (3x faster than pow; equal to it within 2 ulp)."""
    if zeta in (1, 2, 4, 8):
        for _ in range({1: 0, 2: 1, 4: 2, 8: 3}[zeta]):
            np.square(x, out=x)
    else:
        np.power(x, zeta, out=x)


# --------------------------------------------------------------------------- anti-sites


#: Anti-sites now live with the vacancies (one Wigner–Seitz home); the old name keeps working.
antisites = _vacancies.antisites


# --------------------------------------------------------------------------- calibration


@dataclass
class Calibration:
    """A k̄ threshold between crystal and amorphous, from :func:`calibrate`.

    Attributes
    ----------
    threshold : float
        Atoms with k̄ above it are labelled crystalline.
    histogram : xarray.Dataset
        ``crystal`` and ``amorphous`` k̄ densities over ``kbar`` bins.
    misclassified : float
        Share of the calibration atoms on the wrong side of the threshold
        (mean of the two samples' error rates).
    """

    threshold: float
    histogram: xr.Dataset
    misclassified: float

    def label(self, result: xr.Dataset) -> xr.DataArray:
        """Boolean ``crystalline`` over (frame, atom) for a :func:`kbar` result."""
        out = result.kbar > self.threshold
        out.attrs = {"long_name": "crystalline", "units": "", "threshold": self.threshold}
        return out.rename("crystalline")

    def fraction(self, result: xr.Dataset) -> xr.DataArray:
        """Crystalline fraction per frame; per species: ``cal.label(ds).groupby("symbol").mean("atom")``."""
        out = self.label(result).mean("atom")
        out.attrs = {"long_name": "crystalline fraction", "units": "", "threshold": self.threshold}
        return out.rename("crystalline_fraction")


def calibrate(crystal, amorphous, *, bins: int = 200, smooth_bins: float = 2.0, **kbar_options) -> Calibration:
    """A k̄ threshold at the minimum between the crystal's and the amorphous sample's k̄ distributions.

    Parameters
    ----------
    crystal, amorphous : frames or :func:`kbar` results
        Samples of each phase (e.g. a rattled crystal at the working
        temperature and a melt-quenched glass), or their k̄ Datasets.
    bins : int
        Histogram bins over the pooled k̄ range.
    smooth_bins : float
        Gaussian smoothing of the histograms, in bins.
    **kbar_options
        Passed to :func:`kbar` (reference, groups, zeta, ...).

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        When the amorphous sample does not score below the crystal.
    """
    from scipy.ndimage import gaussian_filter1d

    bins = _checks.count("bins", bins, minimum=2)
    smooth_bins = _checks.non_negative("smooth_bins", smooth_bins)
    kc, ka = (_kbar_values(x, kbar_options) for x in (crystal, amorphous))
    if np.median(ka) >= np.median(kc):
        raise InvalidArgumentError(f"the amorphous sample's median k̄ ({np.median(ka):.4f}) is not below the crystal's "
                         f"({np.median(kc):.4f}); check the samples and the reference")
    lo, hi = min(kc.min(), ka.min()), max(kc.max(), ka.max())
    edges = np.linspace(lo, hi, bins + 1)
    dens = [gaussian_filter1d(np.histogram(x, edges, density=True)[0], smooth_bins) for x in (kc, ka)]
    mid = 0.5 * (edges[1:] + edges[:-1])
    between = (mid > np.median(ka)) & (mid < np.median(kc))
    if not between.any():
        threshold = 0.5 * (np.median(ka) + np.median(kc))
    else:
        total = dens[0] + dens[1]
        threshold = float(mid[between][np.argmin(total[between])])
    wrong = 0.5 * ((kc <= threshold).mean() + (ka > threshold).mean())
    hist = xr.Dataset({"crystal": ("kbar", dens[0], {"long_name": "crystal k̄ density", "units": ""}),
                       "amorphous": ("kbar", dens[1], {"long_name": "amorphous k̄ density", "units": ""})},
                      coords={"kbar": mid}, attrs={"threshold": threshold})
    return Calibration(threshold, hist, float(wrong))


def _kbar_values(x, options) -> np.ndarray:
    ds = x if isinstance(x, xr.Dataset) else kbar(x, **options)
    values = np.asarray(ds.kbar).ravel()
    values = values[np.isfinite(values)]
    if not len(values):
        raise EmptyFrameError("a calibration sample has no atoms")
    return values


# --------------------------------------------------------------------------- output


def write_extxyz(path, frames, result: xr.Dataset, *, columns=("kbar", "k")) -> None:
    """Write frames with per-atom k̄ (and k) columns to extended XYZ, for OVITO-style colouring.

    The file is written to a temporary file beside ``path`` and renamed, so
    an interrupted write never leaves half a file.
    """
    from ase.io import write

    columns = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in columns if c not in result.data_vars or result[c].dims != ("frame", "atom")]
    if missing:
        raise InvalidArgumentError(f"columns {missing} are not per-atom variables of the result; it has "
                                   f"{[v for v in result.data_vars if result[v].dims == ('frame', 'atom')]}")
    frames = list(iter_frames(frames))
    if len(frames) != result.sizes["frame"]:
        raise InvalidArgumentError(f"{len(frames)} frames but the result has {result.sizes['frame']}")
    images = []
    for f, frame in enumerate(frames):
        if len(frame) != result.sizes["atom"]:
            raise InvalidArgumentError(f"{frame.describe()} has {len(frame)} atoms, the result {result.sizes['atom']}")
        atoms = frame.to_atoms()
        for c in columns:
            atoms.new_array(c, np.asarray(result[c][f], dtype=float))
        images.append(atoms)
    atomic_write(path, lambda fh: write(fh, images, format="extxyz"), binary=False)


# --------------------------------------------------------------------------- figures and key numbers


def _kbar_rows(ds, tree):
    if not np.isfinite(ds.kbar_mean.values).any():
        return []
    k = ds.kbar_mean.values
    return [(f"k̄ ({_reference_name(ds)})",
             mean_text(k) + (f", first frame {k[0]:.3f}, last {k[-1]:.3f}" if len(k) > 1 else ""))]


def _kbar_figure(ds):
    fig, ax = species_time_figure(ds, "kbar_mean", "kbar_species", plot.kbar_time)
    if ax is not None:
        ax.set_title(f"reference: {_reference_name(ds)}", fontsize="medium")
    return fig


KBar.figures = (Figure("kbar", _kbar_figure,
                       "Mean SOAP crystallinity k̄ against time, all atoms and per species (cf. paper Fig. 3b, "
                       "left)."),)
KBar.rows = staticmethod(_kbar_rows)
