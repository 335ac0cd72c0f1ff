"""Steinhardt bond-orientational order: q_l, w_l, Lechner–Dellago q̄_l and ten Wolde–Frenkel solid bonds.

Definitions (Steinhardt, Nelson & Ronchetti, Phys. Rev. B 28, 784 (1983);
the conventions of freud's ``order.Steinhardt``, which gstorder equals on the
same neighbours):

- ``q_lm(i) = (1/N_b) Σ_j Y_lm(r̂_ij)`` over the N_b neighbours j of i (the
  shared neighbour list: a cut-off, 3.2 Å by default, or a per-pair table);
- ``q_l(i) = sqrt(4π/(2l+1) Σ_m |q_lm(i)|²)``;
- ``w_l(i) = Σ_{m1+m2+m3=0} (l l l; m1 m2 m3) q_lm1 q_lm2 q_lm3``, divided by
  ``(Σ_m |q_lm|²)^{3/2}`` when ``wl_normalize`` (ŵ_l, the usual tabulated value);
- with ``average=True`` (Lechner & Dellago, J. Chem. Phys. 129, 114707
  (2008)) ``q_lm`` is first replaced by its mean over i and its neighbours, q̄_lm;
- solid bonds (ten Wolde, Ruiz-Montero & Frenkel, Phys. Rev. Lett. 75, 2714
  (1995)): a bond i–j is solid-like when the normalised coherence
  ``s_ij = Σ_m q_lm(i) q_lm(j)* / (|q_l(i)| |q_l(j)|)`` exceeds
  ``bond_threshold``; an atom is solid with at least ``min_bonds`` such bonds.

Defaults for GeTe/GST. Crystalline GeTe and GST are octahedral (rock-salt or
its rhombohedrally distorted 3 + 3 form), for which l = 4 is the
discriminating degree; the crystallisation studies of the field identify
crystalline atoms and nuclei with q4-based bond coherence rather than the
q6 of close-packed metals: Sosso et al., J. Phys. Chem. Lett. 4, 4241 (2013)
(GeTe, neural-network MD); Lee & Elliott, Phys. Rev. Lett. 107, 145702 (2011)
(Ge2Sb2Te5, AIMD); Ronneberger et al., Adv. Funct. Mater. 25, 6407 (2015)
(Ge2Sb2Te5, metadynamics). The thresholds those works print depend on their
cut-offs and materials, so gstorder's values (``bond_threshold`` 0.7,
``min_bonds`` 3 at the 3.2 Å bond cut-off) are set on data and recorded in
the results: they label thermal rock-salt GST and α-GeTe crystalline and
amorphous and liquid GeTe (AIMD) not (``docs/order.md`` gives the shares).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import xarray as xr

from . import _checks
from ._labels import attrs_of, frame_coords
from ._kernels.order import bond_coherence, bond_harmonics, invariants, neighbour_average
from .errors import GstorderWarning, InvalidArgumentError
from .parallel import n_tasks
from .pipeline import Analysis, Need, Part
from .registry import Figure, Parameter, public, register
from .species import frame_species

__all__ = ["steinhardt", "solid_bonds", "Steinhardt", "SolidBonds", "TEXTBOOK", "BONDS"]

#: Textbook q_l and ŵ_l of ideal crystals with their first shell as neighbours (bcc: the 8 nearest; bcc14: the 8 + 6
#: of the first two shells, the values most tables print).
TEXTBOOK = {
    "fcc": {"q4": 0.190941, "q6": 0.574524, "w4": -0.159317, "w6": -0.013161},
    "bcc": {"q4": 0.509175, "q6": 0.628539, "w4": -0.159317, "w6": 0.013161},
    "bcc14": {"q4": 0.036370, "q6": 0.510688, "w4": 0.159317, "w6": 0.013161},
    "sc": {"q4": 0.763763, "q6": 0.353553, "w4": 0.159317, "w6": 0.013161},
}


def _degrees(name, value):
    """One degree l or a list of them: distinct integers 1..12, sorted."""
    values = [value] if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidArgumentError(f"{name} must be an integer degree or a list of them, e.g. (4, 6); got {value!r}")
    out = sorted({_checks.count(f"{name}[{k}]", v, minimum=1, maximum=12) for k, v in enumerate(values)})
    if not out:
        raise InvalidArgumentError(f"{name} must name at least one degree, e.g. (4, 6)")
    return tuple(out)


#: The solid-bond parameters, shared by :class:`Steinhardt`, :class:`SolidBonds` and the nucleus clusters.
BONDS = (
    Parameter("cutoff", 3.2, "bond cut-off, or a per-pair table such as {'Ge-Te': 3.2, 'Sb-Te': 3.4} (pairs absent "
              "from a table never bond)", "Å", _checks.cutoff, kind="table"),
    Parameter("solid_l", 4, "degree l of the solid-bond coherence (4: octahedral GeTe/GST; 6 for close-packed metals)",
              "", lambda name, v: _checks.count(name, v, maximum=12), kind="int"),
    Parameter("bond_threshold", 0.7, "a bond is solid-like when its normalised coherence q_l(i)·q_l(j) exceeds this",
              "", lambda name, v: _checks.real(name, v, low=-1.0, high=1.0)),
    Parameter("min_bonds", 3, "an atom is solid with at least this many solid-like bonds", "",
              lambda name, v: _checks.count(name, v, minimum=0), kind="int"),
)

_PER_ATOM = Parameter("per_atom", True, "keep the per-atom values over (frame, atom) (False: only the per-frame "
                      "means and histograms)", check=_checks.flag, kind="bool")

#: Bins of the per-frame q_l histograms on [0, 1].
Q_BINS = 100


# --------------------------------------------------------------------------- tables


@functools.lru_cache(maxsize=32)
def harmonic_tables(ls: tuple) -> dict:
    """Recurrence coefficients of the normalised associated Legendre functions and the Wigner 3j tables for ``ls``."""
    lmax = max(ls)
    diag = np.zeros(lmax + 1)
    sub = np.zeros(lmax + 1)
    rec_a = np.zeros((lmax + 1, lmax + 1))
    rec_b = np.zeros((lmax + 1, lmax + 1))
    diag[0] = math.sqrt(1.0 / (4.0 * math.pi))
    for m in range(1, lmax + 1):
        diag[m] = -math.sqrt((2 * m + 1) / (2.0 * m))  # Condon–Shortley phase
    def a(l, m):
        return math.sqrt((4 * l * l - 1) / (l * l - m * m))

    for m in range(lmax + 1):
        sub[m] = math.sqrt(2 * m + 3)  # = a(m + 1, m)
        for l in range(m + 2, lmax + 1):
            rec_a[l, m] = a(l, m)
            rec_b[l, m] = a(l, m) / a(l - 1, m)
    start = np.concatenate([[0], np.cumsum([l + 1 for l in ls])]).astype(np.int64)
    w_start, w_m, w_value = [0], [], []
    for l in ls:
        for m1 in range(-l, l + 1):
            for m2 in range(-l, l + 1):
                m3 = -m1 - m2
                if abs(m3) <= l:
                    value = wigner_3j(l, l, l, m1, m2, m3)
                    if value != 0.0:
                        w_m.append((m1, m2))
                        w_value.append(value)
        w_start.append(len(w_value))
    return {"ls": np.array(ls, dtype=np.int64), "start": start, "lmax": lmax, "diag": diag, "sub": sub,
            "rec_a": rec_a, "rec_b": rec_b, "w_start": np.array(w_start, dtype=np.int64),
            "w_m": np.array(w_m, dtype=np.int64).reshape(-1, 2), "w_value": np.array(w_value)}


def wigner_3j(j1: int, j2: int, j3: int, m1: int, m2: int, m3: int) -> float:
    """The Wigner 3j symbol (j1 j2 j3; m1 m2 m3) by Racah's formula (exact integers, then one division)."""
    if m1 + m2 + m3 != 0 or not abs(j1 - j2) <= j3 <= j1 + j2 or max(abs(m1) - j1, abs(m2) - j2, abs(m3) - j3) > 0:
        return 0.0
    f = math.factorial
    tri = f(j1 + j2 - j3) * f(j1 - j2 + j3) * f(-j1 + j2 + j3) / f(j1 + j2 + j3 + 1)
    pre = math.sqrt(tri * f(j1 + m1) * f(j1 - m1) * f(j2 + m2) * f(j2 - m2) * f(j3 + m3) * f(j3 - m3))
    total = 0.0
    for k in range(max(0, j2 - j3 - m1, j1 - j3 + m2), min(j1 + j2 - j3, j1 - m1, j2 + m2) + 1):
        total += (-1) ** k / (f(k) * f(j1 + j2 - j3 - k) * f(j1 - m1 - k) * f(j2 + m2 - k) * f(j3 - j2 + m1 + k)
                              * f(j3 - j1 - m2 + k))
    return (-1) ** (j1 - j2 - m3) * pre * total


