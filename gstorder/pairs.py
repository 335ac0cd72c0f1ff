"""Pair and bond-angle distributions: partial g(r), coordination numbers and ADFs.

Both functions stream frames, build one Numba neighbour list per block of
centre atoms (so memory stays bounded on device-scale frames) and return
labelled xarray Datasets.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.spatial import ConvexHull, QhullError

from dataclasses import replace

from . import _checks, neighbors
from ._labels import attrs_of, bin_edges, centres, pair_label
from .parallel import n_tasks
from .pipeline import Analysis, Need, Part
from .registry import Figure, Parameter, Requires, public, register
from .species import frame_species, species_mask
from ._kernels.pairs import angle_histogram, pair_histogram
from .errors import GstorderWarning, MissingDataError, UnknownSpeciesError
from ._figures import _new_figure, _legend_outside, _group, _cutoff
from . import plot

__all__ = ["rdf", "adf", "RDF", "ADF"]


class RDF(Analysis):
    """:func:`rdf` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "rdf"
    order = 10
    summary = "partial and total g(r) with running coordination numbers"
    parameters = (
        Parameter("r_max", 8.0, "largest distance", "Å", _checks.positive),
        Parameter("bins", None, "number of bins on [0, r_max) (unset: r_max / bin_width)", "", _checks.count, kind="int"),
        Parameter("bin_width", 0.02, "bin width when bins is unset", "Å", _checks.positive),
        Parameter("pairs", None, "pairs to report, e.g. ['Ge-Te', 'Te-Te'] (unset: every pair; 'total' always)",
                  check=_checks.strings, kind="list"),
        Parameter("volume", None, "volume of a non-periodic frame (unset: its convex hull; needed for a flat cluster or "
                  "one of fewer than 4 atoms)", "Å³", _checks.positive),
    )
    requires = Requires(check=lambda first: None if first.pbc.all() or not first.pbc.any() else
                        "partly periodic frames need rdf.volume (the volume to normalise by)")
    selectable = windowed = True

    def prepare(self):
        self.edges = bin_edges(0.0, self.r_max, self.bin_width if self.bins is None else None, self.bins, what="rdf r_max")
        self.needs = (Need.of(self.r_max, full=False),)

    def select(self, selection):
        super().select(selection)
        self.needs = tuple(replace(n, full=True) for n in self.needs)  # centres only: both directions from them

    def setup(self, frame):
        self.species, _ = frame_species(frame)

    def begin_frame(self, frame):
        _, types = frame_species(frame, self.species)
        ns = len(self.species)
        return types, np.zeros((ns, ns, len(self.edges) - 1), dtype=np.int64)

    def add_block(self, state, frame, lists):
        types, counts = state
        nl = lists[self.needs[0]]
        c = pair_histogram(nl.i, nl.j, nl.distances, types, len(self.species), 0.0, self.r_max, len(self.edges) - 1,
                           n_tasks(len(nl), lists.parallel))
        counts += c if nl.full else c + c.transpose(1, 0, 2)  # ordered pairs: like pairs both ways

    def end_frame(self, state, frame) -> Part:
        types, ordered = state
        ns = len(self.species)
        n_a = np.bincount(types, minlength=ns).astype(float)
        n_centres = np.bincount(types[self.centre_mask(frame)], minlength=ns).astype(float)
        limit = neighbors.max_cutoff_without_images(frame)
        images = bool(frame.pbc.any() and self.r_max > limit)
        return Part((ordered, n_a, _volume(frame, self.volume), images, limit, frame.describe(), n_centres))

    def result(self, parts, times) -> xr.Dataset:
        species, edges, r_max = self.species, self.edges, self.r_max
        ns, n_bins = len(species), len(edges) - 1
        shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        g_frames, cn_frames, cn_total, absent = [], [], [], set()
        for ordered, n_a, vol, _, _, _, n_c in (p.data for p in parts):
            # n_c centres of each species (all atoms without a selection) among n_a atoms
            absent.update(species[k] for k in np.flatnonzero(n_a == 0))
            norm = n_c[:, None] * (n_a[None, :] - np.eye(ns)) / vol
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(norm[:, :, None] > 0, ordered / (norm[:, :, None] * shell), np.nan)
                c, c_centres = n_a / n_a.sum(), n_c / n_c.sum()
            total = np.nansum(c_centres[:, None, None] * c[None, :, None] * g, axis=(0, 1))
            if self.selection is None:  # both triangles hold the same pairs: report a_b once, as a <= b
                iu = np.triu_indices(ns)
                g_frames.append(np.concatenate([g[iu], total[None]]))
            else:  # centres a of the selection around neighbours b: not symmetric, every ordered pair
                g_frames.append(np.concatenate([g.reshape(ns * ns, -1), total[None]]))
            with np.errstate(divide="ignore", invalid="ignore"):
                cn_frames.append(np.cumsum(ordered, axis=2) / n_c[:, None, None])
                cn_total.append(np.cumsum(ordered.sum(axis=(0, 1))) / n_c.sum())
        imaged = [p.data for p in parts if p.data[3]]
        if imaged:
            _, _, _, _, limit, where, _ = imaged[0]
            warnings.warn(f"rdf r_max={r_max:g} Å exceeds half the narrowest cell width ({limit:.3f} Å) of {where}: atoms "
                          "see their own periodic images there, and like-pair g(r) tends to N/(N-1) instead of 1; use a "
                          "larger supercell", GstorderWarning, stacklevel=3)
        if self.selection is None:
            labels = [pair_label(species[a], species[b]) for a, b in zip(*np.triu_indices(ns))] + ["total"]
        else:
            labels = [f"{a}-{b}" for a in species for b in species] + ["total"]
        g_frames = np.array(g_frames)
        cn_frames = np.where(np.isfinite(cn_frames), cn_frames, np.nan)
        if absent:
            warnings.warn(f"species {sorted(absent)} are missing from some frames; those frames are left out of the "
                          "averages of their pairs' g(r) and coordination", GstorderWarning, stacklevel=3)
        r = centres(edges)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
            g_mean, g_std, cn_mean = np.nanmean(g_frames, axis=0), np.nanstd(g_frames, axis=0), np.nanmean(cn_frames, axis=0)
        ds = xr.Dataset(
            {
                "g": (("pair", "r"), g_mean, {"long_name": "g(r)", "units": ""}),
                "g_std": (("pair", "r"), g_std, {"long_name": "g(r) standard deviation over frames", "units": ""}),
                "coordination": (("center", "neighbor", "r"), cn_mean,
                                 {"long_name": "running coordination number", "units": ""}),
                "coordination_total": (("r",), np.mean(cn_total, axis=0),
                                       {"long_name": "running coordination number", "units": ""}),
            },
            coords={
                "pair": labels, "center": species, "neighbor": species,
                "r": ("r", r, {"long_name": "r", "units": "Å"}),
                "r_edges": ("r_edge", edges, {"units": "Å"}),
            },
            attrs=attrs_of(analysis="rdf", r_max=r_max, n_bins=n_bins, n_frames=len(g_frames),
                           time_first=times[0], time_last=times[-1], normalisation="N_a (N_b - delta_ab) / V ideal gas",
                           select=None if self.selection is None else repr(self.selection)),
        )
        if self.pairs is not None:
            ds = ds.sel(pair=_pair_selection(self.pairs, labels))
        return ds


