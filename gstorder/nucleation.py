"""Crystalline nuclei atom by atom: clusters, their growth and the mean-first-passage-time analysis.

:func:`clusters` labels crystalline atoms (ten Wolde–Frenkel solid atoms of
:mod:`gstorder.order`, k̄ above a threshold, or any mask) and joins those
bonded to each other (the shared neighbour list, across periodic boundaries)
into clusters: the connected components of the bond graph restricted to
crystalline atoms, as ``scipy.sparse.csgraph.connected_components`` finds
them. Clusters of at least ``min_size`` atoms count as nuclei; each nucleus
keeps one id from frame to frame (the id of the previous frame's nucleus it
shares most atoms with), so its growth can be followed.

:func:`growth_velocity` fits d(radius)/dt of a nucleus, :func:`front_velocity`
the speed of a planar front found by :func:`gstorder.layers.track_layers`,
and :func:`mfpt` applies the mean-first-passage-time method (Wedekind,
Reguera & Strey, J. Chem. Phys. 126, 134103 (2007)) to the largest-cluster
series of many runs: critical size n*, nucleation rate J and Zeldovich factor.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from . import _checks
from ._labels import attrs_of, frame_coords
from ._kernels.order import roots, union_edges
from .errors import GstorderWarning, InvalidArgumentError, MissingDataError
from .frames import inverse_cell
from .order import BONDS, BondOrder
from .pipeline import Analysis, Need, Part
from .registry import Figure, Parameter, public, register

__all__ = ["clusters", "Clusters", "label_clusters", "growth_velocity", "front_velocity", "mfpt", "CRYSTALLINE"]

#: Named ways of labelling crystalline atoms (besides a mask).
CRYSTALLINE = ("solid_bonds", "kbar")

#: 1 Å/ps in m/s.
ANGSTROM_PER_PS = 100.0


def _crystalline(name, value):
    """'solid_bonds', 'kbar', or a boolean mask over atoms or (frame, atom) (array or DataArray)."""
    if isinstance(value, str):
        return _checks.choice(name, value, CRYSTALLINE)
    if isinstance(value, xr.DataArray):
        if value.dims not in (("atom",), ("frame", "atom")):
            raise InvalidArgumentError(f"{name}: a DataArray mask must have dims (atom,) or (frame, atom), got {value.dims}")
        value = value.values
    mask = np.asarray(value)
    if mask.dtype != bool or mask.ndim not in (1, 2):
        raise InvalidArgumentError(f"{name} must be {' or '.join(map(repr, CRYSTALLINE))} or a boolean mask over atoms or "
                                   f"(frame, atom), got {type(value).__name__}"
                                   + (f" of dtype {mask.dtype} and shape {mask.shape}" if hasattr(mask, "shape") else ""))
    return mask


# --------------------------------------------------------------------------- the cluster labelling


def label_clusters(n_atoms: int, blocks, member: np.ndarray, min_size: int = 1):
    """Connected components of the bond graph among ``member`` atoms.

    Parameters
    ----------
    n_atoms : int
    blocks : iterable of (centers, offsets, j)
        The bond graph as CSR blocks of centre atoms (a full neighbour list).
    member : ndarray of bool, shape (n_atoms,)
        Atoms that may belong to a cluster.
    min_size : int
        Smaller components are dropped (their atoms get -1).

    Returns
    -------
    label : ndarray of int64, shape (n_atoms,)
        Cluster index 0, 1, ... by decreasing size (ties: the cluster holding
        the lowest atom index first); -1 outside clusters.
    sizes : ndarray of int64
        Atoms per cluster, in label order.
    """
    parent = np.arange(n_atoms, dtype=np.int64)
    member = np.ascontiguousarray(member, dtype=np.bool_)
    for centers, offsets, j, *_ in blocks:
        i = np.repeat(np.asarray(centers, dtype=np.int64), np.diff(offsets))
        union_edges(parent, i, np.asarray(j, dtype=np.int64), member)
    root = roots(parent, member)  # the lowest atom index of each component
    inside = root >= 0
    counts = np.bincount(root[inside], minlength=n_atoms)
    kept = np.flatnonzero(counts >= max(min_size, 1))
    order = np.lexsort((kept, -counts[kept]))
    kept = kept[order]
    index = np.full(n_atoms, -1, dtype=np.int64)
    index[kept] = np.arange(len(kept))
    label = np.full(n_atoms, -1, dtype=np.int64)
    label[inside] = index[root[inside]]
    return label, counts[kept]


def _moments(frame, label, n_clusters):
    """Per cluster: centre (Å, wrapped into the cell) and radius of gyration (Å), periodic images by minimum image.

    Along periodic axes each cluster's centre is the circular mean of its
    atoms' fractional coordinates (Bai & Breen 2008) and every atom is taken
    at its image nearest that centre, so clusters across the boundary are
    whole (up to half a cell wide).
    """
    if n_clusters == 0:
        return np.zeros((0, 3)), np.zeros(0)
    inside = label >= 0
    lab = label[inside]
    pbc = frame.pbc
    cell = frame.cell
    frac = frame.positions[inside] @ inverse_cell(frame) if pbc.any() else frame.positions[inside]
    counts = np.bincount(lab, minlength=n_clusters).astype(float)
    centre = np.zeros((n_clusters, 3))
    for a in range(3):
        if pbc[a]:
            angle = 2 * np.pi * frac[:, a]
            c = np.bincount(lab, np.cos(angle), n_clusters)
            s = np.bincount(lab, np.sin(angle), n_clusters)
            centre[:, a] = np.arctan2(s, c) / (2 * np.pi)
            frac[:, a] = centre[lab, a] + (frac[:, a] - centre[lab, a] - np.round(frac[:, a] - centre[lab, a]))
        else:
            centre[:, a] = np.bincount(lab, frac[:, a], n_clusters) / counts
    cart = frac @ cell if pbc.any() else frac
    mean = np.stack([np.bincount(lab, cart[:, a], n_clusters) for a in range(3)], axis=1) / counts[:, None]
    sq = np.bincount(lab, (cart**2).sum(axis=1), n_clusters) / counts
    rg = np.sqrt(np.maximum(sq - (mean**2).sum(axis=1), 0.0))
    if pbc.any():
        f = mean @ inverse_cell(frame)
        f[:, pbc] -= np.floor(f[:, pbc])
        mean = f @ cell
    return mean, rg


def _size_edges(n_atoms: int) -> np.ndarray:
    """Cluster-size bin edges: every size up to 10, then bins 25 % wider each, past ``n_atoms``."""
    edges = list(range(1, 11))
    while edges[-1] <= n_atoms:
        edges.append(max(edges[-1] + 1, int(round(edges[-1] * 1.25))))
    return np.array(edges, dtype=np.int64)


# --------------------------------------------------------------------------- the analysis


class Clusters(Analysis):
    """:func:`clusters` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "clusters"
    order = 57
    summary = "crystalline nuclei: clusters of crystalline atoms followed from frame to frame"
    sequential = True
    same_atoms = True
    parameters = (
        Parameter("crystalline", "solid_bonds", "crystalline atoms: 'solid_bonds' (ten Wolde–Frenkel, see steinhardt), "
                  "'kbar' (k̄ above kbar_threshold), or (Python) a boolean mask over atoms or (frame, atom)",
                  check=_crystalline, kind="str"),
        *BONDS,
        Parameter("kbar_threshold", 0.6, "with crystalline='kbar': atoms with k̄ above this are crystalline "
                  "(crystallinity.calibrate() finds one for your samples)", "", _checks.real),
        Parameter("kbar", None, "with crystalline='kbar': k̄ options, e.g. {reference = 'trigonal'} (unset: kbar's "
                  "defaults)", kind="table"),
        Parameter("min_size", 5, "smallest cluster counted as a nucleus (atoms)", "", _checks.count, kind="int"),
        Parameter("n_tracked", 5, "nuclei followed in nucleus_* (those largest at their peak)", "",
                  lambda name, v: _checks.count(name, v, minimum=0), kind="int"),
        Parameter("per_atom", True, "keep the per-atom cluster ids and crystalline flags over (frame, atom)",
                  check=_checks.flag, kind="bool"),
    )

    def prepare(self):
        self.bond_need = Need.of(self.cutoff)
        self._kbar = None
        if isinstance(self.crystalline, str) and self.crystalline == "kbar":
            from .crystallinity import KBar

            options = dict(self.kbar or {})
            if not isinstance(options, dict):
                raise InvalidArgumentError(f"kbar must be a table of k̄ options, got {self.kbar!r}")
            options["per_atom"] = True
            self._kbar = KBar(**options)
            self.max_block = self._kbar.max_block
        self.needs = (self.bond_need,) + (self._kbar.needs if self._kbar is not None else ())

    def recorded(self) -> dict:
        values = dict(self.values)
        if not isinstance(values["crystalline"], str):
            values["crystalline"] = "mask"
        return values

    def setup(self, frame):
        if self._kbar is not None:
            self._kbar.setup(frame)
        mask = self.crystalline
        if not isinstance(mask, str) and mask.shape[-1] != len(frame):
            raise InvalidArgumentError(f"crystalline: the mask covers {mask.shape[-1]} atoms, {frame.describe()} has "
                                       f"{len(frame)}")
        self.edges = _size_edges(len(frame))
        self.previous, self.next_id, self.count = None, 1, 0

    def begin_frame(self, frame):
        solid = isinstance(self.crystalline, str) and self.crystalline == "solid_bonds"
        state = {"bonds": BondOrder(len(frame), (self.solid_l,) if solid else None, self.parallel),
                 "kbar": self._kbar.begin_frame(frame) if self._kbar is not None else None}
        return state

    def add_block(self, state, frame, lists):
        state["bonds"].add(lists[self.bond_need], lists.parallel)
        if self._kbar is not None:
            self._kbar.add_block(state["kbar"], frame, lists)

    def _crystalline_atoms(self, state, frame) -> np.ndarray:
        if self._kbar is not None:
            kbar = self._kbar.end_frame(state["kbar"], frame).atoms["kbar"][0]
            return kbar > self.kbar_threshold
        if isinstance(self.crystalline, str):
            return state["bonds"].solid(self.solid_l, self.bond_threshold, self.min_bonds)[1]
        mask = self.crystalline
        if mask.ndim == 1:
            return mask
        if self.count >= len(mask):
            raise InvalidArgumentError(f"crystalline: the mask covers {len(mask)} frames but clusters reached frame "
                                       f"{self.count}; give one row per analysed frame")
        return mask[self.count]

    def end_frame(self, state, frame) -> Part:
        crystalline = self._crystalline_atoms(state, frame)
        self.count += 1
        label, sizes = label_clusters(len(frame), state["bonds"].blocks, crystalline, self.min_size)
        centre, rg = _moments(frame, label, len(sizes))
        ids = self._follow(label, sizes)
        cluster = np.zeros(len(frame), dtype=np.int32)
        cluster[label >= 0] = ids[label[label >= 0]]
        self.previous = cluster
        density = len(frame) / frame.volume if frame.pbc.all() else np.nan
        data = {"n_crystalline": int(crystalline.sum()), "n_atoms": len(frame), "density": density,
                "volume": frame.volume if frame.pbc.all() else np.nan,
                "ids": ids, "sizes": sizes, "rg": rg, "centre": centre,
                "hist": np.histogram(sizes, bins=self.edges)[0] if len(sizes) else np.zeros(len(self.edges) - 1, np.int64)}
        atoms = None
        if self.per_atom:
            atoms = {"cluster": (cluster, {"long_name": "nucleus id (0: none)", "units": ""}),
                     "crystalline": (crystalline.astype(np.int8), {"long_name": "crystalline", "units": "",
                                                                   "flag_values": [0, 1],
                                                                   "flag_meanings": "not_crystalline crystalline"})}
        return Part(data, atoms)

    def _follow(self, label, sizes) -> np.ndarray:
        """Ids for this frame's clusters: each takes the previous id it shares most atoms with, unless a larger overlap
        claimed it; the rest get new ids (largest first)."""
        n = len(sizes)
        ids = np.zeros(n, dtype=np.int64)
        if self.previous is not None and n:
            both = (label >= 0) & (self.previous > 0)
            key, overlap = np.unique(label[both] * (int(self.previous.max()) + 1) + self.previous[both], return_counts=True)
            new, old = key // (int(self.previous.max()) + 1), key % (int(self.previous.max()) + 1)
            taken = set()
            for k in np.lexsort((old, new, -overlap)):
                if ids[new[k]] == 0 and old[k] not in taken:
                    ids[new[k]] = old[k]
                    taken.add(old[k])
        for c in range(n):
            if ids[c] == 0:
                ids[c] = self.next_id
                self.next_id += 1
        return ids

    def result(self, parts, times) -> xr.Dataset:
        data = [p.data for p in parts]
        n_frames = len(data)
        n_atoms = np.array([d["n_atoms"] for d in data])
        largest = np.array([d["sizes"][0] if len(d["sizes"]) else 0 for d in data])
        density = np.array([d["density"] for d in data])
        radius_of = lambda n, rho: np.cbrt(3.0 * n / (4.0 * np.pi * rho))  # noqa: E731
        nan3 = np.full(3, np.nan)
        ds = xr.Dataset(
            {
                "n_crystalline": ("frame", np.array([d["n_crystalline"] for d in data]),
                                  {"long_name": "crystalline atoms", "units": ""}),
                "crystalline_fraction": ("frame", np.array([d["n_crystalline"] for d in data]) / n_atoms,
                                         {"long_name": "crystalline fraction", "units": ""}),
                "n_clusters": ("frame", np.array([len(d["sizes"]) for d in data]),
                               {"long_name": f"nuclei (≥ {self.min_size} atoms)", "units": ""}),
                "largest": ("frame", largest, {"long_name": "largest nucleus", "units": "atoms"}),
                "largest_id": ("frame", np.array([d["ids"][0] if len(d["ids"]) else 0 for d in data]),
                               {"long_name": "id of the largest nucleus (0: none)", "units": ""}),
                "largest_rg": ("frame", np.array([d["rg"][0] if len(d["rg"]) else np.nan for d in data]),
                               {"long_name": "radius of gyration of the largest nucleus", "units": "Å"}),
                "largest_radius": ("frame", np.where(largest > 0, radius_of(largest, density), np.nan),
                                   {"long_name": "equivalent-sphere radius of the largest nucleus", "units": "Å"}),
                "largest_centre": (("frame", "xyz"), np.array([d["centre"][0] if len(d["sizes"]) else nan3 for d in data]),
                                   {"long_name": "centre of the largest nucleus", "units": "Å"}),
                "size_count": (("frame", "size"), np.array([d["hist"] for d in data]),
                               {"long_name": "nuclei per size bin", "units": ""}),
                "volume": ("frame", np.array([d["volume"] for d in data]), {"long_name": "cell volume", "units": "Å³"}),
            },
            coords={**frame_coords(times), "xyz": ["x", "y", "z"], "size": self.edges[:-1],
                    "size_upper": ("size", self.edges[1:] - 1, {"long_name": "largest size in the bin", "units": "atoms"})},
        )
        ds["size"].attrs = {"long_name": "nucleus size (bin start)", "units": "atoms"}
        self._tracked(ds, data, density, radius_of)
        if parts[0].atoms:
            for name, (_, attrs) in parts[0].atoms.items():
                ds[name] = (("frame", "atom"), np.array([p.atoms[name][0] for p in parts]), attrs)
        crystalline = self.crystalline if isinstance(self.crystalline, str) else "mask"
        cutoff = self.cutoff if isinstance(self.cutoff, (int, float)) else repr(self.cutoff)
        ds.attrs = attrs_of(analysis="clusters", crystalline=crystalline, cutoff=cutoff, solid_l=self.solid_l,
                            bond_threshold=self.bond_threshold, min_bonds=self.min_bonds,
                            kbar_threshold=self.kbar_threshold, kbar=self.kbar, min_size=self.min_size)
        if not ds.n_crystalline.values.any():
            warnings.warn(f"no crystalline atoms in any of the {n_frames} frames (crystalline={crystalline!r}): no nuclei",
                          GstorderWarning, stacklevel=3)
        return ds

    def _tracked(self, ds, data, density, radius_of) -> None:
        """``nucleus_*`` over (frame, nucleus): the ``n_tracked`` ids largest at their peak."""
        peak = {}
        for d in data:
            for i, s in zip(d["ids"], d["sizes"]):
                peak[int(i)] = max(peak.get(int(i), 0), int(s))
        chosen = sorted(peak, key=lambda i: (-peak[i], i))[: self.n_tracked]
        size = np.zeros((len(data), len(chosen)), dtype=np.int64)
        rg = np.full(size.shape, np.nan)
        centre = np.full(size.shape + (3,), np.nan)
        where = {i: k for k, i in enumerate(chosen)}
        for f, d in enumerate(data):
            for c, i in enumerate(d["ids"]):
                k = where.get(int(i))
                if k is not None:
                    size[f, k], rg[f, k], centre[f, k] = d["sizes"][c], d["rg"][c], d["centre"][c]
        ds.coords["nucleus"] = ("nucleus", np.array(chosen, dtype=np.int64), {"long_name": "nucleus id", "units": ""})
        ds["nucleus_size"] = (("frame", "nucleus"), size, {"long_name": "nucleus size", "units": "atoms"})
        ds["nucleus_rg"] = (("frame", "nucleus"), rg, {"long_name": "nucleus radius of gyration", "units": "Å"})
        with np.errstate(invalid="ignore", divide="ignore"):
            radius = np.where(size > 0, radius_of(size, density[:, None]), np.nan)
        ds["nucleus_radius"] = (("frame", "nucleus"), radius, {"long_name": "nucleus equivalent-sphere radius",
                                                               "units": "Å"})
        ds["nucleus_centre"] = (("frame", "nucleus", "xyz"), centre, {"long_name": "nucleus centre", "units": "Å"})