# --------------------------------------------------------------------------- the frame computation


class BondOrder:
    """One frame's q_lm, built block by block from the shared neighbour list, and what follows from them.

    ``add(nl)`` takes a block of centres; afterwards :meth:`invariants`,
    :meth:`solid` and :attr:`blocks` (the bond graph, CSR per block) are available.
    """

    def __init__(self, n_atoms: int, ls: tuple | None, parallel=None):
        self.ls = None if ls is None else tuple(ls)  # None: only the bond graph
        self.tables = None if ls is None else harmonic_tables(self.ls)
        columns = 0 if ls is None else int(self.tables["start"][-1])
        self.qlm = np.zeros((n_atoms, columns), dtype=np.complex128)
        self.n_neighbours = np.zeros(n_atoms, dtype=np.int64)
        self.blocks = []
        self.parallel = parallel

    def add(self, nl, parallel=None) -> None:
        if self.tables is not None:
            t = self.tables
            out = np.empty((len(nl.centers), self.qlm.shape[1]), dtype=np.complex128)
            bond_harmonics(nl.offsets, nl.vectors, nl.distances, t["ls"], t["start"], t["lmax"], t["diag"], t["sub"],
                           t["rec_a"], t["rec_b"], out, n_tasks(len(nl.centers), parallel))
            self.qlm[nl.centers] = out
        self.n_neighbours[nl.centers] = nl.coordination
        self.blocks.append((nl.centers, nl.offsets, nl.j, parallel))

    def averaged(self) -> np.ndarray:
        """Lechner–Dellago q̄_lm: the mean of q_lm over each atom and its neighbours."""
        out = self.qlm.copy()  # atoms that were no centre keep their own (zero) q_lm
        for centers, offsets, j, parallel in self.blocks:
            block = np.empty((len(centers), self.qlm.shape[1]), dtype=np.complex128)
            neighbour_average(offsets, centers, j, self.qlm, block, n_tasks(len(centers), parallel))
            out[centers] = block
        return out

    def invariants(self, qlm, want_w: bool, normalize: bool):
        """q_l (atom, l), w_l (atom, l) or None, and Σ_m |q_lm|² (atom, l)."""
        t, n = self.tables, len(qlm)
        q = np.empty((n, len(self.ls)))
        norm = np.empty((n, len(self.ls)))
        w = np.full((n, len(self.ls)), np.nan)
        invariants(qlm, t["ls"], t["start"], t["w_start"], t["w_m"], t["w_value"], q, w, norm, want_w,
                   n_tasks(n, self.parallel))
        if want_w and normalize:
            with np.errstate(invalid="ignore", divide="ignore"):
                w = np.where(norm > 0, w / norm**1.5, np.nan)
        if want_w:
            w[norm == 0] = np.nan
        q[self.n_neighbours == 0] = np.nan
        return q, (w if want_w else None), norm

    def solid(self, l: int, threshold: float, min_bonds: int, norm=None):
        """Solid-like bonds per atom and the solid mask (ten Wolde–Frenkel) from the plain q_lm of degree ``l``."""
        k = self.ls.index(l)
        t = self.tables
        if norm is None:
            _, _, norm = self.invariants(self.qlm, False, False)
        counts = np.zeros(len(self.qlm), dtype=np.int64)
        for centers, offsets, j, parallel in self.blocks:
            coherence = np.empty(len(j))
            block = np.empty(len(centers), dtype=np.int64)
            bond_coherence(offsets, centers, j, self.qlm, int(t["start"][k]), l, np.ascontiguousarray(norm[:, k]),
                           threshold, coherence, block, n_tasks(len(centers), parallel))
            counts[centers] = block
        return counts, (counts >= min_bonds) & (self.n_neighbours > 0)


