"""Structure factors as diffraction measures them: partial and total S(q), F(q) and G(r), for neutrons and X-rays.

Two routes to the same quantities:

``method="rdf"`` (default)
    The Fourier transform of the partial pair distributions, from the very
    pair histograms :class:`gstorder.pairs.RDF` builds (one pass, one
    neighbour search, bounded memory on device-scale frames):
    Faber–Ziman partials

    S_ab(q) = 1 + 4πρ ∫₀^R r² [g_ab(r) − 1] M(r) sin(qr)/(qr) dr,

    with M(r) = sin(πr/R)/(πr/R) (Lorch) or 1, R = ``r_max``. Here g_ab is
    normalised with N_a N_b (not N_a (N_b − δ_ab)): the histogram holds
    every periodic image, an atom's own images included, so this is the
    transform of the periodic system the direct route sees.
``method="direct"``
    S computed from the atoms themselves over every reciprocal-lattice vector
    k of the cell with |k| below the largest q, binned in |k|: the amplitudes
    ρ_a(k) = Σ_{j∈a} exp(i k·r_j) give S_ab(k) = 1 + [Re ρ_a ρ_b* / N − c_a δ_ab] / (c_a c_b),
    and the total is |Σ_j w_j exp(i k·r_j)|² / (N ⟨w²⟩). Exact for the
    periodic model (Bragg peaks of a crystal at their (hkl)), the check on
    the transform, and the right choice for small cells; its cost grows as
    atoms × wave vectors, so it is for cells up to some thousands of atoms.

Weights w_a: coherent neutron scattering lengths b_a (fm) or X-ray atomic
form factors f_a(q) (electrons), from the ``periodictable`` package (NIST's
maintained tables: neutron lengths of Rauch & Waschkowski, Atominstitut
Vienna, 2003; X-ray f₀(q) from the Waasmaier & Kirfel (1995) fits, valid to
q = 75 Å⁻¹). It is chosen because it is maintained, pure Python, cites its
sources per entry and has both tables; ``xraydb`` has the same X-ray fits
but no neutron lengths. The total is

S(q) = 1 + Σ_ab c_a c_b w_a w_b [S_ab(q) − 1] / D,  D = ⟨w²⟩ = Σ c_a w_a² (``normalization="<w^2>"``)
or D = ⟨w⟩² (``"<w>^2"``, the Faber–Ziman total of neutron and X-ray papers);

F(q) = q [S(q) − 1] and G(r) = (2/π) ∫ F(q) M(q) sin(qr) dq over the q
grid (with the same window in q), as an experiment's G(r) is made.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from . import _checks, neighbors
from ._labels import attrs_of, bin_edges, centres, pair_label
from .errors import GstorderWarning, InvalidArgumentError, MissingDataError
from .frames import cell_basis
from .parallel import n_tasks
from .pairs import RDF
from .pipeline import Need, Part, run
from .registry import RUN_OPTIONS, Figure, Parameter, Requires, public, register
from .species import frame_species
from ._kernels.scattering import add_amplitudes, bin_amplitudes

__all__ = ["structure_factor", "StructureFactor", "scattering_weights", "WEIGHTINGS"]

#: Weightings of the total S(q): name -> meaning.
WEIGHTINGS = {
    "neutron": "coherent neutron scattering lengths b_c",
    "xray": "X-ray atomic form factors f0(q)",
    "faber-ziman": "equal weights: the number-weighted total Σ c_a c_b S_ab (= S_NN)",
    "bhatia-thornton": "S_NN, with S_NC and S_CC of a two-species system",
}

#: Default cap of r_max (Å) when it is taken from the cell: rdf's default r_max, so that both share one neighbour search.
R_MAX_CAP = 8.0

#: Memory budgets of the direct route (bytes): per-atom phase tables, and the amplitudes of one slab of wave vectors.
TABLE_BYTES = 32 * 2**20
SLAB_BYTES = 64 * 2**20


def _window_choice(name, value):
    return "none" if value is None else _checks.choice(name, value, ("lorch", "none"))


def _q_grid(name, value):
    q = _checks.finite_array(name, value if np.ndim(value) else [value], shape=(-1,), unit="Å⁻¹")
    if len(q) == 0 or q[0] <= 0 or np.any(np.diff(q) <= 0):
        raise InvalidArgumentError(f"{name} must be positive and strictly increasing (Å⁻¹), got {q.tolist()[:6]}...")
    return [float(x) for x in q]


class StructureFactor(RDF):
    """:func:`structure_factor` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`).

    With ``method="rdf"`` it is :class:`~gstorder.pairs.RDF`'s pair
    histogram (the same frame methods and kernel) with a Fourier transform
    for a result.
    """

    name = "structure_factor"
    order = 15
    summary = "partial and total S(q) for neutrons or X-rays, F(q) and G(r)"
    parameters = (
        Parameter("method", "rdf", "'rdf': transform of the partial g(r); 'direct': sum over the cell's reciprocal-lattice "
                  "vectors", check=lambda n, v: _checks.choice(n, v, ("rdf", "direct")), kind="str"),
        Parameter("weighting", "neutron", "weights of the total S: " + ", ".join(f"'{k}'" for k in WEIGHTINGS),
                  check=lambda n, v: _checks.choice(n, v, tuple(WEIGHTINGS)), kind="str"),
        Parameter("normalization", "<w^2>", "denominator of the total: '<w^2>' (S → 1 at large q, |Σ w e^{ik·r}|²/(N<w²>)) "
                  "or '<w>^2' (Faber–Ziman)", check=lambda n, v: _checks.choice(n, v, ("<w^2>", "<w>^2")), kind="str"),
        Parameter("window", "lorch", "modification function of the transforms: 'lorch' or 'none'", check=_window_choice,
                  kind="str"),
        Parameter("q_max", 12.0, "largest q of the default grid", "Å⁻¹", _checks.positive),
        Parameter("dq", 0.05, "spacing of the default grid q = dq, 2 dq, ..., q_max (direct: bin width)", "Å⁻¹",
                  _checks.positive),
        Parameter("q", None, "explicit q grid (increasing; direct: bin centres), instead of q_max and dq", "Å⁻¹", _q_grid,
                  kind="list"),
        Parameter("r_max", None, "range of g(r) transformed, and of G(r) (unset: half the narrowest cell width, at most "
                  f"{R_MAX_CAP:g} Å)", "Å", _checks.positive),
        Parameter("bin_width", 0.02, "r bin width of the pair histogram and of G(r)", "Å", _checks.positive),
    )
    requires = Requires(periodic=True)
    selectable = False
    windowed = True

    def prepare(self):
        self.volume, self.bins, self.pairs = None, None, None  # what RDF's frame methods read
        if self.q is not None:
            self.q_grid = np.array(self.q)
        else:
            n = int(np.floor(self.q_max / self.dq + 1e-9))
            if n < 1:
                raise InvalidArgumentError(f"dq={self.dq} Å⁻¹ exceeds q_max={self.q_max} Å⁻¹: the q grid would be empty")
            self.q_grid = self.dq * np.arange(1, n + 1)
        limit = np.pi / self.bin_width
        if self.method == "rdf" and self.q_grid[-1] > limit:
            raise InvalidArgumentError(f"q reaches {self.q_grid[-1]:g} Å⁻¹, beyond the r grid's limit π/bin_width = "
                                       f"{limit:.4g} Å⁻¹; lower q (q_max) or bin_width")
        self.needs = ()
        if self.r_max is not None:
            self._set_r(self.r_max)

    def _set_r(self, r_max):
        self.r_max = r_max
        self.edges = bin_edges(0.0, r_max, self.bin_width, None, what="structure_factor r_max")
        self.needs = (Need.of(r_max, full=False),) if self.method == "rdf" else ()

    def setup(self, frame):
        if not frame.pbc.all():
            raise MissingDataError(f"{frame.describe()} is not periodic in all three directions; S(q) needs a periodic cell")
        super().setup(frame)
        if self.weighting == "bhatia-thornton" and len(self.species) != 2:
            raise InvalidArgumentError(f"weighting='bhatia-thornton' needs exactly two species (S_NC, S_CC); "
                                       f"{frame.describe()} holds {', '.join(self.species)}: use 'faber-ziman' partials")
        if self.r_max is None:
            self._set_r(min(neighbors.max_cutoff_without_images(frame), R_MAX_CAP))
        self.weights_of(self.q_grid)  # refuses species without a tabulated weight now, not after the run

    def weights_of(self, q) -> np.ndarray:
        """Per-species weights at ``q`` (n_species, n_q)."""
        return scattering_weights(self.species, q, self.weighting)

    def begin_frame(self, frame):
        return super().begin_frame(frame) if self.method == "rdf" else None

    def end_frame(self, state, frame) -> Part:
        if not frame.pbc.all():
            raise MissingDataError(f"{frame.describe()} is not periodic in all three directions; S(q) needs a periodic cell")
        if self.method == "rdf":
            return super().end_frame(state, frame)
        _, types = frame_species(frame, self.species)
        sums, counts = direct_sums(frame, types, len(self.species), self._edges_q(), self.parallel)
        return Part((sums, counts, np.bincount(types, minlength=len(self.species)).astype(float)))

    def _edges_q(self) -> np.ndarray:
        q = self.q_grid
        mid = 0.5 * (q[1:] + q[:-1])
        first = q[0] - (mid[0] - q[0] if len(q) > 1 else 0.5 * self.dq)
        last = q[-1] + (q[-1] - mid[-1] if len(q) > 1 else 0.5 * self.dq)
        return np.concatenate([[max(first, 0.0)], mid, [last]])

    def result(self, parts, times) -> xr.Dataset:
        q, species = self.q_grid, self.species
        ns = len(species)
        if self.method == "rdf":
            partial, conc, n_k = self._transform(parts)
            reliable = 2 * np.pi / self.r_max
        else:
            partial, conc, n_k = self._pooled(parts)
            reliable = np.nan
            if not np.any(n_k):
                warnings.warn(f"structure_factor: no reciprocal-lattice vector of the cell falls on the q grid "
                              f"({q[0]:g}-{q[-1]:g} Å⁻¹); S is NaN", GstorderWarning, stacklevel=3)
        w = self.weights_of(q)  # (ns, nq)
        cw = conc[:, None] * w
        denominator = (conc[:, None] * w**2).sum(axis=0) if self.normalization == "<w^2>" else cw.sum(axis=0) ** 2
        pair_w = cw[:, None, :] * cw[None, :, :] / denominator  # (ns, ns, nq)
        total = 1.0 + np.einsum("abq,abq->q", pair_w, partial - 1.0)
        s_nn = 1.0 + np.einsum("a,b,abq->q", conc, conc, partial - 1.0)
        iu = np.triu_indices(ns)
        labels = [pair_label(species[a], species[b]) for a, b in zip(*iu)]
        factor = np.where(iu[0] == iu[1], 1.0, 2.0)[:, None]
        f = q * (total - 1.0)
        r = centres(self.edges)
        qa = {"long_name": "q", "units": "Å⁻¹"}
        ds = xr.Dataset(
            {
                "S": ("q", total, {"long_name": "S(q)", "units": "", "weighting": self.weighting}),
                "S_partial": (("pair", "q"), partial[iu], {"long_name": "Faber–Ziman partial S_ab(q)", "units": ""}),
                "weight": (("pair", "q"), factor * pair_w[iu], {"long_name": "weight of S_ab − 1 in S − 1", "units": ""}),
                "S_NN": ("q", s_nn, {"long_name": "Bhatia–Thornton S_NN(q)", "units": ""}),
                "F": ("q", f, {"long_name": "F(q) = q [S(q) − 1]", "units": "Å⁻¹"}),
                "G": ("r", reduced_pdf(q, f, r, self.window), {"long_name": "G(r)", "units": "Å⁻²"}),
                "concentration": ("species", conc, {"long_name": "atomic fraction", "units": ""}),
                "scattering_weight": (("species", "q"), w, {"long_name": "scattering length or form factor",
                                                           "units": "fm" if self.weighting == "neutron" else
                                                           "electrons" if self.weighting == "xray" else ""}),
            },
            coords={"q": ("q", q, qa), "r": ("r", r, {"long_name": "r", "units": "Å"}), "pair": labels, "species": species},
            attrs=attrs_of(analysis="structure_factor", method=self.method, weighting=self.weighting,
                           normalization=self.normalization, window=self.window, r_max=self.r_max, bin_width=self.bin_width,
                           n_frames=len(parts), q_min_reliable=reliable, tables=_tables()),
        )
        if self.method == "direct":
            ds["n_k"] = ("q", n_k, {"long_name": "wave vectors in the bin (±k once, summed over frames)", "units": ""})
        if ns == 2:
            (c1, c2), (s11, s12, s22) = conc, partial[iu]
            ds["S_NC"] = ("q", c1 * c2 * (c1 * (s11 - s12) - c2 * (s22 - s12)), {"long_name": "Bhatia–Thornton S_NC(q)", "units": ""})
            ds["S_CC"] = ("q", c1 * c2 * (1.0 + c1 * c2 * (s11 + s22 - 2 * s12)), {"long_name": "Bhatia–Thornton S_CC(q)", "units": ""})
        return ds

    def _transform(self, parts):
        """Frame-averaged partials (ns, ns, nq) by the Fourier transform of each frame's pair histogram, and concentrations."""
        edges, q = self.edges, self.q_grid
        r = centres(edges)
        shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        modification = np.sinc(r / self.r_max) if self.window == "lorch" else np.ones_like(r)
        kernel = modification[:, None] * np.sinc(np.outer(r, q) / np.pi)  # (nr, nq); np.sinc(x) = sin(πx)/(πx)
        rows, conc = [], []
        for ordered, n_a, vol, *_ in (p.data for p in parts):
            n = n_a.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                excess = n * ordered / (n_a[:, None, None] * n_a[None, :, None]) - (n / vol) * shell  # ρ (g − 1) × shell
            rows.append(excess)
            conc.append(n_a / n)
        partial = 1.0 + np.einsum("fabr,rq->fabq", np.array(rows), kernel)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a species absent from every frame stays NaN
            return np.nanmean(partial, axis=0), np.mean(conc, axis=0), None

    def _pooled(self, parts):
        """Partials (ns, ns, nq) averaged over every wave vector of every frame in each bin, concentrations, vectors per bin."""
        num, n_k, conc = 0.0, 0, []
        for sums, counts, n_a in (p.data for p in parts):
            n = n_a.sum()
            c = n_a / n
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = sums / (n * counts[:, None, None])  # Re ρ_a ρ_b* / N averaged over the bin's vectors
                s = 1.0 + (mean - np.diag(c)[None]) / (c[:, None] * c[None, :])[None]
            num = num + np.where(counts[:, None, None] > 0, s * counts[:, None, None], 0.0)
            n_k = n_k + counts
            conc.append(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            partial = np.where(n_k[:, None, None] > 0, num / n_k[:, None, None], np.nan)
        return partial.transpose(1, 2, 0), np.mean(conc, axis=0), n_k

    @classmethod
    def call(cls, frames, options: dict):
        # its own ``window`` (the modification function) is not the runner's window of frames
        run_options = {k: options.pop(k) for k in list(options) if k in RUN_OPTIONS and k != "window"}
        return run(frames, [cls(**options)], **run_options)[cls.name]


def scattering_weights(species, q, weighting: str) -> np.ndarray:
    """Scattering weight of each species at each q (n_species, n_q): b_c in fm, f0(q) in electrons, or 1.

    Raises
    ------
    MissingDataError
        For a species the tables hold no value for.

    Examples
    --------
    >>> scattering_weights(["Ge", "Te"], [0.0], "neutron").ravel().tolist()
    [8.185, 5.68]
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    if weighting in ("faber-ziman", "bhatia-thornton"):
        return np.ones((len(species), len(q)))
    import periodictable
    from periodictable import cromermann

    out = np.empty((len(species), len(q)))
    for k, s in enumerate(species):
        try:
            if weighting == "neutron":
                b = periodictable.elements.symbol(s).neutron.b_c
                if b is None:
                    raise KeyError(s)
                out[k] = b
            else:
                out[k] = cromermann.fxrayatq(s, q)
        except (KeyError, ValueError, AttributeError):
            raise MissingDataError(f"no {WEIGHTINGS[weighting]} for {s} in periodictable; use weighting='faber-ziman'") from None
    return out


def _tables() -> str:
    import periodictable

    return (f"periodictable {periodictable.__version__}: neutron b_c (Rauch & Waschkowski 2003), X-ray f0(q) "
            "(Waasmaier & Kirfel 1995)")


def reduced_pdf(q, f, r, window: str = "lorch") -> np.ndarray:
    """G(r) = (2/π) ∫ F(q) M(q) sin(qr) dq over the grid ``q`` (Å⁻¹), NaN values of F left out; M = Lorch or 1."""
    q, f = np.asarray(q, dtype=float), np.asarray(f, dtype=float)
    ok = np.isfinite(f)
    q, f = q[ok], f[ok]
    if len(q) < 2:
        return np.full(len(r), np.nan)
    dq = np.gradient(q)
    m = np.sinc(q / q[-1]) if window == "lorch" else np.ones_like(q)
    return (2.0 / np.pi) * np.sin(np.outer(r, q)) @ (f * m * dq)


def direct_sums(frame, types, n_types: int, edges, parallel=None, *, table_bytes: int = TABLE_BYTES,
                slab_bytes: int = SLAB_BYTES):
    """Σ Re ρ_a(k) ρ_b(k)* over the reciprocal-lattice vectors k in each |k| bin (n_bins, n_types, n_types), and the counts.

    Each ±k pair counts once; slabs of h and chunks of atoms keep the
    phase tables below ``table_bytes`` and the amplitudes below ``slab_bytes``.
    """
    cell = cell_basis(frame)[0]
    recip = 2.0 * np.pi * np.linalg.inv(cell).T  # rows b_i with a_i · b_j = 2π δ_ij
    q_max = float(edges[-1])
    reach = np.floor(q_max * np.linalg.norm(cell, axis=1) / (2.0 * np.pi) + 1e-9).astype(np.int64)
    n_h, n_k, n_l = int(reach[0]), int(reach[1]), int(reach[2]) + 1
    frac = frame.positions @ np.linalg.inv(cell)
    frac -= np.floor(frac)
    width = 2 * n_k + 1
    rows_per_h = width * n_l * n_types * 16
    slab = max(1, min(2 * n_h + 1, slab_bytes // max(rows_per_h, 1)))
    h_all = np.arange(-n_h, n_h + 1)
    sums = np.zeros((len(edges) - 1, n_types, n_types))
    counts = np.zeros(len(edges) - 1, dtype=np.int64)
    types = np.ascontiguousarray(types, dtype=np.int64)
    k_values, l_values = np.arange(-n_k, n_k + 1), np.arange(n_l)
    for start in range(0, len(h_all), slab):
        h_values = h_all[start : start + slab]
        rho = np.zeros((len(h_values) * width, n_l, n_types), dtype=np.complex128)
        chunk = max(1, table_bytes // (16 * (len(h_values) + width + n_l)))
        for a in range(0, len(frac), chunk):
            s = frac[a : a + chunk]
            e1 = np.exp(2j * np.pi * np.outer(s[:, 0], h_values))
            e2 = np.exp(2j * np.pi * np.outer(s[:, 1], k_values))
            e3 = np.exp(2j * np.pi * np.outer(s[:, 2], l_values))
            add_amplitudes(rho, e1, e2, e3, types[a : a + chunk], h_values, n_k, recip, q_max**2,
                           n_tasks(len(rho) * len(s), parallel))
        s_, c_ = bin_amplitudes(rho, h_values, n_k, recip, np.ascontiguousarray(edges, dtype=float),
                                n_tasks(rho.size, parallel))
        sums += s_
        counts += c_
    return sums, counts


def _draw(ds):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(8.0, 3.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for k, pair in enumerate(ds.pair.values):
        left.plot(ds.q, ds.S_partial.sel(pair=pair) + 1.5 * (k + 1), lw=1.0, label=f"S {pair}")
    left.plot(ds.q, ds.S, color="k", lw=1.4, label=f"S ({ds.attrs['weighting']})")
    left.set_xlabel("q (Å⁻¹)")
    left.set_ylabel("S(q) (partials offset)")
    left.legend(frameon=False, fontsize="small")
    right.plot(ds.r, ds.G, color="k", lw=1.2)
    right.axhline(0, color="0.7", lw=0.6)
    right.set_xlabel("r (Å)")
    right.set_ylabel("G(r) (Å⁻²)")
    return fig


def _rows(ds, tree):
    if not np.isfinite(ds.S.values).any():
        return []
    return [("S(q)", f"main peak {float(ds.S.max()):.2f} at q = {float(ds.S.idxmax('q')):.2f} Å⁻¹ "
                     f"({ds.attrs['weighting']}, {ds.attrs['method']})")]


StructureFactor.figures = (Figure("structure_factor", _draw, "Total S(q) with its Faber–Ziman partials (offset), and "
                                                           "the reduced pair distribution G(r)."),)
StructureFactor.rows = staticmethod(_rows)
register(StructureFactor)


@public(StructureFactor, run_options=tuple(k for k in RUN_OPTIONS if k != "window"))
def structure_factor(frames, **options) -> xr.Dataset:
    """Partial and total structure factors S(q), F(q) and G(r), for neutrons or X-rays (see :mod:`gstorder.scattering`).

    Frames periodic in all three directions. ``method="rdf"`` transforms the
    partial g(r) up to ``r_max`` (trustworthy above about 2π/r_max, given in
    ``attrs["q_min_reliable"]``); ``method="direct"`` sums over the cell's
    reciprocal-lattice vectors (bins without one are NaN). ``window`` here
    is the modification function; to average over windows of frames use
    :func:`gstorder.analyze` with ``window=``.

    Raises
    ------
    InvalidArgumentError
        For a q grid beyond the r grid's limit π/bin_width (``method="rdf"``),
        a q grid that is not positive and increasing, an unknown ``method``,
        ``weighting``, ``normalization`` or ``window``, or
        ``weighting="bhatia-thornton"`` on other than two species.
    MissingDataError
        For a frame that is not periodic in all three directions, or a
        species without a tabulated weight.

    Returns
    -------
    xarray.Dataset
        Over ``q`` (Å⁻¹): ``S`` (the weighted total), ``S_partial`` (pair, q)
        the Faber–Ziman partials, ``weight`` (pair, q) their weights in
        S − 1, ``S_NN`` and, for two species, ``S_NC`` and ``S_CC``
        (Bhatia–Thornton), ``F`` = q (S − 1) in Å⁻¹, ``scattering_weight``
        (species, q); over ``r`` (Å): ``G`` in Å⁻². ``method="direct"``
        adds ``n_k``, the wave vectors per bin.

    Examples
    --------
    >>> from gstorder import structure_factor, structures
    >>> crystal = structures.rocksalt("GeTe", 2, a=6.0)
    >>> ds = structure_factor(crystal, method="direct", q_max=3.0, dq=0.02)
    >>> round(float(ds.S.idxmax()), 2)  # (200) reflection: 2π·2/6 Å⁻¹
    2.1
    """
    return StructureFactor.call(frames, options)