def _largest_figure(ds):
    """Largest nucleus (atoms) and crystalline fraction against time."""
    from ._figures import _new_figure, _timed

    if ds.sizes["frame"] < 2:
        return None
    ds, xlabel = _timed(ds)
    fig, ax = _new_figure((5.2, 3.2))
    ax.plot(ds.time, ds.largest, color="C0", lw=1.4)
    ax.set_ylabel("largest nucleus (atoms)", color="C0")
    ax.set_xlabel(xlabel)
    other = ax.twinx()
    other.plot(ds.time, 100 * ds.crystalline_fraction, color="C3", lw=1.0, ls="--")
    other.set_ylabel("crystalline atoms (%)", color="C3")
    other.set_ylim(bottom=0)
    ax.set_ylim(bottom=0)
    return fig


def _sizes_figure(ds):
    """Nuclei per size bin, last frame and pooled over frames, per unit size."""
    from ._figures import _new_figure

    counts = ds.size_count.values
    if not counts.sum():
        return None
    width = (ds.size_upper.values - ds["size"].values + 1).astype(float)
    fig, ax = _new_figure((5.0, 3.2))
    lo = ds["size"].values
    pooled = counts.sum(axis=0) / ds.sizes["frame"] / width
    ax.step(lo, pooled, where="post", label="mean over frames")
    if ds.sizes["frame"] > 1:
        ax.step(lo, counts[-1] / width, where="post", ls="--", label="last frame")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("nucleus size (atoms)")
    ax.set_ylabel("nuclei per unit size")
    ax.legend(frameon=False, fontsize="small")
    return fig