# --------------------------------------------------------------------------- the analysis


class Steinhardt(Analysis):
    """:func:`steinhardt` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "steinhardt"
    order = 55
    summary = "Steinhardt q_l / w_l (Lechner–Dellago q̄_l) and ten Wolde–Frenkel solid atoms"
    parameters = (
        Parameter("l", (4, 6), "degrees l of q_l (and w_l)", "", _degrees, kind="list"),
        BONDS[0],
        Parameter("average", False, "Lechner–Dellago q̄_l: q_lm averaged over each atom and its neighbours first",
                  check=_checks.flag, kind="bool"),
        Parameter("wl", False, "also the third-order invariants w_l", check=_checks.flag, kind="bool"),
        Parameter("wl_normalize", True, "w_l divided by (Σ_m |q_lm|²)^(3/2) (ŵ_l, the tabulated values)",
                  check=_checks.flag, kind="bool"),
        Parameter("solid", True, "also the ten Wolde–Frenkel solid-like bonds and solid atoms", check=_checks.flag,
                  kind="bool"),
        *BONDS[1:],
        _PER_ATOM,
    )
    selectable = True
    windowed = True

    def prepare(self):
        self.ls = self.l
        self.same_atoms = self.per_atom
        self.computed = tuple(sorted(set(self.ls) | ({self.solid_l} if self.solid else set())))
        self.needs = (Need.of(self.cutoff),)

    def select(self, selection):
        """q_l of every atom (averages and bonds need their neighbours); the per-frame numbers over the selected atoms."""
        self.selection = selection

    def setup(self, frame):
        self.species, _ = frame_species(frame)

    def begin_frame(self, frame):
        return BondOrder(len(frame), self.computed, self.parallel)

    def add_block(self, state, frame, lists):
        state.add(lists[self.needs[0]], lists.parallel)

    def end_frame(self, state: BondOrder, frame) -> Part:
        qlm = state.averaged() if self.average else state.qlm
        q, w, _ = state.invariants(qlm, self.wl, self.wl_normalize)
        keep = [self.computed.index(l) for l in self.ls]
        q = q[:, keep]
        w = None if w is None else w[:, keep]
        atoms = {}
        bar = "q̄" if self.average else "q"
        for k, l in enumerate(self.ls):
            atoms[f"q{l}"] = (q[:, k], {"long_name": f"{bar}{l}" + (" (Lechner–Dellago)" if self.average else ""),
                                        "units": ""})
            if w is not None:
                atoms[f"w{l}"] = (w[:, k], {"long_name": ("ŵ" if self.wl_normalize else "w") + f"{l}", "units": ""})
        if self.solid:
            counts, solid = state.solid(self.solid_l, self.bond_threshold, self.min_bonds)
            atoms["solid_bonds"] = (counts, {"long_name": "solid-like bonds", "units": ""})
            atoms["solid"] = (solid.astype(np.int8), {"long_name": "solid (ten Wolde–Frenkel)", "units": "",
                                                      "flag_values": [0, 1], "flag_meanings": "not_solid solid"})
        _, types = frame_species(frame, self.species)
        sel = self.centre_mask(frame)
        data = _frame_numbers(q[sel], types[sel], len(self.species), solid[sel] if self.solid else None)
        return Part(data, atoms if self.per_atom else None)

    def result(self, parts, times) -> xr.Dataset:
        data = {}
        if parts[0].atoms:
            for name in parts[0].atoms:
                values = np.array([p.atoms[name][0] for p in parts])
                data[name] = (("frame", "atom"), values, parts[0].atoms[name][1])
        stack = {k: np.array([p.data[k] for p in parts]) for k in parts[0].data}
        bar = "q̄" if self.average else "q"
        data["q_mean"] = (("frame", "l"), stack["mean"], {"long_name": f"mean {bar}_l", "units": ""})
        data["q_species"] = (("frame", "species", "l"), stack["species"], {"long_name": f"mean {bar}_l", "units": ""})
        data["q_count"] = (("frame", "l", "q"), stack["hist"], {"long_name": f"atoms per {bar}_l bin", "units": ""})
        if self.solid:
            data["solid_fraction"] = ("frame", stack["solid"], {"long_name": "solid fraction", "units": ""})
            data["solid_species"] = (("frame", "species"), stack["solid_species"],
                                     {"long_name": "solid fraction", "units": ""})
        if np.isnan(stack["mean"]).any():
            warnings.warn("some frames have no atom with neighbours within the cut-off: their mean q_l is NaN",
                          GstorderWarning, stacklevel=3)
        coords = {**frame_coords(times), "l": list(self.ls), "species": self.species,
                  "q": (np.arange(Q_BINS) + 0.5) / Q_BINS}
        if parts[0].atoms:
            coords["atom"] = np.arange(len(parts[0].atoms[next(iter(parts[0].atoms))][0]))
        cutoff = self.cutoff if isinstance(self.cutoff, (int, float)) else repr(self.cutoff)
        return xr.Dataset(data, coords=coords, attrs=attrs_of(
            analysis="steinhardt", l=list(self.ls), cutoff=cutoff, average=self.average, wl=self.wl,
            wl_normalize=self.wl_normalize, solid=self.solid, solid_l=self.solid_l, bond_threshold=self.bond_threshold,
            min_bonds=self.min_bonds, select=None if self.selection is None else repr(self.selection)))


def _frame_numbers(q, types, n_species, solid) -> dict:
    """Per-frame means (all, per species), q_l histograms and solid fractions of the (selected) atoms given."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(q, axis=0) if np.isfinite(q).any() else np.full(q.shape[1], np.nan)
        per = np.full((n_species, q.shape[1]), np.nan)
        for s in range(n_species):
            mine = q[types == s]
            if np.isfinite(mine).any():
                per[s] = np.nanmean(mine, axis=0)
    hist = np.array([np.histogram(col[np.isfinite(col)], bins=Q_BINS, range=(0.0, 1.0))[0] for col in q.T])
    out = {"mean": mean, "species": per, "hist": hist}
    if solid is not None:
        out["solid"] = solid.mean() if len(solid) else np.nan
        out["solid_species"] = np.array([solid[types == s].mean() if (types == s).any() else np.nan
                                         for s in range(n_species)])
    return out


