"""ALTBC: the angular-limited three-body correlation, a map of the Peierls distortion.

For centre atoms i and ordered pairs of distinct neighbours j, k with
``r_min <= r_ij, r_ik < r_max`` and bond angle j-i-k >= 180° - δ::

    P(r1, r2) = (1 / N_centres) Σ_i Σ_{j≠k} δ(r1 - r_ij) δ(r2 - r_ik)

in pairs per centre per Å². A Peierls-distorted crystal (α-GeTe) has
off-diagonal peaks at (short, long) and (long, short); an undistorted
rock-salt peaks on the diagonal.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._labels import attrs_of, bin_edges, centres
from .parallel import n_tasks
from . import _checks
from .errors import InvalidArgumentError
from .pipeline import Analysis, Need, Part
from .registry import Figure, Parameter, public, register
from .species import species_mask
from ._kernels.altbc import collinear_pair_histogram
from ._figures import _new_figure, _altbc_map, _altbc_attrs, _number
from . import plot

__all__ = ["altbc", "ALTBC"]


class ALTBC(Analysis):
    """:func:`altbc` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`).

    With ``normalize="both"`` the result is a Dataset holding the map
    (``altbc``) and its ideal-gas normalisation (``altbc_normalized``).
    """

    name = "altbc"
    order = 40
    summary = "ALTBC map P(r1, r2) of the Peierls distortion"
    parameters = (
        Parameter("r_min", 2.5, "shortest bond of a pair", "Å", _checks.non_negative),
        Parameter("r_max", 4.0, "longest bond of a pair (exclusive)", "Å", _checks.positive),
        Parameter("angle_tolerance", 25.0, "δ: pairs with angle j-i-k ≥ 180° - δ count", "degrees",
                  lambda name, v: _checks.real(name, v, unit="degrees", low=0.0, high=90.0, low_open=True, high_open=True)),
        Parameter("bin_width", 0.02, "bin width along r1 and r2", "Å", _checks.positive),
        Parameter("centre", None, "centre species (unset: all atoms)", check=_checks.species, kind="list",
                  aliases=("centres", "centers", "center")),
        Parameter("normalize", False, "divide by the ideal-gas value 8π²ρ² r1² r2² (1 - cos δ) (periodic frames): 1 "
                  "means uncorrelated; 'both' returns both maps",
                  check=lambda name, v: _checks.choice(name, v, (False, True, "both")), kind="bool",
                  auto=lambda first: "both" if first.pbc.all() else False, auto_doc="'both' for periodic frames",
                  aliases=("normalise",)),
    )
    selectable = windowed = True

    def prepare(self):
        if not self.r_min < self.r_max:
            raise InvalidArgumentError(f"need r_min < r_max, got r_min={self.r_min}, r_max={self.r_max} Å")
        self.edges = bin_edges(self.r_min, self.r_max, self.bin_width, None, what="altbc")
        self.needs = (Need.of(self.r_max, centres=self.centre),)

    def begin_frame(self, frame):
        n = len(self.edges) - 1
        return {"counts": np.zeros((n, n), dtype=np.int64), "ratio": 0.0, "collinear": 0,
                "n_centres": int((species_mask(frame, self.centre, what="centre") & self.centre_mask(frame)).sum())}

    def add_block(self, state, frame, lists):
        nl = lists[self.needs[0]]
        cos_max = np.cos(np.radians(180.0 - self.angle_tolerance))
        counts, ratio, count = collinear_pair_histogram(nl.offsets, nl.vectors, nl.distances, self.r_min, self.r_max,
                                                        cos_max, len(self.edges) - 1, n_tasks(len(nl.centers), lists.parallel))
        state["counts"] += counts
        state["ratio"] += ratio
        state["collinear"] += int(count)

    def end_frame(self, state, frame) -> Part:
        # each frame's ideal-gas value weighted by its centres (periodic frames only)
        state["ideal"] = state["n_centres"] * (len(frame) / frame.volume) ** 2 if self.normalize else 0.0
        return Part(state)

    def result(self, parts, times):
        edges, n_bins = self.edges, len(self.edges) - 1
        hist = np.zeros((n_bins, n_bins))
        n_centres = n_collinear = 0
        ratio_sum = ideal = 0.0
        for p in parts:
            hist += p.data["counts"]
            n_centres += p.data["n_centres"]
            n_collinear += p.data["collinear"]
            ratio_sum += p.data["ratio"]
            ideal += p.data["ideal"]
        area = np.diff(edges)[:, None] * np.diff(edges)[None, :]
        p = hist / (n_centres * area)
        r = centres(edges)
        shape = 8 * np.pi**2 * (1 - np.cos(np.radians(self.angle_tolerance))) * (r[:, None] ** 2) * (r[None, :] ** 2)
        coords = {"r1": ("r1", r, {"long_name": "r1", "units": "Å"}), "r2": ("r2", r, {"long_name": "r2", "units": "Å"})}
        attrs = attrs_of(r_min=self.r_min, r_max=self.r_max, angle_tolerance=self.angle_tolerance,
                         bin_width=(self.r_max - self.r_min) / n_bins, centre=self.centre, normalize=self.normalize,
                         n_frames=len(parts), n_centres=n_centres, n_collinear=int(n_collinear),
                         long_short_ratio=ratio_sum / n_collinear if n_collinear else np.nan)
        raw = xr.DataArray(p, dims=("r1", "r2"), coords=coords, name="altbc",
                           attrs={"long_name": "ALTBC P(r1, r2)", "units": "1/Å²", **attrs})
        if not self.normalize:
            return raw
        normalized = xr.DataArray(p / (shape * ideal / n_centres), dims=("r1", "r2"), coords=coords, name="altbc",
                                  attrs={"long_name": "ALTBC P(r1, r2) / ideal gas", "units": "", **attrs})
        if self.normalize is True:
            return normalized
        return xr.Dataset({"altbc": raw, "altbc_normalized": normalized.rename("altbc_normalized")},
                          attrs={"analysis": "altbc", **attrs})


register(ALTBC)


@public(ALTBC)
def altbc(frames, **options) -> xr.DataArray:
    """The ALTBC map P(r1, r2), averaged over frames, and the mean long/short bond ratio.

    Returns
    -------
    xarray.DataArray
        Over (``r1``, ``r2``) in Å, symmetric; in 1/Å² per centre (or
        dimensionless when normalised). ``attrs`` hold the parameters,
        ``n_centres`` (summed over frames), ``n_collinear`` (unordered
        collinear pairs) and ``long_short_ratio``, the mean of
        max(r_ij, r_ik) / min(r_ij, r_ik) over the collinear pairs.

    Examples
    --------
    >>> from gstorder import altbc, structures
    >>> p = altbc(structures.trigonal("GeTe", (3, 3, 1), functional="experiment"))
    >>> [round(float(x), 2) for x in p.where(p == p.max(), drop=True).r1]
    [2.85, 3.15]
    """
    return ALTBC.call(frames, options)


# --------------------------------------------------------------------------- figures and key numbers


def _altbc_rows(ds, tree):
    p, normalised = _altbc_map(ds)
    attrs = _altbc_attrs(ds)
    if p is None or not int(attrs.get("n_collinear", 1)):
        return []
    a, b = np.unravel_index(int(np.nanargmax(p.values)), p.shape)
    text = f"peak at ({float(p.r1[a]):.2f}, {float(p.r2[b]):.2f}) Å"
    ratio = _number(attrs.get("long_short_ratio"))
    if np.isfinite(ratio):
        text += f", mean long/short {ratio:.3f}"
    return [("ALTBC", text + (" (normalised map)" if normalised else " (raw map)"))]


def _altbc_figure(ds):
    p, normalised = _altbc_map(ds)
    if p is None:
        return None
    fig, ax = _new_figure((4.6, 3.8))
    plot.altbc(p, ax=ax)
    top = float(np.nanmax(p.values))
    ax.contour(p.r1, p.r2, p.values.T, levels=top * np.array([0.2, 0.4, 0.6, 0.8]), colors="w", linewidths=0.6)
    ax.set_title("normalised to the ideal gas" if normalised else "per centre atom", fontsize="medium")
    return fig


ALTBC.figures = (Figure("altbc", _altbc_figure,
                        "ALTBC map P(r1, r2) of near-collinear bond pairs, the Peierls-distortion fingerprint, with "
                        "contours at 20-80 % of the maximum (cf. paper Fig. 2e)."),)
ALTBC.rows = staticmethod(_altbc_rows)