def _rows(ds, tree):
    f = 100 * ds.crystalline_fraction.values
    text = (f"largest {int(ds.largest.values[-1])} atoms at the last frame (max {int(ds.largest.max())}), "
            f"{int(ds.n_clusters.values[-1])} nuclei; crystalline {f[0]:.1f} → {f[-1]:.1f} %")
    return [("nuclei", text)]


Clusters.figures = (
    Figure("nuclei", _largest_figure, "Largest crystalline nucleus (atoms, left) and share of crystalline atoms (right) "
                                      "against time."),
    Figure("nucleus_sizes", _sizes_figure, "Size distribution of the crystalline nuclei, per unit size, mean over frames "
                                           "and last frame."),
)
Clusters.rows = staticmethod(_rows)
register(Clusters)


@public(Clusters)
def clusters(frames, **options) -> xr.Dataset:
    """Clusters of crystalline atoms (nuclei) per frame, followed from frame to frame.

    Crystalline atoms bonded to each other (closer than ``cutoff``, across
    periodic boundaries) belong to one cluster; clusters of at least
    ``min_size`` atoms are nuclei, numbered 1, 2, ... at first sight and
    keeping their number while they live. All frames must hold the same atoms.

    Returns
    -------
    xarray.Dataset
        Per frame: ``n_crystalline``, ``crystalline_fraction``, ``n_clusters``,
        ``largest`` (atoms), ``largest_id``, ``largest_rg`` and
        ``largest_radius`` (equivalent sphere at the frame's number density,
        Å), ``largest_centre`` (frame, xyz; Å), ``size_count`` (frame, size:
        nuclei per size bin, bins from ``size`` to ``size_upper``),
        ``volume`` (Å³); per tracked nucleus: ``nucleus_size``,
        ``nucleus_rg``, ``nucleus_radius`` (frame, nucleus) and
        ``nucleus_centre`` (frame, nucleus, xyz); per atom: ``cluster`` (the
        nucleus id, 0 for none) and ``crystalline`` (1 or 0) over (frame, atom).

    Raises
    ------
    InvalidArgumentError
        For a mask of the wrong shape or too few frames.

    Examples
    --------
    >>> from gstorder import nucleation, structures
    >>> ds = nucleation.clusters(structures.rocksalt("GeTe", 3, a=6.0))
    >>> int(ds.largest[0]), int(ds.n_clusters[0]), int(ds.cluster[0].max())
    (216, 1, 1)
    """
    return Clusters.call(frames, options)