def _q_figure(ds):
    """Distribution of each q_l over the atoms, first and last frame."""
    from ._figures import _new_figure

    if "q_count" not in ds or not ds.q_count.sum() > 0:
        return None
    fig, ax = _new_figure((5.0, 3.2))
    frames = [0, -1] if ds.sizes["frame"] > 1 else [-1]
    for l in ds.l.values:
        for f, style in zip(frames, ("--", "-")[-len(frames):]):
            counts = ds.q_count.sel(l=l).isel(frame=f).values.astype(float)
            total = counts.sum()
            if total:
                t = float(ds.time.values[f])
                when = "" if len(frames) == 1 else (f", {t:g} ps" if np.isfinite(t) else (", first" if f == 0 else ", last"))
                ax.plot(ds.q.values, counts / total / (1.0 / Q_BINS), ls=style, label=f"l = {l}{when}")
    bar = "q̄" if ds.attrs.get("average") else "q"
    ax.set_xlabel(f"{bar}_l")
    ax.set_ylabel("density")
    ax.set_xlim(0, 1)
    ax.legend(frameon=False, fontsize="small")
    return fig


def _rows(ds, tree):
    bar = "q̄" if ds.attrs.get("average") else "q"
    text = ", ".join(f"{bar}{int(l)} {float(ds.q_mean.sel(l=l).mean()):.3f}" for l in ds.l.values)
    if "solid_fraction" in ds:
        text += f"; solid {100 * float(ds.solid_fraction.mean()):.1f} %"
    return [("Steinhardt", text)]