class ADF(Analysis):
    """:func:`adf` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "adf"
    order = 20
    summary = "bond-angle distributions per centre species"
    parameters = (
        Parameter("cutoff", 3.2, "bond cut-off, or a per-species-pair table such as {'Ge-Te': 3.2, 'Sb-Te': 3.4}", "Å",
                  _checks.cutoff, kind="table"),
        Parameter("bins", 180, "angle bins on 0-180°", "", _checks.count, kind="int"),
        Parameter("centre", None, "centre species to report (unset: all present)", check=_checks.species, kind="list",
                  aliases=("centres", "centers", "center")),
        Parameter("triplets", False, "also return adf_triplet over triplets such as 'Te-Ge-Te' (neighbour-centre-neighbour)",
                  check=_checks.flag, kind="bool"),
    )
    selectable = windowed = True

    def prepare(self):
        self.edges = bin_edges(0.0, 180.0, None, self.bins, what="adf")
        self.needs = (Need.of(self.cutoff, centres=self.centre),)

    def setup(self, frame):
        self.species, _ = frame_species(frame)

    def begin_frame(self, frame):
        _, types = frame_species(frame, self.species)
        species_mask(frame, self.centre, what="centre")  # refuses centre species absent from the frame
        ns = len(self.species)
        return types, np.zeros((ns, ns, ns, len(self.edges) - 1), dtype=np.int64)

    def add_block(self, state, frame, lists):
        types, total = state
        nl = lists[self.needs[0]]
        total += angle_histogram(nl.offsets, nl.centers, nl.j, nl.vectors, nl.distances, types, len(self.species),
                                 len(self.edges) - 1, n_tasks(len(nl.centers), lists.parallel))

    def end_frame(self, state, frame) -> Part:
        return Part(state[1])

    def result(self, parts, times) -> xr.Dataset:
        species, centre, n_bins = self.species, self.centre, len(self.edges) - 1
        total = sum(p.data for p in parts)
        width = 180.0 / n_bins
        by_centre = total.sum(axis=(1, 2))
        per = np.concatenate([by_centre, by_centre.sum(axis=0, keepdims=True)])
        counts = per.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            dens = per / (counts[:, None] * width)
        labels = species + ["all"]
        wanted = species if centre is None else ([centre] if isinstance(centre, str) else list(centre))
        keep = [k for k, s in enumerate(species) if s in wanted] + [len(species)]  # NaN for centres without angles
        theta = centres(self.edges)
        cutoff = self.cutoff
        ds = xr.Dataset(
            {
                "adf": (("center", "theta"), dens[keep], {"long_name": "bond-angle distribution", "units": "1/degree"}),
                "count": (("center",), counts[keep], {"long_name": "bond angles counted", "units": ""}),
            },
            coords={"center": [labels[k] for k in keep],
                    "theta": ("theta", theta, {"long_name": "bond angle", "units": "degree"})},
            attrs=attrs_of(analysis="adf",
                           cutoff=cutoff if np.ndim(cutoff) == 0 and not isinstance(cutoff, dict) else repr(cutoff),
                           n_bins=n_bins, n_frames=len(parts), centre=centre),
        )
        if self.triplets:
            names, rows = [], []
            for a in range(len(species)):
                for b in range(len(species)):
                    for c in range(b, len(species)):
                        if total[a, b, c].any():
                            names.append(f"{species[b]}-{species[a]}-{species[c]}")
                            rows.append(total[a, b, c] / (total[a, b, c].sum() * width))
            ds["adf_triplet"] = xr.DataArray(np.array(rows).reshape(len(rows), n_bins), dims=("triplet", "theta"),
                                             coords={"triplet": names},
                                             attrs={"long_name": "bond-angle distribution", "units": "1/degree"})
        return ds


register(RDF)
register(ADF)


@public(RDF)
def rdf(frames, **options) -> xr.Dataset:
    """Total and partial radial distribution functions g(r) and running coordination numbers.

    Periodic, triclinic or non-periodic frames; periodic images are counted
    as far as ``r_max`` reaches, so ``r_max`` may exceed half the cell.
    With ``select=`` only the selected atoms are centres: g_ab then counts
    neighbours b (of every atom) around the selected a.

    Raises
    ------
    InvalidArgumentError, ArgumentTypeError
        For a non-positive, non-finite or mistyped ``r_max``, ``bins``,
        ``bin_width`` or ``volume`` (named), or a frame with a
        non-finite position (the atom is named) or cell.
    SingularCellError
        For a frame whose periodic cell vectors are (nearly) linearly dependent.
    MissingDataError
        For a partly periodic frame, or a cluster without a volume, when
        ``volume`` is not given.
    UnknownSpeciesError
        For a pair in ``pairs`` that is not present.

    Returns
    -------
    xarray.Dataset
        ``g`` (pair, r): mean over frames of g_ab(r) normalised to 1 for an
        ideal gas of the same density, g_ab = n_ab(r) V / (N_a (N_b - δ_ab)
        4π r² dr), with n_ab the ordered pair count; ``total`` is
        Σ_ab c_a c_b g_ab. ``g_std`` (pair, r): standard deviation over
        frames. ``coordination`` (center, neighbor, r): running
        coordination number, mean neighbours of species ``neighbor`` of a
        ``center`` atom up to the bin's upper edge (r + Δr/2);
        ``coordination_total`` (r): over all atoms. Coordinates ``r`` (bin
        centres, Å) and ``r_edges``.

    Notes
    -----
    Beyond half the narrowest cell width atoms see their own periodic
    images, which are not an ideal gas: like-pair g(r) then tends to
    N/(N-1); a :class:`~gstorder.errors.GstorderWarning` says so.
    A non-periodic frame (a cluster, a tomography model) is normalised with
    its convex-hull volume and no edge correction, so g(r) falls below 1
    at distances comparable to the particle size.

    Examples
    --------
    >>> from gstorder import rdf, structures
    >>> ds = rdf(structures.rocksalt("GeTe", 3, a=6.0), r_max=4.0, bin_width=0.1)
    >>> float(ds.coordination.sel(center="Ge", neighbor="Te").sel(r=3.5, method="nearest"))
    6.0
    """
    return RDF.call(frames, options)


@public(ADF)
def adf(frames, **options) -> xr.Dataset:
    """Bond-angle distributions j-i-k of bonds shorter than a cut-off, per centre species.

    Raises
    ------
    InvalidArgumentError, ArgumentTypeError
        For a non-positive, non-finite or mistyped ``cutoff`` (or table
        entry) or ``bins`` (named), or a frame with a
        non-finite position (the atom is named) or cell.
    UnknownSpeciesError
        For a ``centre`` or table species that is not an element, or absent.

    Returns
    -------
    xarray.Dataset
        ``adf`` (center, theta) in 1/degree, each centre's distribution
        normalised to unit area over 0-180° (``"all"`` pools every centre;
        NaN for a species with no bond angles); ``count`` (center): angles
        counted, summed over frames.

    Examples
    --------
    >>> from gstorder import adf, structures
    >>> ds = adf(structures.rocksalt("GeTe", 2, a=6.0))
    >>> ds.adf.sel(center="all").idxmax().item()
    90.5
    """
    return ADF.call(frames, options)


# --------------------------------------------------------------------------- helpers


def _volume(frame, volume) -> float:
    """The normalising volume in Å³: ``volume`` (validated by :class:`RDF`), the cell's, or a cluster's convex hull."""
    if volume is not None:
        return volume
    if frame.pbc.all():
        return frame.volume
    if frame.pbc.any():
        raise MissingDataError(f"{frame.describe()} is periodic along only some axes; pass volume= (Å³) to normalise g(r)")
    if len(frame) < 4:
        raise MissingDataError(f"{frame.describe()} is a cluster of {len(frame)} atoms; pass volume= (Å³) to normalise g(r)")
    try:
        hull = ConvexHull(frame.positions).volume
    except QhullError:  # flat, collinear or coincident atoms: no hull
        hull = 0.0
    if not hull > 0:
        raise MissingDataError(f"{frame.describe()}: its {len(frame)} atoms are coplanar, collinear or coincident, so their "
                               "convex hull encloses no volume; pass volume= (Å³) to normalise g(r)")
    return float(hull)


def _pair_selection(pairs, labels) -> list[str]:
    chosen = []
    for p in pairs:
        a, _, b = str(p).partition("-")
        for label in (f"{a}-{b}", f"{b}-{a}"):
            if label in labels:
                chosen.append(label)
                break
        else:
            if p != "total":
                raise UnknownSpeciesError(f"pair {p!r} is not present; choose from {labels}")
    return chosen + ["total"]


# --------------------------------------------------------------------------- figures and key numbers


def _rdf_rows(ds, tree):
    if "total" not in ds.pair.values:
        return []
    cutoff = _cutoff(_group(tree, "motifs"))
    r = ds.r.values
    g = np.where((r < cutoff) & np.isfinite(ds.g.sel(pair="total").values), ds.g.sel(pair="total").values, -np.inf)
    if not np.isfinite(g).any() or g.max() <= 0:
        return []
    k = int(np.argmax(g))
    return [("g(r)", f"first peak at {r[k]:.2f} Å (height {g[k]:.2f}, largest below {cutoff:g} Å)")]


def _rdf_figure(ds):
    g = ds.g.values
    if not np.isfinite(g).any() or np.nanmax(g) <= 0:
        return None
    offset = float(max(1.0, np.ceil(0.5 * np.nanmax(g))))
    fig, ax = _new_figure((5.5, 1.2 + 0.7 * ds.sizes["pair"]))
    plot.rdf(ds, ax=ax, offset=offset)
    _legend_outside(ax, reverse=True)  # top curve first, as stacked
    ax.set_ylabel(f"g(r), curves offset by {offset:g}")
    ax.set_ylim(bottom=0)
    return fig


def _adf_figure(ds):
    if not np.isfinite(ds.adf.values).any():
        return None
    fig, ax = _new_figure()
    plot.adf(ds, ax=ax)
    if _cutoff(ds, None) is not None:
        ax.set_title(f"bonds < {_cutoff(ds):g} Å", fontsize="medium")
    return fig


RDF.figures = (Figure("rdf", _rdf_figure,
                      "Partial and total radial distribution functions g(r), mean ± std over frames, curves offset "
                      "for clarity (cf. paper Fig. 2a)."),)
ADF.figures = (Figure("adf", _adf_figure,
                      "Bond-angle distributions per centre species (cf. the ADFs discussed with Fig. 2a and shown in "
                      "Supplementary Fig. 3)."),)
RDF.rows = staticmethod(_rdf_rows)