# --------------------------------------------------------------------------- kinetics


def _slope(t, y):
    """Least-squares slope and intercept of y(t) and the slope's standard error."""
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if len(t) < 2 or np.ptp(t) == 0:
        return np.nan, np.nan, np.nan, int(len(t))
    A = np.stack([t, np.ones_like(t)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(A, y, rcond=None)
    if len(t) > 2:
        resid = y - (slope * t + intercept)
        err = np.sqrt(resid @ resid / (len(t) - 2) / ((t - t.mean()) ** 2).sum())
    else:
        err = np.nan
    return float(slope), float(intercept), float(err), int(len(t))


def _velocity(slope, intercept, err, n, what, **attrs) -> xr.Dataset:
    return xr.Dataset(
        {"velocity": ((), slope, {"long_name": f"{what} velocity", "units": "Å/ps"}),
         "velocity_si": ((), slope * ANGSTROM_PER_PS, {"long_name": f"{what} velocity", "units": "m/s"}),
         "velocity_error": ((), err, {"long_name": "standard error of the velocity", "units": "Å/ps"}),
         "intercept": ((), intercept, {"long_name": "fitted value at t = 0", "units": "Å"})},
        attrs=attrs_of(n_points=n, **attrs))


def growth_velocity(result: xr.Dataset, nucleus="largest", *, radius: str = "equivalent", start=None,
                    stop=None) -> xr.Dataset:
    """Growth velocity d(radius)/dt of a nucleus: a straight-line fit over the frames where it exists.

    Parameters
    ----------
    result : xarray.Dataset
        A :func:`clusters` result with frame times.
    nucleus : 'largest' or int
        The largest nucleus of each frame, or a tracked nucleus id (``result.nucleus``).
    radius : {'equivalent', 'gyration'}
        The equivalent-sphere radius (3n / 4πρ)^(1/3) or √(5/3) × the radius
        of gyration (equal for a compact sphere).
    start, stop : float, optional
        Fit only over this time window (ps).

    Returns
    -------
    xarray.Dataset
        ``velocity`` (Å/ps), ``velocity_si`` (m/s), ``velocity_error``, ``intercept`` (Å).

    Examples
    --------
    >>> import xarray as xr
    >>> from gstorder import nucleation
    >>> ds = xr.Dataset({"largest_radius": ("frame", [5.0, 6.0, 7.0]), "largest_rg": ("frame", [4.0, 5.0, 6.0])},
    ...                 coords={"time": ("frame", [0.0, 10.0, 20.0])})
    >>> round(float(nucleation.growth_velocity(ds).velocity_si), 6)  # 1 Å per 10 ps
    10.0
    """
    _checks.choice("radius", radius, ("equivalent", "gyration"))
    if "time" not in result.coords or not np.isfinite(result.time.values).any():
        raise MissingDataError("growth_velocity needs frame times (give timestep_fs= when reading the trajectory)")
    if isinstance(nucleus, str):
        _checks.choice("nucleus", nucleus, ("largest",))
        r = result.largest_radius if radius == "equivalent" else np.sqrt(5 / 3) * result.largest_rg
    else:
        nucleus = _checks.count("nucleus", nucleus)
        if "nucleus" not in result.coords or nucleus not in result.nucleus.values:
            raise InvalidArgumentError(f"nucleus {nucleus} is not tracked in this result (tracked: "
                                       f"{result.nucleus.values.tolist() if 'nucleus' in result.coords else []})")
        sel = result.sel(nucleus=nucleus)
        r = sel.nucleus_radius if radius == "equivalent" else np.sqrt(5 / 3) * sel.nucleus_rg
    t = result.time.values.astype(float)
    y = np.asarray(r.values, dtype=float)
    keep = np.ones(len(t), dtype=bool)
    if start is not None:
        keep &= t >= _checks.real("start", start)
    if stop is not None:
        keep &= t <= _checks.real("stop", stop)
    slope, intercept, err, n = _slope(t[keep], y[keep])
    if n < 2:
        raise MissingDataError(f"the nucleus exists in {n} frame(s) of the window: a velocity needs at least two")
    return _velocity(slope, intercept, err, n, "growth", nucleus=str(nucleus), radius=radius)


def front_velocity(track: xr.Dataset, *, start=None, stop=None) -> xr.Dataset:
    """Velocity of a planar front: the slope of :func:`gstorder.layers.track_layers`' ``melting_front`` against time.

    Positive when the front moves up the layer axis (melting from below, or
    a crystal growing downwards into the melt shows a negative one).

    Returns
    -------
    xarray.Dataset
        ``velocity`` (Å/ps), ``velocity_si`` (m/s), ``velocity_error``, ``intercept`` (Å).
    """
    if "melting_front" not in track:
        raise InvalidArgumentError("front_velocity takes a track_layers() result (it has no melting_front)")
    t = track.time.values.astype(float)
    keep = np.isfinite(t)
    if start is not None:
        keep &= t >= _checks.real("start", start)
    if stop is not None:
        keep &= t <= _checks.real("stop", stop)
    slope, intercept, err, n = _slope(t[keep], track.melting_front.values[keep].astype(float))
    if n < 2:
        raise MissingDataError(f"the front is defined in {n} frame(s): a velocity needs at least two")
    return _velocity(slope, intercept, err, n, "front", axis=track.attrs.get("axis", "z"))


# --------------------------------------------------------------------------- mean first-passage times


def _series(series, times, timestep):
    """Runs as a list of (times ps, largest sizes) and the mean cell volume (Å³, NaN if unknown)."""
    runs, volumes = [], []
    if isinstance(series, xr.Dataset):
        series = [series]
    if isinstance(series, np.ndarray) and series.ndim == 2:
        series = list(series)
    if not isinstance(series, (list, tuple)):
        raise InvalidArgumentError("series must be many runs: a list of clusters() results or of largest-cluster series, "
                                   f"or a 2-D array (runs, frames); got {type(series).__name__}")
    for k, run in enumerate(series):
        if isinstance(run, xr.Dataset):
            if "largest" not in run:
                raise InvalidArgumentError(f"series[{k}] is a Dataset without 'largest': pass clusters() results")
            t = run.time.values.astype(float)
            if not np.isfinite(t).all():
                if timestep is None:
                    raise MissingDataError(f"series[{k}] has no frame times; give timestep= (ps between frames)")
                t = np.arange(run.sizes["frame"]) * timestep
            runs.append((t, run.largest.values.astype(float)))
            if "volume" in run:
                volumes.append(float(np.nanmean(run.volume.values)))
        else:
            y = _checks.finite_array(f"series[{k}]", run, shape=(-1,))
            if times is not None:
                shared = np.ndim(times) == 1 and not isinstance(times[0], (list, tuple, np.ndarray))
                t = _checks.finite_array("times", times if shared else times[k], shape=(-1,), unit="ps")
                if len(t) != len(y):
                    raise InvalidArgumentError(f"times has {len(t)} entries for the {len(y)} of series[{k}]")
            elif timestep is not None:
                t = np.arange(len(y)) * timestep
            else:
                raise MissingDataError("give times= (ps) or timestep= (ps between frames) for plain series")
            runs.append((t, y.astype(float)))
    if len(runs) < 2:
        raise InvalidArgumentError(f"mfpt needs many independent runs (at least 2, better tens); got {len(runs)}")
    return runs, (float(np.mean(volumes)) if volumes else np.nan)


def mfpt(series, *, times=None, timestep=None, volume=None, sizes=None, fit=True) -> xr.Dataset:
    """Mean first-passage times of the largest nucleus and the nucleation barrier's n*, J and Zeldovich factor.

    The mean-first-passage-time method of Wedekind, Reguera & Strey (J. Chem.
    Phys. 126, 134103 (2007)): τ(n), the mean over runs of the first time the
    largest nucleus reaches n atoms, is fitted by
    ``τ(n) = (τ_J / 2) [1 + erf(c (n - n*))]``; n* is the critical size, the
    nucleation rate ``J = 1 / (τ_J V)`` and the Zeldovich factor ``Z = c / √π``.
    Meaningful when the barrier is high (a few kT): the runs then wait in the
    metastable state and cross n* quickly.

    Parameters
    ----------
    series : list of clusters() results, list of 1-D arrays, or 2-D array (runs, frames)
        The largest-cluster size of each run over time.
    times : array or list of arrays, optional
        Frame times (ps) for plain series (one array for all runs or one per run).
    timestep : float, optional
        ps between frames, for series without times.
    volume : float, optional
        Cell volume (Å³) for J; clusters() results carry their own.
    sizes : array of int, optional
        Sizes n at which τ(n) is evaluated (default: 1 up to the largest size
        every run reached).
    fit : bool
        Fit the erf form (False: only τ(n)).

    Returns
    -------
    xarray.Dataset
        Over ``n``: ``mfpt`` (ps), ``mfpt_error`` (standard error, ps),
        ``runs_reached``, ``mfpt_fit`` (ps); scalars ``n_star`` (atoms),
        ``tau_j`` (ps), ``rate`` (1/ps, = 1/τ_J), ``J`` (1/(Å³ ps)), ``J_si``
        (1/(m³ s)), ``zeldovich`` and ``c`` (1/atom).

    Raises
    ------
    InvalidArgumentError
        For fewer than two runs, or sizes no run reaches.

    Examples
    --------
    >>> import numpy as np
    >>> from gstorder import nucleation
    >>> rng = np.random.default_rng(0)
    >>> runs = [np.maximum.accumulate(rng.integers(0, 3, 200)).cumsum() for _ in range(20)]
    >>> ds = nucleation.mfpt(runs, timestep=0.1, fit=False)
    >>> int(ds.runs_reached.sel(n=1))
    20
    """
    from scipy.optimize import curve_fit
    from scipy.special import erf

    runs, own_volume = _series(series, times, None if timestep is None else _checks.positive("timestep", timestep, unit="ps"))
    volume = own_volume if volume is None else _checks.positive("volume", volume, unit="Å³")
    reach = [np.nanmax(y) for _, y in runs]
    if sizes is None:
        top = int(np.floor(min(reach)))
        if top < 2:
            raise InvalidArgumentError(f"the largest nucleus of some run never exceeds {top} atoms: nothing to analyse")
        sizes = np.arange(1, top + 1)
    else:
        sizes = np.unique(_checks.finite_array("sizes", sizes, shape=(-1,)).astype(np.int64))
        if len(sizes) < 2 or sizes.min() < 0:
            raise InvalidArgumentError("sizes must hold at least two non-negative sizes")
    first = np.full((len(runs), len(sizes)), np.nan)
    for r, (t, y) in enumerate(runs):
        best = np.maximum.accumulate(y)
        at = np.searchsorted(best, sizes, side="left")  # first frame with largest ≥ n
        ok = at < len(y)
        first[r, ok] = t[at[ok]] - t[0]
    reached = np.isfinite(first).sum(axis=0)
    if not reached.any():
        raise InvalidArgumentError("no run reaches any of the sizes asked for")
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.array([np.nanmean(first[:, k]) if reached[k] else np.nan for k in range(len(sizes))])
        err = np.array([np.nanstd(first[:, k], ddof=1) / np.sqrt(reached[k]) if reached[k] > 1 else np.nan
                        for k in range(len(sizes))])
    if (reached < len(runs)).any():
        warnings.warn(f"only {reached.min()} of {len(runs)} runs reach n = {sizes[np.argmin(reached)]}: τ(n) there "
                      "averages the runs that did (biased low); pass sizes= up to what every run reaches",
                      GstorderWarning, stacklevel=2)
    out = xr.Dataset(
        {"mfpt": ("n", tau, {"long_name": "mean first-passage time", "units": "ps"}),
         "mfpt_error": ("n", err, {"long_name": "standard error of the mean first-passage time", "units": "ps"}),
         "runs_reached": ("n", reached, {"long_name": "runs that reach n", "units": ""})},
        coords={"n": ("n", sizes, {"long_name": "largest nucleus", "units": "atoms"})},
        attrs=attrs_of(analysis="mfpt", n_runs=len(runs), method="Wedekind, Reguera & Strey, J. Chem. Phys. 126, 134103 "
                                                                    "(2007)"))
    if not fit:
        return out
    ok = np.isfinite(tau)
    n, y = sizes[ok].astype(float), tau[ok]
    model = lambda n, tau_j, c, n_star: 0.5 * tau_j * (1.0 + erf(c * (n - n_star)))  # noqa: E731
    half = n[np.argmin(np.abs(y - 0.5 * y.max()))]
    guess = (y.max(), 2.0 / max(np.ptp(n), 1.0), half)
    try:
        (tau_j, c, n_star), _ = curve_fit(model, n, y, p0=guess, maxfev=20000)
    except RuntimeError as exc:
        raise InvalidArgumentError(f"the erf form does not fit τ(n) ({exc}); the runs may not cross a barrier") from None
    c = abs(c)
    J = 1.0 / (tau_j * volume) if np.isfinite(volume) else np.nan
    out["mfpt_fit"] = ("n", model(sizes.astype(float), tau_j, c, n_star), {"long_name": "erf fit", "units": "ps"})
    scalars = {"n_star": (n_star, "critical nucleus size n*", "atoms"), "tau_j": (tau_j, "nucleation time τ_J", "ps"),
               "rate": (1.0 / tau_j, "nucleation rate of the cell, 1/τ_J", "1/ps"),
               "J": (J, "nucleation rate per volume", "1/(Å³ ps)"),
               "J_si": (J * 1e30 * 1e12, "nucleation rate per volume", "1/(m³ s)"),
               "zeldovich": (c / np.sqrt(np.pi), "Zeldovich factor", ""), "c": (c, "erf width parameter", "1/atom")}
    for name, (value, long_name, units) in scalars.items():
        out[name] = ((), float(value), {"long_name": long_name, "units": units})
    out.attrs["volume"] = float(volume)
    return out


def draw_mfpt(ds, *, ax=None):
    """τ(n) with its standard errors, the erf fit and n* marked. Returns the axes."""
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    ax.errorbar(ds.n, ds.mfpt, yerr=ds.mfpt_error, fmt="o", ms=3, lw=0.8, label="runs")
    if "mfpt_fit" in ds:
        ax.plot(ds.n, ds.mfpt_fit, color="C3", label="erf fit")
        ax.axvline(float(ds.n_star), color="0.5", ls=":", label=f"n* = {float(ds.n_star):.1f}")
        ax.axhline(0.5 * float(ds.tau_j), color="0.8", lw=0.8)
    ax.set_xlabel("largest nucleus n (atoms)")
    ax.set_ylabel("mean first-passage time (ps)")
    ax.legend(frameon=False, fontsize="small")
    return ax