Steinhardt.figures = (Figure("steinhardt", _q_figure, "Distributions of the Steinhardt order parameters q_l over the "
                                                      "atoms, first and last frame."),)
Steinhardt.rows = staticmethod(_rows)
register(Steinhardt)


class SolidBonds(Steinhardt):
    """:func:`solid_bonds`: the solid-bond part of :class:`Steinhardt` alone (not registered: ``steinhardt`` runs it)."""

    name = "solid_bonds"
    summary = "ten Wolde–Frenkel solid-like bonds and solid atoms"
    parameters = (*BONDS, _PER_ATOM)

    def prepare(self):
        self.l, self.average, self.wl, self.wl_normalize, self.solid = (self.solid_l,), False, False, True, True
        super().prepare()


@public(Steinhardt)
def steinhardt(frames, **options) -> xr.Dataset:
    """Per-atom Steinhardt order parameters q_l (and w_l), optionally Lechner–Dellago averaged, and solid atoms.

    Equal to freud's ``order.Steinhardt`` (and ``order.SolidLiquid`` for the
    solid bonds) on the same neighbours. Atoms without neighbours get NaN.

    Returns
    -------
    xarray.Dataset
        Per atom over (``frame``, ``atom``): ``q4``, ``q6`` (one ``q<l>`` per
        degree; q̄ with ``average=True``), ``w4``, ``w6`` with ``wl=True``,
        ``solid_bonds`` (solid-like bonds) and ``solid`` (1 solid, 0 not) with
        ``solid=True``. Per frame: ``q_mean`` (frame, l), ``q_species``
        (frame, species, l), ``q_count`` (frame, l, q) histogram on [0, 1],
        ``solid_fraction`` and ``solid_species``. Parameters in attrs.

    Examples
    --------
    >>> from ase.build import bulk
    >>> from gstorder import order
    >>> ds = order.steinhardt(bulk("Cu", "fcc", a=3.6, cubic=True), cutoff=3.0, wl=True)
    >>> [round(float(ds[v][0, 0]), 4) for v in ("q4", "q6", "w4", "w6")]
    [0.1909, 0.5745, -0.1593, -0.0132]
    """
    return Steinhardt.call(frames, options)


@public(SolidBonds)
def solid_bonds(frames, **options) -> xr.Dataset:
    """ten Wolde–Frenkel solid-like bonds per atom and solid atoms (see the module docstring for the defaults).

    Returns
    -------
    xarray.Dataset
        ``solid_bonds`` and ``solid`` (1 or 0) over (``frame``, ``atom``), ``q<solid_l>``
        per atom; ``solid_fraction`` (frame) and ``solid_species`` (frame, species).

    Examples
    --------
    >>> from gstorder import order, structures
    >>> ds = order.solid_bonds(structures.rocksalt("GeTe", 3, a=6.0))
    >>> float(ds.solid_fraction[0]), int(ds.solid_bonds[0, 0])
    (1.0, 6)
    """
    return SolidBonds.call(frames, options)
