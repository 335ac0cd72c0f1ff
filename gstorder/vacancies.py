"""Vacancies, anti-sites and vacancy ordering in rock-salt-like GST: Wigner–Seitz occupancy of the ideal sites.

The ideal rock-salt lattice (two face-centred cubic sublattices, together a
simple cubic lattice of spacing a/2) is fitted to each frame when not given:
its orientation from the first-shell bond directions, its lattice constant
from the cell (a periodic rock-salt supercell holds a whole number of a/2
steps along every cell vector), its origin as the atoms' circular mean
offset, and which sublattice is the anion one from where most Te atoms sit.
Every atom then belongs to its nearest site (the Wigner–Seitz cell of the
site, as OVITO's ``WignerSeitzAnalysisModifier`` assigns them): a cation site
nobody occupies is a vacancy, a Ge/Sb atom on an anion site or a Te atom on
a cation site an anti-site, a site with two or more atoms holds interstitials.

Vacancy ordering along ⟨111⟩ (the rock-salt → trigonal change "via
continuous vacancy ordering"): for each of the four ⟨111⟩ directions the
cation sites fall into periodic (111) planes p = 1..P of m sites each; with
c_p the vacancy concentration of plane p, c̄ the overall one and
``V = (1/P) Σ_p (c_p − c̄)²``,

    S = (V − V_random) / (V_max − V_random),
    V_random = c̄(1 − c̄)(N − m) / (m (N − 1)),   V_max = c̄(1 − c̄),

where V_random is the expected V of the same vacancies placed at random on
the N cation sites and V_max that of planes either empty or full. S ≈ 0 for
random vacancies (it scatters by about 1/m around 0) and S = 1 when the
vacancies fill whole planes — every fourth cation plane for the trigonal
stacking of Ge1Sb2Te4. ``ordering`` is the largest S of the four
directions, ``ordering_direction`` which one.
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np
import xarray as xr

from . import _checks, neighbors
from ._labels import attrs_of, frame_coords
from .errors import InvalidArgumentError, LatticeMismatchError, UnknownSpeciesError
from .frames import as_frame
from .pipeline import Analysis, Part
from .registry import Figure, Parameter, Requires, public, register

__all__ = ["analyse", "Vacancies", "RockSalt", "fit_rocksalt", "antisites", "DIRECTIONS"]

#: The four ⟨111⟩ directions of the cubic lattice (lattice axes).
DIRECTIONS = np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]])

_CATIONS, _ANIONS = (32, 51), (52,)


class RockSalt:
    """An ideal rock-salt lattice fitted to a periodic cell.

    Attributes
    ----------
    axes : ndarray (3, 3)
        Rows: the cubic lattice axes in Cartesian coordinates (orthonormal).
    h : float
        Half the lattice constant, Å (the site spacing).
    origin : ndarray (3,)
        A site position, Å.
    cell_steps : ndarray of int (3, 3)
        Cell vectors in steps of h along the axes.
    anion_parity : int
        Sites whose integer coordinates sum to this parity (mod 2) are anion sites.
    """

    def __init__(self, axes, h, origin, cell_steps, anion_parity):
        self.axes, self.h, self.origin = np.asarray(axes, float), float(h), np.asarray(origin, float)
        self.cell_steps, self.anion_parity = np.asarray(cell_steps, np.int64), int(anion_parity)
        self._inverse = np.linalg.inv(self.cell_steps.astype(float))
        k = self._enumerate()
        self.site_steps = k
        self.site_positions = self.origin + (k * self.h) @ self.axes
        self.anion_site = (k.sum(axis=1) % 2) == self.anion_parity
        lo, hi = k.min(axis=0), k.max(axis=0)
        self._lo, self._shape = lo, hi - lo + 1
        self._table = np.full(int(np.prod(self._shape)), -1, dtype=np.int64)
        self._table[np.ravel_multi_index((k - lo).T, self._shape)] = np.arange(len(k))

    @property
    def a(self) -> float:
        """The lattice constant, Å."""
        return 2.0 * self.h

    def __len__(self) -> int:
        return len(self.site_steps)

    def _canonical(self, k):
        """Integer site coordinates reduced into the cell (one representative per site)."""
        f = k @ self._inverse
        f -= np.floor(f + 1e-9)
        return np.rint(f @ self.cell_steps).astype(np.int64)

    def _enumerate(self):
        corners = np.array([[i, j, l] for i in (0, 1) for j in (0, 1) for l in (0, 1)]) @ self.cell_steps
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        grid = np.stack(np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo, hi)], indexing="ij"), -1).reshape(-1, 3)
        f = grid @ self._inverse
        inside = ((f >= -1e-9) & (f < 1 - 1e-9)).all(axis=1)
        return grid[inside]

    def steps(self, positions) -> np.ndarray:
        """Positions (Å) in site steps along the axes, from the origin."""
        return (np.asarray(positions) - self.origin) @ self.axes.T / self.h

    def assign(self, positions):
        """Nearest site of each position (index into the sites) and its distance in site steps."""
        x = self.steps(positions)
        k = np.rint(x).astype(np.int64)
        distance = np.linalg.norm(x - k, axis=1)
        site = self._table[np.ravel_multi_index((self._canonical(k) - self._lo).T, self._shape)]
        return site, distance


def _parity_ok(steps) -> bool:
    return bool((steps.sum(axis=1) % 2 == 0).all())


def fit_rocksalt(frame, *, a=None, origin=None, orientation=None) -> RockSalt:
    """The ideal rock-salt lattice of a (thermal, defective) rock-salt frame.

    Parameters
    ----------
    frame : Frame or ase.Atoms
        Periodic in all three directions, with Te and Ge/Sb atoms.
    a : float, optional
        Lattice constant, Å (default: from the cell and the first-shell bonds).
    origin : array (3,), optional
        A site position, Å (default: the atoms' circular mean offset from the sites).
    orientation : array (3, 3), optional
        Rows: the cubic axes in Cartesian coordinates (default: the cell axes
        when they fit, else from the first-shell bond directions).

    Returns
    -------
    RockSalt

    Raises
    ------
    LatticeMismatchError
        When the cell is not a whole rock-salt supercell of the lattice (e.g. a trigonal phase).
    """
    frame = as_frame(frame)
    if not frame.pbc.all():
        raise InvalidArgumentError(f"{frame.describe()} is not periodic in all three directions; vacancies need the "
                                   "ideal sites of a periodic rock-salt cell")
    cations, anions = np.isin(frame.numbers, _CATIONS), np.isin(frame.numbers, _ANIONS)
    if not anions.any() or not cations.any():
        raise UnknownSpeciesError(f"{frame.describe()} needs Te and Ge/Sb atoms to tell anion from cation sites")
    cell = frame.cell
    first = None
    if a is None or orientation is None:
        nl = neighbors.build(frame, 3.7)  # the first shell of a GST rock-salt (second shell ≥ 4.1 Å)
        first = nl
    if a is None:
        a = 2.0 * float(np.median(first.distances)) if len(first) else np.nan
        if not np.isfinite(a):
            raise LatticeMismatchError(f"{frame.describe()} has no bonds shorter than 3.7 Å: no rock-salt lattice to fit")
        guess_only = True
    else:
        a, guess_only = _checks.positive("a", a, unit="Å"), False
    h = a / 2.0
    if orientation is None:
        candidates = [np.eye(3)] + ([_axes_from_bonds(first.vectors)] if len(first) else [])
    else:
        axes = _checks.finite_array("orientation", orientation, shape=(3, 3))
        if not np.allclose(axes @ axes.T, np.eye(3), atol=1e-6):
            raise InvalidArgumentError("orientation must be orthonormal rows (the cubic axes in Cartesian coordinates)")
        candidates = [axes]
    best = None
    for axes in candidates:
        steps = cell @ axes.T / h
        whole = np.rint(steps)
        miss = np.abs(steps - whole).max()
        if best is None or miss < best[0]:
            best = (miss, axes, whole)
    miss, axes, whole = best
    if miss > 0.25 or abs(np.linalg.det(whole)) < 0.5 or not _parity_ok(whole.astype(np.int64)):
        steps = np.round(cell @ axes.T / h, 2).tolist()
        raise LatticeMismatchError(f"{frame.describe()} does not fit a rock-salt lattice of a = {a:.3f} Å: its cell "
                                   f"vectors are {steps} steps of a/2 along "
                                   "the cubic axes, not whole (even-sum) numbers; give a=, orientation= or a rock-salt "
                                   "frame (trigonal phases have no rock-salt sites)")
    whole = whole.astype(np.int64)
    if guess_only:  # the cell fixes a exactly: least squares over its vectors
        h = float(((cell @ axes.T) * whole).sum() / (whole * whole).sum())
    residual = np.abs(cell @ axes.T - whole * h).max()
    if residual > 0.02 * h * max(1, np.abs(whole).max()):
        raise LatticeMismatchError(f"{frame.describe()}: the cell is not a rock-salt supercell of a = {2 * h:.3f} Å "
                                   f"(misfit {residual:.3f} Å)")
    x = frame.positions @ axes.T / h
    if origin is None:
        o = np.angle(np.exp(2j * np.pi * x).mean(axis=0)) / (2 * np.pi)
        origin = (o * h) @ axes
    else:
        origin = _checks.finite_array("origin", origin, shape=(3,), unit="Å")
    k = np.rint(x - (origin @ axes.T) / h).astype(np.int64)
    anion_parity = int(np.round((k[anions].sum(axis=1) % 2).mean()))
    return RockSalt(axes, h, origin, whole, anion_parity)


def _axes_from_bonds(vectors) -> np.ndarray:
    """Cubic axes from first-shell bond vectors (all along ±axes in rock-salt): seeds refined by alignment and SVD."""
    u = vectors / np.linalg.norm(vectors, axis=1)[:, None]
    e1 = u[0]
    e2 = u[np.argmin(np.abs(u @ e1))]
    e2 = e2 - (e2 @ e1) * e1
    axes = np.array([e1, e2 / np.linalg.norm(e2), np.cross(e1, e2 / np.linalg.norm(e2))])
    for _ in range(10):
        proj = u @ axes.T
        which = np.argmax(np.abs(proj), axis=1)
        sign = np.sign(proj[np.arange(len(u)), which])
        target = np.zeros_like(u)
        target[np.arange(len(u)), which] = sign
        # rotation R (rows = axes) minimising Σ |u R^T - target|²: polar factor of target^T u
        U, _, Vt = np.linalg.svd(target.T @ u)
        axes = U @ Vt
    if np.linalg.det(axes) < 0:
        axes[2] *= -1
    return axes


def _ordering(lattice: RockSalt, vacant_cation: np.ndarray):
    """S of each ⟨111⟩ direction, and the per-plane vacancy concentrations along each."""
    cation = ~lattice.anion_site
    k = lattice.site_steps[cation]
    vac = vacant_cation[cation]
    n = len(k)
    c = vac.mean() if n else np.nan
    scores, profiles = [], []
    for d in DIRECTIONS:
        period = reduce(math.gcd, [abs(int(v)) // 2 for v in lattice.cell_steps @ d])
        if period < 2 or not (0 < c < 1):
            scores.append(np.nan)
            profiles.append(np.full(max(period, 1), np.nan))
            continue
        p = k @ d
        plane = ((p - p.min()) // 2) % period
        m = np.bincount(plane, minlength=period)
        conc = np.bincount(plane, vac, minlength=period) / m
        v = ((conc - c) ** 2).mean()
        m_mean = n / period
        v_random = c * (1 - c) * (n - m_mean) / (m_mean * (n - 1))
        scores.append((v - v_random) / (c * (1 - c) - v_random))
        profiles.append(conc)
    return np.array(scores), profiles


def _frame_result(frame, lattice: RockSalt, tolerance: float):
    """Everything per frame: occupancies, vacancies, anti-sites, interstitials, ordering."""
    site, distance = lattice.assign(frame.positions)
    occupancy = np.bincount(site, minlength=len(lattice))
    cation_atom = np.isin(frame.numbers, _CATIONS)
    anion_atom = np.isin(frame.numbers, _ANIONS)
    on_anion = lattice.anion_site[site]
    near = distance < tolerance
    antisite = near & ((cation_atom & on_anion) | (anion_atom & ~on_anion))
    vacant = occupancy == 0
    scores, profiles = _ordering(lattice, vacant & ~lattice.anion_site)
    return site, occupancy, antisite, vacant, scores, profiles


# --------------------------------------------------------------------------- the analysis


class Vacancies(Analysis):
    """:func:`analyse` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "vacancies"
    order = 58
    summary = "vacancies, anti-sites and ⟨111⟩ vacancy ordering of rock-salt GST (Wigner–Seitz occupancy)"
    same_atoms = True
    parameters = (
        Parameter("lattice", "rocksalt", "the ideal lattice (rock-salt: Te on anion sites, Ge/Sb and vacancies on "
                  "cation sites)", check=lambda name, v: _checks.choice(name, v, ("rocksalt",)), kind="str"),
        Parameter("a", None, "lattice constant (unset: fitted to each frame's cell)", "Å", _checks.positive),
        Parameter("origin", None, "a site position (unset: fitted)", "Å", kind="python"),
        Parameter("orientation", None, "cubic axes as rows in Cartesian coordinates (unset: the cell axes or the "
                  "bond directions)", kind="python"),
        Parameter("tolerance", 0.35, "an atom farther than this from its site (in units of a/2) is no anti-site",
                  "", lambda name, v: _checks.real(name, v, low=0.0, low_open=True, high=1.0)),
        Parameter("per_atom", True, "keep each atom's site and anti-site flag over (frame, atom)", check=_checks.flag,
                  kind="bool"),
    )
    requires = Requires(periodic=True, check=lambda first: _fits(first))

    def setup(self, frame):
        self.n_sites = None

    def end_frame(self, state, frame) -> Part:
        lattice = fit_rocksalt(frame, a=self.a, origin=self.origin, orientation=self.orientation)
        site, occupancy, antisite, vacant, scores, profiles = _frame_result(frame, lattice, self.tolerance)
        cation_site = ~lattice.anion_site
        data = {"n_sites": len(lattice), "n_cation_sites": int(cation_site.sum()),
                "n_vacancies": int((vacant & cation_site).sum()), "n_anion_vacancies": int((vacant & ~cation_site).sum()),
                "n_interstitials": int(np.maximum(occupancy - 1, 0).sum()), "n_antisites": int(antisite.sum()),
                "a": lattice.a, "positions": lattice.site_positions[vacant & cation_site], "scores": scores,
                "profiles": profiles}
        atoms = None
        if self.per_atom:
            atoms = {"site": (site.astype(np.int64), {"long_name": "Wigner–Seitz site", "units": ""}),
                     "antisite": (antisite.astype(np.int8), {"long_name": "anti-site", "units": "", "flag_values": [0, 1],
                                                              "flag_meanings": "regular antisite"})}
        return Part(data, atoms)

    def result(self, parts, times) -> xr.Dataset:
        data = [p.data for p in parts]
        most = max(len(d["positions"]) for d in data)
        positions = np.full((len(data), most, 3), np.nan)
        for f, d in enumerate(data):
            positions[f, : len(d["positions"])] = d["positions"]
        scores = np.array([d["scores"] for d in data])
        best = np.array([int(np.nanargmax(s)) if np.isfinite(s).any() else 0 for s in scores])
        planes = max(len(p) for d in data for p in d["profiles"])
        profile = np.full((len(data), planes), np.nan)
        for f, d in enumerate(data):
            p = d["profiles"][best[f]]
            profile[f, : len(p)] = p
        count = lambda key, long_name: ("frame", np.array([d[key] for d in data]), {"long_name": long_name, "units": ""})  # noqa: E731
        ds = xr.Dataset(
            {"n_vacancies": count("n_vacancies", "empty cation sites"),
             "n_anion_vacancies": count("n_anion_vacancies", "empty anion sites"),
             "n_antisites": count("n_antisites", "anti-site atoms"),
             "n_interstitials": count("n_interstitials", "atoms beyond one per site"),
             "n_sites": count("n_sites", "sites"),
             "vacancy_fraction": ("frame", np.array([d["n_vacancies"] / d["n_cation_sites"] for d in data]),
                                  {"long_name": "vacancies per cation site", "units": ""}),
             "a": ("frame", np.array([d["a"] for d in data]), {"long_name": "lattice constant", "units": "Å"}),
             "vacancy_position": (("frame", "vacancy", "xyz"), positions, {"long_name": "vacancy site", "units": "Å"}),
             "ordering": ("frame", np.array([s[b] for s, b in zip(scores, best)]),
                          {"long_name": "⟨111⟩ vacancy ordering", "units": ""}),
             "ordering_111": (("frame", "direction"), scores, {"long_name": "vacancy ordering along each ⟨111⟩",
                                                               "units": ""}),
             "ordering_direction": ("frame", best, {"long_name": "⟨111⟩ direction of the strongest ordering", "units": ""}),
             "plane_vacancy": (("frame", "plane"), profile, {"long_name": "vacancy concentration of each (111) cation "
                                                                          "plane", "units": ""})},
            coords={**frame_coords(times), "xyz": ["x", "y", "z"], "direction": ["[111]", "[11-1]", "[1-11]", "[-111]"],
                    "plane": np.arange(planes)},
        )
        if parts[0].atoms:
            for name, (_, attrs) in parts[0].atoms.items():
                ds[name] = (("frame", "atom"), np.array([p.atoms[name][0] for p in parts]), attrs)
        ds.attrs = attrs_of(analysis="vacancies", lattice=self.lattice, a=self.a, tolerance=self.tolerance,
                            ordering="S = (V - V_random) / (V_max - V_random) over the periodic (111) cation planes; "
                                     "0 random, 1 whole planes (see gstorder.vacancies)")
        return ds


def _fits(first) -> str | None:
    try:
        fit_rocksalt(first)
    except (LatticeMismatchError, UnknownSpeciesError, InvalidArgumentError) as exc:
        return f"it needs a rock-salt frame ({exc})"
    return None


def _profile_figure(ds):
    """Vacancy concentration of each periodic (111) cation plane along the most ordered direction, last frame."""
    from ._figures import _new_figure

    p = ds.plane_vacancy.isel(frame=-1).values
    if not np.isfinite(p).any():
        return None
    fig, ax = _new_figure((4.8, 3.0))
    ok = np.isfinite(p)
    from matplotlib.ticker import MaxNLocator

    ax.bar(ds.plane.values[ok], 100 * p[ok], color="0.4")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    mean = float(ds.vacancy_fraction.isel(frame=-1))
    ax.axhline(100 * mean, color="C3", ls="--", lw=1.0, label=f"mean {100 * mean:.1f} %")
    direction = str(ds.direction.values[int(ds.ordering_direction.isel(frame=-1))])
    ax.set_xlabel(f"cation (111) plane along {direction}")
    ax.set_ylabel("vacancies (% of sites)")
    ax.set_title(f"ordering S = {float(ds.ordering.isel(frame=-1)):.2f}", fontsize="medium")
    ax.legend(frameon=False, fontsize="small")
    return fig


def _rows(ds, tree):
    return [("vacancies", f"{int(ds.n_vacancies.values[-1])} ({100 * float(ds.vacancy_fraction.values[-1]):.1f} % of "
                          f"cation sites), {int(ds.n_antisites.values[-1])} anti-sites, ⟨111⟩ ordering "
                          f"{float(ds.ordering.values[-1]):.2f} at the last frame")]


Vacancies.figures = (Figure("vacancy_planes", _profile_figure, "Vacancy concentration of each (111) cation plane along "
                                                               "the most ordered ⟨111⟩ direction, last frame."),)
Vacancies.rows = staticmethod(_rows)
register(Vacancies)


@public(Vacancies)
def analyse(frames, **options) -> xr.Dataset:
    """Vacancies, anti-sites and ⟨111⟩ vacancy ordering of rock-salt frames by Wigner–Seitz occupancy.

    See the module docstring for the fit and the ordering parameter.

    Returns
    -------
    xarray.Dataset
        Per frame: ``n_vacancies`` (empty cation sites), ``vacancy_fraction``,
        ``n_anion_vacancies``, ``n_antisites``, ``n_interstitials``,
        ``n_sites``, ``a`` (Å), ``vacancy_position`` (frame, vacancy, xyz;
        Å, NaN-padded), ``ordering`` (the largest of ``ordering_111`` over
        the four ⟨111⟩ ``direction``), ``ordering_direction`` and
        ``plane_vacancy`` (frame, plane) along it; per atom ``site`` and
        ``antisite`` (1 or 0) over (frame, atom).

    Raises
    ------
    LatticeMismatchError
        For a frame that is no rock-salt supercell (e.g. a trigonal phase).

    Examples
    --------
    >>> from gstorder import structures, vacancies
    >>> atoms = structures.rocksalt("Ge1Sb2Te4", 4, seed=1)
    >>> ds = vacancies.analyse(atoms)
    >>> int(ds.n_vacancies[0]) == atoms.info["vacancies"], abs(float(ds.ordering[0])) < 0.1
    (True, True)
    """
    return Vacancies.call(frames, options)


def antisites(frame, *, a: float | None = None, tolerance: float = 0.35) -> np.ndarray:
    """Anti-site atoms of a rock-salt model: Ge/Sb on anion sites or Te on cation sites (black in Fig. 4).

    Each atom belongs to its nearest site of the fitted rock-salt lattice
    (see :func:`fit_rocksalt`); atoms farther than ``tolerance`` × a/2 from
    it (disordered regions) are not classified.

    Parameters
    ----------
    frame : Frame or ase.Atoms
        A periodic rock-salt model (e.g. from :func:`gstorder.structures.rocksalt`), possibly thermal.
    a : float, optional
        Lattice constant in Å (default: fitted to the cell).
    tolerance : float
        Largest distance to a site, as a fraction of a/2.

    Returns
    -------
    ndarray of bool, shape (n_atoms,)

    Examples
    --------
    >>> from gstorder import structures, vacancies
    >>> atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=1, antisite_fraction=0.1)
    >>> bool((vacancies.antisites(atoms) == atoms.arrays["antisite"]).all())
    True
    """
    tolerance = _checks.real("tolerance", tolerance, low=0.0, low_open=True, high=1.0)
    a = None if a is None else _checks.positive("a", a, unit="Å")
    frame = as_frame(frame)
    lattice = fit_rocksalt(frame, a=a)
    return _frame_result(frame, lattice, tolerance)[2]
