"""Atomic layers along an axis: detection, density profiles and layer-by-layer melting (paper Fig. 6c).

Layers are the peaks of the smoothed atom-count profile along the axis of
the initial frame; every atom is assigned to its nearest layer at the start
and followed (unwrapped) through the trajectory. Per layer and frame:
mean position, spread, the fraction of its atoms still within half a
layer spacing of the layer's initial position ("retained"), and the mean
k̄ when a crystallinity result is given. The melting front is the furthest
layer (from the side melting starts) whose retained fraction has dropped
below a threshold.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from ._labels import attrs_of, frame_coords
from .frames import axis_coordinates
from .parallel import n_tasks
from .pipeline import Analysis, Part
from .registry import Figure, Parameter, Requires, public, register
from .species import frame_species
from ._kernels.thermal import binned_sums
from .dynamics import Unwrapper
from . import _checks
from .errors import GstorderError, InvalidArgumentError, MissingDataError
from .frames import as_frame
from ._figures import _new_figure, _timed, _number
from . import plot

__all__ = ["find_layers", "z_profile", "track_layers", "z_coordinates", "ZProfile", "TrackLayers"]


def find_layers(frame, axis: str = "z", *, resolution: float = 0.05, smoothing: float = 0.25, min_separation: float = 1.0,
                min_fraction: float = 0.25) -> xr.Dataset:
    """Atomic layers perpendicular to ``axis`` of one frame.

    Parameters
    ----------
    frame : Frame or ase.Atoms
    axis : {'x', 'y', 'z'}
    resolution : float
        Histogram bin in Å.
    smoothing : float
        Gaussian smoothing of the profile in Å (wraps along periodic axes).
    min_separation : float
        Smallest distance between two layers in Å.
    min_fraction : float
        A peak must hold at least this fraction of the median layer's atoms.

    Returns
    -------
    xarray.Dataset
        Over ``layer`` (ordered along the axis): ``position`` (Å, the mean
        of the layer's atoms), ``species``
        (the dominant species), ``count`` (atoms assigned), ``purity`` (share
        of the dominant species) and ``width`` (standard deviation of the
        atoms' positions, Å). Use :func:`track_layers` to follow the atoms.

    Examples
    --------
    >>> from gstorder import layers, structures
    >>> found = layers.find_layers(structures.trigonal("Ge1Sb2Te4"))
    >>> "".join(str(s)[0] for s in found.species.values[:7])
    'TSTGTST'
    """
    options = _detection(resolution=resolution, smoothing=smoothing, min_separation=min_separation,
                         min_fraction=min_fraction)
    frame = as_frame(frame)
    a = _axis(axis)
    coord, length, periodic = _coordinate(frame, a)
    if length / options["resolution"] > 1e7:
        raise InvalidArgumentError(f"resolution={resolution} Å gives {length / resolution:.3g} bins over {length:.4g} Å; "
                                   "at most 10^7")
    positions, owner = _detect(coord, length, periodic, **options)
    # per-layer statistics by bincount: one pass over the atoms, not one per layer
    n_layers = len(positions)
    names, types = frame_species(frame)
    by_species = np.bincount(owner * len(names) + types, minlength=n_layers * len(names)).reshape(n_layers, len(names))
    counts = by_species.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        species = np.where(counts > 0, np.array(names)[by_species.argmax(axis=1)], "")
        purity = by_species.max(axis=1) / counts
        d = _delta(coord, positions[owner], length, periodic)
        mean = np.bincount(owner, d, n_layers) / counts
        width = np.sqrt(np.maximum(np.bincount(owner, d * d, n_layers) / counts - mean**2, 0.0))
    positions = positions + np.nan_to_num(mean)  # the atoms' mean, finer than the histogram
    return xr.Dataset(
        {"position": ("layer", positions, {"long_name": f"layer position along {axis}", "units": "Å"}),
         "species": ("layer", species),
         "count": ("layer", np.array(counts), {"long_name": "atoms", "units": ""}),
         "purity": ("layer", np.array(purity), {"long_name": "share of the dominant species", "units": ""}),
         "width": ("layer", np.array(width), {"long_name": "layer width (rms)", "units": "Å"})},
        coords={"layer": np.arange(len(positions))},
        attrs=attrs_of(analysis="find_layers", axis=axis, resolution=resolution, smoothing=smoothing,
                       min_separation=min_separation),
    )


_AXIS = Parameter("axis", "z", "the layer axis: x, y or z", check=lambda name, v: (_axis(v), v)[1], kind="str")


class ZProfile(Analysis):
    """:func:`z_profile` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "z_profile"
    order = 70
    summary = "number-density profiles along the layer axis"
    parameters = (_AXIS, Parameter("bin_width", 0.2, "bin width along the axis", "Å", _checks.positive))
    requires = Requires(periodic=True)
    windowed = True

    def __init__(self, axis: str = "z", **values):
        super().__init__(axis=axis, **values)

    def prepare(self):
        self.a = _axis(self.axis)

    def setup(self, frame):
        self.species, _ = frame_species(frame)
        _, _, length, _ = axis_coordinates(frame, self.a, what="z_profile")
        self.n_bins = max(1, int(round(length / self.bin_width)))  # a varying cell keeps these bins (fractional positions)
        if self.n_bins > 10_000_000:
            raise InvalidArgumentError(f"bin_width={self.bin_width} Å gives {self.n_bins} bins over {length:.4g} Å; at most 10^7")

    def end_frame(self, state, frame) -> Part:
        coords, _, length, periodic = axis_coordinates(frame, self.a, what="z_profile")
        if not periodic:
            raise MissingDataError(f"{frame.describe()} is not periodic along {self.axis}; z_profile bins one period")
        _, types = frame_species(frame, self.species)
        n_bins = self.n_bins
        c, _ = binned_sums(types, coords / length, len(self.species), n_bins, np.zeros(len(frame)),
                           n_tasks(len(frame), self.parallel))
        volume = frame.volume / n_bins if frame.pbc.all() else np.nan
        return Part((c, volume, length))

    def result(self, parts, times) -> xr.Dataset:
        axis = self.axis
        count = np.array([p.data[0] for p in parts])
        dens = np.array([p.data[0] / p.data[1] for p in parts])
        length, n_bins = parts[0].data[2], count.shape[-1]
        centres = (np.arange(n_bins) + 0.5) * length / n_bins
        return xr.Dataset(
            {"density": (("frame", "species", axis), dens, {"long_name": "number density", "units": "1/Å³"}),
             "count": (("frame", "species", axis), count, {"long_name": "atoms per bin", "units": ""})},
            coords={**frame_coords(times), "species": self.species, axis: (axis, centres, {"units": "Å"})},
            attrs=attrs_of(analysis="z_profile", axis=axis, bin_width=length / n_bins),
        )


class ZCoordinates(Analysis):
    """:func:`z_coordinates` as an analysis of the one-pass runner (follows atoms across periodic boundaries)."""

    name = "z_coordinates"
    summary = "unwrapped coordinate of every atom along the layer axis"
    sequential = True
    same_atoms = True
    parameters = (_AXIS,)

    def __init__(self, axis: str = "z", **values):
        super().__init__(axis=axis, **values)

    def setup(self, frame):
        self.unwrap, self.symbols = Unwrapper(), frame.symbols

    def end_frame(self, state, frame) -> Part:
        return Part(self.unwrap.add(frame)[:, _axis(self.axis)])

    def result(self, parts, times) -> xr.DataArray:
        return xr.DataArray(np.array([p.data for p in parts]), dims=("frame", "atom"),
                            coords={**frame_coords(times), "symbol": ("atom", self.symbols)},
                            name=self.axis, attrs={"long_name": f"{self.axis} coordinate", "units": "Å"})


@public(ZCoordinates, positional=("axis",), run_options=("index", "show_progress"))
def z_coordinates(frames, axis="z", **options) -> xr.DataArray:
    """Unwrapped coordinate along ``axis`` of every atom over time (frame, atom), in Å, with ``symbol`` per atom."""
    return ZCoordinates.call(frames, {"axis": axis, **options})


class TrackLayers(Analysis):
    """:func:`track_layers` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "layers"
    summary = "layers of the first frame tracked through the run, and the melting front (Fig. 6c)"
    sequential = True
    same_atoms = True
    parameters = (
        _AXIS,
        Parameter("layers", None, "layers from find_layers() (unset: found in the first frame)", kind="python"),
        Parameter("kbar", None, "a kbar() result over the same frames, for each layer's mean k̄", kind="python"),
        Parameter("retained_threshold", 0.5, "a layer counts as molten once fewer than this share of its atoms stay "
                  "within half a layer spacing of its initial position", "",
                  lambda name, v: _checks.real(name, v, low=0.0, high=1.0)),
        Parameter("melting_from", "below", "the side melting starts from: the front is the highest ('below') or lowest "
                  "('above') molten layer", check=lambda name, v: _checks.choice(name, v, ("below", "above")), kind="str"),
        Parameter("resolution", 0.05, "find_layers: profile resolution", "Å", _checks.positive),
        Parameter("smoothing", 0.25, "find_layers: Gaussian smoothing of the profile", "Å", _checks.non_negative),
        Parameter("min_separation", 1.0, "find_layers: closest distinct layers", "Å", _checks.non_negative),
        Parameter("min_fraction", 0.25, "find_layers: smallest peak, relative to the mean layer", "",
                  lambda name, v: _checks.real(name, v, low=0.0, high=1.0)),
    )
    requires = Requires(periodic=True, several_frames=True, check=lambda first: _layered(first))

    def __init__(self, axis: str = "z", **values):
        super().__init__(axis=axis, **values)

    def prepare(self):
        self.a = _axis(self.axis)
        self.find_options = _detection(resolution=self.resolution, smoothing=self.smoothing,
                                       min_separation=self.min_separation, min_fraction=self.min_fraction)

    def setup(self, frame):
        self.unwrap, self.owner, self.count = Unwrapper(), None, 0

    def end_frame(self, state, frame) -> Part:
        a, pos = self.a, self.unwrap.add(frame)
        if self.owner is None:
            if self.layers is None:
                self.layers = find_layers(frame, self.axis, **self.find_options)
            coord, length, periodic = _coordinate(frame, a)
            positions = self.layers.position.values
            if len(positions) < 2:
                raise MissingDataError(f"{frame.describe()}: fewer than two layers along {self.axis}; nothing to track")
            self.owner = owner = _assign(coord, positions, length, periodic)
            self.n_layers = n_layers = len(positions)
            self.members = np.bincount(owner, minlength=n_layers).astype(float)
            # follow each atom near its layer: shift whole periods so layers never straddle the boundary
            self.shift = length * np.round((positions[owner] - pos[:, a]) / length) if periodic else np.zeros(len(owner))
            self.home = np.bincount(owner, pos[:, a] + self.shift, n_layers) / self.members
            self.tolerance = 0.5 * float(np.median(np.diff(positions)))
        owner, n_layers, members, home = self.owner, self.n_layers, self.members, self.home
        z = pos[:, a] + self.shift
        mean = np.bincount(owner, z, n_layers) / members
        spread = np.sqrt(np.maximum(np.bincount(owner, z * z, n_layers) / members - mean**2, 0.0))
        retained = np.bincount(owner, np.abs(z - home[owner]) < self.tolerance, n_layers) / members
        row = [mean, spread, retained]
        kbar, f = self.kbar, self.count
        if kbar is not None:
            if f >= kbar.kbar.sizes["frame"] or kbar.kbar.sizes["atom"] != len(frame):
                raise InvalidArgumentError(f"kbar= covers {kbar.kbar.sizes['frame']} frames of {kbar.kbar.sizes['atom']} atoms, but "
                                 f"track_layers reached frame {f} of {len(frame)} atoms; compute both over the same frames")
            row.append(np.bincount(owner, np.asarray(kbar.kbar.isel(frame=f)), n_layers) / members)
        self.count += 1
        return Part(row)

    def result(self, parts, times) -> xr.Dataset:
        rows, kbar, home = [p.data for p in parts], self.kbar, self.home
        if kbar is not None and kbar.kbar.sizes["frame"] != len(rows):
            raise InvalidArgumentError(f"kbar= covers {kbar.kbar.sizes['frame']} frames but track_layers read {len(rows)}; "
                             "compute both over the same frames (same index=)")
        stack = [np.array([r[c] for r in rows]) for c in range(len(rows[0]))]
        molten = stack[2] < self.retained_threshold
        where = np.where(molten, home[None, :], np.nan)
        any_molten = molten.any(axis=1)
        pick = np.nanmax if self.melting_from == "below" else np.nanmin
        front = np.full(len(rows), np.nan)
        front[any_molten] = pick(where[any_molten], axis=1)
        ds = xr.Dataset(
            {"mean_position": (("frame", "layer"), stack[0], {"long_name": "layer position", "units": "Å"}),
             "spread": (("frame", "layer"), stack[1], {"long_name": "layer spread (std)", "units": "Å"}),
             "retained": (("frame", "layer"), stack[2], {"long_name": "atoms still in the layer", "units": ""}),
             "melting_front": ("frame", front, {"long_name": "melting front", "units": "Å"}),
             "position": ("layer", home, {"long_name": "initial layer position", "units": "Å"}),
             "species": ("layer", self.layers.species.values)},
            coords={**frame_coords(times), "layer": np.arange(len(home))},
            attrs=attrs_of(analysis="track_layers", axis=self.axis, retained_threshold=self.retained_threshold,
                           tolerance=self.tolerance, melting_from=self.melting_from),
        )
        if kbar is not None:
            ds["kbar"] = (("frame", "layer"), stack[3], {"long_name": "mean k̄ of the layer", "units": ""})
        return ds


#: Atoms of crystal planes spread over less than this share of the plane spacing (std along the axis; 0.02-0.07
#: for the shipped crystals at 0-600 K); randomly placed atoms spread over 1/sqrt(12) = 0.29 of it (0.25-0.28 for
#: amorphous and liquid GeTe from ab initio MD).
LAYERED_WIDTH = 0.15


def _layered(first) -> str | None:
    """Why frames like ``first`` have no layers to track (none, or no layering at all: an amorphous sample), or None."""
    try:
        found = find_layers(first)
    except GstorderError as exc:
        return str(exc)
    if len(found) < 2:
        return "fewer than two atomic layers along z"
    spacing = float(np.median(np.diff(np.sort(found.position.values))))
    spread = float(np.median(found.width.values)) / spacing
    if spread > LAYERED_WIDTH:
        return (f"no atomic layering along z: atoms spread over {100 * spread:.0f} % of the peak spacing "
                f"({spacing:.2f} Å; crystal planes stay below {100 * LAYERED_WIDTH:.0f} %), as in an amorphous or liquid sample")
    return None


register(ZProfile, TrackLayers, name="layers")


@public(ZProfile, positional=("axis",))
def z_profile(frames, axis="z", **options) -> xr.Dataset:
    """Number-density profiles along an axis, per species and frame.

    Returns
    -------
    xarray.Dataset
        ``density`` (frame, species, <axis>) in atoms/Å³ (per bin volume =
        cross-section × bin width; periodic axes only), ``count`` (frame,
        species, <axis>) atoms per bin; bin centres in Å over one period.
    """
    return ZProfile.call(frames, {"axis": axis, **options})


@public(TrackLayers, positional=("axis",))
def track_layers(frames, axis="z", **options) -> xr.Dataset:
    """Follow the layers of the first frame through a trajectory (Fig. 6c).

    Returns
    -------
    xarray.Dataset
        Over (``frame``, ``layer``): ``mean_position`` and ``spread`` (Å) of
        each layer's initial atoms, ``retained`` (share), ``kbar`` (if given);
        ``melting_front`` (frame, Å; NaN while no layer is molten); per
        ``layer``: ``position``, ``species``.
    """
    return TrackLayers.call(frames, {"axis": axis, **options})


# --------------------------------------------------------------------------- helpers


def _axis(axis) -> int:
    return "xyz".index(_checks.choice("axis", axis, ("x", "y", "z")))


def _detection(*, resolution: float = 0.05, smoothing: float = 0.25, min_separation: float = 1.0,
               min_fraction: float = 0.25) -> dict:
    """:func:`find_layers`' detection settings, checked (defaults as there)."""
    return {"resolution": _checks.positive("resolution", resolution, unit="Å"),
            "smoothing": _checks.non_negative("smoothing", smoothing, unit="Å"),
            "min_separation": _checks.non_negative("min_separation", min_separation, unit="Å"),
            "min_fraction": _checks.real("min_fraction", min_fraction, low=0.0, high=1.0)}


def _coordinate(frame, a):
    """Cartesian positions along axis ``a`` in Å (wrapped into one period if periodic), the period or extent, periodicity."""
    coords, lower, length, periodic = axis_coordinates(frame, a, what="layers")
    return coords, (length if periodic else float(np.ptp(coords))), periodic


def _delta(coord, p, length, periodic):
    d = coord - p
    if periodic:
        d -= length * np.round(d / length)
    return d


def _detect(coord, length, periodic, resolution, smoothing, min_separation, min_fraction):
    lo = 0.0 if periodic else coord.min() - 3 * smoothing
    hi = length if periodic else coord.max() + 3 * smoothing
    n_bins = max(3, int(np.ceil((hi - lo) / resolution)))
    width = (hi - lo) / n_bins
    hist = np.histogram(coord, bins=n_bins, range=(lo, hi))[0].astype(float)
    smooth = gaussian_filter1d(hist, smoothing / width, mode="wrap" if periodic else "constant")
    if periodic:  # peaks across the boundary: search a doubled profile, keep those in the first copy
        doubled = np.concatenate([smooth, smooth])
        peaks, _ = find_peaks(doubled, distance=max(1, int(min_separation / width)))
        peaks = np.unique(peaks % n_bins)
    else:
        peaks, _ = find_peaks(smooth, distance=max(1, int(min_separation / width)))
    if not len(peaks):
        raise MissingDataError("no layers found: the profile has no peaks")
    positions = lo + (peaks + 0.5) * width
    owner = _assign(coord, positions, length, periodic)
    counts = np.bincount(owner, minlength=len(positions))
    keep = counts >= min_fraction * np.median(counts)
    positions = np.sort(positions[keep])
    if periodic and len(positions) > 1 and positions[0] + length - positions[-1] < min_separation:
        positions = positions[:-1]  # one layer split across the boundary
    return positions, _assign(coord, positions, length, periodic)


def _assign(coord, positions, length, periodic):
    """Index of the nearest layer (``positions`` sorted) of each coordinate, periodic or not; O(N log L)."""
    order = np.argsort(positions)
    p = positions[order]
    right = np.searchsorted(p, coord)
    left = right - 1
    if periodic:  # the neighbours across the boundary
        lo = np.where(left < 0, p[-1] - length, p[left % len(p)])
        hi = np.where(right >= len(p), p[0] + length, p[right % len(p)])
        nearest = np.where(coord - lo <= hi - coord, left % len(p), right % len(p))
    else:
        lo = p[np.clip(left, 0, len(p) - 1)]
        hi = p[np.clip(right, 0, len(p) - 1)]
        nearest = np.where((right >= len(p)) | ((left >= 0) & (coord - lo <= hi - coord)), np.clip(left, 0, None),
                           np.clip(right, None, len(p) - 1))
    return order[nearest]


# --------------------------------------------------------------------------- figures and key numbers


def _z_profile_figure(ds):
    axis = str(ds.attrs.get("axis", "z"))
    dens = ds.density
    if not np.isfinite(dens.values).any():
        return None
    species = [str(s) for s in ds.species.values]
    fig, axes = _new_figure((5.0, 1.0 + 1.3 * len(species)), rows=len(species))
    ends = [(0, "first frame", dict(color="0.6", lw=1.0))]
    if ds.sizes["frame"] > 1:
        ends.append((-1, "last frame", dict(lw=1.2)))
    for ax, s in zip(axes, species):  # one panel per species: coincident planes (Ge, Sb) cannot hide each other
        for f, name, style in ends:
            t = _number(ds.time.values[f])
            label = f"{name} ({t:g} ps)" if np.isfinite(t) else name
            ax.plot(ds[axis], dens.sel(species=s).isel(frame=f), label=label,
                    **{"color": plot.SPECIES_COLOURS.get(s), **style})
        ax.set_ylabel(f"{s} (1/Å³)")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize="x-small", loc="upper right")
    axes[-1].set_xlabel(f"{axis} (Å)")
    return fig


def _layer_rows(ds, tree):
    molten = int((ds.retained.isel(frame=-1).values < float(ds.attrs.get("retained_threshold", 0.5))).sum())
    text = f"{ds.sizes['layer']} tracked along {ds.attrs.get('axis', 'z')}, {molten} molten at the last frame"
    front = ds.melting_front.values[-1]
    text += f", melting front at {front:.1f} Å" if np.isfinite(front) else ", no melting front"
    return [("layers", text)]


def _layers_figure(ds):
    if ds.sizes["frame"] < 2:
        return None
    ds, xlabel = _timed(ds)
    order = np.argsort(ds.position.values)
    retained = ds.retained.values[:, order]
    fig, ax = _new_figure((5.0, 3.6))
    mesh = ax.pcolormesh(ds.time.values, ds.position.values[order], retained.T, vmin=0, vmax=1, cmap=plot.kbar_colormap(),
                         shading="nearest")
    front = ds.melting_front.values
    if np.isfinite(front).any():
        ax.plot(ds.time.values, front, color="k", lw=1.2, label="melting front")
        ax.legend(frameon=False, fontsize="small")
    fig.colorbar(mesh, ax=ax, label="share of atoms retained")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"initial layer position {ds.attrs.get('axis', 'z')} (Å)")
    return fig


ZProfile.figures = (Figure("z_profile", _z_profile_figure,
                           "Number density of each species along the layer axis, first and last frame (cf. the "
                           "z-coordinate evolution of paper Fig. 6c)."),)
TrackLayers.figures = (Figure("layers", _layers_figure,
                              "Share of each layer's atoms still in place against time, and the melting front (cf. "
                              "paper Fig. 6c)."),)
TrackLayers.rows = staticmethod(_layer_rows)
